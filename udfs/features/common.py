"""Helpers shared by the built-in feature declarations."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from udfs.kernels.rolling import inf_to_nan
from udfs.registry import FeatureSpec

Arrays = dict[str, np.ndarray]


def column(bars: pd.DataFrame, name: str) -> np.ndarray:
    """One bar column as a contiguous float64 array (no copy when it already is one)."""
    return np.ascontiguousarray(bars[name].to_numpy(dtype=np.float64))


def defined(**outputs: np.ndarray) -> Arrays:
    """The outputs by name, with +-inf (a division by zero) replaced by NaN in place."""
    return {name: inf_to_nan(values) for name, values in outputs.items()}


def declare(
    name: str,
    inputs: tuple[str, ...],
    warmups: Mapping[str, int],
    func: Callable[[pd.DataFrame], Arrays],
) -> FeatureSpec:
    """A causal FeatureSpec with double outputs, each starting after its own warm-up."""
    warmup = max(warmups.values())
    return FeatureSpec(
        name=name,
        inputs=inputs,
        outputs={output: "double" for output in warmups},
        warmup=warmup,
        causal=True,
        func=func,
        output_warmups={output: bars for output, bars in warmups.items() if bars != warmup},
    )
