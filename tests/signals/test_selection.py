"""The performance filter and its point-in-time application at weekly epochs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from signals.backtest import backtest_signals, bar_returns
from signals.selection import (
    DEFAULT_FILTER_PATH,
    PerformanceFilter,
    select_point_in_time,
    weekly_epochs,
)
from signals.stats import STAT_NAMES

GOOD = {
    "bars": 500.0,
    "trades": 5.0,
    "win_rate": 0.6,
    "profit_factor": 1.5,
    "total_return": 0.1,
    "sharpe": 1.2,
    "sortino": 1.8,
    "max_drawdown": -0.1,
    "exposure": 0.4,
}
BAR = pd.Timedelta("1h")
PPY = 8766.0
COSTS = {"fees": 0.001, "slippage": 0.0005}


# --- PerformanceFilter.passes ------------------------------------------------------------------


def test_good_statistics_pass_the_default_filter() -> None:
    assert PerformanceFilter().passes(GOOD)


@pytest.mark.parametrize(
    ("threshold", "floor", "statistic", "below"),
    [
        ("min_trades", 3, "trades", 2.0),
        ("min_win_rate", 0.5, "win_rate", 0.4),
        ("min_profit_factor", 1.0, "profit_factor", 0.99),
        ("min_total_return", 0.0, "total_return", -0.01),
        ("min_sharpe", 0.5, "sharpe", 0.49),
        ("min_max_drawdown", -0.3, "max_drawdown", -0.31),
    ],
)
def test_each_threshold_alone_can_fail_the_filter(
    threshold: str, floor: float, statistic: str, below: float
) -> None:
    performance_filter = PerformanceFilter(**{threshold: floor})
    assert performance_filter.passes(GOOD)
    assert performance_filter.passes({**GOOD, statistic: floor})  # the floor itself passes
    assert not performance_filter.passes({**GOOD, statistic: below})


@pytest.mark.parametrize(
    "statistic",
    ["trades", "win_rate", "profit_factor", "total_return", "sharpe", "max_drawdown"],
)
def test_a_missing_statistic_fails_the_filter(statistic: str) -> None:
    assert not PerformanceFilter().passes({**GOOD, statistic: np.nan})


def test_an_infinite_profit_factor_passes() -> None:
    assert PerformanceFilter().passes({**GOOD, "profit_factor": np.inf})


# --- PerformanceFilter.load ---------------------------------------------------------------------


def test_load_reads_the_library_filter() -> None:
    loaded = PerformanceFilter.load()
    assert loaded == PerformanceFilter(
        min_trades=3,
        min_win_rate=0.0,
        min_profit_factor=1.0,
        min_total_return=0.0,
        min_sharpe=0.0,
        min_max_drawdown=-0.30,
    )
    assert DEFAULT_FILTER_PATH.name == "filter.yaml"


def test_load_applies_keyword_overrides_on_top_of_the_file() -> None:
    loaded = PerformanceFilter.load(min_trades=10, min_sharpe=1.0)
    assert loaded.min_trades == 10
    assert loaded.min_sharpe == 1.0
    assert loaded.min_profit_factor == 1.0


def test_load_from_another_file(tmp_path: Path) -> None:
    path = tmp_path / "strict.yaml"
    path.write_text("min_trades: 20\nmin_win_rate: 0.55\n")
    loaded = PerformanceFilter.load(path)
    assert (loaded.min_trades, loaded.min_win_rate) == (20, 0.55)
    assert loaded.min_max_drawdown == PerformanceFilter().min_max_drawdown


def test_an_empty_file_gives_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("# nothing set\n")
    assert PerformanceFilter.load(path) == PerformanceFilter()


def test_an_unknown_override_is_rejected_by_name() -> None:
    with pytest.raises(ValueError, match=r"unknown threshold\(s\) \['min_trade'\]"):
        PerformanceFilter.load(min_trade=5)


def test_an_unknown_key_in_the_file_is_rejected_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "typo.yaml"
    path.write_text("min_trades: 3\nmax_drawdown: -0.2\n")
    with pytest.raises(ValueError, match=r"unknown threshold\(s\) \['max_drawdown'\]") as error:
        PerformanceFilter.load(path)
    assert str(path) in str(error.value)


# --- weekly epochs ------------------------------------------------------------------------------


def test_weekly_epochs_are_the_mondays_after_the_first_bar_up_to_the_last() -> None:
    available_at = pd.Series(pd.date_range("2024-01-03 01:00", "2024-01-29 00:00", freq="h"))
    assert list(weekly_epochs(available_at)) == list(
        pd.to_datetime(["2024-01-08", "2024-01-15", "2024-01-22", "2024-01-29"])
    )


def test_weekly_epochs_start_strictly_after_a_first_bar_on_monday_midnight() -> None:
    available_at = pd.Series(pd.date_range("2024-01-01", "2024-01-20", freq="h", tz="UTC"))
    assert list(weekly_epochs(available_at)) == [
        pd.Timestamp("2024-01-08", tz="UTC"),
        pd.Timestamp("2024-01-15", tz="UTC"),
    ]


# --- point in time ------------------------------------------------------------------------------


def trending_bars(tz: str | None, weeks: int = 10, seed: int = 11) -> pd.DataFrame:
    """Hourly bars rising for five weeks then falling, with `available_at = ts + 1h`."""
    n = weeks * 7 * 24
    rng = np.random.default_rng(seed)
    drift = np.where(np.arange(n) < n // 2, 0.0015, -0.0015)
    close = 100 * np.exp(np.cumsum(drift + rng.normal(0, 0.004, n)))
    open_ = np.concatenate([[100.0], close[:-1]])
    spread = np.abs(rng.normal(0, 0.003, n))
    index = pd.date_range("2024-01-01", periods=n, freq="h", tz=tz)
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) * (1 + spread),
            "low": np.minimum(open_, close) * (1 - spread),
            "close": close,
            "available_at": index + BAR,
            # signals drawn per bar once: a prefix of the data sees a prefix of them
            "entry": rng.random(n) < 0.05,
            "exit": rng.random(n) < 0.08,
        },
        index=index,
    )


def decisions(
    bars: pd.DataFrame, performance_filter: PerformanceFilter, ppy: float | None = PPY
) -> pd.DataFrame:
    """Backtest the bars given, then the filter's verdict at each weekly epoch."""
    trades, _ = backtest_signals(
        bars, bars["entry"], bars["exit"], stoploss=-0.02, take_profit=0.03, **COSTS
    )
    returns = bar_returns(trades, bars["close"].to_numpy(), 1, **COSTS)
    return select_point_in_time(
        bars["available_at"], returns, trades, bars.index, performance_filter, ppy
    )


