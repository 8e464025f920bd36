"""`ta.add_volume_ta` columns (ta 0.11, default windows), as causal numba kernels."""

from __future__ import annotations

import pandas as pd

from udfs.features.common import Arrays, column, declare, defined
from udfs.kernels import volume as kernels

HLCV = ("high", "low", "close", "volume")


def _adi(bars: pd.DataFrame) -> Arrays:
    """Accumulation/distribution index."""
    h, lo, c, v = (column(bars, name) for name in HLCV)
    return defined(volume_adi=kernels.adi(h, lo, c, v))


def _obv(bars: pd.DataFrame) -> Arrays:
    """On-balance volume."""
    return defined(volume_obv=kernels.obv(column(bars, "close"), column(bars, "volume")))


def _cmf(bars: pd.DataFrame) -> Arrays:
    """Chaikin money flow, 20 bars."""
    h, lo, c, v = (column(bars, name) for name in HLCV)
    return defined(volume_cmf=kernels.cmf(h, lo, c, v, 20))


def _fi(bars: pd.DataFrame) -> Arrays:
    """Force index, 13-bar EMA."""
    return defined(volume_fi=kernels.force_index(column(bars, "close"), column(bars, "volume"), 13))


def _em(bars: pd.DataFrame) -> Arrays:
    """Ease of movement and its 14-bar SMA."""
    h, lo, v = (column(bars, name) for name in ("high", "low", "volume"))
    em, sma_em = kernels.ease_of_movement(h, lo, v, 14)
    return defined(volume_em=em, volume_sma_em=sma_em)


def _vpt(bars: pd.DataFrame) -> Arrays:
    """Volume-price trend."""
    return defined(
        volume_vpt=kernels.volume_price_trend(column(bars, "close"), column(bars, "volume"))
    )


def _vwap(bars: pd.DataFrame) -> Arrays:
    """14-bar rolling VWAP of the typical price."""
    h, lo, c, v = (column(bars, name) for name in HLCV)
    return defined(volume_vwap=kernels.vwap(h, lo, c, v, 14))


def _mfi(bars: pd.DataFrame) -> Arrays:
    """Money flow index, 14 bars."""
    h, lo, c, v = (column(bars, name) for name in HLCV)
    return defined(volume_mfi=kernels.mfi(h, lo, c, v, 14))


def _nvi(bars: pd.DataFrame) -> Arrays:
    """Negative volume index (1000 on the first bar)."""
    return defined(volume_nvi=kernels.nvi(column(bars, "close"), column(bars, "volume")))


TA_VOLUME_FEATURES = (
    declare("volume_adi", HLCV, {"volume_adi": 0}, _adi),
    declare("volume_obv", ("close", "volume"), {"volume_obv": 0}, _obv),
    declare("volume_cmf", HLCV, {"volume_cmf": 19}, _cmf),
    declare("volume_fi", ("close", "volume"), {"volume_fi": 13}, _fi),
    declare(
        "ta_ease_of_movement",
        ("high", "low", "volume"),
        {"volume_em": 1, "volume_sma_em": 14},
        _em,
    ),
    declare("volume_vpt", ("close", "volume"), {"volume_vpt": 1}, _vpt),
    declare("volume_vwap", HLCV, {"volume_vwap": 13}, _vwap),
    declare("volume_mfi", HLCV, {"volume_mfi": 13}, _mfi),
    declare("volume_nvi", ("close", "volume"), {"volume_nvi": 0}, _nvi),
)
