"""`ta` 0.11 momentum and return indicators (ta.momentum, ta.others), causal."""

from __future__ import annotations

import numpy as np

from udfs.kernels.jit import jit
from udfs.kernels.rolling import (
    RESUM_EVERY,
    rolling_max,
    rolling_max_min,
    rolling_mean,
    rolling_min,
    suffix_max_min,
)
from udfs.kernels.smoothing import ewm_mean, ewm_start, ewm_step, ewm_value


@jit
def rsi_ta(close, window, com):
    """`ta`'s RSI: pandas EWM (alpha = 1/window, seeded with 0 on bar 0) of gains and losses.

    `com` is pandas' centre of mass for alpha = 1/window, computed as pandas does. 100
    when the average loss is 0 (flat prices included, where TA-Lib answers 0).
    """
    n = close.shape[0]
    up = np.empty(n)
    down = np.empty(n)
    for i in range(n):
        change = close[i] - close[i - 1] if i > 0 else np.nan
        up[i] = change if change > 0 else 0.0
        down[i] = -(change if change < 0 else 0.0)  # a NaN change counts as 0, as in ta
    gain = ewm_mean(up, com, window)
    loss = ewm_mean(down, com, window)
    out = np.empty(n)
    for i in range(n):
        out[i] = 100.0 if loss[i] == 0 else 100 - (100 / (1 + gain[i] / loss[i]))
    return out


@jit
def stoch_rsi(rsi, window, smooth1, smooth2):
    """(StochRSI, its `smooth1` SMA %K, %K's `smooth2` SMA %D), on a 0..1 scale as in ta."""
    low = rolling_min(rsi, window, window)
    ratio = (rsi - low) / (rolling_max(rsi, window, window) - low)
    k = rolling_mean(ratio, smooth1, smooth1)
    return ratio, k, rolling_mean(k, smooth2, smooth2)


@jit
def tsi(close, slow, fast):
    """True strength index: double pandas-EMA of close change over that of |change|."""
    n = close.shape[0]
    out = np.empty(n)
    first = ewm_start((slow - 1.0) / 2.0)
    second = ewm_start((fast - 1.0) / 2.0)
    first_abs = ewm_start((slow - 1.0) / 2.0)
    second_abs = ewm_start((fast - 1.0) / 2.0)
    for i in range(n):
        change = close[i] - close[i - 1] if i > 0 else np.nan
        first = ewm_step(first, change)
        second = ewm_step(second, ewm_value(first, slow))
        first_abs = ewm_step(first_abs, abs(change))
        second_abs = ewm_step(second_abs, ewm_value(first_abs, slow))
        out[i] = ewm_value(second, fast) / ewm_value(second_abs, fast) * 100
    return out


@jit
def _ring_total(ring, mask, row, count):
    """Sum of the `count` ring values ending at `row` (slot `row & mask`), newest first."""
    total = 0.0
    for back in range(count):
        total += ring[(row - back) & mask]
    return total


@jit
def ultimate_oscillator(high, low, close, short, medium, long):
    """Weighted (4, 2, 1) buying pressure / true range over three windows, in %.

    Buying pressure is close - min(low, previous close) (NaN on bar 0, so a window holding
    bar 0 is NaN as in ta); the six window sums run in one pass over power-of-two ring
    buffers (indexed with a mask) holding the last values of both series, NaN stored as
    0.0, re-summed every RESUM_EVERY rows. A running sum never is -0.0, so adding or
    removing a stored 0.0 leaves it bit for bit as skipping the NaN did; a window is
    defined when the last row with a NaN pressure or range is at least its length back.
    """
    n = close.shape[0]
    out = np.empty(n)
    size = 1
    while size <= long:  # the row leaving the longest window is still in the ring
        size *= 2
    mask = size - 1
    pressures = np.zeros(size)  # unwritten slots read as 0.0: nothing leaves yet
    ranges = np.zeros(size)
    p1 = p2 = p3 = r1 = r2 = r3 = 0.0
    last_nan = -1
    previous = np.nan
    for i in range(n):
        high_i = high[i]
        low_i = low[i]
        bar_range = high_i - low_i
        pressure = np.nan
        if previous == previous:
            pressure = close[i] - min(low_i, previous)
            bar_range = max(bar_range, abs(high_i - previous), abs(low_i - previous))
        previous = close[i]
        last_nan = i if pressure != pressure or bar_range != bar_range else last_nan
        pressure = pressure if pressure == pressure else 0.0
        bar_range = bar_range if bar_range == bar_range else 0.0
        slot = i & mask
        pressures[slot] = pressure
        ranges[slot] = bar_range
        s1 = (i - short) & mask
        s2 = (i - medium) & mask
        s3 = (i - long) & mask
        p1 = (p1 - pressures[s1]) + pressure
        r1 = (r1 - ranges[s1]) + bar_range
        p2 = (p2 - pressures[s2]) + pressure
        r2 = (r2 - ranges[s2]) + bar_range
        p3 = (p3 - pressures[s3]) + pressure
        r3 = (r3 - ranges[s3]) + bar_range
        if (i + 1) % RESUM_EVERY == 0:
            p1, r1 = _ring_total(pressures, mask, i, short), _ring_total(ranges, mask, i, short)
            p2, r2 = _ring_total(pressures, mask, i, medium), _ring_total(ranges, mask, i, medium)
            p3, r3 = _ring_total(pressures, mask, i, long), _ring_total(ranges, mask, i, long)
        clean = i - last_nan  # rows since the last undefined one
        fast = p1 / r1 if clean >= short else np.nan
        mid = p2 / r2 if clean >= medium else np.nan
        slow = p3 / r3 if clean >= long else np.nan
        out[i] = 100.0 * ((4.0 * fast) + (2.0 * mid) + (1.0 * slow)) / 7.0
    return out


