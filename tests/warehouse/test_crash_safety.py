"""Landing killed at any moment and loaders run concurrently: zero lost, zero duplicated rows."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.warehouse.bad_files import bars
from warehouse.engines.duckdb import connect
from warehouse.landing import land_bytes, land_path
from warehouse.loading import ensure_meta, load_new
from warehouse.manifest import read_manifest
from warehouse.object_store import LocalObjectStore

REPO = Path(__file__).resolve().parents[2]
RECEIVED = datetime(2024, 3, 1, tzinfo=UTC)
FILES = 24
ROWS = 1_440  # one day of minutes per file
KILL_FILES = 8  # each run lands at least one file before its kill


def _day(symbol: str) -> bytes:
    return bars(
        *(
            f"{symbol},2024-01-01T{m // 60:02d}:{m % 60:02d}:00Z,{100 + m % 7},{102 + m % 7},"
            f"{99 + m % 7},{101 + m % 7},{m + 1}"
            for m in range(ROWS)
        )
    )


@pytest.fixture
def drop(tmp_path: Path) -> Path:
    """A folder of vendor files, one symbol-day each."""
    folder = tmp_path / "drop"
    folder.mkdir()
    for i in range(KILL_FILES):
        (folder / f"S{i:02d}.csv").write_bytes(_day(f"S{i:02d}"))
    return folder


def _lake_env(store) -> tuple[str, dict[str, str]]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return store.url if store.url.startswith("s3://") else str(store.root), env


_LAND = """
import sys
from datetime import UTC, datetime
from pathlib import Path
from warehouse.landing import land_path
from warehouse.object_store import open_store
land_path(open_store(sys.argv[1]), Path(sys.argv[2]), vendor="v", dataset="bars_1m",
          received_at=datetime(2024, 3, 1, tzinfo=UTC))
"""


def _assert_consistent(store, sources: dict[str, str]) -> None:
    """Every manifest entry points at a whole object with its hash; no partial object exists."""
    for entry in read_manifest(store):
        assert hashlib.sha256(store.get_bytes(entry.key)).hexdigest() == entry.sha256
    for key in store.list("raw"):
        digest = hashlib.sha256(store.get_bytes(key)).hexdigest()
        assert digest in sources.values(), f"partial or foreign object {key}"


def _objects(store) -> int:
    return sum(1 for _ in store.list(""))


def test_landing_killed_at_any_moment_leaves_whole_files_or_nothing(store, drop, conn):
    url, env = _lake_env(store)
    sources = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in drop.iterdir()}
    command = [sys.executable, "-c", _LAND, url, str(drop)]
    delays = random.Random(7)
    kills = 0
    while True:
        # Kill a few milliseconds after the child makes progress, at a seeded random moment
        # (mid-copy, between the object and its manifest entry, mid-manifest-write...).
        before = _objects(store)
        child = subprocess.Popen(command, env=env, cwd=REPO)
        while child.poll() is None and _objects(store) == before:
            time.sleep(0.01)
        if child.poll() is not None:
            break
        time.sleep(delays.uniform(0, 0.03))
        child.send_signal(signal.SIGKILL)
        child.wait()
        kills += child.returncode == -signal.SIGKILL
        _assert_consistent(store, sources)
    assert child.returncode == 0
    assert kills >= 3
    _assert_consistent(store, sources)
    entries = read_manifest(store)
    assert sorted(e.sha256 for e in entries) == sorted(sources.values())
    assert sorted(store.list("raw")) == sorted(e.key for e in entries)  # no orphan left
    results = load_new(conn, store)
    assert {r.status for r in results} == {"loaded"}
    count, distinct = conn.execute(
        "select count(*), count(distinct (symbol, ts)) from raw.bars_1m"
    ).fetchall()[0]
    assert count == distinct == KILL_FILES * ROWS


def test_a_file_written_but_not_recorded_is_invisible_and_completed_by_landing_again(
    store, drop, conn
):
    source = drop / "S00.csv"
    store.put_file("raw/v/bars_1m/2024-03-01/S00.csv", source)  # the crash came before the entry
    assert read_manifest(store) == []
    assert load_new(conn, store) == []
    result = land_path(store, source, vendor="v", dataset="bars_1m", received_at=RECEIVED)[0]
    assert result.landed and result.entry.key == "raw/v/bars_1m/2024-03-01/S00.csv"
    assert sorted(store.list("raw")) == [result.entry.key]


def test_loaders_on_two_threads_load_each_file_once(tmp_path: Path):
    store = LocalObjectStore(tmp_path / "lake")
    for i in range(FILES):
        land_bytes(
            store,
            _day(f"S{i:02d}"),
            f"S{i:02d}.csv",
            vendor="v",
            dataset="bars_1m",
            received_at=RECEIVED,
        )
    warehouse = connect(tmp_path / "w.duckdb")
    ensure_meta(warehouse)
    outcomes: dict[int, object] = {}

    def run(n: int) -> None:
        try:
            outcomes[n] = load_new(warehouse.cursor(), store)
        except Exception as exc:  # reported below with its message
            outcomes[n] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    errors = [o for o in outcomes.values() if isinstance(o, Exception)]
    assert not errors, errors
    keys = [r.key for results in outcomes.values() for r in results]
    assert len(keys) == len(set(keys)) == FILES
    count, distinct = warehouse.execute(
        "select count(*), count(distinct (symbol, ts)) from raw.bars_1m"
    ).fetchall()[0]
    assert count == distinct == FILES * ROWS
    assert warehouse.execute("select count(*) from meta.loaded_files").fetchall() == [(FILES,)]


def test_two_load_commands_at_once_wait_for_each_other_and_duplicate_nothing(
    tmp_path: Path, drop: Path
):
    home = tmp_path / "home"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cli = [sys.executable, "-m", "orchestration.cli", "--home", str(home)]
    subprocess.run(
        [*cli, "land", str(drop), "--vendor", "v", "--dataset", "bars_1m"],
        env=env,
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    loaders = [
        subprocess.Popen([*cli, "load", "--json"], env=env, cwd=REPO, stdout=subprocess.PIPE)
        for _ in range(2)
    ]
    outputs = [json.loads(p.communicate()[0]) for p in loaders]
    assert [p.returncode for p in loaders] == [0, 0]
    loaded = sorted(len(o["loaded"]) for o in outputs)
    assert loaded == [0, KILL_FILES]
    with connect(home / "warehouse.duckdb", read_only=True) as conn:
        count, distinct = conn.execute(
            "select count(*), count(distinct (symbol, ts)) from raw.bars_1m"
        ).fetchall()[0]
    assert count == distinct == KILL_FILES * ROWS
