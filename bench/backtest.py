"""Backtest kernel throughput on 1,000,000 bars: an absolute baseline, no peer installed."""

from __future__ import annotations

import pandas as pd

from bench.data import random_signals, random_walk_bars
from bench.report import Table, rate
from bench.timing import measure
from signals.backtest import backtest_signals

BARS = 1_000_000
SEED = 11
DENSITY = 0.01
REPEATS = 5
SETTINGS = {"stoploss": -0.05, "take_profit": 0.05, "fees": 0.001}


def run(repeats: int | None = None) -> list[Table]:
    """Bars per second of backtest_signals with seeded ~1% entry and exit signals."""
    repeats = repeats or REPEATS
    bars = random_walk_bars(BARS, SEED)
    entries = pd.Series(random_signals(BARS, DENSITY, SEED + 1), index=bars.index)
    exits = pd.Series(random_signals(BARS, DENSITY, SEED + 2), index=bars.index)
    (timing,) = measure(lambda: backtest_signals(bars, entries, exits, **SETTINGS), repeats=repeats)
    trades, stats = backtest_signals(bars, entries, exits, **SETTINGS)
    reasons = trades["reason"].value_counts()
    mix = ", ".join(f"{reason} {count}" for reason, count in reasons.items())
    settings = ", ".join(f"{key}={value}" for key, value in SETTINGS.items())
    return [
        Table(
            title=f"backtest: signals.backtest.backtest_signals, {BARS:,} bars, {repeats} runs",
            headers=("kernel", "bar-cells/s med", "max", "median s", "min s", "trades"),
            rows=[
                (
                    "backtest_signals",
                    rate(BARS, timing.median),
                    rate(BARS, timing.min),
                    f"{timing.median:.3f}",
                    f"{timing.min:.3f}",
                    f"{int(stats['trades']):,}",
                )
            ],
            notes=[
                f"{settings}; entries and exits ~{DENSITY:.0%} of bars each.",
                f"trade outcomes: {mix}.",
                "No peer: no other backtest library is installed (vectorbt is not), so this is an",
                "absolute baseline for the grid work, comparable only with figures from one run.",
            ],
        )
    ]
