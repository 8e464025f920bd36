"""TA-Lib-compatible kernels (default compatibility, unstable period 0).

Each starts at the first row where every input is non-NaN, as TA-Lib's Python wrapper
does, and follows the C code's operation order. See `udfs/indicators.py` for the
public functions and the NaN conventions.
"""

from __future__ import annotations

import numpy as np

from udfs.kernels.jit import jit, jit_fma
from udfs.kernels.smoothing import first_valid, first_valid3
from udfs.kernels.variance import rolling_mean_var

# TA-Lib's TA_EPSILON: its zero tests (TA_IS_ZERO, TA_IS_ZERO_SCALED) use this band.
TA_EPSILON = 1e-14
# Lambert's constant in CCI.
CCI_CONSTANT = 0.015


@jit_fma
def rsi(x, period):
    """TA-Lib RSI: Wilder averages seeded with plain means; NaN from a NaN input onward.

    The averages update as `avg * (period - 1) / period + move / period` with both
    factors precomputed (one multiply-add on the dependency chain instead of a
    division); the result agrees with TA-Lib to ~1e-15 relative.
    """
    n = x.shape[0]
    out = np.full(n, np.nan)
    first = first_valid(x)
    start = first + period
    if start >= n:
        return out
    gain = 0.0
    loss = 0.0
    for i in range(first + 1, start + 1):
        change = x[i] - x[i - 1]
        if change < 0:
            loss -= change
        else:
            gain += change  # TA-Lib counts a NaN change as a gain: it poisons the average
    gain /= period
    loss /= period
    keep = (period - 1) / period
    share = 1.0 / period
    for i in range(start, n):
        if i > start:
            change = x[i] - x[i - 1]
            down = -change if change < 0 else 0.0
            up = change + down  # 0 on a fall, the change on a rise, NaN on a NaN
            gain = gain * keep + up * share
            loss = loss * keep + down * share
        total = gain + loss
        if total != total:
            # TA-Lib answers 0 ("oversold") from a NaN input on; a gap is no signal.
            out[i:] = np.nan
            break
        out[i] = 100.0 * (gain / total) if total > 0.0 else 0.0
    return out


@jit_fma
def macd(x, fast, slow, signal):
    """TA-Lib MACD (line, signal, histogram) in one pass.

    Both EMAs start on the slow EMA's first bar (the fast one seeded with the mean of the
    `fast` values ending there); the signal EMA is seeded with the mean of the first
    `signal` MACD values; nothing is output before that bar. A NaN input makes every
    later value NaN, as in TA-Lib.
    """
    n = x.shape[0]
    if slow < fast:
        fast, slow = slow, fast
    line = np.full(n, np.nan)
    line_signal = np.full(n, np.nan)
    hist = np.full(n, np.nan)
    line_start = first_valid(x) + slow - 1
    out_start = line_start + signal - 1
    if out_start >= n:
        return line, line_signal, hist
    fast_ema = 0.0
    for i in range(line_start - fast + 1, line_start + 1):
        fast_ema += x[i]
    fast_ema /= fast
    slow_ema = 0.0
    for i in range(line_start - slow + 1, line_start + 1):
        slow_ema += x[i]
    slow_ema /= slow
    fast_k = 2.0 / (fast + 1)
    slow_k = 2.0 / (slow + 1)
    signal_k = 2.0 / (signal + 1)
    signal_ema = 0.0
    for i in range(line_start, n):
        if i > line_start:
            fast_ema = (x[i] - fast_ema) * fast_k + fast_ema
            slow_ema = (x[i] - slow_ema) * slow_k + slow_ema
        value = fast_ema - slow_ema
        if i < out_start:
            signal_ema += value
            continue
        if i == out_start:
            signal_ema = (signal_ema + value) / signal
        else:
            signal_ema = (value - signal_ema) * signal_k + signal_ema
        line[i] = value
        line_signal[i] = signal_ema
        hist[i] = value - signal_ema
    return line, line_signal, hist


