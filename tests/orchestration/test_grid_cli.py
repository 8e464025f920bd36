"""`signalyard grid` on the demo warehouse: results in the warehouse, and a re-run resumes."""

from __future__ import annotations

import json
import re
from pathlib import Path

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
    report = Path(first["report"])
    page = report.read_text()
    assert report.parent == demo_settings.home / "reports"
    assert "equity-curves" in page and "parameter-heatmap" in page
    assert re.search(r"<script[^>]*\bsrc=", page) is None  # plotly.js inline: works offline
    assert main(args) == 0
    again = json.loads(capsys.readouterr().out)
    assert (again["partitions_computed"], again["partitions_done_before"]) == (
        0,
        first["partitions_total"],
    )


@pytest.mark.slow
def test_the_grid_asset_writes_the_same_run_as_the_cli(demo_settings):
    from dagster import materialize

    from orchestration.assets.grid import research_grid
    from orchestration.definitions import resources_for

    config = {"strategies": ["macd_cci"], "timeframes": ["1h"], "fresh": True}
    result = materialize(
        [research_grid],
        resources=resources_for(demo_settings),
        run_config={"ops": {"backtests__grid": {"config": config}}},
    )
    assert result.success
    [event] = result.get_asset_materialization_events()
    metadata = event.materialization.metadata
    run_id = metadata["run_id"].value
    with connect(demo_settings.duckdb_path, read_only=True) as conn:
        cells = conn.execute(
            "select count(*) from backtests.grid_stats where run_id = ? and timeframe = '1h'",
            [run_id],
        ).fetchall()[0][0]
    assert metadata["cells"].value == cells > 0
    assert metadata["skipped_strategies"].value == 0
