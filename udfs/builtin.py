"""Built-in features: `ta`'s full set by its column names, and TA-Lib-compatible short names.

Registration order is column order for `compute_features(bars)`: the original three
(rsi_14, macd*, cci), then ta's volume, volatility, trend, momentum and others groups,
then the other short names.
"""

from __future__ import annotations

from udfs.features.fracdiff import FRACDIFF_FEATURES
from udfs.features.patterns import PATTERN_FEATURES
from udfs.features.ta_momentum import TA_MOMENTUM_FEATURES
from udfs.features.ta_trend import TA_TREND_FEATURES
from udfs.features.ta_volatility import TA_VOLATILITY_FEATURES
from udfs.features.ta_volume import TA_VOLUME_FEATURES
from udfs.features.talib_compat import CCI_14, MACD_12_26_9, RSI_14, TALIB_FEATURES
from udfs.registry import register_feature

TA_FEATURES = (
    *TA_VOLUME_FEATURES,
    *TA_VOLATILITY_FEATURES,
    *TA_TREND_FEATURES,
    *TA_MOMENTUM_FEATURES,
)
BUILTIN_FEATURES = (
    RSI_14,
    MACD_12_26_9,
    CCI_14,
    *TA_FEATURES,
    *TALIB_FEATURES,
    *FRACDIFF_FEATURES,
    *PATTERN_FEATURES,
)

__all__ = [
    "BUILTIN_FEATURES",
    "CCI_14",
    "MACD_12_26_9",
    "RSI_14",
    "TA_FEATURES",
    "TALIB_FEATURES",
    "register_builtin_features",
]


def register_builtin_features() -> None:
    """Register (or restore) every built-in feature."""
    for spec in BUILTIN_FEATURES:
        register_feature(spec)
