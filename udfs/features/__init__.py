"""Built-in feature declarations: `ta`'s full set, TA-Lib-compatible short names, lags,
fractional differentiation (`fracdiff`) and LMW chart patterns (`patterns`).

The fracdiff and pattern groups are registered by `register_fracdiff_features()` and
`register_pattern_features()` (see docs/features.md).
"""

from udfs.features.fracdiff import register_fracdiff_features
from udfs.features.patterns import register_pattern_features

__all__ = ["register_fracdiff_features", "register_pattern_features"]
