"""Sensors: landed files the warehouse has not loaded yet trigger the loading step."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import duckdb
from dagster import (
    AssetSelection,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    define_asset_job,
    sensor,
)

from orchestration.assets.loading import raw_tables
from orchestration.resources import WarehouseResource
from warehouse.engines.duckdb import connect, table_exists
from warehouse.manifest import ManifestEntry, read_manifest
from warehouse.object_store import ObjectStore

load_raw_job = define_asset_job(
    "load_raw",
    selection=AssetSelection.assets(raw_tables),
    description="Load new landed files into the raw tables (bad ones go to quarantine/).",
)


def loaded_files(duckdb_path: str | Path) -> set[tuple[str, str, str]]:
    """(sha256, vendor, dataset) of every file the warehouse loaded or quarantined."""
    if not Path(duckdb_path).exists():
        return set()
    with connect(duckdb_path, read_only=True) as conn:
        if not table_exists(conn, "meta.loaded_files"):
            return set()
        rows = conn.execute("select sha256, vendor, dataset from meta.loaded_files").fetchall()
    return {(r[0], r[1], r[2]) for r in rows}


def pending_entries(store: ObjectStore, duckdb_path: str | Path) -> list[ManifestEntry]:
    """Manifest entries (read through the store: local or S3) not yet in meta.loaded_files."""
    loaded = loaded_files(duckdb_path)
    return [e for e in read_manifest(store) if (e.sha256, e.vendor, e.dataset) not in loaded]


def batch_cursor(keys: Iterable[str]) -> str:
    """A digest of a batch of object keys (order does not matter)."""
    return hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()


@sensor(job=load_raw_job, minimum_interval_seconds=60)
def raw_files_sensor(
    context: SensorEvaluationContext, warehouse: WarehouseResource
) -> SensorResult | SkipReason:
    """Request one load run per new batch of landed files; the cursor is the batch digest."""
    try:
        pending = pending_entries(warehouse.store(), warehouse.duckdb_path)
    except duckdb.Error as exc:
        # Another process (a run) holds the warehouse file: look again next tick.
        return SkipReason(f"warehouse not readable now: {exc}")
    if not pending:
        return SensorResult(skip_reason=SkipReason("no new files in raw/"), cursor="")
    cursor = batch_cursor(e.key for e in pending)
    if cursor == context.cursor:
        return SkipReason(f"{len(pending)} new file(s) already requested; waiting for the load")
    context.log.info(f"{len(pending)} new file(s) in raw/, e.g. {pending[0].key}")
    return SensorResult(
        run_requests=[RunRequest(run_key=cursor, tags={"signalyard/new_files": str(len(pending))})],
        cursor=cursor,
    )
