"""Feature UDFs vs TA-Lib on one symbol's 1,000,000 one-minute bars."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
import talib

from bench.data import random_walk_bars
from bench.report import Table, rate
from bench.timing import measure
from udfs import compute_features, indicators

BARS = 1_000_000
SEED = 20240101
REPEATS = 7
FEATURE_REPEATS = 5


def _first(result: Any) -> np.ndarray:
    """The first output of an indicator returning one array or a tuple of arrays."""
    return result[0] if isinstance(result, tuple) else result


def _max_diff(ours: np.ndarray, theirs: np.ndarray) -> float:
    """Largest absolute difference where both are defined (a sanity check, not timed)."""
    both = ~np.isnan(ours) & ~np.isnan(theirs)
    return float(np.max(np.abs(ours[both] - theirs[both]))) if both.any() else float("nan")


def _ns_per_bar(seconds: float) -> str:
    """Seconds for all bars as nanoseconds per bar."""
    return f"{seconds / BARS * 1e9:.1f}"


def _indicator_table(repeats: int) -> Table:
    """ns/bar of our RSI, MACD and CCI next to TA-Lib's on the same arrays."""
    bars = random_walk_bars(BARS, SEED)
    h, lo, c = (bars[k].to_numpy() for k in ("high", "low", "close"))
    pairs: dict[str, tuple[Callable[[], Any], Callable[[], Any]]] = {
        "RSI(14)": (lambda: indicators.rsi(c, 14), lambda: talib.RSI(c, 14)),
        "MACD(12,26,9)": (
            lambda: indicators.macd(c, 12, 26, 9),
            lambda: talib.MACD(c, 12, 26, 9),
        ),
        "CCI(14)": (lambda: indicators.cci(h, lo, c, 14), lambda: talib.CCI(h, lo, c, 14)),
    }
    rows = []
    for name, (ours, theirs) in pairs.items():
        mine, ref = measure(ours, theirs, repeats=repeats)
        diff = _max_diff(_first(ours()), _first(theirs()))
        rows.append(
            (
                name,
                _ns_per_bar(mine.median),
                _ns_per_bar(mine.min),
                _ns_per_bar(ref.median),
                _ns_per_bar(ref.min),
                f"{mine.median / ref.median:.1f}x",
                f"{mine.min / ref.min:.1f}x",
                f"{diff:.1e}",
            )
        )
    return Table(
        title=f"features: udfs.indicators vs TA-Lib, {BARS:,} bars, {repeats} interleaved runs",
        headers=(
            "indicator",
            "ours ns/bar med",
            "min",
            "TA-Lib ns/bar med",
            "min",
            "ours/TA-Lib med",
            "min",
            "max |diff|",
        ),
        rows=rows,
        notes=[
            "ours/TA-Lib is a time ratio: above 1x means ours is slower.",
            "max |diff|: first output vs TA-Lib where both are defined (parity sanity check).",
        ],
    )


def _compute_features_table(repeats: int) -> Table:
    """Rows/s of compute_features for every registered feature, and its traced peak memory."""
    bars = random_walk_bars(BARS, SEED)
    (timing,) = measure(lambda: compute_features(bars), repeats=repeats)
    tracemalloc.start()
    try:
        out = compute_features(bars)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    input_bytes = bars.memory_usage(deep=True).sum()
    mib = 1024 * 1024
    return Table(
        title=f"features: udfs.compute_features(bars), all features, {repeats} runs",
        headers=("outputs", "rows/s med", "min s", "median s", "peak traced MiB", "x input"),
        rows=[
            (
                ",".join(out.columns),
                rate(BARS, timing.median),
                f"{timing.min:.3f}",
                f"{timing.median:.3f}",
                f"{peak / mib:.0f}",
                f"{peak / input_bytes:.1f}",
            )
        ],
        notes=[
            "peak traced MiB: tracemalloc peak of one extra, untimed call (Python objects and",
            "numpy buffers allocated during the call, result included; input bars not counted).",
            f"x input: that peak over the input frame's size ({input_bytes / mib:.0f} MiB).",
        ],
    )


def run(repeats: int | None = None) -> list[Table]:
    """Both feature benchmarks; `repeats` overrides the default number of runs."""
    return [
        _indicator_table(repeats or REPEATS),
        _compute_features_table(repeats or FEATURE_REPEATS),
    ]
