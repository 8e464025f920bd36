"""Loading: new manifest entries into `raw.<dataset>` tables, one transaction per file.

Each file is streamed through DuckDB (never read whole into Python), typed and
validated (`warehouse.validation`), and appended with lineage and `available_at`.
Tables are append-only and bitemporal: a key delivered again with different values
is a correction, stored as a new version available from
`greatest(rule, received_at)` (nobody knew it before it arrived); a key delivered
again with the same values adds nothing. A bad file goes to `quarantine/` with its
reason and never blocks the others. Safe to run twice or concurrently: one loader
holds `loader_lock`, and an entry recorded by another loader is skipped.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from warehouse.columns import AVAILABLE_AT, RECEIVED_AT, SOURCE_FILE, VENDOR
from warehouse.datasets import DATASETS, DUCKDB_TYPES, Dataset, get_dataset
from warehouse.formats import READ_ERRORS, RawFileError, read_error, scan_file
from warehouse.manifest import ManifestEntry, read_manifest
from warehouse.object_store import ObjectStore, local_copy, validate_key
from warehouse.validation import STAGED, StagedFile, ValidationError, stage

QUARANTINE_PREFIX = "quarantine"
# What DuckDB raises when a concurrent transaction recorded the same entry first.
_CONFLICTS = (duckdb.TransactionException, duckdb.ConstraintException)

_META_DDL = """
create schema if not exists raw;
create schema if not exists meta;
create table if not exists meta.loaded_files (
    sha256 varchar, vendor varchar, dataset varchar, key varchar, status varchar,
    rows bigint, extra_columns varchar, reason varchar, loaded_at timestamp,
    primary key (sha256, vendor, dataset)
);
alter table meta.loaded_files add column if not exists rows_unchanged bigint;
alter table meta.loaded_files add column if not exists rows_corrected bigint;
alter table meta.loaded_files add column if not exists warnings varchar;
"""
_INSERT_RECORD = (
    "insert into meta.loaded_files (sha256, vendor, dataset, key, status, rows, extra_columns, "
    "reason, loaded_at, rows_unchanged, rows_corrected, warnings) "
    "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


@dataclass(frozen=True)
class LoadResult:
    """One manifest entry's outcome: `loaded` with rows, or `quarantined` with a reason.

    `rows` are new rows (new keys and corrections); `unchanged` rows repeated values
    already loaded; `corrected` rows are new versions of keys loaded before.
    """

    key: str
    dataset: str
    status: str
    rows: int
    reason: str | None = None
    extra_columns: tuple[str, ...] = ()
    unchanged: int = 0
    corrected: int = 0
    warnings: tuple[str, ...] = field(default=())


class LoaderBusy(RuntimeError):
    """Another loader held the lock for longer than the caller would wait."""


@contextmanager
def loader_lock(warehouse_path: Path, timeout: float | None = None) -> Iterator[None]:
    """Hold the warehouse's loader lock (a second loader waits; `timeout` seconds at most)."""
    lock_path = Path(f"{warehouse_path}.load.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as handle:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if deadline is not None and time.monotonic() >= deadline:
                    raise LoaderBusy(
                        f"another loader holds {lock_path} (waited {timeout:.0f}s)"
                    ) from None
                time.sleep(0.05)
        try:
            handle.truncate(0)
            handle.write(f"{os.getpid()}\n")
            handle.flush()
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _rollback(conn: duckdb.DuckDBPyConnection) -> None:
    """Roll back the open transaction; a failed commit (a conflict) has already done so."""
    try:
        conn.execute("rollback")
    except duckdb.TransactionException as exc:
        if "no transaction is active" not in str(exc):
            raise


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
    _create(conn, f"create table if not exists {dataset.table} ({ddl})")


def ensure_meta(conn: duckdb.DuckDBPyConnection) -> None:
    """Create (or upgrade) the bookkeeping schema."""
    _create(conn, _META_DDL)


def _create(conn: duckdb.DuckDBPyConnection, ddl: str, attempts: int = 5) -> None:
    """Run idempotent DDL; a concurrent loader creating the same object first is fine."""
    for attempt in range(attempts):
        try:
            conn.execute(ddl)
            return
        except duckdb.TransactionException:
            if attempt == attempts - 1:
                raise
            time.sleep(0.01 * (attempt + 1))


def _loaded_hashes(conn: duckdb.DuckDBPyConnection) -> set[tuple[str, str, str]]:
    rows = conn.execute("select sha256, vendor, dataset from meta.loaded_files").fetchall()
    return {(r[0], r[1], r[2]) for r in rows}


def _is_recorded(conn: duckdb.DuckDBPyConnection, entry: ManifestEntry) -> bool:
    return bool(
        conn.execute(
            "select count(*) from meta.loaded_files "
            "where sha256 = ? and vendor = ? and dataset = ?",
            [entry.sha256, entry.vendor, entry.dataset],
        ).fetchall()[0][0]
    )


def _quarantine(store: ObjectStore, entry: ManifestEntry, reason: str) -> None:
    """Copy the file to `quarantine/` beside a JSON reason; `raw/` keeps its original."""
    base = f"{QUARANTINE_PREFIX}/{entry.vendor}/{entry.dataset}/{entry.sha256}"
    note = {"key": entry.key, "reason": reason, "sha256": entry.sha256}
    try:
        validate_key(entry.key)
        store.copy(entry.key, f"{base}/{entry.key.rsplit('/', 1)[-1]}")
    except (ValueError, FileNotFoundError, OSError) as exc:
        note["copy_error"] = str(exc)
    store.put_bytes(f"{base}/reason.json", json.dumps(note, indent=1).encode())


def _record(conn: duckdb.DuckDBPyConnection, entry: ManifestEntry, result: LoadResult) -> None:
    conn.execute(
        _INSERT_RECORD,
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
            result.unchanged,
            result.corrected,
            json.dumps(list(result.warnings)),
        ],
    )


