"""Partitions computed on every core, results back in submission order, bounded in flight.

`FeatureComputer.map` takes an iterator of partitions and yields their features in the same
order, keeping at most `in_flight` partitions submitted but not yet handed back: the reader
pulls the next partition only when one came back, so peak memory stays at a few partitions
whatever the number of symbols.

Worker processes are forked where the platform can (Linux, macOS' `fork`): they inherit the
plan -- including features registered at run time, lambdas too -- with no pickling, and any
numba code the driver compiled while warming up. Elsewhere they are spawned and receive the
plan pickled, so its feature functions must be importable module-level functions.

A worker hands its results back through a pipe, 8 bytes per value, copied four times
(pickle, pipe in, pipe out, unpickle): about `TRANSFER_NS_PER_VALUE`, plus a round trip per
partition. Numba-fast features cost about as much to compute, and then a pool is slower
than computing in the driver. So with `workers=None` the computer measures first: it
computes partitions in the driver until `SAMPLE_ROWS` bars have gone through (the first
partition, which compiles and warms up, untimed), and starts
the pool only if the compute time the workers would take off the driver for the rest of
the run exceeds what starting them and moving the results back would cost. An explicit
`workers=N` always uses N.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, NoReturn

import numpy as np

from udfs.runners.partition import FeaturePlan, compute_arrays

# Measured on a 2-core machine: pickling, piping and unpickling float64 results ~3 ns/byte,
# plus a round trip per partition handed to a worker.
TRANSFER_NS_PER_VALUE = 25.0
TRANSFER_NS_PER_PARTITION = 200_000.0
# Starting (forking) one worker, and a worker's speed relative to the driver's: forked
# workers pay copy-on-write faults and share the cores; measured 0.6-0.9 on 2 shared cores.
START_SECONDS_PER_WORKER = 0.05
WORKER_EFFICIENCY = 0.7
# Bars computed in the driver before `workers=None` decides whether a pool pays off.
SAMPLE_ROWS = 20_000
# The plan in a worker process, set once by `_init_worker` (process-local, never in the driver).
_WORKER_PLAN: FeaturePlan | None = None
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Partition:
    """One partition to compute: a label for errors, the caller's payload, the bars."""

    label: str
    payload: Any
    ts: np.ndarray
    inputs: Mapping[str, np.ndarray]


def default_workers() -> int:
    """Worker processes when none are configured: one per CPU."""
    return os.cpu_count() or 1


def _init_worker(plan: FeaturePlan) -> None:
    """Keep the plan for every task this worker process runs."""
    global _WORKER_PLAN
    _WORKER_PLAN = plan


