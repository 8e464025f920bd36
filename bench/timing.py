"""Repeated, interleaved wall-clock timing: median and min over runs, nothing asserted."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Timing:
    """Wall-clock seconds of each timed run of one callable."""

    runs: tuple[float, ...]

    @property
    def median(self) -> float:
        """Median seconds per run."""
        return statistics.median(self.runs)

    @property
    def min(self) -> float:
        """Fastest run, in seconds (the least disturbed by other load)."""
        return min(self.runs)


def _timed(func: Callable[[], Any]) -> float:
    """Seconds one call of `func` takes, with the garbage collector paused."""
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        func()
        return time.perf_counter() - start
    finally:
        gc.enable()


def measure(*funcs: Callable[[], Any], repeats: int, warmup: int = 1) -> list[Timing]:
    """Time each callable `repeats` times after `warmup` untimed rounds.

    Runs are interleaved round by round (a, b, a, b, ...), so a burst of load from
    other processes on the shared machine slows every peer, not just one of them.
    """
    for _ in range(warmup):
        for func in funcs:
            func()
    runs: list[list[float]] = [[] for _ in funcs]
    for _ in range(repeats):
        for func, times in zip(funcs, runs, strict=True):
            times.append(_timed(func))
    return [Timing(tuple(times)) for times in runs]
