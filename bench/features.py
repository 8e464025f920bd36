"""The whole feature set vs `ta.add_all_ta_features`, kernels vs TA-Lib, memory, compile time.

All figures come from one run on the same seeded random-walk minute bars. Rates are
rows per wall-clock second (interleaved runs, median); `cpu` columns divide by the CPU
seconds the process itself used, which is what the code costs when the shared 2-core
machine is busy with other work (the load average is printed with the machine line).
Memory and compile time are measured in fresh child processes.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import talib

from bench.data import random_walk_bars
from bench.report import Table, rate
from bench.timing import measure
from udfs import compute_features, indicators, output_columns
from udfs.compute import run_feature
from udfs.features.fracdiff import FRACDIFF_D04
from udfs.features.patterns import LMW_PATTERNS
from udfs.features.ta_momentum import RSI_COM
from udfs.kernels import momentum, trend, volatility, volume

SEED = 20240101
SET_ROWS = 1_000_000  # one symbol's batch for the whole set, single process
PARTITIONS = 8  # symbol partitions of SET_ROWS // 4 rows for the 2-process figure
TA_FAST_ROWS = 20_000  # ta vectorized=True slice
TA_SLOW_ROWS = 2_000  # ta vectorized=False slice (~1,200 rows/s)
DEMO_ROWS = 400_000  # what the Dagster asset computes on the demo data
KERNEL_BARS = 1_000_000
REPEATS = 3
KERNEL_REPEATS = 5
# glibc settings that keep freed memory in the process instead of returning it to the OS.
KEEP_MEMORY = {"MALLOC_TRIM_THRESHOLD_": "17179869184", "MALLOC_TOP_PAD_": "1073741824"}


def _spawn(env: dict[str, str] | None = None) -> ProcessPoolExecutor:
    """A one-worker pool in a fresh interpreter (environment applied before it starts)."""
    saved = {key: os.environ.get(key) for key in env or {}}
    os.environ.update(env or {})
    try:
        pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        pool.submit(int).result()  # start the worker while the environment is set
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return pool


def _child_rates(rows: int, repeats: int) -> tuple[float, float, int]:
    """(median wall s, median CPU s, page faults of the last run) of compute_features(rows)."""
    bars = random_walk_bars(rows, SEED)
    compute_features(bars.iloc[:500])
    walls, cpus, faults = [], [], 0
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        wall, cpu = time.perf_counter(), time.process_time()
        out = compute_features(bars)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
        del out
    return float(np.median(walls)), float(np.median(cpus)), faults


def _status_kib(field: str) -> int:
    """A `VmRSS`/`VmHWM`-style field of /proc/self/status, in KiB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise ValueError(f"/proc/self/status has no {field} line")


def _child_memory(rows: int) -> tuple[int, int, int]:
    """(peak RSS growth by VmHWM, by ru_maxrss, output bytes) of one compute_features call.

    The baseline is taken after importing, loading the kernels and building the input.
    ru_maxrss is inherited across fork/exec from the parent (a big parent hides the
    child's peak), so the peak is also read from VmHWM after resetting it (clear_refs 5).
    """
    bars = random_walk_bars(rows, SEED)
    compute_features(bars.iloc[:500])
    with open("/proc/self/clear_refs", "w", encoding="ascii") as clear:
        clear.write("5")  # reset VmHWM to the current RSS
    baseline_rss = _status_kib("VmRSS") * 1024
    baseline_max = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    out = compute_features(bars)
    peak_rss = _status_kib("VmHWM") * 1024
    peak_max = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    output = int(out.memory_usage(index=False).sum())
    return peak_rss - baseline_rss, peak_max - baseline_max, output


_FIRST_CALL = """
import json, time
started = time.perf_counter()
import udfs
from bench.data import random_walk_bars
imported = time.perf_counter()
udfs.compute_features(random_walk_bars(2_000, 1))
print(json.dumps([imported - started, time.perf_counter() - imported]))
"""


