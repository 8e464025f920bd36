"""The partition pool: same results on every core, in order, a bounded number in flight."""

from __future__ import annotations

import os
from concurrent.futures.process import BrokenProcessPool

import numpy as np
import pytest

from udfs import FeatureSpec, register_feature
from udfs.runners import pool
from udfs.runners.partition import FeaturePlan, compute_arrays
from udfs.runners.pool import FeatureComputer, Partition


def make_partitions(random_walk_bars, sizes: list[int]) -> list[Partition]:
    """Random-walk partitions of the given sizes, labelled p0, p1, ..."""
    parts = []
    for number, size in enumerate(sizes):
        bars = random_walk_bars(size, seed=number)
        inputs = {column: bars[column].to_numpy() for column in bars.columns}
        ts = bars.index.tz_localize(None).to_numpy()
        parts.append(Partition(label=f"p{number}", payload=number, ts=ts, inputs=inputs))
    return parts


def register_pid_feature() -> None:
    """A feature whose value is the id of the process that computed it."""
    register_feature(
        FeatureSpec(
            name="pid",
            inputs=("close",),
            outputs={"pid": "double"},
            warmup=0,
            causal=True,
            func=lambda bars: {"pid": np.full(len(bars), float(os.getpid()))},
        )
    )


def test_two_workers_give_the_inline_results_in_input_order(random_walk_bars):
    plan = FeaturePlan.resolve(None)
    # Big partitions first: later, smaller ones finish earlier but must come back later.
    parts = make_partitions(random_walk_bars, [4000, 3000, 50, 20, 2500, 10, 700])
    with FeatureComputer(plan, workers=2) as computer:
        pooled = list(computer.map(parts))
    assert [partition.payload for partition, _ in pooled] == list(range(len(parts)))
    for partition, features in pooled:
        inline = compute_arrays(plan, partition.ts, partition.inputs)
        for column in plan.columns:
            np.testing.assert_array_equal(features[column], inline[column])


def test_at_most_in_flight_partitions_are_pulled_ahead(random_walk_bars):
    parts = make_partitions(random_walk_bars, [200] * 12)
    pulled = []

    def source():
        for part in parts:
            pulled.append(part.payload)
            yield part

    with FeatureComputer(FeaturePlan.resolve(["rsi_14"]), workers=2, in_flight=3) as computer:
        for handed_back, (partition, _) in enumerate(computer.map(source()), start=1):
            assert partition.payload == handed_back - 1
            assert len(pulled) - handed_back <= 3 - 1
    assert len(pulled) == 12


def test_workers_compute_features_registered_at_run_time(random_walk_bars, restore_registry):
    register_pid_feature()
    plan = FeaturePlan.resolve(["pid"])
    parts = make_partitions(random_walk_bars, [30] * 6)
    with FeatureComputer(plan, workers=2) as computer:
        pids = {int(features["pid"][0]) for _, features in computer.map(parts)}
    assert pids and os.getpid() not in pids
    with FeatureComputer(plan, workers=1) as computer:
        assert {int(f["pid"][0]) for _, f in computer.map(parts)} == {os.getpid()}


def test_warm_up_runs_in_the_driver(random_walk_bars, counted_feature):
    calls = counted_feature
    computer = FeatureComputer(FeaturePlan.resolve(["counted"]), workers=2)
    computer.warm_up(make_partitions(random_walk_bars, [40])[0])
    with computer:
        assert len(list(computer.map(make_partitions(random_walk_bars, [30] * 4)))) == 4
    assert calls == [40]  # the four partitions ran in the workers, not here


def test_a_data_error_in_a_worker_names_the_partition(random_walk_bars):
    parts = make_partitions(random_walk_bars, [50, 50])
    broken = parts[1].ts.copy()
    broken[10] = broken[9]
    parts[1] = Partition("symbol='X' timeframe='1m'", None, broken, parts[1].inputs)
    expected = r"^symbol='X' timeframe='1m': .*strictly ascending"
    computer = FeatureComputer(FeaturePlan.resolve(None), workers=2)
    with computer, pytest.raises(ValueError, match=expected):
        list(computer.map(parts))


