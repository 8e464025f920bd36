"""The loading asset validates each new batch and reports it as `expectations_pass` checks."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from dagster import materialize

from orchestration.assets.loading import raw_tables
from orchestration.commands import cmd_status
from orchestration.resources import WarehouseResource
from warehouse.engines.duckdb import connect
from warehouse.landing import land_bytes
from warehouse.object_store import LocalObjectStore
from warehouse.settings import Settings

HEADER = "symbol,ts,open,high,low,close,volume\n"


def _lake(tmp_path) -> WarehouseResource:
    """A small landed lake: two good minute files, one bad one, one daily file."""
    store = LocalObjectStore(tmp_path / "lake")
    received = datetime(2024, 3, 1, tzinfo=UTC)
    files = {
        ("bars_1m", "a.csv"): HEADER + "BTCUSDT,2024-01-01T00:00:00Z,1,2,0.5,1.5,10\n",
        ("bars_1m", "b.csv"): HEADER + "ETHUSDT,2024-01-01T00:00:00Z,20,21,19,20.5,3\n"
        "ETHUSDT,2024-01-01T00:01:00Z,20.5,21,20,20.7,4\n",
        ("bars_1m", "bad.csv"): HEADER + "BTCUSDT,2024-01-02T00:00:00Z,1,2,0.5,-1,10\n",
        ("bars_1d", "d.csv"): HEADER + "IBM,2024-01-02,100,101,99,100.5,1000\n",
    }
    for (dataset, name), text in files.items():
        land_bytes(store, text.encode(), name, vendor="v", dataset=dataset, received_at=received)
    return WarehouseResource(
        home=str(tmp_path), lake=str(tmp_path / "lake"), duckdb_path=str(tmp_path / "w.duckdb")
    )


def _checks(result) -> dict[tuple[str, str], object]:
    return {
        (e.asset_key.to_user_string(), e.check_name): e
        for e in result.get_asset_check_evaluations()
    }


def test_loading_validates_new_batches_and_reports_them_per_raw_table(tmp_path):
    warehouse = _lake(tmp_path)
    result = materialize([raw_tables], resources={"warehouse": warehouse})
    assert result.success
    checks = _checks(result)
    minute = checks[("raw/bars_1m", "expectations_pass")]
    assert minute.passed
    assert minute.metadata["batches_validated"].value == 2  # the quarantined file is not loaded
    assert minute.metadata["failed_batches"].value == 0
    assert checks[("raw/bars_1d", "expectations_pass")].metadata["batches_validated"].value == 1
    assert checks[("raw/short_interest", "expectations_pass")].passed  # nothing landed
    assert not checks[("raw/bars_1m", "no_quarantined_files")].passed  # the old check stays
    with connect(warehouse.duckdb_path, read_only=True) as conn:
        recorded = conn.execute(
            "select dataset, count(distinct source_file), bool_and(success) "
            "from meta.expectation_results group by 1 order by 1"
        ).fetchall()
    assert recorded == [("bars_1d", 1, True), ("bars_1m", 2, True)]


def test_a_batch_failing_its_suite_fails_the_check_of_its_table_only(tmp_path):
    warehouse = _lake(tmp_path)
    assert materialize([raw_tables], resources={"warehouse": warehouse}).success
    with connect(warehouse.duckdb_path) as conn:
        # Damage one loaded batch behind the loader's back; forget its results so the next
        # run validates it again (a batch is validated when it has no results yet).
        [(key,)] = conn.execute(
            "select key from meta.loaded_files where key like '%/b.csv'"
        ).fetchall()
        conn.execute("update raw.bars_1m set high = low - 1 where _source_file = ?", [key])
        conn.execute("delete from meta.expectation_results where source_file = ?", [key])
    result = materialize([raw_tables], resources={"warehouse": warehouse})
    assert result.success  # the check reports; it does not fail the run
    checks = _checks(result)
    minute = checks[("raw/bars_1m", "expectations_pass")]
    assert not minute.passed
    assert minute.metadata["batches_validated_now"].value == 1
    assert minute.metadata["failed_batches"].value == 1
    failures = minute.metadata["failed_expectations"].value
    high_low = [f for f in failures if f["columns"] == "high,low"]
    assert high_low and high_low[0]["unexpected_rows"] == 2
    assert high_low[0]["example_files"] == [key]
    assert checks[("raw/bars_1d", "expectations_pass")].passed


def test_status_shows_failing_expectations_per_dataset(tmp_path):
    warehouse = _lake(tmp_path)
    assert materialize([raw_tables], resources={"warehouse": warehouse}).success
    with connect(warehouse.duckdb_path) as conn:
        conn.execute(
            "update meta.expectation_results set success = false, unexpected_count = 1 "
            "where dataset = 'bars_1d' and expectation_type = 'expect_column_values_to_be_between'"
        )
    settings = Settings(
        home=tmp_path, lake=warehouse.lake, warehouse_path=Path(warehouse.duckdb_path)
    )
    payload, lines, code = cmd_status(settings, argparse.Namespace(json=True))
    assert code == 0
    assert payload["expectations"]["bars_1m"] == {
        "batches": 2,
        "failed_batches": 0,
        "failed_expectations": 0,
    }
    daily = payload["expectations"]["bars_1d"]
    assert (daily["batches"], daily["failed_batches"]) == (1, 1)
    assert daily["failed_expectations"] == 6  # OHLC, adj_close and volume, in one batch
    assert any(line.split()[:4] == ["bars_1d", "1", "/", "1"] for line in lines)