def _worker_compute(ts: np.ndarray, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Compute one partition with the worker's plan."""
    assert _WORKER_PLAN is not None, "worker started without a plan"
    return compute_arrays(_WORKER_PLAN, ts, inputs)


def _ready() -> int:
    """A no-op task: returns once the worker process runs."""
    return os.getpid()


def _context() -> multiprocessing.context.BaseContext:
    """`fork` where available (inherits the live plan), `spawn` otherwise."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def _raise_labelled(error: Exception, label: str) -> NoReturn:
    """Re-raise a data error naming its partition; other errors get the label as a note."""
    if isinstance(error, ValueError):
        raise ValueError(f"{label}: {error}") from error
    error.add_note(f"while computing {label}")
    raise error


class FeatureComputer:
    """Computes partitions' features in this process or in a pool of worker processes."""

    def __init__(
        self,
        plan: FeaturePlan,
        workers: int | None = None,
        in_flight: int | None = None,
        partitions: int | None = None,
        rows: int | None = None,
    ) -> None:
        """Compute `plan` with `workers` processes, at most `in_flight` partitions ahead.

        `workers=None`: up to one process per CPU, if measuring shows it pays off; 1: in this
        process. Never more workers than `partitions`, when the caller knows their number;
        `rows`, the bars to compute in all, when known, sharpens the decision.
        """
        if workers is not None and int(workers) < 1:
            raise ValueError(f"workers must be at least 1, got {workers!r}")
        self.plan = plan
        self.measure = workers is None
        self.workers = default_workers() if workers is None else int(workers)
        if partitions is not None:
            self.workers = max(1, min(self.workers, partitions))
        self.in_flight = in_flight or 2 * self.workers
        self.rows = rows
        self._done = 0  # bars computed in this process while measuring
        self.pooled = False  # whether worker processes computed any partition
        self._decided = not self.measure
        self._executor: ProcessPoolExecutor | None = None
        self._entered = False

    def warm_up(self, partition: Partition) -> None:
        """Compute one (small) partition in this process before any worker starts.

        Numba-compiled features then compile once, here, and forked workers inherit the
        machine code instead of each compiling it again.
        """
        self._compute(partition)

    def __enter__(self) -> FeatureComputer:
        """Start the worker processes now when their number is fixed (later when measured)."""
        self._entered = True
        if self.workers > 1 and not self.measure:
            self._start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stop the workers, dropping queued work if an error is on its way out."""
        self._entered = False
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def _start(self) -> None:
        """Start every worker process and wait until each runs."""
        self._executor = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=_context(),
            initializer=_init_worker,
            initargs=(self.plan,),
        )
        for future in [self._executor.submit(_ready) for _ in range(self.workers)]:
            future.result()
        self.pooled = True

    def _pool_pays(self, seconds: float, rows: int, partitions: int) -> bool:
        """Whether workers would take more compute off the driver than they cost.

        `seconds` computed `rows` bars in `partitions` partitions here. The rest of the run
        (`self.rows` minus what was computed, or as much again when unknown) would take
        `1 / (workers x WORKER_EFFICIENCY)` of that time in the pool, plus moving the results
        back and starting the workers.
        """
        remaining = rows if self.rows is None else max(self.rows - self._done, 0)
        per_row = seconds / max(rows, 1)
        saved = per_row * remaining * (1 - 1 / (self.workers * WORKER_EFFICIENCY))
        transfer_ns = len(self.plan.columns) * TRANSFER_NS_PER_VALUE
        transfer_ns += partitions / max(rows, 1) * TRANSFER_NS_PER_PARTITION
        cost = remaining * transfer_ns / 1e9 + self.workers * START_SECONDS_PER_WORKER
        pays = saved > cost
        _log.info(
            "feature pool decision",
            extra={
                "sampled_rows": rows,
                "remaining_rows": remaining,
                "saved_ms": round(saved * 1e3, 1),
                "cost_ms": round(cost * 1e3, 1),
                "workers": self.workers if pays else 1,
            },
        )
        return pays

    def map(self, partitions: Iterable[Partition]) -> Iterator[tuple[Partition, dict]]:
        """(partition, {column: float64 values}) for each partition, in the order given."""
        partitions = iter(partitions)
        if self._executor is None and self.workers > 1 and not self._decided and self._entered:
            rows, seconds, count = 0, 0.0, -1  # the first partition warms up, untimed
            for partition in partitions:
                began = time.perf_counter()
                features = self._compute(partition)
                if count >= 0:
                    seconds += time.perf_counter() - began
                    rows += len(partition.ts)
                count += 1
                self._done += len(partition.ts)
                yield partition, features
                if rows >= SAMPLE_ROWS:
                    self._decided = True
                    if self._pool_pays(seconds, rows, count):
                        self._start()
                    break
        if self._executor is None:
            for partition in partitions:
                yield partition, self._compute(partition)
            return
        pending: deque[tuple[Partition, Future]] = deque()
        for partition in partitions:
            future = self._executor.submit(_worker_compute, partition.ts, partition.inputs)
            pending.append((partition, future))
            if len(pending) >= self.in_flight:
                yield self._result(*pending.popleft())
        while pending:
            yield self._result(*pending.popleft())

    def _compute(self, partition: Partition) -> dict[str, np.ndarray]:
        """One partition's features computed in this process."""
        try:
            return compute_arrays(self.plan, partition.ts, partition.inputs)
        except Exception as error:
            _raise_labelled(error, partition.label)

    @staticmethod
    def _result(partition: Partition, future: Future) -> tuple[Partition, dict]:
        """The finished partition's features, or its error naming the partition."""
        try:
            return partition, future.result()
        except Exception as error:
            _raise_labelled(error, partition.label)
