"""compute_stats and periods_per_year_of on returns and trades worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from signals.stats import STAT_NAMES, compute_stats, periods_per_year_of

RETURNS = np.array([0.1, -0.05, 0.0, 0.02, -0.1, 0.03])
HOURLY = pd.date_range("2024-01-01", periods=len(RETURNS), freq="h", tz="UTC")
PPY = 8766.0


def trades_with(returns: list[float]) -> pd.DataFrame:
    """A trade list carrying only what the statistics read; NaN marks an open trade."""
    return pd.DataFrame({"return": returns}, dtype="float64")


@pytest.fixture
def stats() -> dict[str, float]:
    return compute_stats(RETURNS, trades_with([0.1, -0.05, 0.2, np.nan]), HOURLY, PPY)


def test_every_named_statistic_is_returned(stats: dict[str, float]) -> None:
    assert tuple(stats) == STAT_NAMES
    assert all(isinstance(v, float) for v in stats.values())


def test_bars_and_closed_trades_are_counted(stats: dict[str, float]) -> None:
    assert stats["bars"] == 6
    assert stats["trades"] == 3  # the open trade (NaN return) is not counted


def test_total_return_compounds_the_bar_returns(stats: dict[str, float]) -> None:
    expected = 1.1 * 0.95 * 1.0 * 1.02 * 0.9 * 1.03 - 1
    assert stats["total_return"] == pytest.approx(expected, rel=1e-12)


def test_max_drawdown_is_the_deepest_fall_from_a_peak(stats: dict[str, float]) -> None:
    # equity 1, 1.1, 1.045, 1.045, 1.0659, 0.95931, ...: peak 1.1, trough 0.95931
    assert stats["max_drawdown"] == pytest.approx(1.1 * 0.95 * 1.02 * 0.9 / 1.1 - 1, rel=1e-12)


def test_max_drawdown_counts_a_loss_from_the_start() -> None:
    stats = compute_stats(np.array([-0.2, 0.1]), trades_with([]), HOURLY[:2], PPY)
    assert stats["max_drawdown"] == pytest.approx(-0.2, rel=1e-12)


def test_max_drawdown_is_zero_when_equity_never_falls() -> None:
    stats = compute_stats(np.array([0.01, 0.0, 0.02]), trades_with([]), HOURLY[:3], PPY)
    assert stats["max_drawdown"] == 0.0


def test_sharpe_is_the_annualized_mean_over_the_sample_deviation(stats: dict[str, float]) -> None:
    mean = sum(RETURNS) / len(RETURNS)
    sample_var = sum((r - mean) ** 2 for r in RETURNS) / (len(RETURNS) - 1)
    assert stats["sharpe"] == pytest.approx(mean / np.sqrt(sample_var) * np.sqrt(PPY), rel=1e-12)


def test_sortino_uses_the_downside_deviation_below_zero(stats: dict[str, float]) -> None:
    mean = RETURNS.mean()
    downside = np.sqrt(np.mean(np.square(np.clip(RETURNS, None, 0.0))))
    assert downside == pytest.approx(np.sqrt((0.05**2 + 0.1**2) / 6))
    assert stats["sortino"] == pytest.approx(mean / downside * np.sqrt(PPY), rel=1e-12)


def test_sharpe_and_sortino_are_nan_without_variation_or_losses() -> None:
    flat = compute_stats(np.zeros(5), trades_with([]), HOURLY[:5], PPY)
    assert np.isnan(flat["sharpe"]) and np.isnan(flat["sortino"])
    gains = compute_stats(np.array([0.01, 0.02, 0.0]), trades_with([]), HOURLY[:3], PPY)
    assert gains["sharpe"] > 0
    assert np.isnan(gains["sortino"])


def test_win_rate_is_the_share_of_closed_trades_that_gained(stats: dict[str, float]) -> None:
    assert stats["win_rate"] == pytest.approx(2 / 3)


def test_a_zero_return_trade_is_not_a_win() -> None:
    stats = compute_stats(RETURNS, trades_with([0.1, 0.0]), HOURLY, PPY)
    assert stats["win_rate"] == 0.5


def test_profit_factor_is_gross_gains_over_gross_losses(stats: dict[str, float]) -> None:
    assert stats["profit_factor"] == pytest.approx((0.1 + 0.2) / 0.05, rel=1e-12)


def test_profit_factor_is_infinite_without_losses() -> None:
    stats = compute_stats(RETURNS, trades_with([0.1, 0.05]), HOURLY, PPY)
    assert stats["profit_factor"] == np.inf
    assert stats["win_rate"] == 1.0


def test_without_closed_trades_win_rate_and_profit_factor_are_nan() -> None:
    stats = compute_stats(RETURNS, trades_with([np.nan]), HOURLY, PPY)
    assert stats["trades"] == 0
    assert np.isnan(stats["win_rate"]) and np.isnan(stats["profit_factor"])


def test_profit_factor_is_zero_with_only_losses() -> None:
    stats = compute_stats(RETURNS, trades_with([-0.1, -0.05]), HOURLY, PPY)
    assert stats["profit_factor"] == 0.0


def test_exposure_is_the_share_of_bars_with_a_nonzero_return(stats: dict[str, float]) -> None:
    assert stats["exposure"] == pytest.approx(5 / 6)


def test_periods_per_year_default_comes_from_the_index() -> None:
    given = compute_stats(RETURNS, trades_with([]), HOURLY, PPY)
    inferred = compute_stats(RETURNS, trades_with([]), HOURLY)
    assert inferred["sharpe"] == pytest.approx(given["sharpe"], rel=1e-12)


def test_no_bars_gives_neutral_or_missing_statistics() -> None:
    empty = pd.DatetimeIndex([], tz="UTC")
    stats = compute_stats(np.array([]), trades_with([]), empty)
    assert stats["bars"] == 0 and stats["trades"] == 0
    assert stats["total_return"] == 0.0 and stats["max_drawdown"] == 0.0
    assert np.isnan(stats["sharpe"]) and np.isnan(stats["exposure"])


@pytest.mark.parametrize(
    ("freq", "expected"),
    [
        ("1min", 365.25 * 24 * 60),
        ("5min", 365.25 * 24 * 12),
        ("h", 365.25 * 24),
        ("D", 365.25),
    ],
)
def test_periods_per_year_of_regular_indexes(freq: str, expected: float) -> None:
    index = pd.date_range("2024-01-01", periods=100, freq=freq, tz="UTC")
    assert periods_per_year_of(index) == pytest.approx(expected, rel=1e-12)


def test_periods_per_year_of_uses_the_median_spacing() -> None:
    # business days: the weekend gaps are outliers, the typical spacing is one day
    index = pd.bdate_range("2024-01-01", periods=60, tz="UTC")
    assert periods_per_year_of(index) == pytest.approx(365.25, rel=1e-12)


def test_periods_per_year_of_needs_two_bars() -> None:
    assert np.isnan(periods_per_year_of(pd.date_range("2024-01-01", periods=1, freq="h")))


def test_cagr_annualises_the_total_return_over_the_calendar_span() -> None:
    index = pd.date_range("2020-01-01", periods=3, freq="365D")  # 730 days
    stats = compute_stats(np.array([0.0, 0.1, 0.1]), trades_with([]), index, 1.0)
    years = 730 / 365.25
    assert stats["cagr"] == pytest.approx(1.21 ** (1 / years) - 1, rel=1e-12)


def test_average_drawdown_is_the_mean_trough_of_each_episode() -> None:
    # equity 1, 1.1, 0.99 (-10%), 1.2 (new peak), 1.08 (-10%), 0.96 (-20%), 1.3
    returns = np.array([0.1, -0.1, 1.2 / 0.99 - 1, -0.1, 0.96 / 1.08 - 1, 1.3 / 0.96 - 1])
    stats = compute_stats(returns, trades_with([]), HOURLY, PPY)
    assert stats["max_drawdown"] == pytest.approx(-0.2)
    assert stats["avg_drawdown"] == pytest.approx((-0.1 + -0.2) / 2)


def test_average_trade_duration_counts_closed_trades_only() -> None:
    trades = pd.DataFrame(
        {
            "return": [0.1, -0.05, np.nan],
            "entry_time": pd.to_datetime(
                ["2024-01-01 00:00", "2024-01-02 00:00", "2024-01-03 00:00"]
            ),
            "exit_time": pd.to_datetime(["2024-01-01 06:00", "2024-01-02 02:00", None]),
        }
    )
    stats = compute_stats(RETURNS, trades, HOURLY, PPY)
    assert stats["avg_trade_duration_hours"] == pytest.approx(4.0)


def test_average_monthly_return_chains_month_end_equity() -> None:
    index = pd.DatetimeIndex(["2024-01-15", "2024-01-31", "2024-02-15", "2024-03-10"])
    returns = np.array([0.1, 0.0, -0.5, 0.2])  # month ends: 1.1, 0.55, 0.66
    stats = compute_stats(returns, trades_with([]), index, 12.0)
    assert stats["avg_monthly_return"] == pytest.approx((0.1 + -0.5 + 0.2) / 3)


def test_expectancy_is_the_mean_closed_trade_return(stats: dict[str, float]) -> None:
    assert stats["expectancy"] == pytest.approx((0.1 - 0.05 + 0.2) / 3, rel=1e-12)


def test_expectancy_is_nan_without_closed_trades() -> None:
    assert np.isnan(compute_stats(RETURNS, trades_with([np.nan]), HOURLY, PPY)["expectancy"])


def test_volatility_is_the_annualized_sample_deviation(stats: dict[str, float]) -> None:
    mean = sum(RETURNS) / len(RETURNS)
    sample_var = sum((r - mean) ** 2 for r in RETURNS) / (len(RETURNS) - 1)
    assert stats["volatility"] == pytest.approx(np.sqrt(sample_var) * np.sqrt(PPY), rel=1e-12)


def test_calmar_is_cagr_over_the_max_drawdown() -> None:
    index = pd.date_range("2020-01-01", periods=4, freq="365D")  # 1095 days
    # equity 1, 1, 1.2, 0.96, 1.056: max drawdown -20%
    stats = compute_stats(np.array([0.0, 0.2, -0.2, 0.1]), trades_with([]), index, 1.0)
    cagr = 1.056 ** (365.25 / 1095) - 1
    assert stats["max_drawdown"] == pytest.approx(-0.2, rel=1e-12)
    assert stats["calmar"] == pytest.approx(cagr / 0.2, rel=1e-12)


def test_calmar_is_nan_without_a_drawdown() -> None:
    index = pd.date_range("2020-01-01", periods=3, freq="365D")
    stats = compute_stats(np.array([0.0, 0.1, 0.1]), trades_with([]), index, 1.0)
    assert stats["max_drawdown"] == 0.0
    assert np.isnan(stats["calmar"])
