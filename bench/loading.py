"""Landing + loading throughput: 10M one-minute bars from Parquet into DuckDB, and a no-op re-run.

Contenders, on the same files in the same run:
- signalyard: `land_path` (hash, inspect, copy, manifest) then `load_new` (typed,
  validated, bitemporal append with lineage, one transaction per file);
- duckdb bare insert: `insert into ... select * from read_parquet(...)`, no checks,
  no lineage — the floor any loader on DuckDB pays;
- pandas: `pd.read_parquet` per file appended through DuckDB's DataFrame scan, no
  checks — the hand-rolled notebook loader.
"""

from __future__ import annotations

import resource
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from bench.report import Table, rate
from bench.timing import measure
from warehouse.engines.duckdb import connect
from warehouse.landing import land_path
from warehouse.loading import load_new
from warehouse.object_store import LocalObjectStore

BARS = 10_000_000
FILES = 20
SYMBOLS = 100
REPEATS = 2
RECEIVED = datetime(2026, 1, 1, tzinfo=UTC)
_BARS_DDL = (
    "create table if not exists bars (symbol varchar, ts timestamp, open double, high double, "
    "low double, close double, volume double)"
)


def _write_files(folder: Path) -> list[Path]:
    """FILES Parquet files of BARS/FILES one-minute bars each (SYMBOLS symbols, UTC)."""
    folder.mkdir(parents=True, exist_ok=True)
    per_file = BARS // FILES
    paths = []
    with connect(":memory:") as conn:
        for part in range(FILES):
            path = folder / f"bars-{part:03d}.parquet"
            conn.execute(
                f"""copy (
                    select 'SYM' || lpad((i % {SYMBOLS})::varchar, 3, '0') as symbol,
                        (timestamptz '2023-01-01 00:00:00+00'
                            + to_minutes((i // {SYMBOLS}) + {part * per_file // SYMBOLS}))
                            as ts,
                        100 + (i % 89) / 10 as open, 101 + (i % 89) / 10 as high,
                        99 + (i % 89) / 10 as low, 100.5 + (i % 89) / 10 as close,
                        ((i % 1000) + 1)::double as volume
                    from range({per_file}) as t(i)
                ) to '{path}' (format parquet)"""
            )
            paths.append(path)
    return paths


def _fresh(root: Path) -> Path:
    target = Path(tempfile.mkdtemp(dir=root))
    return target


def run(repeats: int | None = None) -> list[Table]:
    """Rows/s of landing + loading 10M bars vs bare DuckDB and pandas; the no-op re-run cost."""
    repeats = repeats or REPEATS
    root = Path(tempfile.mkdtemp(prefix="signalyard-bench-loading-"))
    try:
        return _run(root, repeats)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _run(root: Path, repeats: int) -> list[Table]:
    files = _write_files(root / "drop")
    size = sum(p.stat().st_size for p in files)
    phases: dict[str, list[float]] = {"land": [], "load": []}
    last: dict[str, object] = {}

    def signalyard() -> None:
        work = _fresh(root)
        store = LocalObjectStore(work / "lake")
        started = time.perf_counter()
        land_path(store, root / "drop", vendor="bench", dataset="bars_1m", received_at=RECEIVED)
        landed = time.perf_counter()
        with connect(work / "w.duckdb") as conn:
            results = load_new(conn, store)
        phases["land"].append(landed - started)
        phases["load"].append(time.perf_counter() - landed)
        last.update(work=work, store=store, rows=sum(r.rows for r in results))

    def bare_duckdb() -> None:
        with connect(_fresh(root) / "w.duckdb") as conn:
            conn.execute(_BARS_DDL)
            conn.execute(
                f"insert into bars select * from read_parquet('{root / 'drop'}/*.parquet')"
            )

    def pandas_loader() -> None:
        with connect(_fresh(root) / "w.duckdb") as conn:
            conn.execute(_BARS_DDL)
            for path in files:
                frame = pd.read_parquet(path)
                conn.register("incoming", frame)
                conn.execute("insert into bars select * from incoming")
                conn.unregister("incoming")

    ours, bare, pandas_timing = measure(
        signalyard, bare_duckdb, pandas_loader, repeats=repeats, warmup=0
    )
    assert last["rows"] == BARS, f"signalyard loaded {last['rows']:,} rows, expected {BARS:,}"
    store, work = last["store"], last["work"]
    started = time.perf_counter()
    again = land_path(store, root / "drop", vendor="bench", dataset="bars_1m")
    land_noop = time.perf_counter() - started
    with connect(Path(work) / "w.duckdb") as conn:
        started = time.perf_counter()
        nothing = load_new(conn, store)
        load_noop = time.perf_counter() - started
    assert not any(r.landed for r in again) and nothing == []
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    land, load = min(phases["land"]), min(phases["load"])
    rows = [
        (
            "signalyard land + load",
            rate(BARS, ours.median),
            rate(BARS, ours.min),
            f"{ours.min:.2f}",
            f"{ours.min / bare.min:.2f}x",
        ),
        ("  of which land", rate(BARS, land), "", f"{land:.2f}", ""),
        ("  of which load", rate(BARS, load), "", f"{load:.2f}", f"{load / bare.min:.2f}x"),
        (
            "duckdb bare insert",
            rate(BARS, bare.median),
            rate(BARS, bare.min),
            f"{bare.min:.2f}",
            "1.00x",
        ),
        (
            "pandas read_parquet + insert",
            rate(BARS, pandas_timing.median),
            rate(BARS, pandas_timing.min),
            f"{pandas_timing.min:.2f}",
            f"{pandas_timing.min / bare.min:.2f}x",
        ),
    ]
    return [
        Table(
            title=(
                f"loading: {BARS:,} one-minute bars in {FILES} Parquet files "
                f"({size / 1e6:.0f} MB) into DuckDB, {repeats} runs"
            ),
            headers=("contender", "rows/s med", "rows/s max", "best s", "time vs bare"),
            rows=rows,
            notes=[
                "signalyard: hash + inspect + copy + manifest per file, then per file one "
                "transaction: typed, validated (prices, high/low, future, duplicates, offsets),",
                "bitemporal append with available_at and lineage. Peers check nothing.",
                f"no-op re-run (same {FILES} files): land {land_noop:.2f}s (hashes every file), "
                f"load {load_noop:.3f}s (nothing new).",
                f"peak RSS of the bench process: {peak:,.0f} MB.",
            ],
        )
    ]
