"""Exponential smoothing kernels: pandas' `ewm(adjust=False)` and TA-Lib's EMA.

The two disagree by design: pandas (and so `ta`) seeds the recursion with the first
value, TA-Lib with the mean of the first `period` values and outputs nothing before it.
"""

from __future__ import annotations

import numpy as np

from udfs.kernels.jit import jit, jit_fma


def com_of_span(span: float) -> float:
    """pandas' centre of mass for `ewm(span=...)`: (span - 1) / 2."""
    return (span - 1.0) / 2.0


def com_of_alpha(alpha: float) -> float:
    """pandas' centre of mass for `ewm(alpha=...)`: (1 - alpha) / alpha."""
    return (1.0 - alpha) / alpha


@jit
def ewm_mean(x, com, min_periods):
    """pandas `x.ewm(com=com, adjust=False, min_periods=...).mean()` (ignore_na=False).

    Same operations in the same order as pandas, so results are bit-identical: the
    recursion starts at the first non-NaN value; a NaN row repeats the last value and
    decays the old weight (with pandas' special case for com == 1); a value equal to
    the running mean leaves it untouched; rows before `min_periods` observations are NaN.
    Between two observations pandas divides by old + new weight, which is exactly 1.0
    for the usual spans; that division is then skipped (dividing by 1.0 is exact).
    One `ewm_step` per row.
    """
    n = x.shape[0]
    out = np.empty(n)
    state = ewm_start(com)
    for j in range(n):
        state = ewm_step(state, x[j])
        out[j] = ewm_value(state, min_periods)
    return out


@jit
def ewm_start(com):
    """Initial state of `ewm_step` for pandas' ewm(com=com, adjust=False) (see ewm_mean).

    The state is (weighted, old_wt, nobs, old_wt_factor, steady_new_wt, com); it starts
    empty (weighted NaN), so the first observation seeds the recursion, as in pandas.
    """
    alpha = 1.0 / (1.0 + com)
    factor = 1.0 - alpha
    steady = 1.0 - factor if com == 1.0 else alpha
    return np.nan, 1.0, 0, factor, steady, com


@jit
def ewm_step(state, cur):
    """Feed one value to a pandas ewm(adjust=False) state; returns the new state.

    The row step of `ewm_mean`, also for kernels that run several EMAs in one pass; the
    value is state[0], defined once state[2] (observations) reaches min_periods.
    """
    weighted, old_wt, nobs, factor, steady, com = state
    is_observation = cur == cur
    if is_observation:
        nobs += 1
    if weighted == weighted:
        if is_observation and old_wt == 1.0 and factor + steady == 1.0:
            if weighted != cur:
                weighted = factor * weighted + steady * cur
        else:
            old_wt *= factor
            new_wt = 1.0 - old_wt if com == 1.0 else steady
            if is_observation:
                if weighted != cur:
                    weighted = old_wt * weighted + new_wt * cur
                    weighted = weighted / (old_wt + new_wt)
                old_wt = 1.0
    elif is_observation:
        weighted = cur
    return weighted, old_wt, nobs, factor, steady, com


@jit
def ewm_steady(state, min_periods):
    """True when `state` is defined, finite and at unit weight (see `ewm_unit_step`).

    A finite observation then takes ewm_step's single multiply-add, whose result (a
    convex combination of two finite values) is finite again: the state stays steady.
    """
    weighted, old_wt, nobs, factor, steady, _ = state
    return (
        nobs >= min_periods
        and nobs > 0
        and weighted - weighted == 0.0
        and old_wt == 1.0
        and factor + steady == 1.0
    )


@jit
def ewm_unit_step(weighted, cur, factor, steady):
    """ewm_step for a finite observation of a steady state: the same multiply-add."""
    if weighted != cur:
        weighted = factor * weighted + steady * cur
    return weighted


@jit
def ewm_value(state, min_periods):
    """The EMA value of a state: NaN before `min_periods` observations."""
    return state[0] if state[2] >= min_periods and state[2] > 0 else np.nan


@jit
def first_valid(x):
    """Index of the first non-NaN value (len(x) when there is none)."""
    for i in range(x.shape[0]):
        if x[i] == x[i]:
            return i
    return x.shape[0]


@jit
def first_valid3(a, b, c):
    """Index of the first row where a, b and c are all non-NaN (len when none)."""
    for i in range(a.shape[0]):
        if a[i] == a[i] and b[i] == b[i] and c[i] == c[i]:
            return i
    return a.shape[0]


@jit_fma
def ema_talib_from(x, period, start):
    """TA-Lib's EMA whose first value is at row `start`, NaN before.

    The seed is the left-to-right mean of the `period` values ending at `start`, then
    `ema += (x - ema) * k` with `k = 2 / (period + 1)`, TA-Lib's operation order. A NaN
    at or after the seed window makes every later value NaN, as in TA-Lib.
    """
    n = x.shape[0]
    out = np.full(n, np.nan)
    if start >= n or start - period + 1 < 0:
        return out
    total = 0.0
    for i in range(start - period + 1, start + 1):
        total += x[i]
    prev = total / period
    out[start] = prev
    k = 2.0 / (period + 1)
    for i in range(start + 1, n):
        prev = (x[i] - prev) * k + prev
        out[i] = prev
    return out


@jit
def ema_talib(x, period):
    """TA-Lib EMA(period): starts `period - 1` rows after the first non-NaN value."""
    return ema_talib_from(x, period, first_valid(x) + period - 1)
