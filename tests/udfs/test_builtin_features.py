"""Every registered feature is causal and declares its warm-up; a look-ahead one gets caught.

The causality tests are parametrized over the registry as it stands at import (all
built-ins): perturbing the bars after k must leave every value at <= k unchanged, and
the value at t on a prefix ending at t must equal the value at t on the whole series.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from udfs import FeatureSpec, compute_features, feature_names, find_lookahead, get_feature
from udfs.builtin import BUILTIN_FEATURES, TA_FEATURES, TALIB_FEATURES

REGISTERED = feature_names()
CUTOFFS = [0, 1, 2, 9, 13, 14, 19, 25, 27, 33, 44, 52, 71, 77, 100, 199, 777, 1997]
# Outputs that are NaN by design after warm-up: the SAR of the trend not in force.
SPARSE = {"trend_psar_up", "trend_psar_down"}
# A stochastic of a stochastic: 0 / 0 (NaN, as in ta) while its 10-bar window is flat,
# e.g. when prices trend from the first bar and %K sits at 100.
FLAT_PRONE = {"trend_stc"}


def _peek_next_close(bars: pd.DataFrame) -> dict[str, pd.Series]:
    """Look-ahead on purpose: the value at t is the close at t + 1."""
    return {"next_close": bars["close"].shift(-1)}


def _centered_mean(bars: pd.DataFrame) -> dict[str, pd.Series]:
    """Look-ahead on purpose: a centred rolling mean reads 2 bars ahead."""
    return {"centered_mean": bars["close"].rolling(5, center=True).mean()}


PEEK_NEXT_CLOSE = FeatureSpec(
    name="peek_next_close",
    inputs=("close",),
    outputs={"next_close": "double"},
    warmup=0,
    causal=False,
    func=_peek_next_close,
)
CENTERED_MEAN = FeatureSpec(
    name="centered_mean_5",
    inputs=("close",),
    outputs={"centered_mean": "double"},
    warmup=2,
    causal=False,
    func=_centered_mean,
)


@pytest.fixture(scope="module")
def bars(random_walk_bars) -> pd.DataFrame:
    """2,000 minute bars."""
    return random_walk_bars(2_000, seed=7)


def test_builtin_features_are_registered_with_their_columns():
    assert REGISTERED[:3] == ["rsi_14", "macd_12_26_9", "cci_14"]
    assert [get_feature(spec.name) for spec in BUILTIN_FEATURES] == list(BUILTIN_FEATURES)
    columns = [column for spec in BUILTIN_FEATURES for column in spec.outputs]
    assert columns[:5] == ["rsi_14", "macd", "macdsignal", "macdhist", "cci"]
    assert len(columns) == len(set(columns)) == 5 + 86 + 13 + 1 + 11  # + fracdiff, patterns
    short = [column for spec in TALIB_FEATURES for column in spec.outputs]
    assert short == [
        "rsi_5",
        "emarsi_5",
        "ema100",
        "adx",
        "sma_50",
        "sma_200",
        "bb_lowerband",
        "bb_middleband",
        "bb_upperband",
        "bb_lowerband_diff",
        "bb_middleband_diff",
        "bb_upperband_diff",
        "log_return",
    ]
    assert all(spec in BUILTIN_FEATURES for spec in TA_FEATURES)


@pytest.mark.parametrize("name", REGISTERED)
def test_spec_is_declared_causal_with_double_outputs(name):
    spec = get_feature(name)
    assert spec.causal
    assert set(spec.outputs.values()) == {"double"}
    assert spec.warmup == max(spec.warmup_of(column) for column in spec.outputs)


@pytest.mark.parametrize("name", REGISTERED)
def test_declared_warmup_is_the_number_of_leading_nans(bars, name):
    spec = get_feature(name)
    values = compute_features(bars, [name])
    for column in spec.outputs:
        warmup = spec.warmup_of(column)
        assert values[column].iloc[:warmup].isna().all(), column
        if column in FLAT_PRONE:
            assert values[column].iloc[warmup:].notna().mean() > 0.99, column
        elif column not in SPARSE:
            assert values[column].iloc[warmup:].notna().all(), column
    if spec.name == "ta_psar":  # exactly one of the two SAR columns holds the SAR
        held = values[["trend_psar_up", "trend_psar_down"]].iloc[2:].notna().sum(axis=1)
        assert (held == 1).all()


@pytest.mark.parametrize("name", REGISTERED)
def test_perturbing_bars_after_k_leaves_values_up_to_k_unchanged(bars, name):
    spec = get_feature(name)
    before = compute_features(bars, [name])
    bitten = 0
    for k in CUTOFFS:
        rng = np.random.default_rng(k)
        perturbed = bars.copy()
        for column in ("open", "high", "low", "close", "volume"):
            values = perturbed[column].to_numpy(copy=True)
            values[k + 1 :] *= rng.uniform(0.5, 1.5, len(bars) - k - 1)
            perturbed[column] = values
        after = compute_features(perturbed, [name])
        pd.testing.assert_frame_equal(before.iloc[: k + 1], after.iloc[: k + 1], check_exact=True)
        bitten += not before.iloc[k + 1 :].equals(after.iloc[k + 1 :])
    assert bitten >= len(CUTOFFS) - 1, f"{spec.name}: perturbing the future changed nothing"


@pytest.mark.parametrize("name", REGISTERED)
def test_values_on_a_prefix_equal_values_on_the_whole_series(bars, name):
    whole = compute_features(bars, [name])
    for k in CUTOFFS:
        prefix = compute_features(bars.iloc[: k + 1], [name])
        pd.testing.assert_frame_equal(prefix, whole.iloc[: k + 1], check_exact=True)


@pytest.mark.parametrize("name", REGISTERED)
def test_find_lookahead_passes_every_registered_feature(bars, name):
    assert find_lookahead(name, bars) == []


@pytest.mark.parametrize(
    ("spec", "caught"),
    [
        (PEEK_NEXT_CLOSE, CUTOFFS[:-1] + [1997]),
        # At cutoffs 0 and 1 its values are NaN (no two bars before them), whatever follows.
        (CENTERED_MEAN, CUTOFFS[2:]),
    ],
    ids=["peek_next_close", "centered_mean_5"],
)
def test_find_lookahead_catches_a_feature_that_reads_the_future(bars, spec, caught):
    column = next(iter(spec.outputs))
    assert find_lookahead(spec, bars, cutoffs=CUTOFFS) == [(k, column) for k in caught]
    assert find_lookahead(spec, bars) != []


def test_find_lookahead_uses_a_registered_lookahead_feature(bars, restore_registry):
    from udfs import register_feature

    register_feature(PEEK_NEXT_CLOSE)
    assert find_lookahead("peek_next_close", bars, cutoffs=[10]) == [(10, "next_close")]


def test_ta_definitions_that_read_the_future_are_causal_here(bars):
    # ta fills KST's rate of change and the visual Ichimoku spans with the mean of the whole
    # column (future bars included); ours are NaN there, so earlier values never move.
    late = bars.copy()
    late.iloc[1500:, :4] *= 3.0
    columns = ["trend_kst", "trend_visual_ichimoku_a", "trend_visual_ichimoku_b", "momentum_kama"]
    before, after = compute_features(bars, columns), compute_features(late, columns)
    pd.testing.assert_frame_equal(before.iloc[:1500], after.iloc[:1500], check_exact=True)
    assert before["trend_kst"].iloc[:44].isna().all()
    assert before["trend_visual_ichimoku_a"].iloc[:51].isna().all()
    assert before["trend_visual_ichimoku_b"].iloc[:77].isna().all()
