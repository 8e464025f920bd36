"""`ta` 0.11 trend indicators (ta.trend), in their causal form.

Where `ta` fills a shifted series with the mean of the *whole* column (KST's rate of
change, the visual Ichimoku lines, TRIX, DPO, Vortex) that mean reads the future; here
the missing rows are NaN instead. Where that changes a value, it is documented in
docs/features.md.
"""

from __future__ import annotations

import numpy as np

from udfs.kernels.jit import jit
from udfs.kernels.pairwise import block_sum, numpy_sum
from udfs.kernels.rolling import (
    rolling_arg_extreme,
    rolling_max,
    rolling_max_min,
    rolling_mean,
    rolling_min,
    rolling_sum,
)
from udfs.kernels.smoothing import (
    ewm_mean,
    ewm_start,
    ewm_steady,
    ewm_step,
    ewm_unit_step,
    ewm_value,
)
from udfs.kernels.volatility import true_range


@jit
def ewm_span(x, span):
    """`ta`'s `_ema`: pandas ewm(span, adjust=False, min_periods=span)."""
    return ewm_mean(x, (span - 1.0) / 2.0, span)


@jit
def macd_ta(close, fast, slow, signal):
    """(macd, signal, diff, ema fast, ema slow): pandas-EMA MACD as `ta` computes it.

    The three EMAs run in one pass. Rows take ewm_step (bit-identical to pandas) until
    every EMA is steady (`ewm_steady`); from then on a finite close takes ewm_step's
    multiply-add directly, the same arithmetic without its bookkeeping.
    """
    n = close.shape[0]
    line = np.empty(n)
    line_signal = np.empty(n)
    diff = np.empty(n)
    ema_fast = np.empty(n)
    ema_slow = np.empty(n)
    fast_state = ewm_start((fast - 1.0) / 2.0)
    slow_state = ewm_start((slow - 1.0) / 2.0)
    signal_state = ewm_start((signal - 1.0) / 2.0)
    fast_keep, fast_share = fast_state[3], fast_state[4]
    slow_keep, slow_share = slow_state[3], slow_state[4]
    signal_keep, signal_share = signal_state[3], signal_state[4]
    steady = False
    fast_value = slow_value = signal_value = np.nan
    for i in range(n):
        cur = close[i]
        if steady and cur - cur == 0.0:
            fast_value = ewm_unit_step(fast_value, cur, fast_keep, fast_share)
            slow_value = ewm_unit_step(slow_value, cur, slow_keep, slow_share)
            value = fast_value - slow_value
            signal_value = ewm_unit_step(signal_value, value, signal_keep, signal_share)
        else:
            if steady:  # leaving the fast path: put the values back into the states
                fast_state = (fast_value,) + fast_state[1:]
                slow_state = (slow_value,) + slow_state[1:]
                signal_state = (signal_value,) + signal_state[1:]
            fast_state = ewm_step(fast_state, cur)
            slow_state = ewm_step(slow_state, cur)
            fast_value = ewm_value(fast_state, fast)
            slow_value = ewm_value(slow_state, slow)
            value = fast_value - slow_value
            signal_state = ewm_step(signal_state, value)
            signal_value = ewm_value(signal_state, signal)
            steady = (
                ewm_steady(fast_state, fast)
                and ewm_steady(slow_state, slow)
                and ewm_steady(signal_state, signal)
            )
        ema_fast[i] = fast_value
        ema_slow[i] = slow_value
        line[i] = value
        line_signal[i] = signal_value
        diff[i] = value - signal_value
    return line, line_signal, diff, ema_fast, ema_slow


