"""Rolling kernels reproduce pandas' rolling(window, min_periods) on hard inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from udfs.kernels.rolling import (
    RESUM_EVERY,
    cumsum_skipna,
    inf_to_nan,
    rolling_arg_extreme,
    rolling_max,
    rolling_mean,
    rolling_min,
    rolling_sum,
    shift,
)


def hard_series(n: int = 20_000, seed: int = 0) -> np.ndarray:
    """A random walk with NaN gaps, a leading NaN run, a flat stretch and ties."""
    rng = np.random.default_rng(seed)
    x = 100 + np.cumsum(rng.normal(0, 1, n))
    x[:3] = np.nan
    x[500:540] = x[499]
    x[1000:1003] = np.nan
    x[2000:2100:7] = np.nan
    x[5000:5100] = np.round(x[5000:5100])  # equal values inside windows
    return x


CASES = [(20, 20), (14, 1), (52, 0), (1, 1), (3, 2)]


@pytest.mark.parametrize(("window", "min_periods"), CASES)
def test_sum_and_mean_match_pandas(window, min_periods):
    x = hard_series()
    rolling = pd.Series(x).rolling(window, min_periods=min_periods)
    np.testing.assert_allclose(
        rolling_sum(x, window, min_periods), rolling.sum(), rtol=1e-12, atol=1e-9, equal_nan=True
    )
    np.testing.assert_allclose(
        rolling_mean(x, window, min_periods), rolling.mean(), rtol=1e-12, atol=1e-11, equal_nan=True
    )


@pytest.mark.parametrize(("window", "min_periods"), CASES)
def test_max_and_min_equal_pandas_exactly(window, min_periods):
    x = hard_series()
    rolling = pd.Series(x).rolling(window, min_periods=min_periods)
    np.testing.assert_array_equal(rolling_max(x, window, min_periods), rolling.max())
    np.testing.assert_array_equal(rolling_min(x, window, min_periods), rolling.min())


@pytest.mark.parametrize("window", [1, 2, 7, 26])
@pytest.mark.parametrize("data", ["walk", "decreasing", "increasing", "ties"])
def test_arg_extreme_is_numpys_first_argmax_and_argmin(window, data):
    rng = np.random.default_rng(window)
    x = {
        "walk": hard_series(3000),
        "decreasing": np.linspace(10, 0, 3000),
        "increasing": np.linspace(0, 10, 3000),
        "ties": rng.integers(0, 3, 3000).astype(float),
    }[data]
    series = pd.Series(x)
    for is_max, pick in ((True, np.argmax), (False, np.argmin)):
        expected = series.rolling(window).apply(pick, raw=True).to_numpy()
        np.testing.assert_array_equal(rolling_arg_extreme(x, window, is_max), expected)


def test_equal_values_give_exact_results():
    x = np.r_[np.linspace(1, 2, 30), np.full(40, 0.1), np.linspace(3, 4, 30)]
    assert (rolling_mean(x, 20, 20)[50:70] == 0.1).all()
    assert (rolling_sum(x, 20, 20)[50:70] == 0.1 * 20).all()


def test_running_sums_do_not_drift_over_a_long_series():
    rng = np.random.default_rng(5)
    x = rng.lognormal(8, 2, 2 * RESUM_EVERY * 50)  # volumes spanning orders of magnitude
    exact = sliding_window_view(x, 14).sum(axis=1)
    np.testing.assert_allclose(rolling_sum(x, 14, 14)[13:], exact, rtol=1e-11)


def test_small_helpers():
    x = np.array([1.0, np.nan, 2.0, np.inf, -np.inf])
    np.testing.assert_array_equal(shift(x, 2), [np.nan, np.nan, 1.0, np.nan, 2.0])
    np.testing.assert_array_equal(cumsum_skipna(x[:3]), pd.Series(x[:3]).cumsum())
    np.testing.assert_array_equal(inf_to_nan(x.copy()), [1.0, np.nan, 2.0, np.nan, np.nan])


def test_empty_input_gives_empty_output():
    empty = np.empty(0)
    for kernel in (rolling_sum, rolling_mean, rolling_max, rolling_min):
        assert kernel(empty, 5, 5).shape == (0,)