def _insert_sql(
    dataset: Dataset, staged: StagedFile, entry: ManifestEntry, bounds: tuple | None
) -> tuple[str, str]:
    """(count, insert) SQL: new keys and changed versions with lineage; repeats add nothing.

    `bounds` is the file's time range when the table already has rows in it (else None:
    every row is a first version and no lookup is needed).
    """
    columns = list(staged.columns)
    key = list(dataset.key)
    values = [c for c in columns if c not in key]
    rule = dataset.availability.available_at_sql(f'i."{dataset.availability.time_column}"')
    received = entry.received_at.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    on = " and ".join(f'r."{c}" = i."{c}"' for c in key)
    join = " and ".join(f'e."{c}" = i."{c}"' for c in key)
    changed = " or ".join(f'i."{c}" is distinct from e."{c}"' for c in values) or "false"
    time_column = f'r."{dataset.availability.time_column}"'
    window = ""
    if bounds is not None:
        low, high = (b.isoformat(sep=" ") for b in bounds)
        window = f"where {time_column} between '{low}' and '{high}'"
    ctes = f"""
        with incoming as ({staged.typed_sql}),
        existing as (
            select {", ".join(f'r."{c}"' for c in columns)}
            from {dataset.table} as r semi join incoming as i on {on}
            {window}
            qualify row_number() over (
                partition by {", ".join(f'r."{c}"' for c in key)}
                order by r.{AVAILABLE_AT} desc, r.{RECEIVED_AT} desc, r.{SOURCE_FILE} desc
            ) = 1
        ),
        versions as (
            select i.*, e."{key[0]}" is not null as is_correction
            from incoming as i left join existing as e on {join}
            where e."{key[0]}" is null or {changed}
        )"""
    if bounds is None:
        ctes = f"""
        with versions as (select *, false as is_correction from ({staged.typed_sql}))"""
    count = f"{ctes} select count(*), count(*) filter (where is_correction) from versions"
    listed = ", ".join(f'"{c}"' for c in columns)
    insert = f"""
        insert into {dataset.table} ({listed}, {AVAILABLE_AT}, {SOURCE_FILE}, {RECEIVED_AT},
            {VENDOR})
        {ctes}
        select {", ".join(f'i."{c}"' for c in columns)},
            case when i.is_correction then greatest({rule}, timestamp '{received}')
                else {rule} end,
            ?, timestamp '{received}', ?
        from versions as i"""
    return count, insert


