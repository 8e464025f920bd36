"""`ta` 0.11 volatility indicators (ta.volatility), causal, NaN until their windows fill."""

from __future__ import annotations

import numpy as np

from udfs.kernels.jit import jit, jit_fma
from udfs.kernels.pairwise import numpy_sum
from udfs.kernels.rolling import (
    rolling_max,
    rolling_mean,
    rolling_sum,
    suffix_max_min,
    sum_mean,
    sum_start,
    sum_step,
)
from udfs.kernels.variance import rolling_mean_var


@jit
def true_range(high, low, close):
    """max(h - l, |h - prev close|, |l - prev close|), skipping NaN terms; h - l on bar 0."""
    n = close.shape[0]
    out = np.empty(n)
    for i in range(n):
        best = high[i] - low[i]
        if i > 0:
            for term in (abs(high[i] - close[i - 1]), abs(low[i] - close[i - 1])):
                if term == term and (best != best or term > best):
                    best = term
        out[i] = best
    return out


@jit
def flag_above(x, band):
    """1.0 where x > band, 0.0 where not, NaN where the band is undefined."""
    n = x.shape[0]
    out = np.empty(n)
    for i in range(n):
        out[i] = np.nan if band[i] != band[i] else (1.0 if x[i] > band[i] else 0.0)
    return out


@jit
def flag_below(x, band):
    """1.0 where x < band, 0.0 where not, NaN where the band is undefined."""
    n = x.shape[0]
    out = np.empty(n)
    for i in range(n):
        out[i] = np.nan if band[i] != band[i] else (1.0 if x[i] < band[i] else 0.0)
    return out


@jit
def bollinger(close, window, deviations):
    """(middle, upper, lower, width %, %b, above-upper flag, below-lower flag).

    Population standard deviation (ddof=0) as `ta` uses; %b is NaN when the bands meet.
    """
    middle, upper = rolling_mean_var(close, window, 0)
    n = close.shape[0]
    lower = np.empty(n)
    width = np.empty(n)
    percent = np.empty(n)
    above = np.empty(n)
    below = np.empty(n)
    for i in range(n):
        spread = deviations * np.sqrt(upper[i])
        high_band = middle[i] + spread
        low_band = middle[i] - spread
        upper[i] = high_band
        lower[i] = low_band
        width[i] = ((high_band - low_band) / middle[i]) * 100
        gap = high_band - low_band
        percent[i] = (close[i] - low_band) / gap if high_band != low_band else np.nan
        defined = high_band == high_band
        above[i] = (1.0 if close[i] > high_band else 0.0) if defined else np.nan
        below[i] = (1.0 if close[i] < low_band else 0.0) if defined else np.nan
    return middle, upper, lower, width, percent, above, below


@jit
def keltner(high, low, close, window):
    """`ta`'s original Keltner channel: (middle, upper, lower, width %, %b, flags).

    Middle is the SMA of the typical price; the bands are SMAs of (4h - 2l + c) / 3 and
    (-2h + 4l + c) / 3 (ta fills their first `window - 1` rows with partial means; here
    they are NaN like the middle line).
    """
    n = close.shape[0]
    typical = np.empty(n)
    high_price = np.empty(n)
    low_price = np.empty(n)
    for i in range(n):
        typical[i] = (high[i] + low[i] + close[i]) / 3.0
        high_price[i] = ((4 * high[i]) - (2 * low[i]) + close[i]) / 3.0
        low_price[i] = ((-2 * high[i]) + (4 * low[i]) + close[i]) / 3.0
    middle = rolling_mean(typical, window, window)
    upper = rolling_mean(high_price, window, window)
    lower = rolling_mean(low_price, window, window)
    width, percent = typical, high_price  # reuse the scratch arrays for two outputs
    for i in range(n):
        width[i] = ((upper[i] - lower[i]) / middle[i]) * 100
        percent[i] = (close[i] - lower[i]) / (upper[i] - lower[i])
    return middle, upper, lower, width, percent, flag_above(close, upper), flag_below(close, lower)


