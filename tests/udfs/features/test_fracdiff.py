"""The fracdiff feature UDFs: declaration, values, warm-up, causality, variants, registration."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from udfs import compute_features, feature_names, find_lookahead, get_feature
from udfs.features import register_fracdiff_features
from udfs.features.fracdiff import FRACDIFF_D04, fracdiff_feature, fracdiff_name
from udfs.kernels.fracdiff import ffd_weights, ffd_width

CUTOFFS = [0, 1, 280, 281, 282, 500, 1000, 1999]


@pytest.fixture(scope="module")
def bars(random_walk_bars) -> pd.DataFrame:
    """2,000 minute bars."""
    return random_walk_bars(2_000, seed=7)


@pytest.fixture
def registered(restore_registry) -> None:
    """The default fracdiff features registered for one test."""
    register_fracdiff_features()


def compute_features_of(spec, bars: pd.DataFrame) -> np.ndarray:
    """The spec's single output on `bars`, without registering it."""
    (values,) = spec.func(bars[list(spec.inputs)]).values()
    return np.asarray(values)


def test_fracdiff_d04_is_declared_causal_with_its_window_as_warmup():
    spec = FRACDIFF_D04
    assert spec.name == "fracdiff_d04"
    assert spec.inputs == ("close",)
    assert dict(spec.outputs) == {"fracdiff_d04": "double"}
    assert spec.causal
    assert spec.warmup == ffd_width(0.4, 1e-4) - 1


def test_values_are_the_ffd_of_log_close(bars, registered):
    out = compute_features(bars, ["fracdiff_d04"])["fracdiff_d04"].to_numpy()
    weights = ffd_weights(0.4, 1e-4)
    width = len(weights)
    log_close = np.log(bars["close"].to_numpy())
    want = sliding_window_view(log_close, width) @ weights[::-1]
    assert np.isnan(out[: width - 1]).all()
    np.testing.assert_allclose(out[width - 1 :], want, rtol=1e-12, atol=0.0)


def test_warmup_is_exactly_the_leading_nans(bars):
    for spec in (FRACDIFF_D04, fracdiff_feature(0.7, 1e-3)):
        values = compute_features_of(spec, bars)
        assert np.isnan(values[: spec.warmup]).all()
        assert not np.isnan(values[spec.warmup :]).any()


def test_perturbing_bars_after_k_leaves_values_up_to_k_unchanged(bars):
    assert find_lookahead(FRACDIFF_D04, bars, cutoffs=CUTOFFS) == []
    base = compute_features_of(FRACDIFF_D04, bars)
    for k in CUTOFFS[:-1]:
        late = bars.copy()
        late.iloc[k + 1 :, :4] *= np.random.default_rng(k).uniform(0.5, 1.5, (len(bars) - k - 1, 1))
        moved = compute_features_of(FRACDIFF_D04, late)
        np.testing.assert_array_equal(moved[: k + 1], base[: k + 1])
        assert not np.array_equal(moved[max(k + 1, 281) :], base[max(k + 1, 281) :])


def test_values_on_a_prefix_equal_values_on_the_whole_series(bars):
    whole = compute_features_of(FRACDIFF_D04, bars)
    for k in CUTOFFS:
        prefix = compute_features_of(FRACDIFF_D04, bars.iloc[: k + 1])
        np.testing.assert_array_equal(prefix, whole[: k + 1])


def test_non_positive_closes_give_nan_not_inf(bars):
    broken = bars.copy()
    broken.iloc[700, broken.columns.get_loc("close")] = 0.0
    values = compute_features_of(FRACDIFF_D04, broken)
    assert not np.isinf(values).any()
    assert np.isnan(values[700 : 700 + 282]).all()
    assert not np.isnan(values[700 + 282 :]).any()


@pytest.mark.parametrize(
    ("d", "threshold", "name"),
    [
        (0.4, 1e-4, "fracdiff_d04"),
        (0.35, 1e-4, "fracdiff_d035"),
        (1, 1e-4, "fracdiff_d1"),
        (0.4, 1e-5, "fracdiff_d04_t1em05"),
        (0.5, 0.001, "fracdiff_d05_t0001"),
    ],
)
def test_variant_names_encode_d_and_a_non_default_threshold(d, threshold, name):
    assert fracdiff_name(d, threshold) == name
    spec = fracdiff_feature(d, threshold)
    assert spec.name == name and list(spec.outputs) == [name]
    assert spec.warmup == ffd_width(d, threshold) - 1


def test_a_variant_registers_next_to_the_default(bars, registered):
    from udfs import register_feature

    register_feature(fracdiff_feature(0.6, 1e-3, name="fd_06"))
    out = compute_features(bars, ["fracdiff_d04", "fd_06"])
    assert list(out.columns) == ["fracdiff_d04", "fd_06"]
    assert out["fd_06"].iloc[: ffd_width(0.6, 1e-3) - 1].isna().all()
    assert find_lookahead("fd_06", bars) == []


def test_d_one_variant_is_the_log_return(bars):
    values = compute_features_of(fracdiff_feature(1.0), bars)
    np.testing.assert_array_equal(values[1:], np.diff(np.log(bars["close"].to_numpy())))


def test_registering_adds_it_to_compute_features(bars, registered):
    assert "fracdiff_d04" in feature_names()
    assert get_feature("fracdiff_d04") == FRACDIFF_D04
    out = compute_features(bars)
    assert list(out.columns[:5]) == ["rsi_14", "macd", "macdsignal", "macdhist", "cci"]
    assert out["fracdiff_d04"].iloc[FRACDIFF_D04.warmup :].notna().all()


def test_invalid_parameters_name_the_problem():
    with pytest.raises(ValueError, match="d must be"):
        fracdiff_feature(-0.5)
    with pytest.raises(ValueError, match="threshold must be"):
        fracdiff_feature(0.4, 2.0)
    with pytest.raises(ValueError, match="not a lower-case identifier"):
        fracdiff_feature(0.4, name="FracDiff")
