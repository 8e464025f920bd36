"""dbt's point-in-time generic test fails on a leaking row (so its pass means something)."""

from __future__ import annotations

import shutil

import pytest

from tests.support.dbt import run_dbt
from warehouse.engines.duckdb import connect

pytestmark = pytest.mark.slow


def _dbt_test(path, work, select: str) -> list[tuple[str, str]]:
    """(unique_id, status) of each dbt test selected, run on the warehouse file `path`."""
    results = run_dbt("test", path, work, select)
    return [(unique_id, r["status"]) for unique_id, r in results.items()]


def test_signal_published_before_its_bar_fails_the_point_in_time_test(demo_settings, tmp_path):
    copy = tmp_path / "leaky.duckdb"
    shutil.copy(demo_settings.duckdb_path, copy)
    work = tmp_path / "dbt"
    clean = _dbt_test(copy, work, "signal_weights,test_name:signal_not_before_inputs")
    assert clean and all(status == "pass" for _, status in clean)
    with connect(copy) as conn:
        conn.execute("""
            update signals.signal_weights
            set signal_timestamp = timestamp
            where (strategy_id, symbol, timestamp) in (
                select strategy_id, symbol, timestamp from signals.signal_weights limit 1)
        """)
    leaky = _dbt_test(copy, work, "signal_weights,test_name:signal_not_before_inputs")
    assert [status for _, status in leaky] == ["fail"]


def test_a_portfolio_target_without_a_cause_fails_its_guard(demo_settings, tmp_path):
    copy = tmp_path / "early.duckdb"
    shutil.copy(demo_settings.duckdb_path, copy)
    work = tmp_path / "dbt"
    select = "stg_backtests__portfolio_targets,test_name:portfolio_target_has_cause"
    clean = _dbt_test(copy, work, select)
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
    early = _dbt_test(copy, work, select)
    assert [status for _, status in early] == ["fail"]
