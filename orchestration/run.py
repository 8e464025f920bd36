"""Materializing the asset graph in process (the CLI's `demo`, `build` and `replay`)."""

from __future__ import annotations

import logging
import os
from typing import Any

from dagster import AssetSelection, DagsterInstance, ExecuteInProcessResult, materialize

from orchestration.definitions import ASSETS, resources_for
from warehouse.settings import Settings

os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")


def materialize_graph(
    settings: Settings,
    *,
    selection: AssetSelection | None = None,
    as_of: str | None = None,
    land_sample_data: bool = True,
    backtest_config: dict[str, Any] | None = None,
    log_level: str = "WARNING",
) -> ExecuteInProcessResult:
    """Run the selected assets (all by default) against one warehouse; raises on failure."""
    run_config = {
        "ops": {
            "lake__raw_files": {"config": {"land_sample_data": land_sample_data}},
            "backtest_tables": {"config": backtest_config or {}},
        },
        "loggers": {"console": {"config": {"log_level": log_level}}},
    }
    selected = selection or AssetSelection.all()
    ops = run_config["ops"]
    keys = {k.to_user_string() for k in selected.resolve(ASSETS)}
    if "lake/raw_files" not in keys:
        ops.pop("lake__raw_files")
    if not keys & {"backtests/trades", "backtests/stats"}:
        ops.pop("backtest_tables")
    logging.getLogger("dagster").setLevel(log_level)
    with DagsterInstance.ephemeral() as instance:
        return materialize(
            ASSETS,
            selection=selected,
            resources=resources_for(settings, as_of),
            run_config=run_config,
            instance=instance,
        )
