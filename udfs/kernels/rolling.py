"""O(n) rolling-window kernels with pandas' `rolling(window, min_periods)` semantics.

- NaN inputs are skipped: a window's value needs `min_periods` non-NaN observations
  (`min_periods` 0 is treated as 1 for max/min/var), else it is NaN.
- Sums and means keep a running sum (add the new value, subtract the expired one) that
  is re-summed exactly every `RESUM_EVERY` rows, so rounding never accumulates over a
  long series; a window whose values are all equal gives that value exactly (`value *
  count` for sums, 0 for variances), as pandas does.
- Max, min and arg-max/min use the van Herk/Gil-Werman block scheme (O(1) per row
  whatever the data; a monotonic deque is O(1) amortized too but mispredicts a branch
  on most rows of a price series, ~4x slower here), keeping only a `window`-sized
  buffer: no scratch array the size of the series, whose first touch is what costs.
"""

from __future__ import annotations

import numpy as np

from udfs.kernels.jit import jit, jit_inline

# Rows between exact re-summations of a running window sum.
RESUM_EVERY = 1024


@jit_inline
def sum_start():
    """Empty state of `sum_step`: (total, nobs, run, prev, countdown)."""
    return 0.0, 0, 0, np.nan, RESUM_EVERY


@jit_inline
def sum_step(state, x, i, window):
    """Move a running sum of x's non-NaN values to the window ending at row i; new state.

    Adds x[i], drops x[i - window], counts in `run` the trailing values equal to the last
    one (`prev`) and re-sums the window exactly every RESUM_EVERY rows. Inlined into each
    kernel's loop, so a fused kernel runs the same operations as `_running_total`.
    """
    total, nobs, run, prev, countdown = state
    value = x[i]
    if value == value:
        total += value
        nobs += 1
        run = run + 1 if value == prev else 1
        prev = value
    if i >= window:
        old = x[i - window]
        if old == old:
            total -= old
            nobs -= 1
    countdown -= 1
    if countdown == 0:
        countdown = RESUM_EVERY
        total = 0.0
        for j in range(max(0, i - window + 1), i + 1):
            if x[j] == x[j]:
                total += x[j]
    return total, nobs, run, prev, countdown


@jit_inline
def sum_mean(state):
    """Mean of a `sum_step` window with observations: exactly the value when all are equal."""
    total, nobs, run, prev, _ = state
    return prev if run >= nobs else total / nobs


@jit
def _running_total(x, window, min_periods, mean):
    """Rolling sum (or mean) with pandas' NaN, min_periods and equal-values rules.

    `run` counts the trailing non-NaN values equal to the last one (as pandas does): when
    it covers every observation of the window, the result is exact.
    """
    n = x.shape[0]
    out = np.empty(n)
    state = sum_start()
    for i in range(n):
        state = sum_step(state, x, i, window)
        total, nobs, run, prev, _ = state
        if nobs >= min_periods and nobs > 0:
            if mean:
                out[i] = sum_mean(state)
            else:
                out[i] = prev * nobs if run >= nobs else total
        elif nobs == 0 and min_periods == 0 and not mean:
            out[i] = 0.0
        else:
            out[i] = np.nan
    return out


@jit
def rolling_sum(x, window, min_periods):
    """pandas `x.rolling(window, min_periods).sum()`."""
    return _running_total(x, window, min_periods, False)


@jit
def rolling_mean(x, window, min_periods):
    """pandas `x.rolling(window, min_periods).mean()`."""
    return _running_total(x, window, min_periods, True)


@jit
def _rolling_extreme(x, window, min_periods, is_max):
    """Rolling max (or min) over the non-NaN values of each window (van Herk/Gil-Werman).

    Rows are cut into blocks of `window`. A window ending at row i covers the tail of the
    previous block and the head of i's block: its extreme is the better of the previous
    block's suffix extreme (computed once, into a `window`-sized buffer, when the block
    completes) and the running extreme of i's block so far. O(1) per row, no branch
    on the data, no scratch array the size of the series.
    """
    n = x.shape[0]
    out = np.empty(n)
    fill = -np.inf if is_max else np.inf
    suffix = np.empty(window)
    block = 0
    run = fill
    nobs = 0
    min_periods = max(min_periods, 1)
    for i in range(n):
        if i - block == window:
            best = fill
            for k in range(window - 1, -1, -1):
                value = x[block + k]
                if value == value:
                    best = max(best, value) if is_max else min(best, value)
                suffix[k] = best
            block = i
            run = fill
        value = x[i]
        if value == value:
            run = max(run, value) if is_max else min(run, value)
            nobs += 1
        if i >= window and x[i - window] == x[i - window]:
            nobs -= 1
        start = i - window + 1
        if start <= 0 or start == block:
            best = run
        else:
            other = suffix[start - block + window]
            best = max(other, run) if is_max else min(other, run)
        out[i] = best if nobs >= min_periods else np.nan
    return out


@jit
def rolling_max(x, window, min_periods):
    """pandas `x.rolling(window, min_periods).max()`."""
    return _rolling_extreme(x, window, min_periods, True)


