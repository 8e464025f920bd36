"""Materializing the asset graph in process (the CLI's `demo`, `build` and `replay`)."""

from __future__ import annotations

import logging
import os
import sys
from contextlib import redirect_stdout
from typing import Any

from dagster import (
    AssetSelection,
    DagsterInstance,
    Definitions,
    ExecuteInProcessResult,
    HookContext,
    define_asset_job,
    success_hook,
)
from tqdm import tqdm

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
    progress: bool = False,
    lean_mode: str = "append",
) -> ExecuteInProcessResult:
    """Run the selected assets (all by default) against one warehouse; raises on failure."""
    run_config = {
        "ops": {
            "lake__raw_files": {"config": {"land_sample_data": land_sample_data}},
            "backtest_tables": {"config": backtest_config or {}},
            "lean__workspace": {"config": {"mode": lean_mode}},
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
    if "lean/workspace" not in keys:
        ops.pop("lean__workspace")
    logging.getLogger("dagster").setLevel(log_level)
    bar = tqdm(desc="materializing", unit="step", disable=not progress, file=sys.stderr)

    @success_hook
    def advance(context: HookContext) -> None:
        bar.set_postfix_str(context.op.name)
        bar.update(1)

    job = define_asset_job("signalyard", selection=selected, hooks={advance})
    definitions = Definitions(assets=ASSETS, jobs=[job], resources=resources_for(settings, as_of))
    job_def = definitions.resolve_job_def("signalyard")
    bar.total = len(job_def.nodes_in_topological_order)
    # dagster-dbt echoes dbt's console output to stdout; keep it in a log, not the summary.
    log = settings.home / "logs" / "dbt.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with DagsterInstance.ephemeral() as instance, log.open("a") as out, redirect_stdout(out):
        try:
            return job_def.execute_in_process(run_config=run_config, instance=instance)
        finally:
            bar.close()
