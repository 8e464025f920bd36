"""dbt's point-in-time generic test fails on a leaking row (so its pass means something)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from warehouse.engines.duckdb import connect
from warehouse.settings import DBT_PROJECT_DIR

pytestmark = pytest.mark.slow


def _dbt_test(path, target, select: str) -> list[tuple[str, str]]:
    """Run `dbt test` in its own process (dbt-duckdb keeps the file open in-process)."""
    subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"),
            "test",
            "--quiet",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(target),
            "--select",
            select,
            "--vars",
            json.dumps({"duckdb_path": str(path)}),
        ],
        env={
            **{k: v for k, v in os.environ.items() if k != "DBT_INDIRECT_SELECTION"},
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    results = json.loads((target / "run_results.json").read_text())["results"]
    return [(r["unique_id"], r["status"]) for r in results]


def test_signal_published_before_its_bar_fails_the_point_in_time_test(demo_settings, tmp_path):
    copy = tmp_path / "leaky.duckdb"
    shutil.copy(demo_settings.duckdb_path, copy)
    target = tmp_path / "dbt"
    clean = _dbt_test(copy, target, "signal_weights,test_name:signal_not_before_inputs")
    assert clean and all(status == "pass" for _, status in clean)
    with connect(copy) as conn:
        conn.execute("""
            update signals.signal_weights
            set signal_timestamp = timestamp
            where (strategy_id, symbol, timestamp) in (
                select strategy_id, symbol, timestamp from signals.signal_weights limit 1)
        """)
    leaky = _dbt_test(copy, target, "signal_weights,test_name:signal_not_before_inputs")
    assert [status for _, status in leaky] == ["fail"]


def test_a_portfolio_target_without_a_cause_fails_its_guard(demo_settings, tmp_path):
    copy = tmp_path / "early.duckdb"
    shutil.copy(demo_settings.duckdb_path, copy)
    target = tmp_path / "dbt"
    select = "stg_backtests__portfolio_targets,test_name:portfolio_target_has_cause"
    clean = _dbt_test(copy, target, select)
    assert [status for _, status in clean] == ["pass"]
    with connect(copy) as conn:
        assert conn.execute("select count(*) from backtests.portfolio_targets").fetchall()[0][0]
        # one target published a second before anything it could have reacted to
        conn.execute("""
            update backtests.portfolio_targets
            set signal_timestamp = signal_timestamp - interval 1 second
            where (symbol, signal_timestamp) in (
                select symbol, signal_timestamp from backtests.portfolio_targets
                order by signal_timestamp limit 1)
        """)
    early = _dbt_test(copy, target, select)
    assert [status for _, status in early] == ["fail"]