@jit
def rolling_min(x, window, min_periods):
    """pandas `x.rolling(window, min_periods).min()`."""
    return _rolling_extreme(x, window, min_periods, False)


@jit
def rolling_max_min(high, low, window, min_periods):
    """(rolling max of `high`, rolling min of `low`) in one pass (see `_rolling_extreme`)."""
    n = high.shape[0]
    top = np.empty(n)
    bottom = np.empty(n)
    top_suffix = np.empty(window)
    bottom_suffix = np.empty(window)
    block = 0
    top_run = -np.inf
    bottom_run = np.inf
    top_nobs = 0
    bottom_nobs = 0
    min_periods = max(min_periods, 1)
    for i in range(n):
        if i - block == window:
            best_top = -np.inf
            best_bottom = np.inf
            for k in range(window - 1, -1, -1):
                value = high[block + k]
                if value == value:
                    best_top = max(best_top, value)
                top_suffix[k] = best_top
                value = low[block + k]
                if value == value:
                    best_bottom = min(best_bottom, value)
                bottom_suffix[k] = best_bottom
            block = i
            top_run = -np.inf
            bottom_run = np.inf
        value = high[i]
        if value == value:
            top_run = max(top_run, value)
            top_nobs += 1
        value = low[i]
        if value == value:
            bottom_run = min(bottom_run, value)
            bottom_nobs += 1
        if i >= window:
            top_nobs -= high[i - window] == high[i - window]
            bottom_nobs -= low[i - window] == low[i - window]
        start = i - window + 1
        if start <= 0 or start == block:
            best_top = top_run
            best_bottom = bottom_run
        else:
            best_top = max(top_suffix[start - block + window], top_run)
            best_bottom = min(bottom_suffix[start - block + window], bottom_run)
        top[i] = best_top if top_nobs >= min_periods else np.nan
        bottom[i] = best_bottom if bottom_nobs >= min_periods else np.nan
    return top, bottom


@jit
def suffix_max_min(high, low, start, count, top, bottom):
    """top[k] / bottom[k] = max of high / min of low over rows start + k .. start + count - 1.

    NaN is skipped (a comparison with NaN is false); -inf / +inf when a suffix has none.
    The block step of `_rolling_extreme`, for kernels that fuse it into their own loop:
    with `top[window]` = -inf and `bottom[window]` = +inf, the extremes of the window
    ending at row block + j (block a multiple of `window`, j < window) are those of the
    previous block's `top[j + 1]` / `bottom[j + 1]` and of rows block .. block + j.
    """
    best_top = -np.inf
    best_bottom = np.inf
    for k in range(count - 1, -1, -1):
        value = high[start + k]
        best_top = value if value > best_top else best_top
        value = low[start + k]
        best_bottom = value if value < best_bottom else best_bottom
        top[k] = best_top
        bottom[k] = best_bottom


@jit
def rolling_arg_extreme(x, window, is_max):
    """Position (0 = oldest) of the first max (or min) in each full window; NaN otherwise.

    What `x.rolling(window).apply(np.argmax)` gives (np.argmax picks the first of equal
    maxima), with the block scheme of `_rolling_extreme`: on a tie the earlier part of
    the window (the previous block's suffix) wins. A window holding a NaN is NaN.
    """
    n = x.shape[0]
    out = np.empty(n)
    sign = 1.0 if is_max else -1.0
    suffix = np.empty(window)
    suffix_at = np.empty(window, dtype=np.int64)
    block = 0
    run = -np.inf
    run_at = 0
    nans = 0
    for i in range(n):
        if i - block == window:
            best = -np.inf
            best_at = block + window - 1
            for k in range(window - 1, -1, -1):
                value = sign * x[block + k]
                if value >= best:
                    best = value
                    best_at = block + k
                suffix[k] = best
                suffix_at[k] = best_at
            block = i
            run = -np.inf
        value = sign * x[i]
        if value != value:
            nans += 1
        elif i == block or value > run:
            run = value
            run_at = i
        if i >= window and x[i - window] != x[i - window]:
            nans -= 1
        start = i - window + 1
        if start < 0 or nans > 0:
            out[i] = np.nan
        elif start == block or run > suffix[start - block + window]:
            out[i] = run_at - start
        else:
            out[i] = suffix_at[start - block + window] - start
    return out


@jit
def shift(x, periods):
    """`x` moved `periods` rows later (`Series.shift(periods)`, periods >= 0): NaN first."""
    n = x.shape[0]
    out = np.empty(n)
    for i in range(n):
        out[i] = x[i - periods] if i >= periods else np.nan
    return out


@jit
def cumsum_skipna(x):
    """pandas `Series.cumsum()`: NaN rows stay NaN and are skipped by the running sum."""
    n = x.shape[0]
    out = np.empty(n)
    total = 0.0
    for i in range(n):
        if x[i] == x[i]:
            total += x[i]
            out[i] = total
        else:
            out[i] = np.nan
    return out


@jit
def inf_to_nan(x):
    """Replace +-inf by NaN in place (an undefined value is NaN in every output)."""
    for i in range(x.shape[0]):
        if x[i] == np.inf or x[i] == -np.inf:
            x[i] = np.nan
    return x
