"""Survivor filtering and portfolio construction on synthetic returns with known answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from signals.portfolio import (
    METHODS,
    RETURN_STAT_NAMES,
    SURVIVOR_PRESETS,
    _moments,
    build_portfolio,
    covariance,
    greedy_weights,
    max_sharpe_weights,
    min_variance_weights,
    portfolio_returns,
    return_stats,
    select_survivors,
    survivor_filter,
    target_return_weights,
    target_volatility_weights,
)
from signals.selection import PerformanceFilter
from signals.stats import compute_stats

DAYS = pd.date_range("2024-01-01", periods=400, freq="D", tz="UTC")
PPY = 365.25
# Zero-mean, mutually orthogonal +-1 patterns: sample means and covariances are exact.
X = np.tile([1.0, -1.0, 1.0, -1.0], 100)
Y = np.tile([1.0, 1.0, -1.0, -1.0], 100)
Z = np.tile([1.0, -1.0, -1.0, 1.0], 100)


def streams(**columns: tuple[float, float, np.ndarray]) -> pd.DataFrame:
    """Daily returns `mean + vol * pattern` per named column."""
    return pd.DataFrame({k: m + v * p for k, (m, v, p) in columns.items()}, index=DAYS)


def sharpe(r: pd.DataFrame, w: pd.Series) -> float:
    p = portfolio_returns(r, w)
    return float(p.mean() / p.std(ddof=1) * np.sqrt(PPY))


def vol(r: pd.DataFrame, w: pd.Series) -> float:
    return float(np.sqrt(w @ covariance(r, "none") @ w))


# --- survivors --------------------------------------------------------------------------------

STATS = pd.DataFrame(
    {
        "avg_monthly_return": [0.06, 0.04, 0.08, 0.07, 0.05, np.nan],
        "avg_drawdown": [-0.05, -0.05, -0.11, -0.05, -0.10, -0.05],
        "max_drawdown": [-0.20, -0.20, -0.20, -0.31, -0.30, -0.20],
        "sharpe": [1.5, 2.0, 2.0, 2.0, 1.0, 2.0],
    },
    index=["good", "low_gain", "deep_avg_dd", "deep_max_dd", "at_every_floor", "no_gain"],
)


def test_the_monthly_gain_preset_keeps_exactly_the_candidates_meeting_every_floor() -> None:
    kept = select_survivors(STATS, survivor_filter("monthly_gain"))
    assert kept == ["good", "at_every_floor"]


def test_a_preset_threshold_can_be_overridden_by_keyword() -> None:
    kept = select_survivors(STATS, survivor_filter("monthly_gain", min_avg_monthly_return=0.03))
    assert kept == ["good", "low_gain", "at_every_floor"]


def test_unknown_presets_and_thresholds_are_named() -> None:
    with pytest.raises(ValueError, match="unknown survivor preset 'nope'"):
        survivor_filter("nope")
    with pytest.raises(ValueError, match=r"unknown threshold\(s\) \['min_gain'\]"):
        survivor_filter("monthly_gain", min_gain=0.1)


def test_a_stats_table_without_a_filtered_column_is_rejected_naming_it() -> None:
    with pytest.raises(ValueError, match=r"missing column\(s\) \['avg_drawdown'\]"):
        select_survivors(STATS.drop(columns="avg_drawdown"), survivor_filter("monthly_gain"))


def test_unset_thresholds_are_not_checked_and_new_ones_are() -> None:
    returns_only = SURVIVOR_PRESETS["returns_only"]
    assert returns_only.floors() == {"total_return": 0.0, "sharpe": 0.0, "max_drawdown": -0.30}
    assert returns_only.passes({"total_return": 0.1, "sharpe": 0.5, "max_drawdown": -0.1})
    strict = PerformanceFilter(min_avg_monthly_return=0.05, min_avg_drawdown=-0.1)
    good = {
        "trades": 5,
        "win_rate": 0.6,
        "profit_factor": 2,
        "total_return": 0.3,
        "sharpe": 1,
        "max_drawdown": -0.2,
        "avg_monthly_return": 0.05,
        "avg_drawdown": -0.1,
    }
    assert strict.passes(good)
    assert not strict.passes({**good, "avg_monthly_return": 0.049})
    assert not strict.passes({**good, "avg_drawdown": -0.11})
    assert not strict.passes({k: v for k, v in good.items() if k != "avg_drawdown"})


# --- statistics of return streams -------------------------------------------------------------


def test_return_stats_agree_with_compute_stats_on_every_return_statistic() -> None:
    rng = np.random.default_rng(7)
    r = pd.DataFrame(rng.normal(0.001, 0.02, (400, 3)), index=DAYS, columns=list("abc"))
    r.iloc[::5] = 0.0  # flat days, so exposure is not trivially 1
    r["up"] = 0.001  # never in a drawdown, no variance
    ours = return_stats(r)
    no_trades = pd.DataFrame({"return": pd.Series(dtype="float64")})
    for column in r.columns:
        theirs = compute_stats(r[column].to_numpy(), no_trades, r.index)
        for name in RETURN_STAT_NAMES:
            assert ours.loc[column, name] == pytest.approx(theirs[name], rel=1e-9, nan_ok=True)


# --- covariance -------------------------------------------------------------------------------


def test_the_sample_covariance_is_annualised_by_days_per_year() -> None:
    r = streams(a=(0.001, 0.01, X), b=(0.002, 0.02, Y))
    expected = np.cov(r.to_numpy(), rowvar=False) * PPY
    np.testing.assert_allclose(covariance(r, "none").to_numpy(), expected, atol=1e-15)


def test_ledoit_wolf_is_invertible_where_the_sample_covariance_is_singular() -> None:
    rng = np.random.default_rng(3)
    r = pd.DataFrame(rng.normal(0, 0.01, (30, 60)), index=DAYS[:30])  # fewer days than streams
    assert np.linalg.matrix_rank(covariance(r, "none").to_numpy()) < 60
    assert np.linalg.eigvalsh(covariance(r, "ledoit_wolf").to_numpy()).min() > 0
    with pytest.raises(ValueError, match="unknown shrinkage 'oas'"):
        covariance(r, "oas")


# --- minimum variance -------------------------------------------------------------------------


@pytest.mark.parametrize("shrinkage", ["none", "ledoit_wolf"])
def test_two_uncorrelated_equal_vol_streams_split_50_50_at_minimum_variance(shrinkage: str) -> None:
    r = streams(a=(0.001, 0.01, X), b=(0.003, 0.01, Y))
    w = min_variance_weights(r, shrinkage=shrinkage)
    np.testing.assert_allclose(w.to_numpy(), [0.5, 0.5], atol=1e-6)


def test_minimum_variance_weights_uncorrelated_streams_by_inverse_variance() -> None:
    r = streams(a=(0.001, 0.01, X), b=(0.001, 0.02, Y))
    w = min_variance_weights(r, shrinkage="none")
    np.testing.assert_allclose(w.to_numpy(), [0.8, 0.2], atol=1e-6)


def test_a_max_weight_caps_the_minimum_variance_portfolio() -> None:
    r = streams(a=(0.001, 0.01, X), b=(0.001, 0.02, Y), c=(0.001, 0.04, Z))
    w = min_variance_weights(r, shrinkage="none", max_weight=0.5)
    assert w["a"] == pytest.approx(0.5, abs=1e-6)
    # the rest splits by inverse variance between b and c: 16:4 -> 0.4, 0.1
    np.testing.assert_allclose(w[["b", "c"]].to_numpy(), [0.4, 0.1], atol=1e-6)


def test_weights_that_cannot_sum_to_one_under_the_cap_are_rejected() -> None:
    r = streams(a=(0.001, 0.01, X), b=(0.001, 0.02, Y))
    with pytest.raises(ValueError, match=r"max_weight 0.4 x 2 candidate\(s\) < 1"):
        min_variance_weights(r, max_weight=0.4)


# --- maximum Sharpe ---------------------------------------------------------------------------


def test_max_sharpe_of_uncorrelated_streams_is_proportional_to_mean_over_variance() -> None:
    r = streams(a=(0.001, 0.01, X), b=(0.002, 0.01, Y), c=(0.003, 0.02, Z))
    w = max_sharpe_weights(r, shrinkage="none")
    raw = np.array([0.001 / 0.01**2, 0.002 / 0.01**2, 0.003 / 0.02**2])
    np.testing.assert_allclose(w.to_numpy(), raw / raw.sum(), atol=1e-6)


def test_max_sharpe_respects_the_max_weight_and_fills_the_rest_optimally() -> None:
    r = streams(a=(0.001, 0.01, X), b=(0.004, 0.01, Y))  # unconstrained: 0.2 / 0.8
    w = max_sharpe_weights(r, shrinkage="none", max_weight=0.6)
    np.testing.assert_allclose(w.to_numpy(), [0.4, 0.6], atol=1e-6)


def test_max_sharpe_beats_every_other_long_only_portfolio() -> None:
    rng = np.random.default_rng(11)
    r = pd.DataFrame(rng.normal(0.001, 0.01, (400, 6)) @ rng.uniform(0, 1, (6, 6)), index=DAYS)
    best = sharpe(r, max_sharpe_weights(r, shrinkage="none"))
    for w in rng.dirichlet(np.ones(6), size=500):
        assert sharpe(r, pd.Series(w, index=r.columns)) <= best + 1e-9


def test_max_sharpe_needs_a_stream_beating_the_risk_free_rate() -> None:
    r = streams(a=(-0.001, 0.01, X), b=(-0.002, 0.01, Y))
    with pytest.raises(ValueError, match="no candidate's mean return exceeds risk_free 0.0"):
        max_sharpe_weights(r)


# --- target volatility and target return ------------------------------------------------------


@pytest.mark.parametrize("target", [0.18, 0.25, 0.35])
def test_target_volatility_is_hit_and_is_the_highest_return_portfolio_at_it(target: float) -> None:
    r = streams(a=(0.001, 0.01, X), b=(0.003, 0.02, Y))
    w = target_volatility_weights(r, target, shrinkage="none")
    assert vol(r, w) == pytest.approx(target, abs=1e-6)
    assert w.sum() == pytest.approx(1.0)
    # two assets, fully invested: the frontier at that volatility has the larger b weight
    va, vb = covariance(r, "none").to_numpy().diagonal()
    roots = np.roots([va + vb, -2 * vb, vb - target**2])
    assert w["a"] == pytest.approx(min(roots), abs=1e-6)


def test_a_target_volatility_below_the_minimum_variance_needs_cash() -> None:
    r = streams(a=(0.001, 0.01, X), b=(0.003, 0.02, Y))
    with pytest.raises(ValueError, match="below the minimum-variance portfolio's 0.171"):
        target_volatility_weights(r, 0.10, shrinkage="none")
    w = target_volatility_weights(r, 0.10, shrinkage="none", allow_cash=True)
    assert vol(r, w) == pytest.approx(0.10, abs=1e-6)
    assert w.sum() < 1


def test_a_target_volatility_above_every_portfolio_holds_the_best_stream() -> None:
    r = streams(a=(0.001, 0.01, X), b=(0.003, 0.02, Y))
    w = target_volatility_weights(r, 0.9, shrinkage="none")
    np.testing.assert_allclose(w.to_numpy(), [0.0, 1.0], atol=1e-6)


def test_target_return_is_met_at_the_lowest_variance() -> None:
    r = streams(a=(0.001, 0.01, X), b=(0.003, 0.02, Y))
    mu_a, mu_b = 0.001 * PPY, 0.003 * PPY
    target = 0.7  # above the min-variance return, so the constraint binds
    w = target_return_weights(r, target, shrinkage="none")
    assert w["b"] == pytest.approx((target - mu_a) / (mu_b - mu_a), abs=1e-6)
    below = target_return_weights(r, 0.1, shrinkage="none")  # slack: the min-variance point
    np.testing.assert_allclose(below.to_numpy(), [0.8, 0.2], atol=1e-6)
    with pytest.raises(ValueError, match="exceeds the highest attainable"):
        target_return_weights(r, 2.0, shrinkage="none")


# --- greedy -----------------------------------------------------------------------------------

# a alone has Sharpe ∝ 0.2; adding b raises it; tilting further to a (its duplicate) would too.
GREEDY = streams(a=(0.002, 0.01, X), b=(0.0012, 0.01, Y))


@pytest.mark.parametrize("cap", [0.7, 1.0])
def test_greedy_never_adds_a_perfectly_correlated_duplicate(cap: float) -> None:
    r = GREEDY.assign(a_copy=GREEDY["a"])
    w = greedy_weights(r, max_correlation=cap)
    assert w["a_copy"] == 0.0 or w["a"] == 0.0
    np.testing.assert_allclose(w[w > 0].to_numpy(), [0.5, 0.5])


def test_greedy_would_add_a_near_duplicate_that_improves_sharpe_without_a_cap() -> None:
    near = GREEDY["a"] + 0.0015 * Z  # correlation ~0.99 with a, still Sharpe-accretive
    r = GREEDY.assign(a_near=near)
    assert greedy_weights(r, max_correlation=1.0)["a_near"] > 0
    assert greedy_weights(r, max_correlation=0.9)["a_near"] == 0


def test_greedy_adds_only_candidates_that_raise_the_sharpe() -> None:
    r = GREEDY.assign(weak=0.0002 + 0.01 * Z, losing=-0.001 + 0.01 * Z)
    w = greedy_weights(r)
    assert list(w[w > 0].index) == ["a", "b"]
    assert sharpe(r, w) > sharpe(r, pd.Series({"a": 1.0}))


def test_greedy_weights_members_by_inverse_volatility_when_asked() -> None:
    r = streams(a=(0.002, 0.01, X), b=(0.003, 0.02, Y))
    w = greedy_weights(r, weighting="inverse_volatility")
    np.testing.assert_allclose(w.to_numpy(), [2 / 3, 1 / 3])


def test_greedy_stops_at_max_members() -> None:
    r = streams(a=(0.002, 0.01, X), b=(0.002, 0.01, Y), c=(0.002, 0.01, Z))
    assert (greedy_weights(r) > 0).sum() == 3
    assert (greedy_weights(r, max_members=2) > 0).sum() == 2


# --- every method -----------------------------------------------------------------------------

OPTIONS = {
    "equal": {},
    "greedy": {"max_correlation": 0.5},
    "max_sharpe": {"max_weight": 0.5},
    "min_variance": {},
    "target_volatility": {"target": 0.25},
    "target_return": {"target": 0.4},
}


@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_method_is_deterministic_and_ignores_column_order(method: str) -> None:
    rng = np.random.default_rng(5)
    r = pd.DataFrame(
        rng.normal(0.001, 0.01, (400, 5)) @ rng.uniform(0, 1, (5, 5)),
        index=DAYS,
        columns=[f"s{k}|X" for k in range(5)],
    )
    first = build_portfolio(r, method, **OPTIONS[method])
    again = build_portfolio(r, method, **OPTIONS[method])
    shuffled = build_portfolio(r[r.columns[::-1]], method, **OPTIONS[method])
    pd.testing.assert_series_equal(first, again)
    pd.testing.assert_series_equal(first, shuffled)
    assert (first >= 0).all() and first.sum() == pytest.approx(1.0)


def test_an_unknown_method_is_named() -> None:
    with pytest.raises(ValueError, match="unknown portfolio method 'risk_parity'"):
        build_portfolio(GREEDY, "risk_parity")


def test_bad_returns_are_rejected_naming_the_cell() -> None:
    bad = GREEDY.copy()
    bad.iloc[3, 1] = np.inf
    with pytest.raises(ValueError, match=r"non-finite return at row 2024-01-04.*column 'b'"):
        min_variance_weights(bad)
    with pytest.raises(ValueError, match=r"duplicate candidate column\(s\) \['a'\]"):
        min_variance_weights(pd.concat([GREEDY, GREEDY[["a"]]], axis=1))


def test_portfolio_returns_treat_a_missing_return_as_cash() -> None:
    r = GREEDY.copy()
    r.iloc[0, 0] = np.nan
    p = portfolio_returns(r, pd.Series({"a": 0.25, "b": 0.75}))
    assert p.iloc[0] == pytest.approx(0.75 * r.iloc[0, 1])
    assert p.iloc[1] == pytest.approx(0.25 * r.iloc[1, 0] + 0.75 * r.iloc[1, 1])
    with pytest.raises(ValueError, match=r"candidate\(s\) \['zz'\] have no return column"):
        portfolio_returns(r, pd.Series({"zz": 1.0}))


def test_target_volatility_converges_with_duplicate_candidates():
    """A grid window (demo data, 2009) where strategies held identical positions: the
    unscaled objective stalled SLSQP just outside the risk constraint."""
    path = Path(__file__).parent / "fixtures" / "duplicate_candidates_window.csv"
    window = pd.read_csv(path, index_col=0, parse_dates=True)
    weights = target_volatility_weights(window, 0.2, allow_cash=True, periods_per_year=365.25)
    _, _, sigma = _moments(window, "ledoit_wolf", 365.25)
    w = weights.to_numpy()
    assert np.sqrt(w @ sigma @ w) == pytest.approx(0.2, rel=1e-6)
    assert 0 < weights.sum() <= 1 + 1e-12
