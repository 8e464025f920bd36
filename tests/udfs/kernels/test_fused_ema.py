"""Single-pass EMA chains (TRIX, ta's MACD) are bit-identical to chained pandas ewm calls."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from udfs.kernels.trend import macd_ta, trix


def prices_with_gaps(n: int = 6000) -> np.ndarray:
    """A random walk with leading NaN, isolated and consecutive NaN and a flat stretch."""
    x = 100 + np.cumsum(np.random.default_rng(11).normal(0, 1, n))
    x[:3] = np.nan
    x[[400, 1500, 1501, 1502, 4000]] = np.nan
    x[2000:2080] = x[1999]
    return x


def pandas_ema(x: pd.Series, span: int) -> pd.Series:
    """ta's `_ema`: ewm(span, adjust=False, min_periods=span)."""
    return x.ewm(span=span, adjust=False, min_periods=span).mean()


@pytest.mark.parametrize("window", [1, 3, 15, 30])
def test_trix_is_bit_identical_to_three_pandas_emas(window):
    x = pd.Series(prices_with_gaps())
    triple = pandas_ema(pandas_ema(pandas_ema(x, window), window), window)
    expected = ((triple - triple.shift(1)) / triple.shift(1) * 100).to_numpy()
    np.testing.assert_array_equal(trix(x.to_numpy(), window), expected)


@pytest.mark.parametrize(("fast", "slow", "signal"), [(12, 26, 9), (26, 12, 3), (3, 5, 1)])
def test_macd_is_bit_identical_to_pandas_emas(fast, slow, signal):
    x = pd.Series(prices_with_gaps())
    ema_fast, ema_slow = pandas_ema(x, fast), pandas_ema(x, slow)
    line = ema_fast - ema_slow
    line_signal = pandas_ema(line, signal)
    expected = (line, line_signal, line - line_signal, ema_fast, ema_slow)
    for got, want in zip(macd_ta(x.to_numpy(), fast, slow, signal), expected, strict=True):
        np.testing.assert_array_equal(got, want.to_numpy())


def test_ema_chains_of_short_and_all_nan_series():
    for n in (0, 1, 2, 14, 40):
        x = prices_with_gaps()[3 : 3 + n]
        expected = pandas_ema(pandas_ema(pandas_ema(pd.Series(x), 15), 15), 15)
        assert np.isnan(trix(x, 15)).all() == expected.isna().all()
    assert np.isnan(trix(np.full(50, np.nan), 15)).all()
    assert all(np.isnan(out).all() for out in macd_ta(np.full(50, np.nan), 12, 26, 9))
