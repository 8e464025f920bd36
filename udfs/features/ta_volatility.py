"""`ta.add_volatility_ta` columns (ta 0.11, default windows), as causal numba kernels."""

from __future__ import annotations

import pandas as pd

from udfs.features.common import Arrays, column, declare, defined
from udfs.kernels import volatility as kernels

HLC = ("high", "low", "close")
BOLLINGER = ("bbm", "bbh", "bbl", "bbw", "bbp", "bbhi", "bbli")
KELTNER = ("kcc", "kch", "kcl", "kcw", "kcp", "kchi", "kcli")
DONCHIAN = ("dcl", "dch", "dcm", "dcw", "dcp")


def _named(names: tuple[str, ...], values: tuple) -> Arrays:
    """`volatility_<name>` for each output of a kernel, in order."""
    return defined(
        **{f"volatility_{name}": array for name, array in zip(names, values, strict=True)}
    )


def _bollinger(bars: pd.DataFrame) -> Arrays:
    """Bollinger bands, 20 bars, 2 standard deviations."""
    return _named(BOLLINGER, kernels.bollinger(column(bars, "close"), 20, 2.0))


def _keltner(bars: pd.DataFrame) -> Arrays:
    """Keltner channel (ta's original version), 10 bars."""
    h, lo, c = (column(bars, name) for name in HLC)
    return _named(KELTNER, kernels.keltner(h, lo, c, 10))


def _donchian(bars: pd.DataFrame) -> Arrays:
    """Donchian channel, 20 bars."""
    h, lo, c = (column(bars, name) for name in HLC)
    return _named(DONCHIAN, kernels.donchian(h, lo, c, 20))


def _atr(bars: pd.DataFrame) -> Arrays:
    """ta's average true range, 10 bars."""
    h, lo, c = (column(bars, name) for name in HLC)
    return defined(volatility_atr=kernels.atr_ta(h, lo, c, 10))


def _ui(bars: pd.DataFrame) -> Arrays:
    """Ulcer index, 14 bars."""
    return defined(volatility_ui=kernels.ulcer_index(column(bars, "close"), 14))


TA_VOLATILITY_FEATURES = (
    declare("ta_bollinger", ("close",), {f"volatility_{n}": 19 for n in BOLLINGER}, _bollinger),
    declare("ta_keltner", HLC, {f"volatility_{n}": 9 for n in KELTNER}, _keltner),
    declare("ta_donchian", HLC, {f"volatility_{n}": 19 for n in DONCHIAN}, _donchian),
    declare("volatility_atr", HLC, {"volatility_atr": 9}, _atr),
    declare("volatility_ui", ("close",), {"volatility_ui": 13}, _ui),
)
