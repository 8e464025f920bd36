"""TA-Lib-compatible indicators on numpy arrays: causal, NaN until warmed up.

Thin validated wrappers over the numba kernels in `udfs.kernels.talib`, following
TA-Lib's C code (default compatibility, no unstable period):

- the computation starts at the first row where every input is non-NaN (as TA-Lib's
  Python wrapper does), and rows before the first full window are NaN;
- an EMA is seeded with the simple mean of its first `period` values, then
  `ema += (x - ema) * k` with `k = 2 / (period + 1)`;
- flat prices give TA-Lib's answers: RSI 0 (no gain, no loss), CCI 0 (all deviations
  within TA-Lib's relative epsilon of the price level), ADX held (DX is skipped while
  the smoothed true range is 0);
- a NaN met after the start makes every later MACD, EMA and ADX value NaN, as in TA-Lib,
  and every later RSI value NaN (where TA-Lib answers 0, i.e. "oversold"); CCI, SMA and
  Bollinger bands recompute each window, so only the windows holding the NaN are NaN
  (TA-Lib's running SMA sum stays NaN from there on).

Recursions follow TA-Lib's operation order (differences of a few ulps where TA-Lib's
build uses fused multiply-adds); CCI and ADX are bit-identical to TA-Lib.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from udfs.kernels import talib as kernels
from udfs.kernels.rolling import rolling_mean
from udfs.kernels.smoothing import ema_talib

FloatArray = NDArray[np.float64]


def _as_float(values: ArrayLike, name: str) -> FloatArray:
    """`values` as a contiguous 1-D float64 array."""
    array = np.ascontiguousarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    return array


def _check_period(period: int, name: str, minimum: int) -> None:
    """Reject periods TA-Lib rejects."""
    if int(period) != period or period < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {period!r}")


def _as_hlc(high: ArrayLike, low: ArrayLike, close: ArrayLike) -> tuple[FloatArray, ...]:
    """High, low, close as float arrays of one length."""
    h, lo, c = _as_float(high, "high"), _as_float(low, "low"), _as_float(close, "close")
    if not len(h) == len(lo) == len(c):
        raise ValueError(f"high, low, close lengths differ: {len(h)}, {len(lo)}, {len(c)}")
    return h, lo, c


def first_valid(*arrays: FloatArray) -> int:
    """Index of the first row where every array is non-NaN (the length when there is none)."""
    valid = np.ones(len(arrays[0]), dtype=bool)
    for array in arrays:
        valid &= ~np.isnan(array)
    hits = np.flatnonzero(valid)
    return int(hits[0]) if hits.size else len(valid)


def ema(values: ArrayLike, period: int) -> FloatArray:
    """TA-Lib EMA: SMA-seeded exponential moving average; the first `period - 1` rows are NaN."""
    _check_period(period, "period", 1)
    return ema_talib(_as_float(values, "values"), int(period))


def sma(values: ArrayLike, period: int) -> FloatArray:
    """Simple moving average over `period` rows (Kahan-compensated running sum)."""
    _check_period(period, "period", 1)
    return rolling_mean(_as_float(values, "values"), int(period), int(period))


def rsi(close: ArrayLike, period: int = 14) -> FloatArray:
    """TA-Lib RSI (Wilder smoothing, seeded with plain means); the first `period` rows are NaN."""
    _check_period(period, "period", 2)
    return kernels.rsi(_as_float(close, "close"), int(period))


def macd(
    close: ArrayLike, fast: int = 12, slow: int = 26, signal: int = 9
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """TA-Lib MACD (line, signal, histogram); the first `slow + signal - 2` rows are NaN.

    As in TA-Lib, both EMAs start on the same bar: the fast EMA is seeded with the mean
    of the `fast` bars ending where the slow EMA's first full window ends.
    """
    _check_period(fast, "fast", 2)
    _check_period(slow, "slow", 2)
    _check_period(signal, "signal", 1)
    return kernels.macd(_as_float(close, "close"), int(fast), int(slow), int(signal))


def cci(high: ArrayLike, low: ArrayLike, close: ArrayLike, period: int = 14) -> FloatArray:
    """TA-Lib CCI: (typical - mean) / (0.015 * mean deviation); the first `period - 1` rows NaN."""
    _check_period(period, "period", 2)
    return kernels.cci(*_as_hlc(high, low, close), int(period))


def adx(high: ArrayLike, low: ArrayLike, close: ArrayLike, period: int = 14) -> FloatArray:
    """TA-Lib ADX (Wilder); the first `2 * period - 1` rows are NaN."""
    _check_period(period, "period", 2)
    return kernels.adx(*_as_hlc(high, low, close), int(period))


def bbands(
    close: ArrayLike, period: int = 20, deviations: float = 2.0
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Bollinger bands (upper, middle, lower) as TA-Lib BBANDS(period, dev, dev, SMA).

    Middle is the SMA; the bands add and subtract `deviations` population standard
    deviations, computed accurately (TA-Lib uses E[x^2] - E[x]^2, whose rounding error
    is ~1e-11 relative on ordinary prices and which it zeroes below ~1e-14).
    """
    _check_period(period, "period", 2)
    return kernels.bbands(_as_float(close, "close"), int(period), float(deviations))
