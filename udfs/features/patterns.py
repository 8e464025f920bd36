"""Lo-Mamaysky-Wang (2000) chart patterns made causal, as a feature UDF.

`pattern_feature(...)` builds one causal spec with a 1.0/0.0 column per pattern
(`pattern_hs`, `pattern_ihs`, `pattern_btop`, ...) and `pattern_extremum_age`;
`PATTERN_FEATURES` holds the default (`lmw_patterns`: a 38-bar window = LMW's 35 + a
3-bar lag, bandwidth 0.04 x 38 bars). docs/features.md explains the parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from udfs.features.common import column
from udfs.kernels import patterns as kernels
from udfs.registry import FeatureSpec, register_feature

DEFAULT_WINDOW = 38  # LMW: l = 35 bars of formation + d = 3 bars of lag
DEFAULT_LAG = 3
# Bandwidth in bars as a fraction of the window: 0.04 x 38 = 1.52 bars keeps ~80% of a
# 14-bar swing (five extrema in 35 bars) and ~6% of a 4-bar wiggle (docs/features.md).
BANDWIDTH_FRACTION = 0.04
TOLERANCE = 0.015  # LMW: "within 1.5 percent of their average"
RECT_TOLERANCE = 0.0075  # LMW's rectangles: 0.75 percent
DOUBLE_SEPARATION = 22  # LMW: the two tops (bottoms) of a double more than 22 bars apart
AGE = "extremum_age"


def pattern_columns(suffix: str = "") -> list[str]:
    """Output columns: `pattern_<name><suffix>` per pattern, then the extremum age."""
    return [f"pattern_{name}{suffix}" for name in (*kernels.PATTERNS, AGE)]


@dataclass(frozen=True)
class _Patterns:
    """A pattern feature's function (a picklable object, so worker processes can run it)."""

    columns: tuple[str, ...]
    window: int
    bandwidth: float
    lag: int
    tolerance: float
    rect_tolerance: float
    separation: int

    def __call__(self, bars: pd.DataFrame) -> dict[str, np.ndarray]:
        """Pattern flags and extremum age of close (NaN before the first full window)."""
        weights = kernels.smoothing_matrix(self.window, self.bandwidth)
        rows = kernels.lmw_patterns(
            column(bars, "close"),
            weights,
            self.lag,
            self.tolerance,
            self.rect_tolerance,
            self.separation,
        )
        return dict(zip(self.columns, rows, strict=True))


def pattern_feature(
    window: int = DEFAULT_WINDOW,
    lag: int = DEFAULT_LAG,
    bandwidth: float | None = None,
    *,
    tolerance: float = TOLERANCE,
    rect_tolerance: float = RECT_TOLERANCE,
    separation: int = DOUBLE_SEPARATION,
    name: str = "lmw_patterns",
    suffix: str = "",
) -> FeatureSpec:
    """A causal spec detecting LMW patterns whose final extremum is `lag` bars old.

    `bandwidth` is the Gaussian kernel's in bars (default `BANDWIDTH_FRACTION * window`);
    `suffix` is appended to every output column so variants can be registered together.
    Warm-up: `window - 1` bars.
    """
    problems = []
    if isinstance(window, bool) or not isinstance(window, int) or window < 7:
        problems.append(f"window must be an int >= 7 (five extrema need room), got {window!r}")
    elif isinstance(lag, bool) or not isinstance(lag, int) or not 1 <= lag < window - 1:
        problems.append(f"lag must be an int in [1, window - 2], got {lag!r}")
    if isinstance(separation, bool) or not isinstance(separation, int) or separation < 0:
        problems.append(f"separation must be an int >= 0, got {separation!r}")
    for label, value in (("tolerance", tolerance), ("rect_tolerance", rect_tolerance)):
        if not 0.0 <= value < 1.0:
            problems.append(f"{label} must be in [0, 1), got {value!r}")
    if problems:
        raise ValueError(f"invalid pattern feature {name!r}: " + "; ".join(problems))
    width = float(BANDWIDTH_FRACTION * window if bandwidth is None else bandwidth)
    kernels.smoothing_matrix(window, width)  # validates the bandwidth
    columns = tuple(pattern_columns(suffix))
    func = _Patterns(columns, window, width, lag, tolerance, rect_tolerance, separation)
    return FeatureSpec(
        name=name,
        inputs=("close",),
        outputs={output: "double" for output in columns},
        warmup=window - 1,
        causal=True,
        func=func,
    )


LMW_PATTERNS = pattern_feature()
PATTERN_FEATURES = (LMW_PATTERNS,)


def register_pattern_features() -> list[FeatureSpec]:
    """Register (or restore) the default pattern feature; returns its spec."""
    return [register_feature(spec) for spec in PATTERN_FEATURES]
