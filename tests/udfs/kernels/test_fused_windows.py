"""One-pass window kernels (Williams %R, Donchian, ta's ATR) agree with pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from udfs.kernels.momentum import williams_r
from udfs.kernels.volatility import atr_ta, donchian


def bars_with_gaps(n: int = 5000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(high, low, close) random-walk bars with NaN in each column and a flat stretch."""
    rng = np.random.default_rng(5)
    close = 100 + np.cumsum(rng.normal(0, 1, n))
    high = close + rng.uniform(0, 1, n)
    low = close - rng.uniform(0, 1, n)
    high[[0, 7, 300, 301, 2500]] = np.nan
    low[[4, 305, 3100]] = np.nan
    close[[2, 600, 601, 4000]] = np.nan
    high[1000:1100], low[1000:1100], close[1000:1100] = high[999], low[999], close[999]
    return high, low, close


def rolling(x: np.ndarray, window: int) -> pd.core.window.Rolling:
    """pandas rolling window with min_periods=window."""
    return pd.Series(x).rolling(window, min_periods=window)


@pytest.mark.parametrize("window", [1, 2, 14, 20, 64])
def test_williams_r_is_bit_identical_to_pandas_rolling_extremes(window):
    high, low, close = bars_with_gaps()
    highest = rolling(high, window).max().to_numpy()
    lowest = rolling(low, window).min().to_numpy()
    expected = -100 * (highest - close) / (highest - lowest)
    np.testing.assert_array_equal(williams_r(high, low, close, window), expected)


@pytest.mark.parametrize("window", [1, 3, 20, 50])
def test_donchian_matches_pandas_rolling_channel_and_mean(window):
    high, low, close = bars_with_gaps()
    upper = rolling(high, window).max().to_numpy()
    lower = rolling(low, window).min().to_numpy()
    mean = rolling(close, window).mean().to_numpy()
    gap = upper - lower
    got = donchian(high, low, close, window)
    for out, want in zip(got[:3], (lower, upper, gap / 2.0 + lower), strict=True):
        np.testing.assert_array_equal(out, want)
    np.testing.assert_allclose(got[3], gap / mean * 100, rtol=1e-12)
    np.testing.assert_array_equal(got[4], (close - lower) / gap)


def test_window_kernels_on_series_shorter_than_the_window():
    high, low, close = (column[:5] for column in bars_with_gaps())
    assert np.isnan(williams_r(high, low, close, 14)).all()
    assert all(np.isnan(out).all() for out in donchian(high, low, close, 20))
    assert np.isnan(atr_ta(high, low, close, 10)).all()


@pytest.mark.parametrize("window", [1, 10, 14])
def test_atr_is_wilders_recursion_over_nan_skipping_true_ranges(window):
    high, low, close = bars_with_gaps()
    high[0] = 101.0  # the seed window must be defined
    previous = np.concatenate(([np.nan], close[:-1]))
    ranges = np.fmax(high - low, np.fmax(np.abs(high - previous), np.abs(low - previous)))
    expected = np.full(high.shape[0], np.nan)
    value = ranges[:window].mean()
    expected[window - 1] = value
    for i in range(window, high.shape[0]):
        value = value * ((window - 1) / window) + ranges[i] * (1 / window)
        expected[i] = value
    np.testing.assert_allclose(atr_ta(high, low, close, window), expected, rtol=1e-12)
