"""Order events read back from LEAN keep signal_orders.position_status in sync."""

from __future__ import annotations

import shutil

import pytest
from dagster import AssetKey, AssetSelection

from orchestration.replay import replay_at
from orchestration.run import materialize_graph
from warehouse.engines.duckdb import connect
from warehouse.settings import Settings

pytestmark = pytest.mark.slow


def test_position_status_follows_lean_feedback_and_replay_ignores_it(demo_settings, tmp_path):
    settings = Settings(
        home=tmp_path, lake=demo_settings.lake, warehouse_path=tmp_path / "warehouse.duckdb"
    )
    shutil.copy(demo_settings.duckdb_path, settings.duckdb_path)
    with connect(settings.duckdb_path) as conn:
        before = dict(
            conn.sql("select signal_id, position_status from signals.signal_orders").fetchall()
        )
        closed, ts = conn.sql(
            "select signal_id, signal_timestamp from signals.signal_orders "
            "where position_status order by signal_timestamp limit 1"
        ).fetchall()[0]
        conn.execute("create schema lean")
        conn.execute(
            "create table lean.position_status as select ? as signal_id, false as position_status",
            [closed],
        )
    selection = AssetSelection.assets(
        AssetKey(["staging", "stg_lean__position_status"]), AssetKey(["signals", "signal_orders"])
    )
    assert materialize_graph(settings, selection=selection, land_sample_data=False).success
    with connect(settings.duckdb_path, read_only=True) as conn:
        after = dict(
            conn.sql("select signal_id, position_status from signals.signal_orders").fetchall()
        )
    assert after == {**before, closed: False}
    # Execution state is not signal content: the replay still matches at that moment.
    assert replay_at(settings, ts).equal