@jit
def cci(high, low, close, period):
    """TA-Lib CCI, summing each window in TA-Lib's circular-buffer order (bit-identical).

    TA-Lib keeps the typical prices in a circular buffer where row `first + r` sits in
    slot `r % period` and sums slots 0, 1, ..., period - 1. A flat window (deviation or
    mean deviation within TA_EPSILON of the price level) reads 0, as in TA-Lib.
    """
    n = close.shape[0]
    out = np.full(n, np.nan)
    first = first_valid3(high, low, close)
    start = first + period - 1
    if start >= n:
        return out
    typical = (high + low + close) / 3.0
    # Slots 0, 1, ... hold rows base + period - offset, ..., base + period - 1 (the rows
    # that wrapped around the buffer), then rows base, ..., base + period - offset - 1.
    offset = (start - period + 1 - first) % period
    for end in range(start, n):
        base = end - period + 1
        wrapped = base + period - offset
        total = 0.0
        for row in range(wrapped, end + 1):
            total += typical[row]
        for row in range(base, wrapped):
            total += typical[row]
        average = total / period
        deviation_sum = 0.0
        for row in range(wrapped, end + 1):
            deviation_sum += abs(typical[row] - average)
        for row in range(base, wrapped):
            deviation_sum += abs(typical[row] - average)
        mean_deviation = deviation_sum / period
        offset = offset + 1 if offset + 1 < period else 0
        deviation = typical[end] - average
        band = TA_EPSILON * abs(average)
        if abs(deviation) <= band or abs(mean_deviation) <= band:
            out[end] = 0.0
        else:
            out[end] = deviation / (CCI_CONSTANT * mean_deviation)
    return out


@jit
def adx(high, low, close, period):
    """TA-Lib ADX: Wilder sums of +DM, -DM and TR seeded over `period - 1` bars.

    DX is only folded into the average while the smoothed true range and the DI sum are
    non-zero (the bundled TA-Lib tests exactly 0, at any price scale), so a series flat
    from its start holds ADX at 0. The first value is at `first + 2 * period - 1`.
    """
    n = close.shape[0]
    out = np.full(n, np.nan)
    today = first_valid3(high, low, close)
    if today + 2 * period - 1 >= n:
        return out
    plus_dm = 0.0
    minus_dm = 0.0
    tr = 0.0
    sum_dx = 0.0
    average = 0.0
    prev_high = high[today]
    prev_low = low[today]
    prev_close = close[today]
    for step in range(n - today - 1):
        today += 1
        diff_p = high[today] - prev_high
        prev_high = high[today]
        diff_m = prev_low - low[today]
        prev_low = low[today]
        seeding = step < period - 1
        if not seeding:
            minus_dm -= minus_dm / period
            plus_dm -= plus_dm / period
        if diff_m > 0 and diff_p < diff_m:
            minus_dm += diff_m
        elif diff_p > 0 and diff_p > diff_m:
            plus_dm += diff_p
        true_range = prev_high - prev_low
        gap = abs(prev_high - prev_close)
        if gap > true_range:
            true_range = gap
        gap = abs(prev_low - prev_close)
        if gap > true_range:
            true_range = gap
        tr = tr + true_range if seeding else tr - tr / period + true_range
        prev_close = close[today]
        if seeding:
            continue
        have_dx = False
        dx = 0.0
        if tr != 0.0:
            minus_di = 100.0 * (minus_dm / tr)
            plus_di = 100.0 * (plus_dm / tr)
            di_sum = minus_di + plus_di
            if di_sum != 0.0:
                dx = 100.0 * (abs(minus_di - plus_di) / di_sum)
                have_dx = True
        if step <= 2 * period - 2:
            if have_dx:
                sum_dx += dx
            if step == 2 * period - 2:
                average = sum_dx / period
                out[today] = average
        else:
            if have_dx:
                average = (average * (period - 1) + dx) / period
            out[today] = average
    return out


@jit
def bbands(x, period, deviations):
    """(upper, middle, lower): SMA(period) +- `deviations` population std, in one pass."""
    middle, spread = rolling_mean_var(x, period, 0)
    n = x.shape[0]
    upper = np.empty(n)
    lower = np.empty(n)
    for i in range(n):
        width = deviations * np.sqrt(spread[i])
        upper[i] = middle[i] + width
        lower[i] = middle[i] - width
    return upper, middle, lower