def _overlap(conn: duckdb.DuckDBPyConnection, dataset: Dataset, staged: StagedFile) -> tuple | None:
    """The file's time range if the raw table already holds rows in it (cheap: zone maps)."""
    time_column = f'"{dataset.availability.time_column}"'
    bounds = conn.execute(
        f"select min(t), max(t) from (select {time_column} as t from ({staged.typed_sql}))"
    ).fetchall()[0]
    if bounds[0] is None:
        return None
    found = conn.execute(
        f"select count(*) from (select 1 from {dataset.table} "
        f"where {time_column} between ? and ? limit 1)",
        list(bounds),
    ).fetchall()[0][0]
    return tuple(bounds) if found else None


def _load_staged(
    conn: duckdb.DuckDBPyConnection, store: ObjectStore, entry: ManifestEntry, dataset: Dataset
) -> LoadResult:
    with local_copy(store, validate_key(entry.key)) as path:
        scan = scan_file(path, entry.key, conn)
        try:
            staged = stage(conn, scan, dataset, entry.received_at.astimezone(UTC))
        except READ_ERRORS as exc:
            raise read_error(exc, scan, path) from exc
    bounds = _overlap(conn, dataset, staged)
    count_sql, insert_sql = _insert_sql(dataset, staged, entry, bounds)
    corrected = 0
    if bounds is not None:
        _, corrected = conn.execute(count_sql).fetchall()[0]
    (inserted,) = conn.execute(insert_sql, [entry.key, entry.vendor]).fetchall()[0]
    conn.execute(f"drop table if exists {STAGED}")
    return LoadResult(
        entry.key,
        entry.dataset,
        "loaded",
        int(inserted),
        extra_columns=staged.extra_columns,
        unchanged=staged.rows - int(inserted),
        corrected=int(corrected),
        warnings=staged.warnings,
    )


def load_entry(
    conn: duckdb.DuckDBPyConnection, store: ObjectStore, entry: ManifestEntry
) -> LoadResult | None:
    """Load one landed file in one transaction, or quarantine it with its reason.

    Returns None when another loader recorded the entry first (nothing is done twice).
    """
    try:  # an entry naming a key outside the lake or an unknown dataset is never read
        validate_key(entry.key)
        dataset = get_dataset(entry.dataset)
    except ValueError as exc:
        return _quarantined(conn, store, entry, f"{entry.key}: {exc}")
    ensure_raw_table(conn, dataset)
    conn.execute("begin transaction")
    try:
        if _is_recorded(conn, entry):
            _rollback(conn)
            return None
        result = _load_staged(conn, store, entry, dataset)
        _record(conn, entry, result)
        conn.execute("commit")
        return result
    except (RawFileError, ValidationError, FileNotFoundError) as exc:
        _rollback(conn)
        reason = str(exc) if entry.key in str(exc) else f"{entry.key}: {exc}"
        return _quarantined(conn, store, entry, reason)
    except _CONFLICTS:
        # Another loader is recording this entry (committed or not yet): it is theirs. If
        # their transaction fails, the entry stays unrecorded and the next run loads it.
        _rollback(conn)
        return None
    except BaseException:
        _rollback(conn)
        raise


def _quarantined(
    conn: duckdb.DuckDBPyConnection, store: ObjectStore, entry: ManifestEntry, reason: str
) -> LoadResult | None:
    result = LoadResult(entry.key, entry.dataset, "quarantined", 0, reason=reason)
    conn.execute("begin transaction")
    try:
        if _is_recorded(conn, entry):
            _rollback(conn)
            return None
        _record(conn, entry, result)
        conn.execute("commit")
    except _CONFLICTS:
        _rollback(conn)
        return None
    _quarantine(store, entry, reason)
    return result


def load_new(
    conn: duckdb.DuckDBPyConnection, store: ObjectStore, *, progress: bool = False
) -> list[LoadResult]:
    """Load every manifest entry the warehouse has not seen; safe to run again."""
    ensure_meta(conn)
    manifest = read_manifest(store)
    for dataset_name in sorted({e.dataset for e in manifest} & set(DATASETS)):
        ensure_raw_table(conn, DATASETS[dataset_name])
    seen = _loaded_hashes(conn)
    pending = [e for e in manifest if (e.sha256, e.vendor, e.dataset) not in seen]
    results = []
    for entry in _progress(pending, progress, "load"):
        result = load_entry(conn, store, entry)
        if result is not None:
            results.append(result)
    return results


def _progress(items: list[ManifestEntry], enabled: bool, label: str):
    if not enabled:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=label, unit="file", leave=False)
