"""`ta.add_trend_ta` columns (ta 0.11, default windows), as causal numba kernels."""

from __future__ import annotations

import pandas as pd

from udfs.features.common import Arrays, column, declare, defined
from udfs.kernels import trend as kernels
from udfs.kernels.rolling import rolling_mean

HL = ("high", "low")
HLC = ("high", "low", "close")


def _macd_sma_ema(bars: pd.DataFrame) -> Arrays:
    """MACD (12, 26, 9) with its two EMAs, and the 12- and 26-bar SMAs of close."""
    close = column(bars, "close")
    line, signal, diff, ema_fast, ema_slow = kernels.macd_ta(close, 12, 26, 9)
    return defined(
        trend_macd=line,
        trend_macd_signal=signal,
        trend_macd_diff=diff,
        trend_sma_fast=rolling_mean(close, 12, 12),
        trend_sma_slow=rolling_mean(close, 26, 26),
        trend_ema_fast=ema_fast,
        trend_ema_slow=ema_slow,
    )


def _vortex(bars: pd.DataFrame) -> Arrays:
    """Vortex indicator, 14 bars."""
    h, lo, c = (column(bars, name) for name in HLC)
    positive, negative, diff = kernels.vortex(h, lo, c, 14)
    return defined(
        trend_vortex_ind_pos=positive, trend_vortex_ind_neg=negative, trend_vortex_ind_diff=diff
    )


def _trix(bars: pd.DataFrame) -> Arrays:
    """TRIX, 15 bars."""
    return defined(trend_trix=kernels.trix(column(bars, "close"), 15))


def _mass_index(bars: pd.DataFrame) -> Arrays:
    """Mass index, EMAs of 9 bars summed over 25."""
    return defined(
        trend_mass_index=kernels.mass_index(column(bars, "high"), column(bars, "low"), 9, 25)
    )


def _dpo(bars: pd.DataFrame) -> Arrays:
    """Detrended price oscillator, 20 bars."""
    return defined(trend_dpo=kernels.dpo(column(bars, "close"), 20))


def _kst(bars: pd.DataFrame) -> Arrays:
    """Know-sure-thing with a 9-bar signal."""
    line, signal, diff = kernels.kst(column(bars, "close"), 9)
    return defined(trend_kst=line, trend_kst_sig=signal, trend_kst_diff=diff)


def _ichimoku(bars: pd.DataFrame) -> Arrays:
    """Ichimoku (9, 26, 52) lines, and spans A and B as plotted 26 bars ahead."""
    conversion, base, span_a, span_b, visual_a, visual_b = kernels.ichimoku(
        column(bars, "high"), column(bars, "low"), 9, 26, 52
    )
    return defined(
        trend_ichimoku_conv=conversion,
        trend_ichimoku_base=base,
        trend_ichimoku_a=span_a,
        trend_ichimoku_b=span_b,
        trend_visual_ichimoku_a=visual_a,
        trend_visual_ichimoku_b=visual_b,
    )


def _stc(bars: pd.DataFrame) -> Arrays:
    """Schaff trend cycle (23, 50, cycle 10, smoothing 3 and 3)."""
    return defined(trend_stc=kernels.stc(column(bars, "close"), 23, 50, 10, 3, 3))


def _adx(bars: pd.DataFrame) -> Arrays:
    """ta's ADX, +DI and -DI, 14 bars."""
    h, lo, c = (column(bars, name) for name in HLC)
    adx, positive, negative = kernels.adx_ta(h, lo, c, 14)
    return defined(trend_adx=adx, trend_adx_pos=positive, trend_adx_neg=negative)


def _cci(bars: pd.DataFrame) -> Arrays:
    """ta's CCI, 20 bars."""
    h, lo, c = (column(bars, name) for name in HLC)
    return defined(trend_cci=kernels.cci_ta(h, lo, c, 20, 0.015))


def _aroon(bars: pd.DataFrame) -> Arrays:
    """Aroon up, down and their difference, 25 bars."""
    up, down, diff = kernels.aroon(column(bars, "high"), column(bars, "low"), 25)
    return defined(trend_aroon_up=up, trend_aroon_down=down, trend_aroon_ind=diff)


def _psar(bars: pd.DataFrame) -> Arrays:
    """Parabolic SAR (step 0.02, max 0.2) split by trend, and the flip flags."""
    h, lo, c = (column(bars, name) for name in HLC)
    up, down, up_flag, down_flag = kernels.psar(h, lo, c, 0.02, 0.2)
    return defined(
        trend_psar_up=up,
        trend_psar_down=down,
        trend_psar_up_indicator=up_flag,
        trend_psar_down_indicator=down_flag,
    )


TA_TREND_FEATURES = (
    declare(
        "ta_macd_sma_ema",
        ("close",),
        {
            "trend_macd": 25,
            "trend_macd_signal": 33,
            "trend_macd_diff": 33,
            "trend_sma_fast": 11,
            "trend_sma_slow": 25,
            "trend_ema_fast": 11,
            "trend_ema_slow": 25,
        },
        _macd_sma_ema,
    ),
    declare(
        "ta_vortex",
        HLC,
        {"trend_vortex_ind_pos": 14, "trend_vortex_ind_neg": 14, "trend_vortex_ind_diff": 14},
        _vortex,
    ),
    declare("trend_trix", ("close",), {"trend_trix": 43}, _trix),
    declare("trend_mass_index", HL, {"trend_mass_index": 40}, _mass_index),
    declare("trend_dpo", ("close",), {"trend_dpo": 19}, _dpo),
    declare(
        "ta_kst", ("close",), {"trend_kst": 44, "trend_kst_sig": 52, "trend_kst_diff": 52}, _kst
    ),
    declare(
        "ta_ichimoku",
        HL,
        {
            "trend_ichimoku_conv": 8,
            "trend_ichimoku_base": 25,
            "trend_ichimoku_a": 25,
            "trend_ichimoku_b": 51,
            "trend_visual_ichimoku_a": 51,
            "trend_visual_ichimoku_b": 77,
        },
        _ichimoku,
    ),
    declare("trend_stc", ("close",), {"trend_stc": 71}, _stc),
    declare("ta_adx", HLC, {"trend_adx": 27, "trend_adx_pos": 15, "trend_adx_neg": 15}, _adx),
    declare("trend_cci", HLC, {"trend_cci": 19}, _cci),
    declare(
        "ta_aroon",
        HL,
        {"trend_aroon_up": 25, "trend_aroon_down": 25, "trend_aroon_ind": 25},
        _aroon,
    ),
    declare(
        "ta_psar",
        HLC,
        {
            "trend_psar_up": 2,
            "trend_psar_down": 2,
            "trend_psar_up_indicator": 2,
            "trend_psar_down_indicator": 2,
        },
        _psar,
    ),
)
