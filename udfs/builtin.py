"""Built-in features: RSI(14), MACD(12, 26, 9) and CCI(14), TA-Lib-compatible."""

from __future__ import annotations

import numpy as np
import pandas as pd

from udfs.indicators import cci, macd, rsi
from udfs.registry import FeatureSpec, register_feature


def _rsi_14(bars: pd.DataFrame) -> dict[str, np.ndarray]:
    """Wilder RSI over 14 bars of close."""
    return {"rsi_14": rsi(bars["close"].to_numpy(), 14)}


def _macd_12_26_9(bars: pd.DataFrame) -> dict[str, np.ndarray]:
    """MACD line, signal and histogram of close."""
    line, signal, hist = macd(bars["close"].to_numpy(), 12, 26, 9)
    return {"macd": line, "macdsignal": signal, "macdhist": hist}


def _cci_14(bars: pd.DataFrame) -> dict[str, np.ndarray]:
    """Commodity Channel Index over 14 bars of the typical price."""
    return {"cci": cci(bars["high"].to_numpy(), bars["low"].to_numpy(), bars["close"].to_numpy())}


RSI_14 = FeatureSpec(
    name="rsi_14",
    inputs=("close",),
    outputs={"rsi_14": "double"},
    warmup=14,
    causal=True,
    func=_rsi_14,
)
MACD_12_26_9 = FeatureSpec(
    name="macd_12_26_9",
    inputs=("close",),
    outputs={"macd": "double", "macdsignal": "double", "macdhist": "double"},
    warmup=33,
    causal=True,
    func=_macd_12_26_9,
)
CCI_14 = FeatureSpec(
    name="cci_14",
    inputs=("high", "low", "close"),
    outputs={"cci": "double"},
    warmup=13,
    causal=True,
    func=_cci_14,
)
BUILTIN_FEATURES = (RSI_14, MACD_12_26_9, CCI_14)


def register_builtin_features() -> None:
    """Register (or restore) every built-in feature."""
    for spec in BUILTIN_FEATURES:
        register_feature(spec)