@jit
def vortex(high, low, close, window):
    """(VI+, VI-, VI+ - VI-) over `window` bars."""
    n = close.shape[0]
    plus = np.empty(n)
    minus = np.empty(n)
    for i in range(n):
        plus[i] = abs(high[i] - low[i - 1]) if i > 0 else np.nan
        minus[i] = abs(low[i] - high[i - 1]) if i > 0 else np.nan
    ranges = rolling_sum(true_range(high, low, close), window, window)
    positive = rolling_sum(plus, window, window)
    negative = rolling_sum(minus, window, window)
    for i in range(n):
        positive[i] = positive[i] / ranges[i]
        negative[i] = negative[i] / ranges[i]
        ranges[i] = positive[i] - negative[i]  # the difference, in place
    return positive, negative, ranges


@jit
def trix(close, window):
    """% change of the triple pandas EMA of close.

    The three EMAs run in one pass, each fed the previous one's value on the same row
    (the arithmetic of three pandas passes). As in `macd_ta`, rows take ewm_step until
    all three are steady, then a finite close takes the multiply-adds directly.
    """
    n = close.shape[0]
    out = np.empty(n)
    com = (window - 1.0) / 2.0
    first, second, third = ewm_start(com), ewm_start(com), ewm_start(com)
    keep, share = first[3], first[4]
    steady = False
    single = double = triple = previous = np.nan
    for i in range(n):
        cur = close[i]
        if steady and cur - cur == 0.0:
            single = ewm_unit_step(single, cur, keep, share)
            double = ewm_unit_step(double, single, keep, share)
            triple = ewm_unit_step(triple, double, keep, share)
        else:
            if steady:  # leaving the fast path: put the values back into the states
                first = (single,) + first[1:]
                second = (double,) + second[1:]
                third = (triple,) + third[1:]
            first = ewm_step(first, cur)
            single = ewm_value(first, window)
            second = ewm_step(second, single)
            double = ewm_value(second, window)
            third = ewm_step(third, double)
            triple = ewm_value(third, window)
            steady = (
                ewm_steady(first, window)
                and ewm_steady(second, window)
                and ewm_steady(third, window)
            )
        out[i] = (triple - previous) / previous * 100
        previous = triple
    return out


@jit
def mass_index(high, low, fast, slow):
    """`slow`-bar sum of EMA(h - l) / EMA(EMA(h - l)), both EMAs over `fast` bars."""
    n = high.shape[0]
    ratio = np.empty(n)
    com = (fast - 1.0) / 2.0
    single, double = ewm_start(com), ewm_start(com)
    for i in range(n):
        single = ewm_step(single, high[i] - low[i])
        double = ewm_step(double, ewm_value(single, fast))
        ratio[i] = ewm_value(single, fast) / ewm_value(double, fast)
    return rolling_sum(ratio, slow, slow)


@jit
def dpo(close, window):
    """Close `window / 2 + 1` bars ago minus today's `window` SMA (causal, as ta computes it)."""
    out = rolling_mean(close, window, window)
    lag = int(0.5 * window + 1)
    for i in range(close.shape[0]):
        out[i] = (close[i - lag] if i >= lag else np.nan) - out[i]
    return out


@jit
def _roc_mean(close, lag, window):
    """`window` SMA of the `lag`-bar rate of change (NaN until `lag` bars exist)."""
    n = close.shape[0]
    change = np.empty(n)
    for i in range(n):
        change[i] = (close[i] - close[i - lag]) / close[i - lag] if i >= lag else np.nan
    return rolling_mean(change, window, window)


@jit
def kst(close, signal):
    """(KST, its `signal` SMA, difference) with ta's default ROC lags and windows."""
    line = _roc_mean(close, 10, 10)
    second = _roc_mean(close, 15, 10)
    third = _roc_mean(close, 20, 10)
    fourth = _roc_mean(close, 30, 15)
    for i in range(close.shape[0]):
        line[i] = 100 * (line[i] + 2 * second[i] + 3 * third[i] + 4 * fourth[i])
    line_signal = rolling_mean(line, signal, signal)
    for i in range(close.shape[0]):
        second[i] = line[i] - line_signal[i]  # the difference, in place
    return line, line_signal, second


