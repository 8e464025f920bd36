"""Short-named features follow TA-Lib; ta-named columns agree with TA-Lib where both agree.

Tolerance: rtol 1e-9 plus atol 1e-9 x the column's median |value|. TA-Lib's own
arithmetic (fused multiply-adds in its EMA, E[x^2] - E[x]^2 in its standard deviation)
differs from ours by far less (observed < 1e-11 relative). NaN positions must match.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import talib

from udfs import compute_features, get_feature
from udfs.features.talib_compat import TALIB_FEATURES

RTOL = 1e-9


def assert_close(ours: np.ndarray, theirs: np.ndarray, where: str, start: int = 0) -> None:
    """Same NaN positions from `start` on, values within tolerance."""
    ours, theirs = ours[start:], theirs[start:]
    mismatch = np.flatnonzero(np.isnan(ours) != np.isnan(theirs))
    assert mismatch.size == 0, f"{where}: NaN differs at rows {mismatch[:10] + start}"
    scale = float(np.nanmedian(np.abs(theirs))) if (~np.isnan(theirs)).any() else 1.0
    np.testing.assert_allclose(
        ours, theirs, rtol=RTOL, atol=RTOL * scale, equal_nan=True, err_msg=where
    )


def hlcv(bars: pd.DataFrame) -> tuple[np.ndarray, ...]:
    """high, low, close, volume arrays."""
    return tuple(bars[column].to_numpy() for column in ("high", "low", "close", "volume"))


def talib_reference(bars: pd.DataFrame) -> dict[str, np.ndarray]:
    """TA-Lib's value of every short-named output."""
    h, lo, c, _ = hlcv(bars)
    macd, signal, hist = talib.MACD(c, 12, 26, 9)
    upper, middle, lower = talib.BBANDS(c, 20, 2.0, 2.0, 0)
    rsi_5 = talib.RSI(c, 5)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_return = np.r_[np.nan, np.log(c[1:] / c[:-1])]
    return {
        "rsi_14": talib.RSI(c, 14),
        "macd": macd,
        "macdsignal": signal,
        "macdhist": hist,
        "cci": talib.CCI(h, lo, c, 14),
        "rsi_5": rsi_5,
        "emarsi_5": talib.EMA(rsi_5, 5),
        "ema100": talib.EMA(c, 100),
        "adx": talib.ADX(h, lo, c, 14),
        "sma_50": talib.SMA(c, 50),
        "sma_200": talib.SMA(c, 200),
        "bb_lowerband": lower,
        "bb_middleband": middle,
        "bb_upperband": upper,
        "bb_lowerband_diff": c - lower,
        "bb_middleband_diff": c - middle,
        "bb_upperband_diff": c - upper,
        "log_return": log_return,
    }


@pytest.fixture(params=["AAPL", "IBM", "minutes", "flat minutes"])
def bars(request, stock_bars, minute_bars, flat_minute_bars) -> pd.DataFrame:
    """Daily stocks, random-walk minutes, and minutes with flat stretches."""
    if request.param == "minutes":
        return minute_bars
    if request.param == "flat minutes":
        return flat_minute_bars
    return stock_bars(request.param)


def test_every_short_name_matches_talib(bars):
    references = talib_reference(bars)
    out = compute_features(bars, list(references))
    for column, theirs in references.items():
        assert_close(out[column].to_numpy(), theirs, column)


def test_short_names_start_where_talib_does(minute_bars):
    out = compute_features(minute_bars.iloc[:400], [c for s in TALIB_FEATURES for c in s.outputs])
    for spec in TALIB_FEATURES:
        for column in spec.outputs:
            values = out[column].to_numpy()
            warmup = spec.warmup_of(column)
            assert np.isnan(values[:warmup]).all() and not np.isnan(values[warmup:]).any(), column


