"""Shared bars for the udfs tests: real daily stocks and a seeded random-walk minute series."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import bokeh_sampledata
import numpy as np
import pandas as pd
import pytest

from udfs import feature_names, get_feature, register_feature, unregister_feature

STOCKS_CSV = Path(bokeh_sampledata.__file__).parent / "_data" / "stocks.csv.gz"


def _stock_bars(ticker: str) -> pd.DataFrame:
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


def _random_walk_bars(n: int, seed: int = 42, start: str = "2024-01-02 14:30") -> pd.DataFrame:
    """Seeded geometric random-walk minute bars (high >= open, close >= low)."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 1e-3, n)))
    open_ = np.r_[close[0], close[:-1]]
    spread = np.abs(rng.normal(0.0, 5e-4, (2, n))) * close
    index = pd.date_range(start, periods=n, freq="1min", tz="UTC", name="ts")
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


@pytest.fixture(scope="session")
def stock_bars() -> Callable[[str], pd.DataFrame]:
    """Loader of one ticker's daily bars (AAPL, IBM, MSFT, GOOG, FB)."""
    return _stock_bars


@pytest.fixture(scope="session")
def random_walk_bars() -> Callable[..., pd.DataFrame]:
    """Maker of seeded random-walk minute bars: `random_walk_bars(n, seed=42)`."""
    return _random_walk_bars


@pytest.fixture(scope="session")
def minute_bars() -> pd.DataFrame:
    """20,000 seeded random-walk minute bars."""
    return _random_walk_bars(20_000)


@pytest.fixture(scope="session")
def flat_minute_bars() -> pd.DataFrame:
    """5,000 random-walk minute bars with flat stretches (o = h = l = c, no volume) and
    scattered zero-volume bars: the degenerate windows of every indicator."""
    bars = _random_walk_bars(5_000, seed=11)
    for start, stop in [(500, 620), (2000, 2030), (3000, 3300)]:
        level = bars["close"].iloc[start - 1]
        bars.iloc[start:stop, :4] = level
        bars.iloc[start:stop, 4] = 0.0
    bars.iloc[4000:4100:3, 4] = 0.0
    return bars


@pytest.fixture
def restore_registry() -> Iterator[None]:
    """Put the feature registry back as it was (same specs, same order) after the test."""
    before = [get_feature(name) for name in feature_names()]
    yield
    for name in feature_names():
        unregister_feature(name)
    for spec in before:
        register_feature(spec)
