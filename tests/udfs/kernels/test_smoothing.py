"""pandas' ewm(adjust=False) bit for bit, and TA-Lib's EMA."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import talib

from udfs.kernels.smoothing import com_of_alpha, com_of_span, ema_talib, ema_talib_from, ewm_mean


def series_with_gaps() -> np.ndarray:
    """A random walk with leading NaN, NaN gaps and a flat stretch."""
    x = 100 + np.cumsum(np.random.default_rng(2).normal(0, 1, 5000))
    x[:4] = np.nan
    x[100:103] = np.nan
    x[700:760] = x[699]
    x[2000] = np.nan
    return x


@pytest.mark.parametrize("span", [3, 9, 12, 13, 25, 26, 50])
@pytest.mark.parametrize("min_periods", [0, 1, None])
def test_ewm_is_bit_identical_to_pandas(span, min_periods):
    x = series_with_gaps()
    periods = span if min_periods is None else min_periods
    expected = pd.Series(x).ewm(span=span, adjust=False, min_periods=periods).mean().to_numpy()
    np.testing.assert_array_equal(ewm_mean(x, com_of_span(span), periods), expected)


def test_ewm_with_alpha_is_bit_identical_to_pandas():
    x = series_with_gaps()
    expected = pd.Series(x).ewm(alpha=1 / 14, adjust=False, min_periods=14).mean().to_numpy()
    np.testing.assert_array_equal(ewm_mean(x, com_of_alpha(1 / 14), 14), expected)


def test_ewm_of_all_nan_and_empty():
    assert np.isnan(ewm_mean(np.full(5, np.nan), 1.0, 1)).all()
    assert ewm_mean(np.empty(0), 1.0, 1).shape == (0,)


@pytest.mark.parametrize("period", [1, 2, 5, 100])
def test_ema_matches_talib(period):
    x = series_with_gaps()[200:2000]  # no NaN after its start: TA-Lib propagates them
    x[:3] = np.nan
    np.testing.assert_allclose(ema_talib(x, period), talib.EMA(x, period), rtol=1e-12)


def test_ema_from_a_later_start_and_past_the_end():
    x = np.arange(10.0)
    out = ema_talib_from(x, 3, 5)
    assert np.isnan(out[:5]).all() and out[5] == 4.0
    assert np.isnan(ema_talib_from(x, 3, 10)).all()
    assert np.isnan(ema_talib_from(x, 3, 1)).all()  # the seed window would start before 0