def test_emarsi_is_the_talib_ema_of_rsi_5(minute_bars):
    out = compute_features(minute_bars, ["rsi_5", "emarsi_5"])
    expected = talib.EMA(out["rsi_5"].to_numpy(), 5)
    np.testing.assert_allclose(out["emarsi_5"], expected, rtol=RTOL, equal_nan=True)
    assert get_feature("rsi_5_emarsi").warmup_of("emarsi_5") == 9


def test_bollinger_band_diffs_are_close_minus_band(minute_bars):
    out = compute_features(minute_bars, "bbands_20_2")
    close = minute_bars["close"]
    for band in ("bb_lowerband", "bb_middleband", "bb_upperband"):
        np.testing.assert_array_equal(out[f"{band}_diff"], close - out[band])


# ta-named columns whose definition is TA-Lib's too (the rest differ: docs/features.md).
SAME_AS_TALIB = {
    "trend_sma_fast": lambda h, lo, c, v: talib.SMA(c, 12),
    "trend_sma_slow": lambda h, lo, c, v: talib.SMA(c, 26),
    "volatility_bbm": lambda h, lo, c, v: talib.SMA(c, 20),
    "volatility_bbh": lambda h, lo, c, v: talib.BBANDS(c, 20, 2.0, 2.0)[0],
    "volatility_bbl": lambda h, lo, c, v: talib.BBANDS(c, 20, 2.0, 2.0)[2],
    "volatility_dch": lambda h, lo, c, v: talib.MAX(h, 20),
    "volatility_dcl": lambda h, lo, c, v: talib.MIN(lo, 20),
    "trend_ichimoku_conv": lambda h, lo, c, v: talib.MIDPRICE(h, lo, 9),
    "trend_ichimoku_base": lambda h, lo, c, v: talib.MIDPRICE(h, lo, 26),
    "momentum_wr": lambda h, lo, c, v: talib.WILLR(h, lo, c, 14),
    "momentum_roc": lambda h, lo, c, v: talib.ROC(c, 12),
    "others_dr": lambda h, lo, c, v: talib.ROCP(c, 1) * 100,
    "volume_adi": lambda h, lo, c, v: talib.AD(h, lo, c, v),
    "momentum_uo": lambda h, lo, c, v: talib.ULTOSC(h, lo, c, 7, 14, 28),
    # TA-Lib starts these one bar later (its first MFI/KAMA/fast %K row is our second).
    "volume_mfi": lambda h, lo, c, v: talib.MFI(h, lo, c, v, 14),
    "momentum_kama": lambda h, lo, c, v: talib.KAMA(c, 10),
    "momentum_stoch": lambda h, lo, c, v: talib.STOCHF(h, lo, c, 14, 3)[0],
    "trend_cci": lambda h, lo, c, v: talib.CCI(h, lo, c, 20),
}


# Flat windows: ta divides 0 by 0 (NaN) where TA-Lib picks a value (0, or KAMA's ER = 1).
FLAT_DIFFERS = ("trend_cci", "momentum_stoch", "volume_mfi", "momentum_wr", "momentum_uo")


@pytest.mark.parametrize("column", sorted(SAME_AS_TALIB))
def test_ta_column_agrees_with_its_talib_twin(request, bars, column):
    if column == "momentum_kama" and "flat" in request.node.callspec.id:
        # KAMA's recursion carries the flat-window difference on (see docs/features.md).
        theirs = SAME_AS_TALIB[column](*hlcv(bars))
        ours = compute_features(bars, [column])[column].to_numpy()
        assert_close(ours[:500], theirs[:500], column, 10)
        return
    ours = compute_features(bars, [column])[column].to_numpy()
    theirs = SAME_AS_TALIB[column](*hlcv(bars))
    start = {"volume_mfi": 14, "momentum_kama": 10, "momentum_stoch": 15}.get(column, 0)
    if column in FLAT_DIFFERS:
        defined = ~np.isnan(ours)
        defined[:start] = True
        ours, theirs = ours[defined], theirs[defined]
        start = int(np.count_nonzero(defined[:start]))
    assert_close(ours, theirs, column, start)
