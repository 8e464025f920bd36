"""Shared fixtures for the udfs tests: real daily stocks, seeded random-walk minute bars
(both made in support.bars), a registry restore, and two features registered at run time."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pandas as pd
import pytest
from support.bars import random_walk_bars as _random_walk_bars
from support.bars import stock_bars as _stock_bars

from udfs import FeatureSpec, feature_names, get_feature, register_feature, unregister_feature


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


@pytest.fixture
def counted_feature(restore_registry) -> list[int]:
    """Registers `counted` (the close, passed through); each call appends its bar count to
    the returned list."""
    calls: list[int] = []
    register_feature(
        FeatureSpec(
            name="counted",
            inputs=("close",),
            outputs={"counted": "double"},
            warmup=0,
            causal=True,
            func=lambda bars: calls.append(len(bars)) or {"counted": bars["close"]},
        )
    )
    return calls


@pytest.fixture
def range_pct_feature(restore_registry) -> None:
    """Registers `range_pct`, (high - low) / close, for the duration of the test."""
    register_feature(
        FeatureSpec(
            name="range_pct",
            inputs=("high", "low", "close"),
            outputs={"range_pct": "double"},
            warmup=0,
            causal=True,
            func=lambda bars: {"range_pct": (bars["high"] - bars["low"]) / bars["close"]},
        )
    )