def test_a_dying_worker_is_reported_with_the_partition(random_walk_bars, restore_registry):
    register_feature(
        FeatureSpec(
            name="crash",
            inputs=("close",),
            outputs={"crash": "double"},
            warmup=0,
            causal=True,
            func=lambda bars: os._exit(3) if len(bars) == 13 else {"crash": bars["close"]},
        )
    )
    parts = make_partitions(random_walk_bars, [20, 13, 20])
    computer = FeatureComputer(FeaturePlan.resolve(["crash"]), workers=2)
    with computer, pytest.raises(BrokenProcessPool) as error:
        list(computer.map(parts))
    assert "while computing p1" in error.value.__notes__


def test_workers_must_be_positive():
    with pytest.raises(ValueError, match="workers must be at least 1, got 0"):
        FeatureComputer(FeaturePlan.resolve(None), workers=0)


class SteppingClock:
    """A `time` stand-in whose perf_counter advances `step` seconds per call (one call
    before and one after each measured partition), so measured compute is deterministic."""

    def __init__(self, step: float) -> None:
        """Each partition measures as `step` seconds."""
        self.now, self.step = 0.0, step

    def perf_counter(self) -> float:
        """The next tick."""
        self.now += self.step
        return self.now


def test_unset_workers_stay_in_the_driver_when_features_are_cheap(
    random_walk_bars, restore_registry, monkeypatch
):
    register_pid_feature()
    monkeypatch.setattr(pool, "SAMPLE_ROWS", 100)
    monkeypatch.setattr(pool, "time", SteppingClock(step=20e-6))  # 20 us per 60-bar partition
    parts = make_partitions(random_walk_bars, [60] * 8)
    with FeatureComputer(FeaturePlan.resolve(["pid"]), workers=None, partitions=8) as computer:
        pids = [int(f["pid"][0]) for _, f in computer.map(parts)]
    assert computer.workers == min(os.cpu_count() or 1, 8) and not computer.pooled
    assert set(pids) == {os.getpid()}


def test_unset_workers_start_the_pool_once_features_prove_slow(
    random_walk_bars, restore_registry, monkeypatch
):
    monkeypatch.setattr(pool, "default_workers", lambda: 2)
    register_pid_feature()
    monkeypatch.setattr(pool, "SAMPLE_ROWS", 100)
    monkeypatch.setattr(pool, "time", SteppingClock(step=0.5))  # 0.5 s per partition
    parts = make_partitions(random_walk_bars, [60] * 8)
    computer = FeatureComputer(FeaturePlan.resolve(["pid"]), workers=None, rows=8 * 60)
    with computer:
        results = list(computer.map(parts))
    assert [partition.payload for partition, _ in results] == list(range(8))
    pids = [int(features["pid"][0]) for _, features in results]
    # Here: the first (untimed warm-up) and two timed partitions, 120 >= 100 bars; then the pool.
    assert computer.pooled and pids[:3] == [os.getpid()] * 3
    assert os.getpid() not in pids[3:]


def test_the_pool_decision_weighs_saved_compute_against_its_costs():
    computer = FeatureComputer(FeaturePlan.resolve(["rsi_14", "cci"]), workers=2, rows=110_000)
    # Sampled 10,000 bars in 4 partitions; 110,000 remain. Two workers at 0.7 save 2/7 of
    # the compute; moving 2 values x 110,000 bars back costs 5.5 ms, the partitions' round
    # trips 8.8 ms, starting two workers 100 ms: 114.3 ms in all.
    assert not computer._pool_pays(seconds=0.036, rows=10_000, partitions=4)  # saves 113 ms
    assert computer._pool_pays(seconds=0.037, rows=10_000, partitions=4)  # saves 116 ms
