"""Rolling variance: pandas' semantics, accurate where pandas' Welford downdate drifts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from udfs.kernels.rolling import rolling_mean
from udfs.kernels.variance import rolling_mean_var, rolling_var


def hard_series(n: int = 20_000, seed: int = 0) -> np.ndarray:
    """A random walk with NaN gaps, a flat stretch and rounded (tied) values."""
    rng = np.random.default_rng(seed)
    x = 100 + np.cumsum(rng.normal(0, 1, n))
    x[:3] = np.nan
    x[500:540] = x[499]
    x[1000:1003] = np.nan
    x[5000:5100] = np.round(x[5000:5100])
    return x


def test_variance_is_exact_where_pandas_drifts():
    rng = np.random.default_rng(3)
    x = 1e6 + np.cumsum(rng.normal(0, 1e-3, 100_000))  # a high level, tiny moves
    exact = sliding_window_view(x, 20).var(axis=1)
    ours = rolling_var(x, 20, 20, 0)[19:]
    np.testing.assert_allclose(ours, exact, rtol=1e-9)
    pandas = pd.Series(x).rolling(20).var(ddof=0).to_numpy()[19:]
    assert np.max(np.abs(pandas - exact) / exact) > 1e-3  # why we do not use its algorithm


@pytest.mark.parametrize(("window", "min_periods", "ddof"), [(20, 20, 0), (14, 2, 1), (5, 0, 0)])
def test_variance_matches_pandas_on_ordinary_data(window, min_periods, ddof):
    x = hard_series()
    expected = pd.Series(x).rolling(window, min_periods=min_periods).var(ddof=ddof)
    ours = rolling_var(x, window, min_periods, ddof)
    # atol: pandas leaves a ~1e-12 residue on windows of equal values, where ours is 0.
    np.testing.assert_allclose(ours, expected, rtol=1e-8, atol=1e-10, equal_nan=True)


def test_mean_and_variance_in_one_pass_equal_the_two_kernels():
    x = hard_series()
    mean, var = rolling_mean_var(x, 20, 0)
    np.testing.assert_array_equal(mean, rolling_mean(x, 20, 20))
    np.testing.assert_array_equal(var, rolling_var(x, 20, 20, 0))


def test_equal_values_give_exactly_zero():
    x = np.r_[np.linspace(1, 2, 30), np.full(40, 0.1), np.linspace(3, 4, 30)]
    assert (rolling_var(x, 20, 20, 0)[50:70] == 0.0).all()
    assert rolling_var(np.empty(0), 5, 5, 0).shape == (0,)
