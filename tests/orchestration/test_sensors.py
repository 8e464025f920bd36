"""The raw/ sensor: one load run per new batch of landed files, on local and S3 lakes."""

from __future__ import annotations

from pathlib import Path

import pytest
from dagster import RunRequest, SensorResult, SkipReason, build_sensor_context

from orchestration.assets.loading import RAW_KEYS
from orchestration.definitions import defs
from orchestration.resources import WarehouseResource
from orchestration.sensors import batch_cursor, raw_files_sensor
from warehouse.engines.duckdb import connect
from warehouse.landing import land_bytes
from warehouse.loading import load_new

HEADER = "symbol,ts,open,high,low,close,volume\n"


def _bars(minute: int) -> bytes:
    return f"{HEADER}BTCUSDT,2024-01-01T00:{minute:02d}:00Z,1,2,0.5,1.5,10\n".encode()


def _land(store, minute: int) -> str:
    result = land_bytes(
        store, _bars(minute), f"m{minute:02d}.csv", vendor="binance", dataset="bars_1m"
    )
    return result.entry.key


def _evaluate(warehouse: WarehouseResource, cursor: str | None = None):
    """One sensor tick: (run requests, the cursor it leaves, the skip message if any)."""
    context = build_sensor_context(cursor=cursor, resources={"warehouse": warehouse})
    outcome = raw_files_sensor(context)
    if isinstance(outcome, SkipReason):
        return [], cursor, outcome.skip_message
    assert isinstance(outcome, SensorResult)
    skip = outcome.skip_reason.skip_message if outcome.skip_reason else None
    return list(outcome.run_requests or []), outcome.cursor, skip


@pytest.fixture
def warehouse(store, tmp_path: Path) -> WarehouseResource:
    """The sensor's view of a lake (local folder or S3) and a warehouse file."""
    return WarehouseResource(
        home=str(tmp_path), lake=store.url, duckdb_path=str(tmp_path / "warehouse.duckdb")
    )


def test_an_empty_lake_requests_nothing(warehouse):
    requests, cursor, skip = _evaluate(warehouse)
    assert requests == [] and cursor == "" and skip == "no new files in raw/"


def test_new_files_request_one_load_run_per_batch(store, warehouse):
    keys = [_land(store, 0), _land(store, 1)]

    requests, cursor, _ = _evaluate(warehouse)

    assert cursor == batch_cursor(keys)
    [request] = requests
    assert isinstance(request, RunRequest) and request.run_key == cursor
    assert request.tags["signalyard/new_files"] == "2"
    # The same batch on the next tick is not requested again.
    again, kept, skip = _evaluate(warehouse, cursor)
    assert again == [] and kept == cursor and "already requested" in skip


def test_a_file_landing_after_the_request_makes_a_new_batch(store, warehouse):
    first = [_land(store, 0)]
    _, cursor, _ = _evaluate(warehouse)
    second = _land(store, 1)

    requests, new_cursor, _ = _evaluate(warehouse, cursor)

    assert len(requests) == 1 and new_cursor == batch_cursor([*first, second]) != cursor


def test_loaded_files_are_no_longer_new(store, warehouse):
    _land(store, 0)
    _, cursor, _ = _evaluate(warehouse)
    with connect(warehouse.duckdb_path) as conn:
        assert [r.status for r in load_new(conn, store)] == ["loaded"]

    requests, cursor, skip = _evaluate(warehouse, cursor)
    assert requests == [] and cursor == "" and skip == "no new files in raw/"

    key = _land(store, 1)
    requests, cursor, _ = _evaluate(warehouse, cursor)
    assert len(requests) == 1 and cursor == batch_cursor([key])


def test_quarantined_files_count_as_seen(store, warehouse):
    bad = f"{HEADER}BTCUSDT,2024-01-01T00:00:00Z,1,0.5,2,1.5,10\n".encode()  # high < low
    land_bytes(store, bad, "bad.csv", vendor="binance", dataset="bars_1m")
    with connect(warehouse.duckdb_path) as conn:
        assert [r.status for r in load_new(conn, store)] == ["quarantined"]
    assert _evaluate(warehouse)[0] == []


def test_a_warehouse_held_by_a_run_makes_the_sensor_wait(store, warehouse):
    _land(store, 0)
    with connect(warehouse.duckdb_path) as writer:  # a run holding the file read-write
        writer.execute("create schema if not exists meta")
        requests, cursor, skip = _evaluate(warehouse, "previous")
    assert requests == [] and cursor == "previous"
    assert skip.startswith("warehouse not readable now")


def test_the_sensor_targets_the_loading_job_of_every_raw_table():
    sensor = defs.resolve_sensor_def("raw_files_sensor")
    assert sensor.job_name == "load_raw"
    job = defs.resolve_job_def("load_raw")
    assert job.asset_layer.asset_graph.executable_asset_keys == set(RAW_KEYS.values())
