"""Fractional differentiation of log close (AFML's fixed-width window), as feature UDFs.

`fracdiff_feature(d, threshold)` builds one causal spec; `FRACDIFF_FEATURES` holds the
registered defaults (`fracdiff_d04`: d = 0.4, threshold 1e-4, a 282-bar window). See
docs/features.md for why these defaults.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from udfs.features.common import column, defined
from udfs.kernels import fracdiff as kernels
from udfs.registry import FeatureSpec, register_feature

DEFAULT_D = 0.4
DEFAULT_THRESHOLD = 1e-4


@dataclass(frozen=True)
class _FracDiff:
    """A fracdiff feature's function (a picklable object, so worker processes can run it)."""

    output: str
    weights: tuple[float, ...]

    def __call__(self, bars: pd.DataFrame) -> dict[str, np.ndarray]:
        """FFD of log close; NaN in the first `width - 1` bars and wherever close <= 0."""
        log_close = kernels.log_prices(column(bars, "close"))
        weights = np.asarray(self.weights, dtype=np.float64)
        return defined(**{self.output: kernels.fixed_width_diff(log_close, weights)})


def _tag(value: float) -> str:
    """A float as identifier-safe text: 0.4 -> '04', 1e-05 -> '1em05'."""
    return f"{value:g}".replace(".", "").replace("-", "m").replace("+", "")


def fracdiff_name(d: float, threshold: float = DEFAULT_THRESHOLD) -> str:
    """Default feature (and output) name: `fracdiff_d<d>`, plus `_t<threshold>` if not 1e-4."""
    name = f"fracdiff_d{_tag(d)}"
    return name if threshold == DEFAULT_THRESHOLD else f"{name}_t{_tag(threshold)}"


def fracdiff_feature(
    d: float = DEFAULT_D, threshold: float = DEFAULT_THRESHOLD, name: str | None = None
) -> FeatureSpec:
    """A causal spec: FFD(d, threshold) of log close, one output named like the feature.

    The window width follows from (d, threshold) (`kernels.ffd_width`); the warm-up is
    width - 1 bars.
    """
    weights = kernels.ffd_weights(float(d), float(threshold))
    output = name or fracdiff_name(d, threshold)
    return FeatureSpec(
        name=output,
        inputs=("close",),
        outputs={output: "double"},
        warmup=len(weights) - 1,
        causal=True,
        func=_FracDiff(output, tuple(float(w) for w in weights)),
    )


FRACDIFF_D04 = fracdiff_feature(DEFAULT_D, DEFAULT_THRESHOLD)
FRACDIFF_FEATURES = (FRACDIFF_D04,)


def register_fracdiff_features() -> list[FeatureSpec]:
    """Register (or restore) the default fracdiff features; returns their specs."""
    return [register_feature(spec) for spec in FRACDIFF_FEATURES]
