"""Source rows shaped like intermediate.int_bars_resampled, for the engine runner tests.

Real daily bars (AAPL and MSFT from bokeh's sample stocks) plus seeded random-walk minute
bars for two pairs at 1m and 5m, one partition shorter than MACD's warm-up, and one missing
close inside a minute series -- so warm-up NULLs, NaN propagation and partition boundaries
all show up. Timestamps are naive UTC, as the warehouse stores them. The bar makers behind
them (`stock_bars`, `random_walk_bars`, on a UTC index) also serve the udfs fixtures.
"""

from __future__ import annotations

from pathlib import Path

import bokeh_sampledata
import numpy as np
import pandas as pd

STOCKS_CSV = Path(bokeh_sampledata.__file__).parent / "_data" / "stocks.csv.gz"
COLUMNS = ["symbol", "timeframe", "ts", "open", "high", "low", "close", "volume", "available_at"]
KEY_COLUMNS = ["symbol", "timeframe", "ts", "available_at"]
# The original built-ins, whose warm-ups the tests know; runners compute every registered one.
FEATURE_COLUMNS = ["rsi_14", "macd", "macdsignal", "macdhist", "cci"]
OUTPUT_COLUMNS = [*KEY_COLUMNS, *FEATURE_COLUMNS]


def stock_bars(ticker: str) -> pd.DataFrame:
    """One ticker's daily OHLCV from bokeh's sample stocks, on an ascending UTC index."""
    frame = pd.read_csv(STOCKS_CSV)
    frame = frame[frame["Ticker"] == ticker]
    index = pd.DatetimeIndex(pd.to_datetime(frame["Date"]), name="ts").tz_localize("UTC")
    bars = pd.DataFrame(
        {
            "open": frame["Open"].to_numpy(float),
            "high": frame["High"].to_numpy(float),
            "low": frame["Low"].to_numpy(float),
            "close": frame["Close"].to_numpy(float),
            "volume": frame["Volume"].to_numpy(float),
        },
        index=index,
    )
    return bars.sort_index()


def random_walk_bars(
    n: int, seed: int = 42, start: str = "2024-01-02 14:30", minutes: int = 1
) -> pd.DataFrame:
    """Seeded geometric random-walk bars of `minutes` length on a UTC index (high >= open,
    close >= low); the step's spread grows with the square root of the bar length."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 1e-3 * np.sqrt(minutes), n)))
    open_ = np.r_[close[0], close[:-1]]
    spread = np.abs(rng.normal(0.0, 5e-4, (2, n))) * close
    length = pd.Timedelta(minutes=minutes)
    index = pd.date_range(start, periods=n, freq=length, tz="UTC", name="ts")
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) + spread[0],
            "low": np.minimum(open_, close) - spread[1],
            "close": close,
            "volume": rng.integers(1, 10_000, n).astype(float),
        },
        index=index,
    )


def source_rows(
    bars: pd.DataFrame, symbol: str, timeframe: str, known_after: pd.Timedelta
) -> pd.DataFrame:
    """Bars on a ts index as source rows in COLUMNS order, ts naive UTC, each row known
    `known_after` after its ts."""
    rows = bars.tz_localize(None).reset_index()
    rows.insert(0, "timeframe", timeframe)
    rows.insert(0, "symbol", symbol)
    rows["available_at"] = rows["ts"] + known_after
    return rows


def daily_stock_rows(ticker: str, start: str | None = None) -> pd.DataFrame:
    """One ticker's daily bars from bokeh's sample stocks (from `start` when given)."""
    bars = stock_bars(ticker)
    if start is not None:
        bars = bars[bars.index >= pd.Timestamp(start, tz="UTC")]
    # Daily bars become known at the next day's open in this fixture: ts + 1 day + 30 min.
    return source_rows(bars, ticker, "1d", pd.Timedelta(days=1, minutes=30))


def minute_rows(symbol: str, n: int, seed: int, minutes: int = 1) -> pd.DataFrame:
    """Seeded random-walk bars of `minutes` length, known 2 s after they close."""
    bars = random_walk_bars(n, seed, start="2024-03-04 00:00", minutes=minutes)
    known_after = pd.Timedelta(minutes=minutes) + pd.Timedelta(seconds=2)
    return source_rows(bars, symbol, f"{minutes}m", known_after)


def split_partitions(rows: pd.DataFrame, share: float = 0.8) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(old, new): the first `share` of every (symbol, timeframe)'s rows, in the order given,
    and the rest."""
    position = rows.groupby(["symbol", "timeframe"]).cumcount()
    size = rows.groupby(["symbol", "timeframe"])["ts"].transform("size")
    old = position < (size * share).astype(int)
    return rows[old], rows[~old]


def engine_rows() -> pd.DataFrame:
    """Every partition of the engine tests in one frame, rows shuffled, COLUMNS order."""
    eth = minute_rows("ETHUSD", 1500, seed=2)
    eth.loc[700, "close"] = np.nan  # a missing close: later RSI/MACD NaN, CCI windows NaN
    frames = [
        daily_stock_rows("AAPL", start="2008-01-01"),
        daily_stock_rows("MSFT", start="2008-01-01"),
        minute_rows("BTCUSD", 3000, seed=1),
        minute_rows("BTCUSD", 600, seed=3, minutes=5),
        eth,
        minute_rows("ETHUSD", 300, seed=4, minutes=5),
        minute_rows("SOLUSD", 25, seed=5),  # shorter than MACD's 33-bar warm-up
    ]
    rows = pd.concat(frames, ignore_index=True)[COLUMNS]
    return rows.sample(frac=1.0, random_state=11).reset_index(drop=True)
