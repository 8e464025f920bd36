"""The LMW pattern feature: constructed patterns are flagged on completion, causally."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from udfs import compute_features, feature_names, find_lookahead, get_feature, register_feature
from udfs.features import register_pattern_features
from udfs.features.patterns import LMW_PATTERNS, pattern_columns, pattern_feature
from udfs.kernels.patterns import PATTERNS

AGE = "pattern_extremum_age"
FLAGS = [f"pattern_{name}" for name in PATTERNS]
CUTOFFS = [0, 36, 37, 38, 71, 500, 1000, 1999]
# Five extrema E1..E5 (LMW's definitions) from bar 40 on, 7 bars apart (rectangles: 5, so
# that E1 and E5 are not also a double top/bottom, which needs them > 22 bars apart).
FIVE = {
    "hs": [100, 95, 106, 95.3, 100.5],
    "ihs": [100, 105, 94, 104.7, 99.5],
    "btop": [100, 96, 103, 93, 106],
    "bbot": [100, 104, 97, 107, 94],
    "ttop": [106, 93, 103, 96, 100],
    "tbot": [94, 107, 97, 104, 100],
    "rtop": [100, 96, 99.8, 96.3, 100.2],
    "rbot": [100, 104, 100.2, 104.3, 99.8],
}


def bars_through(points: list[tuple[int, float]], seed: int, noise: float = 5e-4) -> pd.DataFrame:
    """Bars whose close is piecewise linear through `points` (bar, price), times 1 + noise."""
    bar, price = zip(*points, strict=True)
    close = np.interp(np.arange(bar[-1] + 1), bar, price)
    close *= 1.0 + np.random.default_rng(seed).normal(0.0, noise, len(close))
    index = pd.date_range("2024-01-02", periods=len(close), freq="1D", tz="UTC", name="ts")
    return pd.DataFrame({"open": close, "high": close, "low": close, "close": close}, index=index)


def five_extrema_path(prices: list[float], spacing: int) -> tuple[list[tuple[int, float]], int]:
    """A path in from bar 0, through E1..E5 `spacing` bars apart from bar 40, then out.

    Returns the points and E5's bar. The path leaves E5 as steeply as it reached it, so the
    smoothed turn sits on E5's bar.
    """
    top = prices[0] > prices[1]
    points = [(0, prices[0] - 10 if top else prices[0] + 10)]
    points += [(40 + spacing * i, price) for i, price in enumerate(prices)]
    last = 40 + 4 * spacing
    slope = (prices[4] - prices[3]) / spacing
    points.append((last + 12, prices[4] - 12 * slope))
    return points, last


def double_path(top: bool) -> tuple[list[tuple[int, float]], int]:
    """A double top (bottom): first extremum at bar 20, second 26 bars later at bar 46."""
    sign = 1.0 if top else -1.0
    points = [(0, 100 - 20 * sign), (20, 100.0), (33, 100 - 7 * sign)]
    return [*points, (46, 100 + 0.8 * sign), (60, 100 - 12 * sign)], 46


def flags_of(bars: pd.DataFrame) -> pd.DataFrame:
    """The default pattern feature's outputs on `bars`, without registering it."""
    return pd.DataFrame(LMW_PATTERNS.func(bars[["close"]]), index=bars.index)


@pytest.fixture(scope="module")
def bars(random_walk_bars) -> pd.DataFrame:
    """2,000 minute bars."""
    return random_walk_bars(2_000, seed=7)


