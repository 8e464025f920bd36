"""Causal Lo-Mamaysky-Wang (2000) chart patterns: kernel-smoothed extrema per trailing window.

At every bar t the trailing `window` closes are smoothed by a Nadaraya-Watson regression
on the bar index with a Gaussian kernel (fixed bandwidth h, in bars):
m(i) = sum_j K((i - j) / h) P_j / sum_j K((i - j) / h), i, j in the window. A smoothed
extremum is a sign change of m's first difference (steps below 1e-12 of the price count
as flat); its price is the raw close's max (or min) within one bar of it, as in LMW.
The last five extrema are tested against LMW's definitions (HS, IHS, BTOP, BBOT, TTOP,
TBOT, RTOP, RBOT), and all of the window's extrema for the double top/bottom. A pattern
is flagged at t only when its final extremum is exactly `lag` bars old (LMW's rule, with
the window ending at t), so the flag uses bars <= t only and fires once per pattern
unless the smoother revises that extremum's position near the window's edge.
"""

from __future__ import annotations

import numpy as np

from udfs.kernels.jit import jit

# Output rows of `lmw_patterns`, in this order.
PATTERNS = ("hs", "ihs", "btop", "bbot", "ttop", "tbot", "rtop", "rbot", "dtop", "dbot")
AGE_ROW = len(PATTERNS)
HS, IHS, BTOP, BBOT, TTOP, TBOT, RTOP, RBOT, DTOP, DBOT = range(len(PATTERNS))
# A smoothed step smaller than this fraction of the close is flat (rounding, not a turn).
FLAT_STEP = 1e-12


def smoothing_matrix(window: int, bandwidth: float) -> np.ndarray:
    """S with S[j, i] = K((i - j) / h) / sum_l K((i - l) / h): m = y @ S smooths a window."""
    if isinstance(window, bool) or not isinstance(window, int) or window < 3:
        raise ValueError(f"pattern window must be an int >= 3, got {window!r}")
    if not np.isfinite(bandwidth) or bandwidth <= 0.0:
        raise ValueError(f"kernel bandwidth must be a positive number of bars, got {bandwidth!r}")
    index = np.arange(window, dtype=np.float64)
    kernel = np.exp(-0.5 * ((index[:, None] - index[None, :]) / bandwidth) ** 2)
    return np.ascontiguousarray(kernel / kernel.sum(axis=0)[None, :])


@jit
def smooth_window(y, weights, out):
    """out[i] = y_last + sum_j weights[j, i] * (y[j] - y_last): the kernel regression of y.

    Centring on the last value is the same regression (each column of weights sums to 1)
    but makes a flat stretch exactly flat instead of rounding noise around its level.
    """
    size = y.shape[0]
    base = y[size - 1]
    for i in range(size):
        out[i] = 0.0
    for j in range(size):
        value = y[j] - base
        for i in range(size):
            out[i] += weights[j, i] * value
    for i in range(size):
        out[i] += base


@jit
def find_extrema(m, y, flat, positions, kinds, prices):
    """Smoothed extrema of m, oldest first; returns how many were written.

    positions[e]: index of the extremum in m (the last point before the first difference
    changes sign; differences within +-`flat` count as zero and are skipped).
    kinds[e]: +1 maximum, -1 minimum. prices[e]: the max (min) of the raw y within one
    index of it.
    """
    size = m.shape[0]
    count = 0
    sign = 0
    for i in range(1, size):
        step = m[i] - m[i - 1]
        now = 1 if step > flat else (-1 if step < -flat else 0)
        if now == 0:
            continue
        if sign != 0 and now != sign:
            p = i - 1
            lo = max(p - 1, 0)
            hi = min(p + 1, size - 1)
            best = y[lo]
            for q in range(lo + 1, hi + 1):
                if (sign > 0 and y[q] > best) or (sign < 0 and y[q] < best):
                    best = y[q]
            positions[count] = p
            kinds[count] = sign
            prices[count] = best
            count += 1
        sign = now
    return count


@jit
def _near_mean(a, b, c, tolerance, three):
    """Whether a, b (and c when `three`) are all within `tolerance` x their mean of it."""
    mean = (a + b + c) / 3.0 if three else (a + b) / 2.0
    limit = tolerance * abs(mean)
    if abs(a - mean) > limit or abs(b - mean) > limit:
        return False
    return not three or abs(c - mean) <= limit


