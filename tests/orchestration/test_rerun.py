"""Re-running the graph on the same warehouse is safe and gives the same results."""

from __future__ import annotations

import pytest

from orchestration.run import materialize_graph
from warehouse.engines.duckdb import connect

pytestmark = pytest.mark.slow

TABLES = ("raw.bars_1m", "backtests.trades", "signals.signal_weights", "signals.signal_orders")


def _snapshot(settings):
    with connect(settings.duckdb_path, read_only=True) as conn:
        return {
            t: conn.sql(f"select * exclude (_received_at) from {t} order by all").df()
            if t.startswith("raw.")
            else conn.sql(f"select * from {t} order by all").df()
            for t in TABLES
        }


def test_rerunning_the_whole_graph_changes_nothing(demo_settings):
    before = _snapshot(demo_settings)
    assert materialize_graph(demo_settings, land_sample_data=True).success
    after = _snapshot(demo_settings)
    for table in TABLES:
        assert before[table].equals(after[table]), table
