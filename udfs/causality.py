"""Look-ahead check for a feature: perturbing bars after k must not move values at <= k."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from udfs.compute import run_feature, validate_bars
from udfs.registry import FeatureSpec, get_feature


def find_lookahead(
    feature: str | FeatureSpec,
    bars: pd.DataFrame,
    cutoffs: Iterable[int] | None = None,
    seed: int = 0,
) -> list[tuple[int, str]]:
    """(cutoff, column) pairs where scaling bars after `cutoff` changed a value at <= cutoff.

    Each input column after the cutoff is multiplied by a random factor in [0.5, 1.5]; a
    causal feature returns identical values (NaN included) up to and including the cutoff.
    `cutoffs` defaults to 8 positions spread over the frame.
    """
    spec = get_feature(feature) if isinstance(feature, str) else feature
    validate_bars(bars, list(spec.inputs))
    n = len(bars)
    if cutoffs is None:
        cutoffs = sorted({int(k) for k in np.linspace(0, n - 2, 8)}) if n > 1 else []
    rng = np.random.default_rng(seed)
    base = run_feature(spec, bars)
    found = []
    for cutoff in cutoffs:
        perturbed = bars.copy()
        for column in spec.inputs:
            values = perturbed[column].to_numpy(dtype=np.float64, copy=True)
            values[cutoff + 1 :] *= rng.uniform(0.5, 1.5, n - cutoff - 1)
            perturbed[column] = values
        moved = run_feature(spec, perturbed)
        for column in base:
            head, new_head = base[column][: cutoff + 1], moved[column][: cutoff + 1]
            if not np.array_equal(head, new_head, equal_nan=True):
                found.append((cutoff, column))
    return found