@jit
def five_extrema_patterns(e, first_is_max, tolerance, rect_tolerance, flags):
    """LMW's five-extrema patterns on prices e[0..4] (E1..E5): set flags[HS..RBOT] to 1.0."""
    e1, e2, e3, e4, e5 = e[0], e[1], e[2], e[3], e[4]
    shoulders = _near_mean(e1, e5, 0.0, tolerance, False)
    troughs = _near_mean(e2, e4, 0.0, tolerance, False)
    # Rectangles: E1, E3, E5 (the tops of RTOP, the bottoms of RBOT) and E2, E4 each flat.
    odd_flat = _near_mean(e1, e3, e5, rect_tolerance, True)
    even_flat = _near_mean(e2, e4, 0.0, rect_tolerance, False)
    if first_is_max:
        if e3 > e1 and e3 > e5 and shoulders and troughs:
            flags[HS] = 1.0
        if e1 < e3 < e5 and e2 > e4:
            flags[BTOP] = 1.0
        if e1 > e3 > e5 and e2 < e4:
            flags[TTOP] = 1.0
        if odd_flat and even_flat and min(e1, e3, e5) > max(e2, e4):
            flags[RTOP] = 1.0
    else:
        if e3 < e1 and e3 < e5 and shoulders and troughs:
            flags[IHS] = 1.0
        if e1 > e3 > e5 and e2 < e4:
            flags[BBOT] = 1.0
        if e1 < e3 < e5 and e2 > e4:
            flags[TBOT] = 1.0
        if odd_flat and even_flat and min(e2, e4) > max(e1, e3, e5):
            flags[RBOT] = 1.0


@jit
def double_patterns(positions, kinds, prices, count, tolerance, separation, flags):
    """LMW's double top/bottom, completed by the last extremum (set flags[DTOP/DBOT]).

    E1 is the window's first extremum; the last extremum must be the highest (lowest)
    extremum after E1, of E1's kind, within `tolerance` of E1 around their mean, and more
    than `separation` bars after it.
    """
    if count < 3:
        return
    last = count - 1
    if kinds[0] != kinds[last] or positions[last] - positions[0] <= separation:
        return
    top = kinds[0] > 0
    for e in range(1, last):
        if (top and prices[e] > prices[last]) or (not top and prices[e] < prices[last]):
            return
    if _near_mean(prices[0], prices[last], 0.0, tolerance, False):
        flags[DTOP if top else DBOT] = 1.0


@jit
def lmw_patterns(close, weights, lag, tolerance, rect_tolerance, separation):
    """Rows 0..9: pattern flags (PATTERNS order) at each bar; row 10: extremum age.

    `weights` is `smoothing_matrix(window, h)`. A flag is 1.0 when the pattern's final
    extremum is the window's last and exactly `lag` bars old, else 0.0. The age is bars
    since the last smoothed extremum of the window, `window` when it has none. All rows are
    NaN before the first full window and for a window holding a NaN close.
    """
    n = close.shape[0]
    window = weights.shape[0]
    out = np.empty((AGE_ROW + 1, n))
    smoothed = np.empty(window)
    positions = np.empty(window, dtype=np.int64)
    kinds = np.empty(window, dtype=np.int64)
    prices = np.empty(window)
    five = np.empty(5)
    flags = np.empty(AGE_ROW)
    nans = 0
    for t in range(n):
        if close[t] != close[t]:
            nans += 1
        if t >= window and close[t - window] != close[t - window]:
            nans -= 1
        if t < window - 1 or nans > 0:
            for row in range(AGE_ROW + 1):
                out[row, t] = np.nan
            continue
        start = t - window + 1
        y = close[start : t + 1]
        smooth_window(y, weights, smoothed)
        flat = FLAT_STEP * abs(close[t])
        count = find_extrema(smoothed, y, flat, positions, kinds, prices)
        for row in range(AGE_ROW):
            flags[row] = 0.0
        age = window if count == 0 else window - 1 - positions[count - 1]
        if age == lag:
            if count >= 5:
                for e in range(5):
                    five[e] = prices[count - 5 + e]
                five_extrema_patterns(five, kinds[count - 5] > 0, tolerance, rect_tolerance, flags)
            double_patterns(positions, kinds, prices, count, tolerance, separation, flags)
        for row in range(AGE_ROW):
            out[row, t] = flags[row]
        out[AGE_ROW, t] = age
    return out
