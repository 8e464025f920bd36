"""The `features/udf_features` asset: the DuckDB runner, incremental unless told otherwise.

(The asset lives in orchestration/assets/features.py; it is tested here, beside the runner
it drives.)
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from dagster import materialize
from support.bars import engine_rows, split_partitions

from orchestration.assets.features import udf_features
from orchestration.resources import WarehouseResource
from udfs import output_schema

SOURCE = "intermediate.int_bars_resampled"
NODE = "features__udf_features"


@pytest.fixture
def warehouse(tmp_path: Path) -> WarehouseResource:
    """A warehouse file whose source holds the first 80% of every partition's bars."""
    path = tmp_path / "warehouse.duckdb"
    rows = engine_rows().sort_values(["symbol", "timeframe", "ts"], ignore_index=True)
    old, new = split_partitions(rows)
    with duckdb.connect(str(path)) as conn:
        conn.execute("create schema intermediate")
        conn.register("old_rows", old)
        conn.execute(f"create table {SOURCE} as select * from old_rows")
        conn.register("new_rows", new)
        conn.execute("create table pending as select * from new_rows")
    return WarehouseResource(home=str(tmp_path), lake=str(tmp_path / "lake"), duckdb_path=str(path))


def metadata(result) -> dict:
    """The asset's materialization metadata as plain values."""
    (event,) = result.asset_materializations_for_node(NODE)
    return {key: value.value for key, value in event.metadata.items()}


def test_the_asset_appends_new_bars_and_can_be_told_to_rebuild(warehouse):
    first = metadata(materialize([udf_features], resources={"warehouse": warehouse}))
    assert (first["mode"], first["partitions_computed"]) == ("full", 7)
    with duckdb.connect(warehouse.duckdb_path) as conn:
        new = conn.sql("select count(*) from pending").fetchall()[0][0]
        conn.execute(f"insert into {SOURCE} select * from pending")
    second = metadata(materialize([udf_features], resources={"warehouse": warehouse}))
    assert (second["mode"], second["rows_written"], second["partitions_appended"]) == (
        "incremental",
        new,
        7,
    )
    assert second["rows"] == first["rows"] + new
    config = {"ops": {NODE: {"config": {"full_refresh": True, "workers": 1}}}}
    rebuilt = metadata(
        materialize([udf_features], resources={"warehouse": warehouse}, run_config=config)
    )
    assert (rebuilt["mode"], rebuilt["rows_written"]) == ("full", second["rows"])
    with duckdb.connect(warehouse.duckdb_path) as conn:
        table = conn.sql("select * from features.udf_features").df()
    assert (
        len(table) == second["rows"] and not table.duplicated(["symbol", "timeframe", "ts"]).any()
    )
    assert list(table.columns) == ["symbol", "timeframe", "ts", "available_at", *output_schema()]