def _first_call(env: dict[str, str] | None = None) -> tuple[float, float]:
    """(import s, first compute_features on 2,000 bars s) in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", _FIRST_CALL],
        env={**os.environ, **(env or {})},
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        check=True,
    )
    imported, first = json.loads(done.stdout.strip().splitlines()[-1])
    return imported, first


def _partition(number: int) -> int:
    """Features of one symbol partition, kept in the worker (as a runner writing to its
    engine would); returns the row count."""
    bars = random_walk_bars(SET_ROWS // 4, SEED + number)
    return len(compute_features(bars))


def _run_ta(bars: pd.DataFrame, vectorized: bool) -> pd.DataFrame:
    """ta.add_all_ta_features with its defaults (fillna=False)."""
    import ta

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ta.add_all_ta_features(
            bars.copy(), "open", "high", "low", "close", "volume", vectorized=vectorized
        )


def _whole_set_table(repeats: int) -> Table:
    """Rows/s of the whole set: ours in 1 and 2 processes, ta in both modes."""
    bars = random_walk_bars(SET_ROWS, SEED)
    ta_fast, ta_slow = bars.iloc[:TA_FAST_ROWS], bars.iloc[:TA_SLOW_ROWS]
    compute_features(bars.iloc[:500])
    ours, fast = measure(
        lambda: compute_features(bars), lambda: _run_ta(ta_fast, True), repeats=repeats
    )
    (slow,) = measure(lambda: _run_ta(ta_slow, False), repeats=1, warmup=0)
    cpu = time.process_time()
    compute_features(bars)
    ours_cpu = time.process_time() - cpu
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(_partition, range(2)))  # start both workers, load the kernels
        started = time.perf_counter()
        rows_2p = sum(pool.map(_partition, range(PARTITIONS)))
        two = time.perf_counter() - started
    with _spawn() as pool:
        plain_wall, plain_cpu, plain_faults = pool.submit(_child_rates, SET_ROWS, repeats).result()
    with _spawn(KEEP_MEMORY) as pool:
        kept_wall, kept_cpu, kept_faults = pool.submit(_child_rates, SET_ROWS, repeats).result()
    cols = len(output_columns())
    # (contender, rows, columns, wall seconds, CPU seconds or None, note)
    measured = [
        ("ours, 1 process", SET_ROWS, cols, ours.median, ours_cpu, ""),
        ("ours, fresh process", SET_ROWS, cols, plain_wall, plain_cpu, f"{plain_faults:,} faults"),
        (
            "ours, fresh process, glibc keeps memory",
            SET_ROWS,
            cols,
            kept_wall,
            kept_cpu,
            f"{kept_faults:,} faults",
        ),
        (f"ours, 2 processes x {PARTITIONS} partitions", rows_2p, cols, two, None, ""),
        ("ta vectorized=True", TA_FAST_ROWS, 68, fast.median, None, ""),
        ("ta vectorized=False (full set)", TA_SLOW_ROWS, 86, slow.median, None, ""),
    ]
    ours_rate = SET_ROWS / ours.median
    rows = [
        (
            name,
            f"{count:,}",
            str(columns),
            f"{seconds:.3f}",
            rate(count, seconds),
            rate(count, cpu_seconds) if cpu_seconds else "-",
            f"{count / seconds / ours_rate:.4g}x",
            note,
        )
        for name, count, columns, seconds, cpu_seconds, note in measured
    ]
    return Table(
        title=f"features: whole set, rows per second, {repeats} interleaved runs (median)",
        headers=(
            "contender",
            "rows",
            "columns",
            "seconds",
            "rows/s",
            "rows/s cpu",
            "vs 1st",
            "note",
        ),
        rows=rows,
        notes=[
            "ta is timed on the first rows of the same series; its cost is linear in rows, so",
            "rows/s holds per row. Its columns are a subset of ours (we add 18 short names).",
            "2 processes: spawned workers computing whole 250k-row symbol partitions and keeping",
            "the result (a runner writes it to its engine); kernels loaded before timing.",
            "fresh process: first-touch page faults of the ~0.8 GB output weigh heavily on this",
            f"VM; 'glibc keeps memory' ({', '.join(KEEP_MEMORY)}) reuses freed pages instead.",
        ],
    )


def _kernel_pairs(bars: pd.DataFrame) -> dict[str, tuple[Callable[[], Any], Callable[[], Any]]]:
    """(ours, TA-Lib) callables computing the same indicator on the same arrays."""
    h, lo, c, v = (bars[k].to_numpy() for k in ("high", "low", "close", "volume"))
    return {
        "rsi_14 / RSI": (lambda: indicators.rsi(c, 14), lambda: talib.RSI(c, 14)),
        "macd / MACD": (lambda: indicators.macd(c), lambda: talib.MACD(c)),
        "cci / CCI(14)": (lambda: indicators.cci(h, lo, c, 14), lambda: talib.CCI(h, lo, c, 14)),
        "adx / ADX": (lambda: indicators.adx(h, lo, c, 14), lambda: talib.ADX(h, lo, c, 14)),
        "ema100 / EMA": (lambda: indicators.ema(c, 100), lambda: talib.EMA(c, 100)),
        "sma_50 / SMA": (lambda: indicators.sma(c, 50), lambda: talib.SMA(c, 50)),
        "bb_* / BBANDS": (lambda: indicators.bbands(c, 20), lambda: talib.BBANDS(c, 20)),
        "trend_cci / CCI(20)": (
            lambda: trend.cci_ta(h, lo, c, 20, 0.015),
            lambda: talib.CCI(h, lo, c, 20),
        ),
        "momentum_wr / WILLR": (
            lambda: momentum.williams_r(h, lo, c, 14),
            lambda: talib.WILLR(h, lo, c, 14),
        ),
        "momentum_stoch / STOCHF": (
            lambda: momentum.stochastic(h, lo, c, 14, 3),
            lambda: talib.STOCHF(h, lo, c, 14, 3),
        ),
        "momentum_uo / ULTOSC": (
            lambda: momentum.ultimate_oscillator(h, lo, c, 7, 14, 28),
            lambda: talib.ULTOSC(h, lo, c, 7, 14, 28),
        ),
        "trend_aroon_* / AROON": (lambda: trend.aroon(h, lo, 25), lambda: talib.AROON(h, lo, 25)),
        "trend_psar_* / SAR": (
            lambda: trend.psar(h, lo, c, 0.02, 0.2),
            lambda: talib.SAR(h, lo, 0.02, 0.2),
        ),
        "volume_mfi / MFI": (
            lambda: volume.mfi(h, lo, c, v, 14),
            lambda: talib.MFI(h, lo, c, v, 14),
        ),
        "volume_obv / OBV": (lambda: volume.obv(c, v), lambda: talib.OBV(c, v)),
        "volume_adi / AD": (lambda: volume.adi(h, lo, c, v), lambda: talib.AD(h, lo, c, v)),
        "volatility_atr / ATR": (
            lambda: volatility.atr_ta(h, lo, c, 10),
            lambda: talib.ATR(h, lo, c, 10),
        ),
        "volatility_dc* / MAX+MIN+SMA": (
            lambda: volatility.donchian(h, lo, c, 20),
            lambda: (talib.MAX(h, 20), talib.MIN(lo, 20), talib.SMA(c, 20)),
        ),
        "momentum_roc / ROC": (lambda: momentum.roc(c, 12), lambda: talib.ROC(c, 12)),
        "trend_trix / TRIX": (lambda: trend.trix(c, 15), lambda: talib.TRIX(c, 15)),
        "momentum_kama / KAMA": (lambda: momentum.kama(c, 10, 2, 30), lambda: talib.KAMA(c, 10)),
        "momentum_ppo* / PPO": (
            lambda: momentum.percentage_oscillator(c, 12, 26, 9),
            lambda: talib.PPO(c, 12, 26, 1),
        ),
        "trend_macd* / MACD": (lambda: trend.macd_ta(c, 12, 26, 9), lambda: talib.MACD(c)),
        "momentum_stoch_rsi* / STOCHRSI": (
            lambda: momentum.stoch_rsi(momentum.rsi_ta(c, 14, RSI_COM), 14, 3, 3),
            lambda: talib.STOCHRSI(c, 14, 14, 3),
        ),
    }


def _kernel_table(repeats: int) -> Table:
    """ns/bar of our kernels next to TA-Lib's function for the same indicator."""
    bars = random_walk_bars(KERNEL_BARS, SEED)
    rows = []
    for name, (ours, theirs) in _kernel_pairs(bars).items():
        mine, ref = measure(ours, theirs, repeats=repeats)
        ns = 1e9 / KERNEL_BARS
        rows.append(
            (
                name,
                f"{mine.median * ns:.1f}",
                f"{mine.min * ns:.1f}",
                f"{ref.median * ns:.1f}",
                f"{ref.min * ns:.1f}",
                f"{mine.min / ref.min:.2f}x",
            )
        )
    return Table(
        title=f"features: kernels vs TA-Lib, {KERNEL_BARS:,} bars, {repeats} interleaved runs",
        headers=("ours / TA-Lib", "ours ns/bar med", "min", "TA-Lib med", "min", "ours/TA-Lib min"),
        rows=rows,
        notes=[
            "ours/TA-Lib is a time ratio (min of runs, the least disturbed by other load): above",
            "1x means ours is slower. Target: within 2x. Rows pair indicators computing the same",
            "thing; ta-named kernels keep ta's definition (e.g. pandas EWM seeding), so their",
            "values differ from TA-Lib's where docs/features.md says so.",
        ],
    )


