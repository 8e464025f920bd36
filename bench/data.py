"""Seeded synthetic one-minute OHLCV bars: a geometric random walk."""

from __future__ import annotations

import numpy as np
import pandas as pd

START = "2020-01-01"


def random_walk_bars(n: int, seed: int, start: str = START) -> pd.DataFrame:
    """`n` one-minute OHLCV bars (UTC DatetimeIndex) of a seeded geometric random walk."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 1e-3, n)))
    open_ = np.concatenate(([100.0], close[:-1]))
    wick = np.abs(rng.normal(0.0, 5e-4, (2, n)))
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) * (1.0 + wick[0]),
            "low": np.minimum(open_, close) * (1.0 - wick[1]),
            "close": close,
            "volume": rng.lognormal(8.0, 1.0, n),
        },
        index=pd.date_range(start, periods=n, freq="min", tz="UTC", name="ts"),
    )


def random_signals(n: int, density: float, seed: int) -> np.ndarray:
    """A seeded boolean array with about `density * n` True values."""
    return np.random.default_rng(seed).random(n) < density
