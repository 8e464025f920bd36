"""TA-Lib-compatible RSI, MACD and CCI in numpy: causal, NaN until warmed up.

Each function follows TA-Lib's C code (default compatibility, no unstable period):

- the computation starts at the first row where every input is non-NaN (as TA-Lib's
  Python wrapper does), and rows before the first full window are NaN;
- an EMA is seeded with the simple mean of its first `period` values, then
  `ema += k * (x - ema)` with `k = 2 / (period + 1)`;
- flat prices give TA-Lib's answers: RSI 0 (no gain, no loss), CCI 0 (all deviations
  within TA-Lib's relative epsilon of the price level);
- a NaN met after the start makes every later MACD value NaN, as in TA-Lib, and every
  later RSI value NaN (where TA-Lib answers 0, i.e. "oversold"); CCI recomputes each
  window, so only the windows holding the NaN are NaN.

Recursions run through pandas' compiled exponentially weighted mean, whose rounding
differs from TA-Lib's by a few ulps; windowed sums keep TA-Lib's summation order.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]

# TA-Lib's TA_EPSILON: relative band of its scaled zero test (TA_IS_ZERO_SCALED).
_TA_EPSILON = 1e-14
# Lambert's constant in CCI.
_CCI_CONSTANT = 0.015


def _as_float(values: ArrayLike, name: str) -> FloatArray:
    """`values` as a 1-D float64 array."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    return array


def _check_period(period: int, name: str, minimum: int) -> None:
    """Reject periods TA-Lib rejects."""
    if int(period) != period or period < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {period!r}")


def first_valid(*arrays: FloatArray) -> int:
    """Index of the first row where every array is non-NaN (the length when there is none)."""
    valid = np.ones(len(arrays[0]), dtype=bool)
    for array in arrays:
        valid &= ~np.isnan(array)
    hits = np.flatnonzero(valid)
    return int(hits[0]) if hits.size else len(valid)


def _poisoned(values: FloatArray, start: int) -> NDArray[np.bool_]:
    """True from the first NaN at or after `start` onwards."""
    bad = np.isnan(values)
    bad[:start] = False
    return np.logical_or.accumulate(bad)


def _sequential_sum(values: FloatArray) -> float:
    """Left-to-right sum, TA-Lib's order (np.sum sums pairwise)."""
    return float(np.add.accumulate(values)[-1]) if values.size else 0.0


def _smooth(seed: float, values: FloatArray, alpha: float) -> FloatArray:
    """`[seed, y1, y2, ...]` with `y[i] = y[i-1] + alpha * (values[i-1] - y[i-1])`."""
    series = pd.Series(np.concatenate(([seed], values)))
    return series.ewm(alpha=alpha, adjust=False).mean().to_numpy(dtype=np.float64)


def _ema_from(values: FloatArray, period: int, start: int) -> FloatArray:
    """TA-Lib's INT_EMA whose first output is at `start` (seed: mean of the window ending there)."""
    out = np.full(len(values), np.nan)
    if start >= len(values):
        return out
    window_start = start - period + 1
    seed = _sequential_sum(values[window_start : start + 1]) / period
    out[start:] = _smooth(seed, values[start + 1 :], 2.0 / (period + 1))
    out[_poisoned(values, window_start)] = np.nan
    return out


def ema(values: ArrayLike, period: int) -> FloatArray:
    """TA-Lib EMA: SMA-seeded exponential moving average; the first `period - 1` rows are NaN."""
    _check_period(period, "period", 1)
    x = _as_float(values, "values")
    return _ema_from(x, period, first_valid(x) + period - 1)


def rsi(close: ArrayLike, period: int = 14) -> FloatArray:
    """TA-Lib RSI (Wilder smoothing, seeded with plain means); the first `period` rows are NaN."""
    _check_period(period, "period", 2)
    x = _as_float(close, "close")
    out = np.full(len(x), np.nan)
    first = first_valid(x)
    start = first + period
    if start >= len(x):
        return out
    change = np.diff(x[first:])
    gain = np.where(change < 0, 0.0, change)  # TA-Lib counts a NaN change as a gain
    loss = np.where(change < 0, -change, 0.0)
    alpha = 1.0 / period
    avg_gain = _smooth(_sequential_sum(gain[:period]) / period, gain[period:], alpha)
    avg_loss = _smooth(_sequential_sum(loss[:period]) / period, loss[period:], alpha)
    total = avg_gain + avg_loss
    with np.errstate(divide="ignore", invalid="ignore"):
        value = 100.0 * (avg_gain / total)
    out[start:] = np.where(total > 0.0, value, 0.0)
    # TA-Lib answers 0 (deeply oversold) after a NaN input; a missing price is not a signal.
    out[_poisoned(x, first)] = np.nan
    return out


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
    if slow < fast:
        fast, slow = slow, fast
    x = _as_float(close, "close")
    line_start = first_valid(x) + slow - 1
    out_start = line_start + signal - 1
    if out_start >= len(x):
        empty = np.full(len(x), np.nan)
        return empty, empty.copy(), empty.copy()
    line = _ema_from(x, fast, line_start) - _ema_from(x, slow, line_start)
    line_signal = _ema_from(line, signal, out_start)
    line[:out_start] = np.nan
    return line, line_signal, line - line_signal


def _slot_rows(ends: NDArray[np.intp], first: int, period: int) -> Iterator[NDArray[np.intp]]:
    """For slots 0..period-1 of TA-Lib's circular buffer, the row each window holds there."""
    # TA-Lib keeps a window in a circular buffer where row `first + r` sits in slot
    # `r % period`, and sums slot 0, 1, ..., period-1; keeping that order keeps its rounding.
    slot_of_end = (ends - first) % period
    for slot in range(period):
        back = slot_of_end - slot
        back[back < 0] += period
        yield ends - back


def cci(high: ArrayLike, low: ArrayLike, close: ArrayLike, period: int = 14) -> FloatArray:
    """TA-Lib CCI: (typical - mean) / (0.015 * mean deviation); the first `period - 1` rows NaN."""
    _check_period(period, "period", 2)
    h, lo, c = _as_float(high, "high"), _as_float(low, "low"), _as_float(close, "close")
    if not len(h) == len(lo) == len(c):
        raise ValueError(f"high, low, close lengths differ: {len(h)}, {len(lo)}, {len(c)}")
    out = np.full(len(c), np.nan)
    first = first_valid(h, lo, c)
    start = first + period - 1
    if start >= len(c):
        return out
    typical = (h + lo + c) / 3.0
    ends = np.arange(start, len(c))
    total = np.zeros(len(ends))
    for rows in _slot_rows(ends, first, period):
        total += typical[rows]
    average = total / period
    deviation_sum = np.zeros(len(ends))
    for rows in _slot_rows(ends, first, period):
        deviation_sum += np.abs(typical[rows] - average)
    mean_deviation = deviation_sum / period
    deviation = typical[start:] - average
    # A flat window (deviations within ~90 ulp of the price level) reads 0, as in TA-Lib.
    band = _TA_EPSILON * np.abs(average)
    flat = (np.abs(deviation) <= band) | (np.abs(mean_deviation) <= band)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = deviation / (_CCI_CONSTANT * mean_deviation)
    out[start:] = np.where(flat, 0.0, value)
    return out