def _peerless_table(repeats: int) -> Table:
    """Seconds per demo batch and ns/bar of the UDFs without a TA-Lib peer (fracdiff, LMW)."""
    bars = random_walk_bars(DEMO_ROWS, SEED)
    specs = (FRACDIFF_D04, LMW_PATTERNS)
    funcs = [lambda spec=spec: run_feature(spec, bars) for spec in specs]
    timings = measure(lambda: compute_features(bars), *funcs, repeats=repeats)
    whole = timings[0].median
    rows = [
        (
            f"{spec.name} ({len(spec.outputs)} columns)",
            f"{timing.median:.3f}",
            f"{timing.median * 1e9 / DEMO_ROWS:.0f}",
            f"{timing.min * 1e9 / DEMO_ROWS:.0f}",
            f"{timing.median / whole:.2f}x",
        )
        for spec, timing in zip(specs, timings[1:], strict=True)
    ]
    return Table(
        title=f"features: UDFs without a TA-Lib peer, {DEMO_ROWS:,} rows, {repeats} runs",
        headers=("feature", "seconds med", "ns/bar med", "ns/bar min", "vs compute_features"),
        rows=rows,
        notes=[
            "vs compute_features: a time ratio to compute_features(bars) of every registered",
            f"feature on the same rows in the same run ({whole:.2f} s median).",
            "fracdiff_d04: a 282-weight window per bar; lmw_patterns: a 38 x 38 kernel",
            "smoother per bar. Target for lmw_patterns: <= 1 s per 400k rows on one core.",
        ],
    )


