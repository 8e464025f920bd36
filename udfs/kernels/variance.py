"""Rolling variance, computed accurately in O(1) per row (see `rolling_var`)."""

from __future__ import annotations

import numpy as np

from udfs.kernels.jit import jit, jit_inline
from udfs.kernels.rolling import sum_mean, sum_start, sum_step


@jit_inline
def _var_rebased(x, i, window, ref):
    """State (ref, s1, s2, nobs, since = 0) of the window ending at row i, re-summed exactly."""
    s1 = 0.0
    s2 = 0.0
    nobs = 0
    for j in range(max(0, i - window + 1), i + 1):
        if x[j] == x[j]:
            d = x[j] - ref
            s1 += d
            s2 += d * d
            nobs += 1
    return ref, s1, s2, nobs, 0


@jit_inline
def _var_moved(state, value, old):
    """The deviation sums one row on: `old` leaves the window, `value` enters (NaN skipped).

    Takes the two values, not the array: an array handed to an inlined helper can leave a
    reference-count call per row in the caller's loop (measured 2x slower here).
    """
    ref, s1, s2, nobs, since = state
    if old == old:
        d = old - ref
        s1 -= d
        s2 -= d * d
        nobs -= 1
    if value == value:
        d = value - ref
        s1 += d
        s2 += d * d
        nobs += 1
    return ref, s1, s2, nobs, since + 1


@jit_inline
def _var_value(state, run, min_periods, ddof):
    """Variance of a deviation-sum window: 0 when its `run` trailing equal values cover it."""
    _, s1, s2, nobs, _ = state
    if nobs >= min_periods and nobs > ddof:
        if nobs == 1 or run >= nobs:
            return 0.0
        return max((s2 - s1 * s1 / nobs) / (nobs - ddof), 0.0)
    return np.nan


@jit
def rolling_var(x, window, min_periods, ddof):
    """`x.rolling(window, min_periods).var(ddof)`, computed accurately in O(1) per row.

    Running sums of deviations from a reference value, re-based on the current row and
    re-summed exactly every `window` rows: the reference stays inside the data's recent
    range, so `s2 - s1**2 / n` loses almost nothing to cancellation (pandas' Welford
    downdate can lose 1e-6 relative on minute prices, more on larger levels). A window
    of equal values gives exactly 0, as in pandas.
    """
    n = x.shape[0]
    out = np.empty(n)
    min_periods = max(min_periods, 1)
    run = 0
    prev = np.nan
    state = (0.0, 0.0, 0.0, 0, window)  # (ref, s1, s2, nobs, rows since the last re-base)
    for i in range(n):
        value = x[i]
        if value == value:
            run = run + 1 if value == prev else 1
            prev = value
        if state[4] + 1 >= window:
            state = _var_rebased(x, i, window, value if value == value else state[0])
        else:
            state = _var_moved(state, value, x[i - window] if i >= window else np.nan)
        out[i] = _var_value(state, run, min_periods, ddof)
    return out


@jit
def rolling_mean_var(x, window, ddof):
    """(rolling_mean(x, window, window), rolling_var(x, window, window, ddof)) in one pass.

    Same steps as the two kernels, so the same values, bit for bit.
    """
    n = x.shape[0]
    mean = np.empty(n)
    var = np.empty(n)
    state = sum_start()
    var_state = (0.0, 0.0, 0.0, 0, window)  # as in rolling_var
    for i in range(n):
        value = x[i]
        if var_state[4] + 1 >= window:
            var_state = _var_rebased(x, i, window, value if value == value else var_state[0])
        else:
            var_state = _var_moved(var_state, value, x[i - window] if i >= window else np.nan)
        state = sum_step(state, x, i, window)
        mean[i] = sum_mean(state) if state[1] >= window else np.nan
        var[i] = _var_value(var_state, state[2], max(window, 1), ddof)
    return mean, var
