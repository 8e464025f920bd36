"""FFD weights (recursion and binomial series), the fixed-width convolution, d = 0 and 1."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view
from scipy.special import binom

from udfs.kernels.fracdiff import (
    BLOCK_ROWS,
    ffd_weights,
    ffd_width,
    fixed_width_diff,
    log_prices,
)

D_VALUES = [0.05, 0.2, 0.35, 0.4, 0.5, 0.75, 1.3, 2.5]


def log_walk(n: int, seed: int = 5) -> np.ndarray:
    """Log closes of a seeded random walk around 100."""
    return np.log(100.0) + np.cumsum(np.random.default_rng(seed).normal(0.0, 1e-2, n))


def reference_ffd(x: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """numpy reference: each full window of x dotted with the reversed weights, NaN before."""
    out = np.full(len(x), np.nan)
    width = len(weights)
    if len(x) >= width:
        out[width - 1 :] = sliding_window_view(x, width) @ weights[::-1]
    return out


@pytest.mark.parametrize("d", D_VALUES)
@pytest.mark.parametrize("threshold", [1e-2, 1e-3, 1e-4, 1e-5])
def test_weights_follow_the_recursion_until_the_threshold(d, threshold):
    weights = ffd_weights(d, threshold)
    assert weights[0] == 1.0
    for k in range(1, len(weights)):
        assert weights[k] == -weights[k - 1] * (d - k + 1) / k
    assert np.all(np.abs(weights) >= threshold)
    k = len(weights)
    assert abs(-weights[-1] * (d - k + 1) / k) < threshold


@pytest.mark.parametrize("d", D_VALUES)
def test_weights_are_the_binomial_series_of_one_minus_b_to_the_d(d):
    weights = ffd_weights(d, 1e-5)
    k = np.arange(len(weights))
    np.testing.assert_allclose(weights, (-1.0) ** k * binom(d, k), rtol=1e-9, atol=1e-15)
    # The first dropped weight is below the threshold, the last kept one is not.
    assert abs(binom(d, len(weights))) < 1e-5 <= abs(binom(d, len(weights) - 1))


def test_width_grows_as_d_falls_and_as_the_threshold_tightens():
    assert ffd_width(0.4, 1e-4) == len(ffd_weights(0.4, 1e-4))
    assert ffd_width(0.3, 1e-4) > ffd_width(0.4, 1e-4) > ffd_width(0.5, 1e-4)
    assert ffd_width(0.4, 1e-5) > ffd_width(0.4, 1e-4) > ffd_width(0.4, 1e-3)


@pytest.mark.parametrize("d", [0.0, 1.0, 2.0, 3.0])
def test_integer_d_keeps_exactly_d_plus_one_weights(d):
    weights = ffd_weights(d, 1e-8)
    np.testing.assert_array_equal(weights, (-1.0) ** np.arange(d + 1) * binom(d, np.arange(d + 1)))


@pytest.mark.parametrize("d", [0.1, 0.4, 0.8, 1.5])
@pytest.mark.parametrize("n", [1, 50, 281, 282, 3 * BLOCK_ROWS + 17])
def test_values_match_a_numpy_reference(d, n):
    x = log_walk(n)
    weights = ffd_weights(d, 1e-4)
    got = fixed_width_diff(x, weights)
    want = reference_ffd(x, weights)
    # rtol 1e-12; for d > 1 also an atol of 1e-14 x the largest possible term sum: such an
    # output can cancel to ~0 on a calm stretch and then has no relative accuracy in any order.
    scale = np.abs(weights).sum() * np.abs(x).max()
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0.0 if d < 1 else 1e-14 * scale)
    assert np.isnan(got[: min(len(weights) - 1, n)]).all()
    assert not np.isnan(got[len(weights) - 1 :]).any()


def test_d_one_is_the_first_difference_and_d_zero_the_series():
    x = log_walk(5000)
    first = fixed_width_diff(x, ffd_weights(1.0, 1e-4))
    assert np.isnan(first[0])
    np.testing.assert_array_equal(first[1:], np.diff(x))
    np.testing.assert_array_equal(fixed_width_diff(x, ffd_weights(0.0, 1e-4)), x)
    second = fixed_width_diff(x, ffd_weights(2.0, 1e-4))
    np.testing.assert_allclose(second[2:], np.diff(x, 2), rtol=1e-12, atol=1e-15)


def test_perturbing_later_values_leaves_earlier_outputs_unchanged():
    x = log_walk(4000)
    weights = ffd_weights(0.4, 1e-4)
    base = fixed_width_diff(x, weights)
    for cutoff in [0, 280, 281, 282, 1000, 2047, 2048, 3998]:
        moved = x.copy()
        moved[cutoff + 1 :] += np.random.default_rng(cutoff).normal(0.0, 1.0, len(x) - cutoff - 1)
        after = fixed_width_diff(moved, weights)
        np.testing.assert_array_equal(after[: cutoff + 1], base[: cutoff + 1])
        assert not np.array_equal(after[cutoff + 1 :], base[cutoff + 1 :])


def test_a_nan_input_blanks_exactly_the_windows_holding_it():
    x = log_walk(1000)
    x[500] = np.nan
    weights = ffd_weights(0.5, 1e-3)
    out = fixed_width_diff(x, weights)
    width = len(weights)
    assert np.isnan(out[500 : 500 + width]).all()
    assert not np.isnan(out[width - 1 : 500]).any()
    assert not np.isnan(out[500 + width :]).any()


def test_log_prices_is_nan_for_non_positive_closes():
    got = log_prices(np.array([1.0, np.e, 0.0, -3.0, np.nan]))
    np.testing.assert_array_equal(got[:2], [0.0, 1.0])
    assert np.isnan(got[2:]).all()


@pytest.mark.parametrize(
    ("d", "threshold", "message"),
    [
        (-0.1, 1e-4, "d must be"),
        (np.nan, 1e-4, "d must be"),
        (0.4, 0.0, "threshold must be"),
        (0.4, 1.0, "threshold must be"),
        (0.4, np.nan, "threshold must be"),
        (0.5, 1e-10, "exceeds"),
    ],
)
def test_invalid_parameters_are_rejected(d, threshold, message):
    with pytest.raises(ValueError, match=message):
        ffd_weights(d, threshold)
