"""numpy's pairwise summation, bit for bit, for kernels that must round as `ta` does.

`ta` computes a few statistics with `np.sum`/`np.mean` on each window (CCI's mean
deviation, the seeds of ATR and ADX); summing in numpy's order gives the same result,
so a flat window divides the same zero (or tiny residue) as ta does.
"""

from __future__ import annotations

import numpy as np

from udfs.kernels.jit import jit


@jit
def numpy_sum(x, start, count):
    """`np.sum(x[start:start + count])`, bit for bit (numpy's pairwise summation).

    numpy splits a run longer than 128 values in two halves (the first rounded down to
    a multiple of 8) and adds their sums; runs of up to 128 values go through
    `block_sum`. The split tree is walked with an explicit stack (`_pairwise_tree`):
    numba cannot cache a recursive function reliably.
    """
    if count <= 128:
        return block_sum(x, start, count)
    return _pairwise_tree(x, start, count)


@jit
def _pairwise_tree(x, start, count):
    """numpy's split of a run longer than 128 values, walked with an explicit stack."""
    starts = np.empty(64, dtype=np.int64)
    counts = np.empty(64, dtype=np.int64)
    lefts = np.empty(64)
    phases = np.zeros(64, dtype=np.int64)
    depth = 0
    starts[0] = start
    counts[0] = count
    value = 0.0
    have_value = False
    while depth >= 0:
        if have_value:
            if phases[depth] == 0:
                lefts[depth] = value
                phases[depth] = 1
                half = counts[depth] // 2
                half -= half % 8
                have_value = False
                depth += 1
                starts[depth] = starts[depth - 1] + half
                counts[depth] = counts[depth - 1] - half
                phases[depth] = 0
            else:
                value = lefts[depth] + value
                depth -= 1
            continue
        if counts[depth] <= 128:
            value = block_sum(x, starts[depth], counts[depth])
            have_value = True
            depth -= 1
            continue
        half = counts[depth] // 2
        half -= half % 8
        depth += 1
        starts[depth] = starts[depth - 1]
        counts[depth] = half
        phases[depth] = 0
    return value


@jit
def block_sum(x, start, count):
    """numpy's pairwise_sum for up to 128 values: 8 interleaved accumulators, then the rest.

    `numpy_sum` for short runs; callers summing a short window on every row call this
    directly (numba does not inline `numpy_sum`, and the call costs as much as the sum).
    """
    if count < 8:
        total = 0.0
        for i in range(count):
            total += x[start + i]
        return total
    r0 = x[start]
    r1 = x[start + 1]
    r2 = x[start + 2]
    r3 = x[start + 3]
    r4 = x[start + 4]
    r5 = x[start + 5]
    r6 = x[start + 6]
    r7 = x[start + 7]
    i = 8
    stop = count - count % 8
    while i < stop:
        r0 += x[start + i]
        r1 += x[start + i + 1]
        r2 += x[start + i + 2]
        r3 += x[start + i + 3]
        r4 += x[start + i + 4]
        r5 += x[start + i + 5]
        r6 += x[start + i + 6]
        r7 += x[start + i + 7]
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < count:
        total += x[start + i]
        i += 1
    return total