@jit
def _midpoint(high, low, window):
    """(max high + min low) / 2 over `window` bars."""
    top, bottom = rolling_max_min(high, low, window, window)
    for i in range(high.shape[0]):
        top[i] = 0.5 * (top[i] + bottom[i])
    return top


@jit
def ichimoku(high, low, fast, medium, slow):
    """(conversion, base, span A, span B, visual span A, visual span B).

    Visual spans are spans A and B as they stand `medium` bars later on the chart, i.e.
    the value at t is the span computed at t - medium. Span B needs a full `slow` window
    (ta uses partial windows from the first bar).
    """
    conversion = _midpoint(high, low, fast)
    base = _midpoint(high, low, medium)
    span_b = _midpoint(high, low, slow)
    n = high.shape[0]
    span_a = np.empty(n)
    visual_a = np.empty(n)
    visual_b = np.empty(n)
    for i in range(n):
        span_a[i] = 0.5 * (conversion[i] + base[i])
        visual_a[i] = span_a[i - medium] if i >= medium else np.nan
        visual_b[i] = span_b[i - medium] if i >= medium else np.nan
    return conversion, base, span_a, span_b, visual_a, visual_b


@jit
def _stochastic(x, window):
    """100 * (x - min) / (max - min) over `window` bars (pandas rolling min/max)."""
    high = rolling_max(x, window, window)
    low = rolling_min(x, window, window)
    for i in range(x.shape[0]):
        high[i] = 100 * (x[i] - low[i]) / (high[i] - low[i])
    return high


@jit
def stc(close, fast, slow, cycle, smooth1, smooth2):
    """Schaff trend cycle: a doubly smoothed stochastic of the pandas-EMA MACD."""
    line = ewm_span(close, fast) - ewm_span(close, slow)
    smoothed = ewm_span(_stochastic(line, cycle), smooth1)
    return ewm_span(_stochastic(smoothed, cycle), smooth2)


@jit
def adx_ta(high, low, close, window):
    """`ta`'s ADX, +DI, -DI (its own seeding: sums of the first `window` moves).

    ADX is defined from row 2 * window - 1, +DI and -DI from row window + 1 (ta writes
    0 before those; here they are NaN).
    """
    n = close.shape[0]
    adx = np.full(n, np.nan)
    plus_di = np.full(n, np.nan)
    minus_di = np.full(n, np.nan)
    if n <= window:
        return adx, plus_di, minus_di
    ranges = np.empty(n)
    plus_dm = np.empty(n)
    minus_dm = np.empty(n)
    for i in range(1, n):
        ranges[i] = max(high[i], close[i - 1]) - min(low[i], close[i - 1])
        up = high[i] - high[i - 1]
        down = low[i - 1] - low[i]
        plus_dm[i] = abs(up) if up > down and up > 0 else 0.0
        minus_dm[i] = abs(down) if down > up and down > 0 else 0.0
    tr_s = numpy_sum(ranges, 1, window)
    plus_s = numpy_sum(plus_dm, 1, window)
    minus_s = numpy_sum(minus_dm, 1, window)
    dx = np.empty(n)
    for i in range(window, n):
        if i > window:
            tr_s = tr_s - (tr_s / float(window)) + ranges[i]
            plus_s = plus_s - (plus_s / float(window)) + plus_dm[i]
            minus_s = minus_s - (minus_s / float(window)) + minus_dm[i]
        plus = 100 * (plus_s / tr_s) if tr_s != 0 else 0.0
        minus = 100 * (minus_s / tr_s) if tr_s != 0 else 0.0
        if i > window:
            plus_di[i] = plus
            minus_di[i] = minus
        total = plus + minus
        dx[i] = 100 * np.abs((plus - minus) / total) if total != 0 else 0.0
    first = 2 * window - 1
    if first < n:
        value = numpy_sum(dx, window, window) / window
        adx[first] = value
        for i in range(first + 1, n):
            value = ((value * (window - 1)) + dx[i]) / float(window)
            adx[i] = value
    return adx, plus_di, minus_di


