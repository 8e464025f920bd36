"""Source rows shaped like intermediate.int_bars_resampled, for the engine runner tests.

Real daily bars (AAPL and MSFT from bokeh's sample stocks) plus seeded random-walk minute
bars for two pairs at 1m and 5m, one partition shorter than MACD's warm-up, and one missing
close inside a minute series -- so warm-up NULLs, NaN propagation and partition boundaries
all show up. Timestamps are naive UTC, as the warehouse stores them.
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


def daily_stock_rows(ticker: str, start: str | None = None) -> pd.DataFrame:
    """One ticker's daily bars from bokeh's sample stocks (from `start` when given)."""
    frame = pd.read_csv(STOCKS_CSV)
    frame = frame[frame["Ticker"] == ticker]
    ts = pd.to_datetime(frame["Date"]).to_numpy()
    rows = pd.DataFrame(
        {
            "symbol": ticker,
            "timeframe": "1d",
            "ts": ts,
            "open": frame["Open"].to_numpy(float),
            "high": frame["High"].to_numpy(float),
            "low": frame["Low"].to_numpy(float),
            "close": frame["Close"].to_numpy(float),
            "volume": frame["Volume"].to_numpy(float),
        }
    ).sort_values("ts")
    if start is not None:
        rows = rows[rows["ts"] >= pd.Timestamp(start)]
    # Daily bars become known at the next day's open in this fixture: ts + 1 day + 30 min.
    rows["available_at"] = rows["ts"] + pd.Timedelta(days=1, minutes=30)
    return rows.reset_index(drop=True)


def minute_rows(symbol: str, n: int, seed: int, minutes: int = 1) -> pd.DataFrame:
    """Seeded random-walk bars of `minutes` length, known 2 s after they close."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 1e-3 * np.sqrt(minutes), n)))
    open_ = np.r_[close[0], close[:-1]]
    spread = np.abs(rng.normal(0.0, 5e-4, (2, n))) * close
    length = pd.Timedelta(minutes=minutes)
    ts = pd.date_range("2024-03-04 00:00", periods=n, freq=length)
    return pd.DataFrame(
        {
            "symbol": symbol,
            "timeframe": f"{minutes}m",
            "ts": ts.to_numpy(),
            "open": open_,
            "high": np.maximum(open_, close) + spread[0],
            "low": np.minimum(open_, close) - spread[1],
            "close": close,
            "volume": rng.integers(1, 10_000, n).astype(float),
            "available_at": (ts + length + pd.Timedelta(seconds=2)).to_numpy(),
        }
    )


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
