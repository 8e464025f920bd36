"""`signalyard grid` on the demo warehouse: results in the warehouse, and a re-run resumes."""

from __future__ import annotations

import json

import pytest

from orchestration.cli import main
from warehouse.engines.duckdb import connect


@pytest.mark.slow
def test_grid_runs_the_library_strategy_on_every_partition_and_resumes(demo_settings, capsys):
    home = ["--home", str(demo_settings.home)]
    args = [*home, "grid", "--strategies", "macd_cci", "--sampling", "default", "--json"]
    assert main([*args, "--fresh"]) == 0
    first = json.loads(capsys.readouterr().out)
    with connect(demo_settings.duckdb_path, read_only=True) as conn:
        partitions = conn.execute(
            "select count(*) from (select distinct symbol, timeframe "
            "from intermediate.int_bars_resampled where timeframe in ('5m', '1h'))"
        ).fetchall()[0][0]
        stats = conn.execute(
            "select count(*), count(distinct (strategy_id, symbol)) from backtests.grid_stats "
            "where run_id = ?",
            [first["run_id"]],
        ).fetchall()[0]
        trades = conn.execute(
            "select count(*) from backtests.grid_trades where run_id = ?", [first["run_id"]]
        ).fetchall()[0][0]
    assert first["skipped"] == {}
    assert first["cells"] == stats[0] == stats[1] == partitions
    assert first["trades"] == trades > 0
    assert main(args) == 0
    again = json.loads(capsys.readouterr().out)
    assert (again["partitions_computed"], again["partitions_done_before"]) == (
        0,
        first["partitions_total"],
    )
