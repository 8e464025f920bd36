"""Loading: new manifest entries into `raw.<dataset>` tables, one transaction per file."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import pandas as pd

from warehouse.columns import AVAILABLE_AT, RECEIVED_AT, SOURCE_FILE, VENDOR
from warehouse.datasets import DUCKDB_TYPES, Dataset, get_dataset
from warehouse.formats import RawFileError, read_raw
from warehouse.manifest import ManifestEntry, read_manifest
from warehouse.object_store import ObjectStore
from warehouse.validation import ValidationError, validate

QUARANTINE_PREFIX = "quarantine"

_META_DDL = """
create schema if not exists raw;
create schema if not exists meta;
create table if not exists meta.loaded_files (
    sha256 varchar, vendor varchar, dataset varchar, key varchar, status varchar,
    rows bigint, extra_columns varchar, reason varchar, loaded_at timestamp,
    primary key (sha256, vendor, dataset)
);
"""


@dataclass(frozen=True)
class LoadResult:
    """One manifest entry's outcome: `loaded` with rows, or `quarantined` with a reason."""

    key: str
    dataset: str
    status: str
    rows: int
    reason: str | None = None
    extra_columns: tuple[str, ...] = ()


def ensure_raw_table(conn: duckdb.DuckDBPyConnection, dataset: Dataset) -> None:
    """Create `raw.<dataset>` with the dataset's columns plus lineage and `available_at`."""
    columns = {
        **dataset.all_columns(),
        AVAILABLE_AT: "timestamp",
        SOURCE_FILE: "text",
        RECEIVED_AT: "timestamp",
        VENDOR: "text",
    }
    ddl = ", ".join(f'"{name}" {DUCKDB_TYPES[kind]}' for name, kind in columns.items())
    conn.execute(f"create table if not exists {dataset.table} ({ddl})")


def ensure_meta(conn: duckdb.DuckDBPyConnection) -> None:
    """Create the bookkeeping schema and every built-in dataset's raw table."""
    conn.execute(_META_DDL)


def _loaded_hashes(conn: duckdb.DuckDBPyConnection) -> set[tuple[str, str, str]]:
    rows = conn.execute("select sha256, vendor, dataset from meta.loaded_files").fetchall()
    return {(r[0], r[1], r[2]) for r in rows}


def _prepare(
    store: ObjectStore, entry: ManifestEntry, dataset: Dataset
) -> tuple[pd.DataFrame, list[str]]:
    frame = read_raw(store.get_bytes(entry.key), entry.key)
    typed, extra = validate(frame, dataset, entry.key)
    typed[AVAILABLE_AT] = dataset.availability.available_at(typed)
    typed[SOURCE_FILE] = entry.key
    typed[RECEIVED_AT] = pd.Timestamp(entry.received_at).tz_convert(UTC).tz_localize(None)
    typed[VENDOR] = entry.vendor
    for column in dataset.optional_columns:
        if column not in typed.columns:
            typed[column] = None
    return typed, extra


def _quarantine(store: ObjectStore, entry: ManifestEntry, reason: str) -> None:
    """Copy the file to `quarantine/` beside a JSON reason; `raw/` keeps its original."""
    base = f"{QUARANTINE_PREFIX}/{entry.vendor}/{entry.dataset}/{entry.sha256}"
    name = entry.key.rsplit("/", 1)[-1]
    store.put_bytes(f"{base}/{name}", store.get_bytes(entry.key))
    note = {"key": entry.key, "reason": reason, "sha256": entry.sha256}
    store.put_bytes(f"{base}/reason.json", json.dumps(note, indent=1).encode())


def _record(conn: duckdb.DuckDBPyConnection, entry: ManifestEntry, result: LoadResult) -> None:
    conn.execute(
        "insert into meta.loaded_files values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            entry.sha256,
            entry.vendor,
            entry.dataset,
            entry.key,
            result.status,
            result.rows,
            json.dumps(list(result.extra_columns)),
            result.reason,
            datetime.now(UTC).replace(tzinfo=None),
        ],
    )


def load_entry(
    conn: duckdb.DuckDBPyConnection, store: ObjectStore, entry: ManifestEntry
) -> LoadResult:
    """Load one landed file in one transaction, or quarantine it with its reason."""
    dataset = get_dataset(entry.dataset)
    ensure_raw_table(conn, dataset)
    try:
        typed, extra = _prepare(store, entry, dataset)
    except (RawFileError, ValidationError) as exc:
        result = LoadResult(entry.key, entry.dataset, "quarantined", 0, reason=str(exc))
        _quarantine(store, entry, str(exc))
        _record(conn, entry, result)
        return result
    result = LoadResult(entry.key, entry.dataset, "loaded", len(typed), extra_columns=tuple(extra))
    columns = ", ".join(f'"{c}"' for c in typed.columns)
    conn.execute("begin transaction")
    try:
        conn.register("_incoming", typed)
        conn.execute(f"insert into {dataset.table} ({columns}) select {columns} from _incoming")
        conn.unregister("_incoming")
        _record(conn, entry, result)
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise
    return result


def load_new(
    conn: duckdb.DuckDBPyConnection, store: ObjectStore, *, progress: bool = False
) -> list[LoadResult]:
    """Load every manifest entry the warehouse has not seen; safe to run again."""
    ensure_meta(conn)
    for dataset_name in sorted({e.dataset for e in read_manifest(store)}):
        ensure_raw_table(conn, get_dataset(dataset_name))
    seen = _loaded_hashes(conn)
    pending = [e for e in read_manifest(store) if (e.sha256, e.vendor, e.dataset) not in seen]
    results = []
    for entry in _progress(pending, progress, "load"):
        results.append(load_entry(conn, store, entry))
    return results


def _progress(items: list[ManifestEntry], enabled: bool, label: str):
    if not enabled:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=label, unit="file", leave=False)