def test_declared_causal_with_a_flag_per_pattern_and_the_extremum_age():
    assert LMW_PATTERNS.name == "lmw_patterns"
    assert LMW_PATTERNS.inputs == ("close",)
    assert list(LMW_PATTERNS.outputs) == [*FLAGS, AGE] == pattern_columns()
    assert set(LMW_PATTERNS.outputs.values()) == {"double"}
    assert LMW_PATTERNS.causal and LMW_PATTERNS.warmup == 37


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("pattern", [*FIVE, "dtop", "dbot"])
def test_constructed_pattern_is_flagged_when_it_completes_and_not_before(pattern, seed):
    if pattern in FIVE:
        points, last = five_extrema_path(FIVE[pattern], 5 if pattern in ("rtop", "rbot") else 7)
    else:
        points, last = double_path(pattern == "dtop")
    bars = bars_through(points, seed)
    done = last + 3  # the final extremum, confirmed by the 3-bar lag
    out = flags_of(bars)
    expected = np.zeros(len(bars))
    expected[: LMW_PATTERNS.warmup] = np.nan
    expected[done] = 1.0
    np.testing.assert_array_equal(out[f"pattern_{pattern}"].to_numpy(), expected)
    others = out[[column for column in FLAGS if column != f"pattern_{pattern}"]]
    assert (others.iloc[LMW_PATTERNS.warmup :] == 0.0).all().all()
    # No turn after E5: its age grows by one a bar from the completion on.
    np.testing.assert_array_equal(out[AGE].iloc[done:], np.arange(3, 3 + len(bars) - done))
    # Bars up to the completion alone give the same flag: nothing later was needed.
    prefix = flags_of(bars.iloc[: done + 1])
    assert prefix[f"pattern_{pattern}"].iloc[-1] == 1.0
    assert (flags_of(bars.iloc[:done])[f"pattern_{pattern}"].iloc[37:] == 0.0).all()


def test_random_walks_yield_rare_detections():
    rng = np.random.default_rng(3)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.015, 50_000)))
    index = pd.date_range("1990-01-01", periods=len(close), freq="1D", tz="UTC", name="ts")
    out = flags_of(pd.DataFrame({"close": close}, index=index)).iloc[37:]
    rates = out[FLAGS].mean()
    assert (rates > 0.0).all(), rates
    assert (rates < 0.01).all(), rates
    assert out[FLAGS].sum(axis=1).max() <= 3.0


def test_extremum_age_counts_bars_since_the_last_smoothed_turn(bars):
    age = flags_of(bars)[AGE].to_numpy()
    assert np.isnan(age[:37]).all()
    later = age[37:]
    # A turn is confirmed one bar after it at the earliest; 38 means none in the window.
    assert ((later >= 1) & (later <= 38)).all() and (later == np.round(later)).all()
    assert np.mean(np.diff(later) == 1) > 0.5


def test_perturbing_bars_after_k_leaves_values_up_to_k_unchanged(bars):
    assert find_lookahead(LMW_PATTERNS, bars, cutoffs=CUTOFFS) == []


def test_values_on_a_prefix_equal_values_on_the_whole_series(bars):
    whole = flags_of(bars)
    for k in CUTOFFS:
        pd.testing.assert_frame_equal(flags_of(bars.iloc[: k + 1]), whole.iloc[: k + 1])


def test_a_nan_close_blanks_the_windows_holding_it(bars):
    holed = bars.copy()
    holed.iloc[600, holed.columns.get_loc("close")] = np.nan
    out = flags_of(holed)
    assert out.iloc[600:638].isna().all().all()
    assert out.iloc[638:].notna().all().all() and out.iloc[37:600].notna().all().all()


def test_a_variant_with_a_suffix_registers_next_to_the_default(bars, restore_registry):
    register_pattern_features()
    variant = pattern_feature(window=60, lag=2, bandwidth=2.0, name="lmw_patterns_60", suffix="_60")
    register_feature(variant)
    assert variant.warmup == 59 and list(variant.outputs)[0] == "pattern_hs_60"
    out = compute_features(bars, ["lmw_patterns", "lmw_patterns_60"])
    assert list(out.columns) == [*pattern_columns(), *pattern_columns("_60")]
    assert out["pattern_extremum_age_60"].iloc[:59].isna().all()
    assert find_lookahead("lmw_patterns_60", bars, cutoffs=[100, 1000]) == []


def test_registering_adds_it_to_compute_features(bars, restore_registry):
    register_pattern_features()
    assert "lmw_patterns" in feature_names() and get_feature("lmw_patterns") == LMW_PATTERNS
    out = compute_features(bars)
    assert list(out.columns[:5]) == ["rsi_14", "macd", "macdsignal", "macdhist", "cci"]
    assert out[pattern_columns()].iloc[37:].notna().all().all()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"window": 5}, "window must be"),
        ({"lag": 0}, "lag must be"),
        ({"lag": 37}, "lag must be"),
        ({"bandwidth": -1.0}, "bandwidth must be"),
        ({"tolerance": 1.5}, "tolerance must be"),
        ({"separation": -1}, "separation must be"),
        ({"suffix": "-x"}, "not a lower-case identifier"),
    ],
)
def test_invalid_parameters_name_the_problem(changes, message):
    with pytest.raises(ValueError, match=message):
        pattern_feature(**changes)
