"""A 1 GB file lands and loads streamed, with memory bounded well below the file's size."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from warehouse.engines.duckdb import connect

REPO = Path(__file__).resolve().parents[2]
TARGET_BYTES = 1 << 30
MEMORY_LIMIT = "400MB"

_CHILD = """
import json, sys
from datetime import UTC, datetime
from pathlib import Path
from warehouse.engines.duckdb import connect
from warehouse.landing import land_file
from warehouse.loading import load_new
from warehouse.object_store import LocalObjectStore
lake, source, warehouse, limit = sys.argv[1:5]
store = LocalObjectStore(lake)
entry = land_file(store, Path(source), vendor="v", dataset="bars_1m",
                  received_at=datetime(2026, 1, 1, tzinfo=UTC)).entry
with connect(warehouse) as conn:
    conn.execute(f"set memory_limit = '{limit}'")
    [result] = load_new(conn, store)
# VmHWM: this process's own peak (ru_maxrss would include the parent's from before exec).
status = Path("/proc/self/status").read_text().splitlines()
peak = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
print(json.dumps({"rows": result.rows, "status": result.status, "reason": result.reason,
                  "manifest_rows": entry.rows, "peak_rss": peak}))
"""


@pytest.mark.slow
def test_a_1gb_file_is_streamed_with_bounded_memory(tmp_path: Path):
    source = tmp_path / "big.csv"
    symbols = 200
    with connect(":memory:") as conn:
        # ~56 bytes per row: 19M one-minute bars over 200 symbols.
        rows = TARGET_BYTES // 54
        conn.execute(
            f"""copy (
                select 'SYM' || lpad((i % {symbols})::varchar, 3, '0') as symbol,
                    strftime(timestamp '2020-01-01' + to_minutes(i // {symbols}),
                        '%Y-%m-%dT%H:%M:%SZ') as ts,
                    round(100 + (i % 97) / 10, 2) as open, round(101 + (i % 97) / 10, 2) as high,
                    round(99 + (i % 97) / 10, 2) as low, round(100.5 + (i % 97) / 10, 2) as close,
                    (i % 1000) + 1 as volume
                from range({rows}) as t(i)
            ) to '{source}' (header, delimiter ',')"""
        )
    size = source.stat().st_size
    assert size >= TARGET_BYTES
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            _CHILD,
            str(tmp_path / "lake"),
            str(source),
            str(tmp_path / "w.duckdb"),
            MEMORY_LIMIT,
        ],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    )
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert report["status"] == "loaded", report["reason"]
    assert report["rows"] == report["manifest_rows"] == rows
    # Python, DuckDB and its 400 MB budget: far below reading the file whole.
    assert report["peak_rss"] < 0.7 * size, f"peak RSS {report['peak_rss']:,} for {size:,} bytes"
    with connect(tmp_path / "w.duckdb", read_only=True) as conn:
        assert conn.execute("select count(*) from raw.bars_1m").fetchall() == [(rows,)]