@jit
def donchian(high, low, close, window):
    """(lower, upper, middle, width %, %b) of the `window`-bar high/low channel.

    One pass, block by block (see `suffix_max_min`): each row's channel (a window holding
    a NaN is NaN, tracked by the last NaN row), the rolling mean of close (`sum_step`, the
    row step of `rolling_mean`) and the ratios. Fused so the mean's add/subtract chain
    overlaps the channel work instead of running in its own pass.
    """
    n = close.shape[0]
    lower = np.empty(n)
    upper = np.empty(n)
    middle = np.empty(n)
    width = np.empty(n)
    percent = np.empty(n)
    top_suffix = np.full(window + 1, -np.inf)
    bottom_suffix = np.full(window + 1, np.inf)
    top_nan = -1
    bottom_nan = -1
    state = sum_start()  # the running sum of close
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
            top_nan = i if high_i != high_i else top_nan
            bottom_nan = i if low_i != low_i else bottom_nan
            other = top_suffix[j + 1]
            top = other if other > top_run else top_run
            top = top if i - top_nan >= window else np.nan
            other = bottom_suffix[j + 1]
            bottom = other if other < bottom_run else bottom_run
            bottom = bottom if i - bottom_nan >= window else np.nan
            upper[i] = top
            lower[i] = bottom
            state = sum_step(state, close, i, window)
            nobs = state[1]
            mean = sum_mean(state) if nobs >= window and nobs > 0 else np.nan
            gap = top - bottom
            middle[i] = (gap / 2.0) + bottom
            width[i] = (gap / mean) * 100
            percent[i] = (close[i] - bottom) / gap
        suffix_max_min(high, low, block, count, top_suffix, bottom_suffix)
    return lower, upper, middle, width, percent


@jit_fma
def atr_ta(high, low, close, window):
    """`ta`'s ATR: the mean of the first `window` true ranges (bar 0's is h - l), then Wilder.

    ta writes 0 before row `window - 1`; here those rows are NaN.
    """
    n = close.shape[0]
    out = np.empty(n)
    if n < window:
        out[:] = np.nan
        return out
    out[: window - 1] = np.nan
    value = numpy_sum(true_range(high[:window], low[:window], close[:window]), 0, window) / window
    out[window - 1] = value
    # ta: (atr * (window - 1) + tr) / window; the factors are precomputed so the recursion
    # carries a multiply-add, not a division (a few ulps from ta's rounding).
    keep = (window - 1) / float(window)
    share = 1.0 / float(window)
    previous = close[window - 1]
    for i in range(window, n):
        high_i = high[i]
        low_i = low[i]
        # true range, NaN terms skipped; selects, not branches (the largest term is random)
        bar_range = high_i - low_i
        gap = abs(high_i - previous)
        take = (gap > bar_range) | ((bar_range != bar_range) & (gap == gap))
        bar_range = gap if take else bar_range
        gap = abs(low_i - previous)
        take = (gap > bar_range) | ((bar_range != bar_range) & (gap == gap))
        bar_range = gap if take else bar_range
        value = value * keep + bar_range * share
        out[i] = value
        previous = close[i]
    return out


@jit
def ulcer_index(close, window):
    """sqrt(mean of squared % drawdowns from the running `window` max) over `window` bars.

    The running max uses partial windows from the first bar (ta's min_periods=1), which is
    causal; the index itself needs a full window.
    """
    squares = rolling_max(close, window, 1)
    for i in range(close.shape[0]):
        drawdown = 100 * (close[i] - squares[i]) / squares[i]
        squares[i] = drawdown**2 / window
    total = rolling_sum(squares, window, window)
    for i in range(close.shape[0]):
        total[i] = np.sqrt(total[i]) if total[i] > 0 else (0.0 if total[i] == total[i] else np.nan)
    return total
