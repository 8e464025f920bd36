"""Fixed-width-window fractional differentiation (FFD), as in López de Prado, AFML ch. 5.

The weights of (1 - B)^d are w_0 = 1, w_k = -w_{k-1} (d - k + 1) / k; FFD keeps them while
|w_k| >= threshold and drops the rest, so every output uses the same `width` inputs:
y_t = sum_{k < width} w_k x_{t-k}, NaN for t < width - 1. Integer d gives exact zeros
after w_d, so d = 1 is the first difference and d = 0 the series itself.
"""

from __future__ import annotations

import numpy as np

from udfs.kernels.jit import jit

# Rows per block of `fixed_width_diff`: the block's inputs and outputs stay in L1/L2
# while every weight is applied to it.
BLOCK_ROWS = 2048
# Hard cap on the window (a threshold this small would make a feature unusable anyway).
MAX_WIDTH = 1_000_000


def ffd_weights(d: float, threshold: float) -> np.ndarray:
    """FFD weights w_0 .. w_{width-1} of (1 - B)^d, cut at the first |w_k| < threshold."""
    if not np.isfinite(d) or d < 0.0:
        raise ValueError(f"fractional order d must be a finite number >= 0, got {d!r}")
    if not np.isfinite(threshold) or not 0.0 < threshold < 1.0:
        raise ValueError(f"weight threshold must be in (0, 1), got {threshold!r}")
    weights = [1.0]
    k = 1
    while True:
        w = -weights[-1] * (d - k + 1) / k
        if abs(w) < threshold:
            break
        weights.append(w)
        k += 1
        if k > MAX_WIDTH:
            raise ValueError(
                f"FFD window for d={d!r}, threshold={threshold!r} exceeds {MAX_WIDTH:,} bars"
            )
    return np.asarray(weights, dtype=np.float64)


def ffd_width(d: float, threshold: float) -> int:
    """Number of inputs each FFD output uses; the warm-up is this minus one."""
    return len(ffd_weights(d, threshold))


@jit
def fixed_width_diff(x, weights):
    """y_t = sum_k weights[k] * x[t - k] (k ascending), NaN before a full window.

    Loops weight-outer, row-inner over blocks of rows: every y_t still accumulates its
    terms in k order (the result equals the row-by-row dot product bit for bit), but the
    inner loop has no dependency chain, so it vectorizes. NaN or inf inputs propagate.
    """
    n = x.shape[0]
    width = weights.shape[0]
    out = np.empty(n)
    first = width - 1
    for t in range(min(first, n)):
        out[t] = np.nan
    for start in range(first, n, BLOCK_ROWS):
        stop = min(start + BLOCK_ROWS, n)
        w0 = weights[0]
        for t in range(start, stop):
            out[t] = w0 * x[t]
        for k in range(1, width):
            w = weights[k]
            for t in range(start, stop):
                out[t] += w * x[t - k]
    return out


@jit
def log_prices(close):
    """Natural log of each close; NaN for a non-positive or NaN close."""
    n = close.shape[0]
    out = np.empty(n)
    for i in range(n):
        value = close[i]
        out[i] = np.log(value) if value > 0.0 else np.nan
    return out
