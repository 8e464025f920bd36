"""`ta` 0.11 volume indicators (ta.volume), causal, same operations as `ta` on pandas.

Windows and smoothing follow `ta`'s pandas calls (rolling(w, min_periods=w),
ewm(span=w, adjust=False, min_periods=w)), so warm-up rows are NaN. Division by zero
volume gives NaN (ta: +-inf or NaN).
"""

from __future__ import annotations

import numpy as np

from udfs.kernels.jit import jit
from udfs.kernels.rolling import cumsum_skipna, rolling_mean, rolling_sum
from udfs.kernels.smoothing import ewm_mean


@jit
def close_location_value(high, low, close):
    """((c - l) - (h - c)) / (h - l), NaN (a zero range) read as 0, as `ta` does."""
    n = close.shape[0]
    out = np.empty(n)
    for i in range(n):
        value = ((close[i] - low[i]) - (high[i] - close[i])) / (high[i] - low[i])
        out[i] = 0.0 if value != value else value
    return out


@jit
def adi(high, low, close, volume):
    """Accumulation/distribution index: running sum of CLV * volume (NaN rows skipped)."""
    n = close.shape[0]
    out = np.empty(n)
    total = 0.0
    for i in range(n):
        clv = ((close[i] - low[i]) - (high[i] - close[i])) / (high[i] - low[i])
        flow = (0.0 if clv != clv else clv) * volume[i]
        if flow == flow:
            total += flow
            out[i] = total
        else:
            out[i] = np.nan
    return out


@jit
def obv(close, volume):
    """On-balance volume: +volume unless the close fell (an unchanged close adds, as in ta)."""
    n = close.shape[0]
    signed = np.empty(n)
    for i in range(n):
        signed[i] = -volume[i] if i > 0 and close[i] < close[i - 1] else volume[i]
    return cumsum_skipna(signed)


@jit
def cmf(high, low, close, volume, window):
    """Chaikin money flow: window sum of CLV * volume over window sum of volume."""
    flow = close_location_value(high, low, close)
    for i in range(close.shape[0]):
        flow[i] = flow[i] * volume[i]
    out = rolling_sum(flow, window, window)
    total_volume = rolling_sum(volume, window, window)
    for i in range(close.shape[0]):
        out[i] = out[i] / total_volume[i]
    return out


@jit
def force_index(close, volume, window):
    """EMA (pandas span `window`) of close change * volume."""
    n = close.shape[0]
    force = np.empty(n)
    for i in range(n):
        force[i] = (close[i] - close[i - 1]) * volume[i] if i > 0 else np.nan
    return ewm_mean(force, (window - 1.0) / 2.0, window)


@jit
def ease_of_movement(high, low, volume, window):
    """(EMV, its `window` SMA): (dh + dl) * (h - l) / (2 * volume) * 1e8."""
    n = high.shape[0]
    emv = np.empty(n)
    for i in range(n):
        if i == 0:
            emv[i] = np.nan
            continue
        value = ((high[i] - high[i - 1]) + (low[i] - low[i - 1])) * (high[i] - low[i])
        value = value / (2 * volume[i]) * 100000000
        emv[i] = np.nan if value == np.inf or value == -np.inf else value
    return emv, rolling_mean(emv, window, window)


@jit
def volume_price_trend(close, volume):
    """Running sum of percent change * volume (NaN on the first bar)."""
    n = close.shape[0]
    trend = np.empty(n)
    for i in range(n):
        trend[i] = (close[i] / close[i - 1] - 1) * volume[i] if i > 0 else np.nan
    return cumsum_skipna(trend)


@jit
def vwap(high, low, close, volume, window):
    """Rolling volume-weighted typical price."""
    n = close.shape[0]
    flow = np.empty(n)
    for i in range(n):
        flow[i] = (high[i] + low[i] + close[i]) / 3.0 * volume[i]
    out = rolling_sum(flow, window, window)
    total_volume = rolling_sum(volume, window, window)
    for i in range(n):
        out[i] = out[i] / total_volume[i]
    return out


@jit
def mfi(high, low, close, volume, window):
    """Money flow index: 100 - 100 / (1 + positive flow / negative flow) over `window` bars.

    Flow is typical price * volume, signed by the typical price's move (0 when it does
    not move). All-positive windows give 100 (ta divides by zero to inf, then to 100).
    """
    n = close.shape[0]
    typical = np.empty(n)
    for i in range(n):
        typical[i] = (high[i] + low[i] + close[i]) / 3.0
    positive = np.empty(n)
    negative = np.empty(n)
    for i in range(n):
        if i > 0 and typical[i] > typical[i - 1]:
            flow = typical[i] * volume[i] * 1
        elif i > 0 and typical[i] < typical[i - 1]:
            flow = typical[i] * volume[i] * -1
        else:
            flow = typical[i] * volume[i] * 0
        positive[i] = flow if flow >= 0.0 else 0.0
        negative[i] = flow if flow < 0.0 else 0.0
        if flow != flow:
            positive[i] = np.nan
            negative[i] = np.nan
    out = rolling_sum(positive, window, window)
    negative = rolling_sum(negative, window, window)
    for i in range(n):
        out[i] = 100 - (100 / (1 + out[i] / abs(negative[i])))
    return out


@jit
def nvi(close, volume):
    """Negative volume index: starts at 1000, compounds the close's change on volume drops."""
    n = close.shape[0]
    out = np.empty(n)
    if n == 0:
        return out
    out[0] = 1000.0
    for i in range(1, n):
        if volume[i - 1] > volume[i]:
            out[i] = out[i - 1] * (1.0 + (close[i] / close[i - 1] - 1))
        else:
            out[i] = out[i - 1]
    return out
