"""Short-named features that follow TA-Lib (and the names bot strategies use for them)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from udfs import indicators
from udfs.features.common import Arrays, column, declare, defined
from udfs.kernels.smoothing import ema_talib

HLC = ("high", "low", "close")


def _rsi_14(bars: pd.DataFrame) -> Arrays:
    """TA-Lib RSI over 14 bars of close."""
    return {"rsi_14": indicators.rsi(column(bars, "close"), 14)}


def _macd_12_26_9(bars: pd.DataFrame) -> Arrays:
    """TA-Lib MACD line, signal and histogram of close."""
    line, signal, hist = indicators.macd(column(bars, "close"), 12, 26, 9)
    return {"macd": line, "macdsignal": signal, "macdhist": hist}


def _cci_14(bars: pd.DataFrame) -> Arrays:
    """TA-Lib Commodity Channel Index over 14 bars of the typical price."""
    h, lo, c = (column(bars, name) for name in HLC)
    return {"cci": indicators.cci(h, lo, c, 14)}


def _rsi_5_emarsi(bars: pd.DataFrame) -> Arrays:
    """TA-Lib RSI(5) and EMA(5) of it (the EMA starts on RSI's first value)."""
    rsi_5 = indicators.rsi(column(bars, "close"), 5)
    return {"rsi_5": rsi_5, "emarsi_5": ema_talib(rsi_5, 5)}


def _ema100(bars: pd.DataFrame) -> Arrays:
    """TA-Lib EMA(100) of close."""
    return {"ema100": indicators.ema(column(bars, "close"), 100)}


def _adx(bars: pd.DataFrame) -> Arrays:
    """TA-Lib ADX(14)."""
    h, lo, c = (column(bars, name) for name in HLC)
    return {"adx": indicators.adx(h, lo, c, 14)}


def _sma_50(bars: pd.DataFrame) -> Arrays:
    """50-bar SMA of close."""
    return {"sma_50": indicators.sma(column(bars, "close"), 50)}


def _sma_200(bars: pd.DataFrame) -> Arrays:
    """200-bar SMA of close."""
    return {"sma_200": indicators.sma(column(bars, "close"), 200)}


def _bbands(bars: pd.DataFrame) -> Arrays:
    """Bollinger bands (20, 2) of close, and close minus each band."""
    close = column(bars, "close")
    upper, middle, lower = indicators.bbands(close, 20, 2.0)
    return defined(
        bb_lowerband=lower,
        bb_middleband=middle,
        bb_upperband=upper,
        bb_lowerband_diff=close - lower,
        bb_middleband_diff=close - middle,
        bb_upperband_diff=close - upper,
    )


def _log_return(bars: pd.DataFrame) -> Arrays:
    """ln(close / previous close)."""
    close = column(bars, "close")
    out = np.full(len(close), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        out[1:] = np.log(close[1:] / close[:-1])
    return defined(log_return=out)


RSI_14 = declare("rsi_14", ("close",), {"rsi_14": 14}, _rsi_14)
MACD_12_26_9 = declare(
    "macd_12_26_9", ("close",), {"macd": 33, "macdsignal": 33, "macdhist": 33}, _macd_12_26_9
)
CCI_14 = declare("cci_14", HLC, {"cci": 13}, _cci_14)
BBANDS = ("bb_lowerband", "bb_middleband", "bb_upperband")
TALIB_FEATURES = (
    declare("rsi_5_emarsi", ("close",), {"rsi_5": 5, "emarsi_5": 9}, _rsi_5_emarsi),
    declare("ema100", ("close",), {"ema100": 99}, _ema100),
    declare("adx_14", HLC, {"adx": 27}, _adx),
    declare("sma_50", ("close",), {"sma_50": 49}, _sma_50),
    declare("sma_200", ("close",), {"sma_200": 199}, _sma_200),
    declare(
        "bbands_20_2",
        ("close",),
        {**{band: 19 for band in BBANDS}, **{f"{band}_diff": 19 for band in BBANDS}},
        _bbands,
    ),
    declare("log_return", ("close",), {"log_return": 1}, _log_return),
)