@jit
def cci_ta(high, low, close, window, constant):
    """`ta`'s CCI: (typical - SMA) / (constant * mean absolute deviation of the window).

    The deviation is summed with numpy's pairwise order (ta applies np.mean per window),
    so a flat window divides by the same zero (NaN) or the same tiny residue as ta.
    """
    typical = (high + low + close) / 3.0
    out = rolling_mean(typical, window, window)
    deviations = np.empty(window)
    short = window <= 128
    for end in range(window - 1, close.shape[0]):
        start = end - window + 1
        total = block_sum(typical, start, window) if short else numpy_sum(typical, start, window)
        center = total / window
        for j in range(window):
            deviations[j] = abs(typical[start + j] - center)
        total = block_sum(deviations, 0, window) if short else numpy_sum(deviations, 0, window)
        out[end] = (typical[end] - out[end]) / (constant * (total / window))
    return out


@jit
def aroon(high, low, window):
    """(up, down, up - down): position of the window's first high/low in `window + 1` bars."""
    up = rolling_arg_extreme(high, window + 1, True)
    down = rolling_arg_extreme(low, window + 1, False)
    diff = np.empty(high.shape[0])
    for i in range(high.shape[0]):
        up[i] = up[i] / window * 100
        down[i] = down[i] / window * 100
        diff[i] = up[i] - down[i]
    return up, down, diff


@jit
def psar(high, low, close, step, max_step):
    """Parabolic SAR as `ta` computes it: (SAR in up-trends, in down-trends, flips up, down).

    The trend starts up with SAR = close on bars 0 and 1; a SAR may not pass the two
    previous lows (up-trend) or highs (down-trend). Flip flags are 1 on the first bar of
    a trend (bar 2 included), else 0; rows 0 and 1 are NaN.
    """
    n = close.shape[0]
    up_out = np.full(n, np.nan)
    down_out = np.full(n, np.nan)
    up_flag = np.full(n, np.nan)
    down_flag = np.full(n, np.nan)
    if n < 3:
        return up_out, down_out, up_flag, down_flag
    sar = close.copy()
    up_trend = True
    factor = step
    trend_high = high[0]
    trend_low = low[0]
    for i in range(2, n):
        reversal = False
        if up_trend:
            sar[i] = sar[i - 1] + (factor * (trend_high - sar[i - 1]))
            if low[i] < sar[i]:
                reversal = True
                sar[i] = trend_high
                trend_low = low[i]
                factor = step
            else:
                if high[i] > trend_high:
                    trend_high = high[i]
                    factor = min(factor + step, max_step)
                if low[i - 2] < sar[i]:
                    sar[i] = low[i - 2]
                elif low[i - 1] < sar[i]:
                    sar[i] = low[i - 1]
        else:
            sar[i] = sar[i - 1] - (factor * (sar[i - 1] - trend_low))
            if high[i] > sar[i]:
                reversal = True
                sar[i] = trend_low
                trend_high = high[i]
                factor = step
            else:
                if low[i] < trend_low:
                    trend_low = low[i]
                    factor = min(factor + step, max_step)
                if high[i - 2] > sar[i]:
                    sar[i] = high[i - 2]
                elif high[i - 1] > sar[i]:
                    sar[i] = high[i - 1]
        up_trend = up_trend != reversal
        if up_trend:
            up_out[i] = sar[i]
        else:
            down_out[i] = sar[i]
        # A trend starts where its column turns non-NaN (on bar 2, the previous bar is NaN).
        up_flag[i] = 1.0 if up_trend and up_out[i - 1] != up_out[i - 1] else 0.0
        down_flag[i] = 1.0 if not up_trend and down_out[i - 1] != down_out[i - 1] else 0.0
    return up_out, down_out, up_flag, down_flag