def _memory_and_compile_table() -> Table:
    """Peak RSS vs output bytes in a fresh process, cold compile and warm first call."""
    rows = []
    for env, label in ((None, "default glibc"), (KEEP_MEMORY, "glibc keeps memory")):
        with _spawn(env) as pool:
            grown, grown_maxrss, output = pool.submit(_child_memory, SET_ROWS).result()
        rows.append(
            (
                f"peak RSS growth, {SET_ROWS:,} rows ({label})",
                f"{grown / 2**20:,.0f} MiB",
                f"{grown / output:.2f}x the {output / 2**20:,.0f} MiB output "
                f"(ru_maxrss: {grown_maxrss / 2**20:,.0f} MiB)",
            )
        )
    with tempfile.TemporaryDirectory(prefix="numba-cold-") as cache:
        imported, cold = _first_call({"NUMBA_CACHE_DIR": cache})
    rows.append(
        ("cold first call (compiles every kernel)", f"{cold:.1f} s", f"import {imported:.1f} s")
    )
    imported, warm = _first_call()
    rows.append(("first call, kernels cached on disk", f"{warm:.2f} s", f"import {imported:.1f} s"))
    bars = random_walk_bars(DEMO_ROWS, SEED)
    compute_features(bars.iloc[:500])
    (demo,) = measure(lambda: compute_features(bars), repeats=REPEATS)
    out = compute_features(bars)
    demo_mib = out.memory_usage(index=False).sum() / 2**20
    rows.append(
        (
            f"compute_features, {DEMO_ROWS:,} rows x {out.shape[1]} columns",
            f"{demo.median:.2f} s",
            f"{rate(DEMO_ROWS, demo.median)} rows/s, output {demo_mib:,.0f} MiB",
        )
    )
    return Table(
        title="features: memory (fresh child process), compile time, the demo-sized batch",
        headers=("measure", "value", "detail"),
        rows=rows,
        notes=[
            "peak RSS: VmHWM (reset just before) after one compute_features call minus VmRSS",
            "before it (after imports, kernel loading and building the input); ru_maxrss",
            "growth alongside (0 when the child inherited a bigger peak from the parent).",
            "Target: < 2x the output.",
            "cold: NUMBA_CACHE_DIR pointed at an empty directory; kernels compile lazily on",
            "first use and are then cached next to their module (udfs/kernels/__pycache__).",
        ],
    )


def run(repeats: int | None = None) -> list[Table]:
    """Every feature benchmark; `repeats` overrides the default number of runs."""
    return [
        _whole_set_table(repeats or REPEATS),
        _kernel_table(repeats or KERNEL_REPEATS),
        _peerless_table(repeats or REPEATS),
        _memory_and_compile_table(),
    ]