LOOSE = PerformanceFilter(min_trades=3, min_max_drawdown=-0.5)


@pytest.mark.parametrize("tz", ["UTC", None], ids=["tz-aware", "naive-utc"])
def test_decisions_use_only_what_was_known_at_each_epoch(tz: str | None) -> None:
    bars = trending_bars(tz)
    full = decisions(bars, LOOSE)
    epochs = weekly_epochs(bars["available_at"])
    assert len(full) == len(epochs) == 10
    assert list(full["decided_at"]) == list(epochs)
    for cutoff in epochs:
        known = bars[bars["available_at"] <= cutoff]
        replayed = decisions(known, LOOSE)
        expected = full[full["decided_at"] <= cutoff].reset_index(drop=True)
        pd.testing.assert_frame_equal(replayed, expected, check_exact=False, rtol=1e-12)


def test_decisions_replay_with_periods_per_year_inferred_from_the_bars() -> None:
    bars = trending_bars("UTC")
    full = decisions(bars, LOOSE, ppy=None)
    cutoff = weekly_epochs(bars["available_at"])[4]
    replayed = decisions(bars[bars["available_at"] <= cutoff], LOOSE, ppy=None)
    expected = full[full["decided_at"] <= cutoff].reset_index(drop=True)
    pd.testing.assert_frame_equal(replayed, expected, check_exact=False, rtol=1e-12)


def test_the_verdict_at_an_epoch_is_a_backtest_of_the_bars_available_then() -> None:
    bars = trending_bars("UTC")
    full = decisions(bars, LOOSE)
    for row in full.itertuples(index=False):
        known = bars[bars["available_at"] <= row.decided_at]
        _, stats = backtest_signals(
            known,
            known["entry"],
            known["exit"],
            stoploss=-0.02,
            take_profit=0.03,
            periods_per_year=PPY,
            **COSTS,
        )
        for name in STAT_NAMES:
            assert getattr(row, name) == pytest.approx(stats[name], rel=1e-12, nan_ok=True)
        assert row.is_selected == LOOSE.passes(stats)


def test_selection_rows_carry_the_epoch_the_statistics_and_the_verdict() -> None:
    full = decisions(trending_bars("UTC"), LOOSE)
    assert list(full.columns) == ["decided_at", *STAT_NAMES, "is_selected"]
    assert full["is_selected"].dtype == bool
    assert full["bars"].is_monotonic_increasing
    assert full["trades"].is_monotonic_increasing


def test_decisions_follow_the_market_and_the_thresholds() -> None:
    bars = trending_bars("UTC")
    loose = decisions(bars, LOOSE)["is_selected"].tolist()
    # selected while the market rose, dropped once the losses of the fall were known
    assert any(loose) and not all(loose)
    assert loose[1] and not loose[-1]
    strict = decisions(bars, PerformanceFilter(min_trades=10_000))["is_selected"].tolist()
    assert not any(strict)
    lenient = decisions(
        bars,
        PerformanceFilter(
            min_trades=0,
            min_profit_factor=0.0,
            min_total_return=-1.0,
            min_sharpe=-np.inf,
            min_max_drawdown=-1.0,
        ),
    )["is_selected"].tolist()
    assert all(lenient)
    assert lenient != loose


def test_a_look_ahead_would_change_the_decisions() -> None:
    """Sanity check of the replay test: using the whole history at every epoch differs."""
    bars = trending_bars("UTC")
    full = decisions(bars, LOOSE)
    _, whole_history = backtest_signals(
        bars,
        bars["entry"],
        bars["exit"],
        stoploss=-0.02,
        take_profit=0.03,
        periods_per_year=PPY,
        **COSTS,
    )
    assert full["is_selected"].tolist() != [LOOSE.passes(whole_history)] * len(full)
