"""RSI, MACD and CCI agree with TA-Lib after warm-up and are NaN during it."""

from __future__ import annotations

import numpy as np
import pytest
import talib

from udfs.indicators import adx, bbands, cci, ema, macd, rsi, sma

# Recursions (RSI, EMA, MACD) go through pandas' EWM, whose rounding differs from TA-Lib's
# by a few ulps (observed: |diff| < 1e-12 on prices of 10..700). rtol=1e-9 covers
# ordinary values; atol=1e-9 (price units) covers MACD lines and histograms crossing 0,
# where a relative tolerance means nothing. CCI keeps TA-Lib's summation order: exact.
RTOL = 1e-9
ATOL = 1e-9


def assert_matches_talib(ours: np.ndarray, theirs: np.ndarray, exact: bool = False) -> None:
    """Same NaN positions, and values within tolerance (or identical) elsewhere."""
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    if exact:
        np.testing.assert_array_equal(ours, theirs)
    else:
        np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL, equal_nan=True)


def assert_all_indicators_match(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> None:
    """RSI(14), MACD(12, 26, 9) and CCI(14) all agree with TA-Lib on these prices."""
    assert_matches_talib(rsi(close, 14), talib.RSI(close, timeperiod=14))
    for ours, theirs in zip(macd(close, 12, 26, 9), talib.MACD(close, 12, 26, 9), strict=True):
        assert_matches_talib(ours, theirs)
    assert_matches_talib(cci(high, low, close, 14), talib.CCI(high, low, close, 14), exact=True)


@pytest.mark.parametrize("ticker", ["AAPL", "IBM"])
def test_indicators_match_talib_on_daily_stocks(stock_bars, ticker):
    bars = stock_bars(ticker)
    assert len(bars) > 3000
    high, low, close = (bars[c].to_numpy() for c in ("high", "low", "close"))
    assert_all_indicators_match(high, low, close)


def test_indicators_match_talib_on_random_walk_minutes(minute_bars):
    high, low, close = (minute_bars[c].to_numpy() for c in ("high", "low", "close"))
    assert_all_indicators_match(high, low, close)


@pytest.mark.parametrize("period", [2, 5, 30])
def test_other_periods_match_talib(minute_bars, period):
    high, low, close = (minute_bars[c].to_numpy()[:2000] for c in ("high", "low", "close"))
    assert_matches_talib(rsi(close, period), talib.RSI(close, period))
    assert_matches_talib(cci(high, low, close, period), talib.CCI(high, low, close, period))
    assert_matches_talib(ema(close, period), talib.EMA(close, period))


def test_macd_swaps_fast_and_slow_like_talib(minute_bars):
    close = minute_bars["close"].to_numpy()[:1000]
    for ours, theirs in zip(macd(close, 26, 12, 9), talib.MACD(close, 26, 12, 9), strict=True):
        assert_matches_talib(ours, theirs)


def test_warmup_rows_are_nan_and_later_rows_are_not(minute_bars):
    high, low, close = (minute_bars[c].to_numpy()[:500] for c in ("high", "low", "close"))
    for values, warmup in [
        (rsi(close), 14),
        (cci(high, low, close), 13),
        *((line, 33) for line in macd(close)),
    ]:
        assert np.isnan(values[:warmup]).all()
        assert not np.isnan(values[warmup:]).any()


@pytest.mark.parametrize("n", [0, 1, 13, 14, 33])
def test_series_shorter_than_warmup_are_all_nan(minute_bars, n):
    high, low, close = (minute_bars[c].to_numpy()[:n] for c in ("high", "low", "close"))
    assert np.isnan(rsi(close)).all() == (n <= 14)
    assert np.isnan(cci(high, low, close)).all() == (n <= 13)
    assert all(np.isnan(line).all() for line in macd(close)) == (n <= 33)
    assert len(rsi(close)) == len(cci(high, low, close)) == len(macd(close)[0]) == n


def test_leading_nans_shift_the_start_like_talib(minute_bars):
    high, low, close = (minute_bars[c].to_numpy()[:400].copy() for c in ("high", "low", "close"))
    close[:5] = np.nan
    high[:9] = np.nan
    assert_all_indicators_match(high, low, close)
    assert np.isnan(rsi(close)[: 5 + 14]).all()
    assert not np.isnan(rsi(close)[5 + 14 :]).any()


def test_nan_inside_the_series(minute_bars):
    high, low, close = (minute_bars[c].to_numpy()[:400].copy() for c in ("high", "low", "close"))
    close[200] = np.nan
    # MACD: NaN from the gap on, as in TA-Lib. CCI: only the 14 windows holding it.
    for ours, theirs in zip(macd(close), talib.MACD(close), strict=True):
        assert_matches_talib(ours, theirs)
        assert np.isnan(ours[200:]).all()
    assert_matches_talib(cci(high, low, close), talib.CCI(high, low, close), exact=True)
    assert np.isnan(cci(high, low, close)[200:214]).all()
    # RSI: TA-Lib turns 0 ("oversold") after a NaN; ours stays NaN, and agrees before it.
    ours, theirs = rsi(close), talib.RSI(close)
    assert_matches_talib(ours[:200], theirs[:200])
    assert np.isnan(ours[200:]).all()
    assert (theirs[200:] == 0.0).all()


def test_flat_prices_give_talibs_zeros():
    prices = np.r_[np.full(40, 0.1), np.linspace(0.1, 0.2, 30), np.full(40, 0.3)]
    assert_matches_talib(rsi(prices), talib.RSI(prices))
    assert_matches_talib(cci(prices, prices, prices), talib.CCI(prices, prices, prices), exact=True)
    assert rsi(prices)[20] == 0.0
    assert cci(prices, prices, prices)[100] == 0.0
    for ours, theirs in zip(macd(prices), talib.MACD(prices), strict=True):
        assert_matches_talib(ours, theirs)


@pytest.mark.parametrize("scale", [1e-12, 1e6])
def test_tiny_and_huge_price_levels_match_talib(minute_bars, scale):
    high, low, close = (minute_bars[c].to_numpy()[:1000] * scale for c in ("high", "low", "close"))
    assert_matches_talib(rsi(close), talib.RSI(close))
    assert_matches_talib(cci(high, low, close), talib.CCI(high, low, close), exact=True)
    for ours, theirs in zip(macd(close), talib.MACD(close), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL * scale, equal_nan=True)


def test_inputs_are_not_modified(minute_bars):
    close = minute_bars["close"].to_numpy()[:200].copy()
    close[3] = np.nan
    before = close.copy()
    rsi(close)
    macd(close)
    cci(close, close, close)
    np.testing.assert_array_equal(close, before)


@pytest.mark.parametrize(
    "call",
    [
        lambda x: rsi(x, 1),
        lambda x: rsi(x, 2.5),
        lambda x: cci(x, x, x, 1),
        lambda x: macd(x, 1, 26, 9),
        lambda x: macd(x, 12, 26, 0),
        lambda x: ema(x, 0),
        lambda x: cci(x, x[:-1], x),
        lambda x: rsi(np.vstack([x, x])),
    ],
)
def test_invalid_arguments_raise(call):
    with pytest.raises(ValueError):
        call(np.linspace(1.0, 2.0, 50))


@pytest.mark.parametrize("ticker", ["AAPL", "IBM"])
def test_adx_sma_ema_bbands_match_talib_on_daily_stocks(stock_bars, ticker):
    bars = stock_bars(ticker)
    high, low, close = (bars[c].to_numpy() for c in ("high", "low", "close"))
    assert_matches_talib(adx(high, low, close, 14), talib.ADX(high, low, close, 14), exact=True)
    assert_matches_talib(sma(close, 50), talib.SMA(close, 50))
    assert_matches_talib(ema(close, 100), talib.EMA(close, 100))
    for ours, theirs in zip(bbands(close, 20, 2.0), talib.BBANDS(close, 20, 2.0, 2.0), strict=True):
        assert_matches_talib(ours, theirs)


@pytest.mark.parametrize("scale", [1e-9, 1.0, 1e6])
def test_adx_holds_through_a_long_flat_stretch_like_talib_at_any_price_scale(minute_bars, scale):
    # The bundled TA-Lib tests the smoothed true range against exactly 0, not a fixed band.
    high, low, close = (minute_bars[c].to_numpy()[:5000].copy() for c in ("high", "low", "close"))
    for series in (high, low, close):
        series[50:3050] = close[49]
    high, low, close = high * scale, low * scale, close * scale
    assert_matches_talib(adx(high, low, close), talib.ADX(high, low, close), exact=True)


def test_bbands_are_exact_where_talib_rounds(minute_bars):
    close = minute_bars["close"].to_numpy()[:3000] + 1e4  # a high level: E[x^2] - E[x]^2 loses
    upper, middle, _ = bbands(close, 20, 2.0)
    windows = np.lib.stride_tricks.sliding_window_view(close, 20)
    np.testing.assert_allclose(upper[19:] - middle[19:], 2 * windows.std(axis=1), rtol=1e-9)
