"""Built-in features are causal, declare their warm-up, and a look-ahead one gets caught."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from udfs import FeatureSpec, compute_features, find_lookahead, get_feature
from udfs.builtin import BUILTIN_FEATURES

BUILTIN_NAMES = [spec.name for spec in BUILTIN_FEATURES]
CUTOFFS = [0, 12, 13, 14, 32, 33, 34, 100, 777, 1998]


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


@pytest.fixture
def bars(random_walk_bars) -> pd.DataFrame:
    """2,000 minute bars."""
    return random_walk_bars(2_000, seed=7)


def test_builtin_features_are_registered_with_their_columns():
    assert [get_feature(name) for name in BUILTIN_NAMES] == list(BUILTIN_FEATURES)
    columns = [column for spec in BUILTIN_FEATURES for column in spec.outputs]
    assert columns == ["rsi_14", "macd", "macdsignal", "macdhist", "cci"]
    assert all(spec.causal for spec in BUILTIN_FEATURES)
    assert all(set(spec.outputs.values()) == {"double"} for spec in BUILTIN_FEATURES)


@pytest.mark.parametrize("name", BUILTIN_NAMES)
def test_declared_warmup_is_the_number_of_leading_nans(bars, name):
    spec = get_feature(name)
    values = compute_features(bars, [name])
    for column in spec.outputs:
        assert values[column].iloc[: spec.warmup].isna().all()
        assert values[column].iloc[spec.warmup :].notna().all()


@pytest.mark.parametrize("name", BUILTIN_NAMES)
@pytest.mark.parametrize("k", CUTOFFS)
def test_perturbing_bars_after_k_leaves_values_up_to_k_unchanged(bars, name, k):
    rng = np.random.default_rng(k)
    perturbed = bars.copy()
    tail = len(bars) - k - 1
    for column in ("open", "high", "low", "close", "volume"):
        values = perturbed[column].to_numpy(copy=True)
        values[k + 1 :] *= rng.uniform(0.5, 1.5, tail)
        perturbed[column] = values
    before = compute_features(bars, [name])
    after = compute_features(perturbed, [name])
    pd.testing.assert_frame_equal(before.iloc[: k + 1], after.iloc[: k + 1], check_exact=True)
    assert not before.iloc[k + 1 :].equals(after.iloc[k + 1 :])  # the perturbation bites


@pytest.mark.parametrize("name", BUILTIN_NAMES)
def test_values_on_a_prefix_equal_values_on_the_whole_series(bars, name):
    whole = compute_features(bars, [name])
    for k in CUTOFFS:
        prefix = compute_features(bars.iloc[: k + 1], [name])
        pd.testing.assert_frame_equal(prefix, whole.iloc[: k + 1], check_exact=True)


@pytest.mark.parametrize("name", BUILTIN_NAMES)
def test_find_lookahead_passes_builtin_features(bars, name):
    assert find_lookahead(name, bars) == []
    assert find_lookahead(name, bars, cutoffs=CUTOFFS) == []


@pytest.mark.parametrize(
    ("spec", "caught"),
    [
        (PEEK_NEXT_CLOSE, CUTOFFS),
        # At cutoff 0 its only value is NaN (no two bars before it), whatever comes after.
        (CENTERED_MEAN, CUTOFFS[1:]),
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
