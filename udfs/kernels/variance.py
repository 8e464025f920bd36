"""Rolling variance, computed accurately in O(1) per row (see `rolling_var`)."""

from __future__ import annotations

import numpy as np

from udfs.kernels.jit import jit
from udfs.kernels.rolling import RESUM_EVERY


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
    ref = 0.0
    s1 = 0.0
    s2 = 0.0
    nobs = 0
    run = 0
    prev = np.nan
    since = window
    for i in range(n):
        value = x[i]
        if value == value:
            run = run + 1 if value == prev else 1
            prev = value
        since += 1
        if since >= window:
            if value == value:
                ref = value
            s1 = 0.0
            s2 = 0.0
            nobs = 0
            for j in range(max(0, i - window + 1), i + 1):
                if x[j] == x[j]:
                    d = x[j] - ref
                    s1 += d
                    s2 += d * d
                    nobs += 1
            since = 0
        else:
            if i >= window:
                old = x[i - window]
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
        if nobs >= min_periods and nobs > ddof:
            if nobs == 1 or run >= nobs:
                out[i] = 0.0
            else:
                out[i] = max((s2 - s1 * s1 / nobs) / (nobs - ddof), 0.0)
        else:
            out[i] = np.nan
    return out


@jit
def rolling_mean_var(x, window, ddof):
    """(rolling_mean(x, window, window), rolling_var(x, window, window, ddof)) in one pass.

    Same operations as the two kernels, so the same values, bit for bit.
    """
    n = x.shape[0]
    mean = np.empty(n)
    var = np.empty(n)
    total = 0.0
    nobs = 0
    run = 0
    prev = np.nan
    countdown = RESUM_EVERY
    ref = 0.0
    s1 = 0.0
    s2 = 0.0
    var_nobs = 0
    since = window
    for i in range(n):
        value = x[i]
        valid = value == value
        if valid:
            total += value
            nobs += 1
            run = run + 1 if value == prev else 1
            prev = value
        old = x[i - window] if i >= window else np.nan
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
        since += 1
        if since >= window:
            if valid:
                ref = value
            s1 = 0.0
            s2 = 0.0
            var_nobs = 0
            for j in range(max(0, i - window + 1), i + 1):
                if x[j] == x[j]:
                    d = x[j] - ref
                    s1 += d
                    s2 += d * d
                    var_nobs += 1
            since = 0
        else:
            if old == old:
                d = old - ref
                s1 -= d
                s2 -= d * d
                var_nobs -= 1
            if valid:
                d = value - ref
                s1 += d
                s2 += d * d
                var_nobs += 1
        if nobs >= window:
            mean[i] = prev if run >= nobs else total / nobs
        else:
            mean[i] = np.nan
        if var_nobs >= max(window, 1) and var_nobs > ddof:
            if var_nobs == 1 or run >= var_nobs:
                var[i] = 0.0
            else:
                var[i] = max((s2 - s1 * s1 / var_nobs) / (var_nobs - ddof), 0.0)
        else:
            var[i] = np.nan
    return mean, var
