"""The Dagster code location loads and holds every step of the data flow."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dagster import AssetKey

from orchestration.definitions import defs

REPO = Path(__file__).resolve().parents[2]


def test_every_step_of_the_flow_is_an_asset():
    keys = {k.to_user_string() for k in defs.resolve_all_asset_keys()}
    expected = {
        "lake/raw_files",
        "raw/bars_1m",
        "raw/bars_1d",
        "raw/short_interest",
        "staging/stg_raw__bars_1m",
        "intermediate/int_bars_resampled",
        "features/udf_features",
        "intermediate/int_bar_features_joined",
        "backtests/trades",
        "marts/fct_trades",
        "marts/fct_backtest_stats",
        "signals/signal_weights",
        "signals/signal_orders",
        "lean/workspace",
        "reports/backtest_report",
    }
    assert expected <= keys


def test_dbt_sources_link_to_the_python_assets_upstream():
    graph = defs.resolve_asset_graph()
    node = graph.get(AssetKey(["staging", "stg_features__udf_features"]))
    assert {k.to_user_string() for k in node.parent_keys} == {"features/udf_features"}


def test_dbt_tests_are_asset_checks():
    checks = {k.name for k in defs.resolve_asset_graph().asset_check_keys}
    assert any(name.startswith("signal_not_before_inputs") for name in checks)
    assert any(name.startswith("unique_combination_of_columns") for name in checks)


def test_dagster_definitions_validate_passes():
    env = {**os.environ, "DAGSTER_HOME": str(REPO)}
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "dagster"),
            "definitions",
            "validate",
            "-m",
            "orchestration.definitions",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
