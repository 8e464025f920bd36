"""`signalyard portfolio` on the demo warehouse: an IS/OOS study that writes no table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestration.cli import main
from warehouse.engines.duckdb import connect

pytestmark = pytest.mark.slow


def _tables(settings) -> dict[str, int]:
    with connect(settings.duckdb_path, read_only=True) as conn:
        names = [
            r[0]
            for r in conn.execute(
                "select table_name from duckdb_tables() where schema_name = 'backtests' "
                "and table_name like 'portfolio%'"
            ).fetchall()
        ]
        return {
            n: conn.execute(f"select count(*) from backtests.{n}").fetchall()[0][0] for n in names
        }


def _run(settings, capsys, *args: str) -> dict:
    assert main(["--home", str(settings.home), "portfolio", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_declared_portfolio_is_studied_without_touching_the_published_tables(
    demo_settings, capsys
):
    before = _tables(demo_settings)
    payload = _run(demo_settings, capsys)
    assert _tables(demo_settings) == before and before["portfolio_targets"] > 0
    assert payload["portfolio"] == "portfolio_main" and payload["source"] == "warehouse"
    assert {row["sample"] for row in payload["summary"]} == {"in_sample", "out_of_sample"}
    assert len(payload["decisions"]) >= 3
    assert set(payload["members"]) <= set(payload["candidates"]) and payload["members"]
    # the study of the declared spec holds what the graph published
    with connect(demo_settings.duckdb_path, read_only=True) as conn:
        published = {
            r[0]
            for r in conn.execute(
                "select distinct candidate_id from backtests.portfolio_weights where signal > 0"
            ).fetchall()
        }
    assert published == set(payload["members"])
    page = Path(payload["report"]).read_text()
    assert "walk-forward" in page and "correlation" in page


def test_flags_override_the_spec(demo_settings, capsys):
    payload = _run(
        demo_settings, capsys, "--method", "max_sharpe", "--train", "10D", "--step", "5D"
    )
    assert payload["method"] == "max_sharpe" and payload["options"] == {}
    assert len(payload["decisions"]) > 6
    target = _run(demo_settings, capsys, "--target-volatility", "0.3", "--allow-cash")
    assert target["method"] == "target_volatility"
    assert target["options"] == {"target": 0.3, "allow_cash": True}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--train", "36h"], "train '36h' must be a positive whole number of days"),
        (["--target-volatility", "0.2", "--target-return", "0.5"], "each set the method"),
        (["--grid", "grid_nope"], "grid run 'grid_nope': no daily equity"),
        (["--method", "best"], "unknown method 'best'"),
    ],
)
def test_bad_requests_exit_2_with_the_reason(demo_settings, capsys, args, message):
    assert main(["--home", str(demo_settings.home), "portfolio", *args]) == 2
    assert message in capsys.readouterr().err


def test_a_grid_runs_candidates_are_studied_with_a_target_volatility(demo_settings, capsys):
    home = ["--home", str(demo_settings.home)]
    grid = ["grid", "--strategies", "macd_cci", "--sampling", "default", "--json"]
    assert main([*home, *grid]) == 0
    run_id = json.loads(capsys.readouterr().out)["run_id"]
    payload = _run(
        demo_settings,
        capsys,
        "--grid",
        run_id,
        "--train",
        "14D",
        "--step",
        "7D",
        "--target-volatility",
        "0.2",
        "--allow-cash",
        "--survivors",
        "returns_only",
    )
    assert payload["source"] == f"grid {run_id}" and len(payload["candidates"]) == 10
    assert len(payload["decisions"]) >= 3 and payload["method"] == "target_volatility"