@jit
def stochastic(high, low, close, window, smooth):
    """(%K, its `smooth` SMA) over `window` bars."""
    highest, lowest = rolling_max_min(high, low, window, window)
    for i in range(close.shape[0]):
        highest[i] = 100 * (close[i] - lowest[i]) / (highest[i] - lowest[i])  # %K, in place
    return highest, rolling_mean(highest, smooth, smooth)


@jit
def williams_r(high, low, close, window):
    """Williams %R: -100 * (highest high - close) / (highest high - lowest low).

    One pass: the window's extremes come block by block (see `suffix_max_min`) and a
    window holding a NaN high or low is NaN, as pandas' rolling max/min with
    min_periods=window give.
    """
    n = close.shape[0]
    out = np.empty(n)
    top_suffix = np.full(window + 1, -np.inf)
    bottom_suffix = np.full(window + 1, np.inf)
    last_nan = -1  # last row with a NaN high or low: the windows holding it are NaN
    for block in range(0, n, window):
        count = min(window, n - block)
        top_run = -np.inf
        bottom_run = np.inf
        for j in range(count):
            i = block + j
            high_i = high[i]
            low_i = low[i]
            top_run = high_i if high_i > top_run else top_run
            bottom_run = low_i if low_i < bottom_run else bottom_run
            last_nan = i if (high_i != high_i) | (low_i != low_i) else last_nan
            other = top_suffix[j + 1]
            highest = other if other > top_run else top_run
            other = bottom_suffix[j + 1]
            lowest = other if other < bottom_run else bottom_run
            value = -100 * (highest - close[i]) / (highest - lowest)
            out[i] = value if i - last_nan >= window else np.nan
        suffix_max_min(high, low, block, count, top_suffix, bottom_suffix)
    return out


@jit
def awesome_oscillator(high, low, fast, slow):
    """SMA(fast) - SMA(slow) of the median price."""
    median = np.empty(high.shape[0])
    for i in range(high.shape[0]):
        median[i] = 0.5 * (high[i] + low[i])
    out = rolling_mean(median, fast, fast)
    slow_mean = rolling_mean(median, slow, slow)
    for i in range(high.shape[0]):
        out[i] = out[i] - slow_mean[i]
    return out


@jit
def roc(close, window):
    """Rate of change over `window` bars, in %."""
    out = np.empty(close.shape[0])
    for i in range(close.shape[0]):
        previous = close[i - window] if i >= window else np.nan
        out[i] = ((close[i] - previous) / previous) * 100
    return out


@jit
def percentage_oscillator(x, fast, slow, signal):
    """(PPO/PVO line, signal, histogram): pandas-EMA difference over the slow EMA, in %."""
    n = x.shape[0]
    line = np.empty(n)
    line_signal = np.empty(n)
    hist = np.empty(n)
    fast_state = ewm_start((fast - 1.0) / 2.0)
    slow_state = ewm_start((slow - 1.0) / 2.0)
    signal_state = ewm_start((signal - 1.0) / 2.0)
    for i in range(n):
        fast_state = ewm_step(fast_state, x[i])
        slow_state = ewm_step(slow_state, x[i])
        slow_ema = ewm_value(slow_state, slow)
        value = ((ewm_value(fast_state, fast) - slow_ema) / slow_ema) * 100
        signal_state = ewm_step(signal_state, value)
        line[i] = value
        line_signal[i] = ewm_value(signal_state, signal)
        hist[i] = value - line_signal[i]
    return line, line_signal, hist


@jit
def kama(close, window, fast, slow):
    """Kaufman adaptive MA: starts at the close on row `window - 1`, then adapts.

    Efficiency ratio = |close - close `window` bars ago| / sum of |1-bar changes| (0 when
    the sum is 0); smoothing = (ER * (2/(fast+1) - 2/(slow+1)) + 2/(slow+1)) ** 2.
    ta's np.roll wraps the series around (its first ratio reads the last close), but
    only to decide whether row `window - 1` is NaN; here that row is the close itself.
    """
    n = close.shape[0]
    out = np.full(n, np.nan)
    if n < window:
        return out
    value = close[window - 1]
    out[window - 1] = value
    span = 2.0 / (fast + 1) - 2.0 / (slow + 1.0)
    floor = 2 / (slow + 1.0)
    volatility = 0.0  # sum of |1-bar changes| over the window, re-summed regularly
    countdown = 0
    for i in range(window, n):
        if countdown == 0:
            countdown = RESUM_EVERY
            volatility = 0.0
            for j in range(i - window + 1, i + 1):
                volatility += abs(close[j] - close[j - 1])
        else:
            volatility += abs(close[i] - close[i - 1]) - abs(
                close[i - window] - close[i - window - 1]
            )
        countdown -= 1
        direction = abs(close[i] - close[i - window])
        ratio = direction / volatility if volatility != 0 else 0.0
        constant = ratio * span + floor
        value = value + (constant * constant) * (close[i] - value)
        out[i] = value
    return out


@jit
def returns(close):
    """(simple %, log %, cumulative % since the first bar) returns, as ta.others."""
    n = close.shape[0]
    simple = np.empty(n)
    log_return = np.empty(n)
    cumulative = np.empty(n)
    previous_log = np.nan
    for i in range(n):
        previous = close[i - 1] if i > 0 else np.nan
        simple[i] = ((close[i] / previous) - 1) * 100
        current_log = np.log(close[i])
        log_return[i] = (current_log - previous_log) * 100
        previous_log = current_log
        cumulative[i] = ((close[i] / close[0]) - 1) * 100
    return simple, log_return, cumulative
