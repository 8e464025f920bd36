"""The Dagster code location: every step of the data flow as an asset, one main job."""

from __future__ import annotations

from dagster import AssetSelection, Definitions, define_asset_job

from orchestration.assets.backtests import backtest_tables, portfolio_tables
from orchestration.assets.connectors import vendor_bars
from orchestration.assets.dbt import dbt_bars, dbt_features, dbt_results
from orchestration.assets.features import udf_features
from orchestration.assets.grid import research_grid
from orchestration.assets.landing import lake_raw_files
from orchestration.assets.loading import raw_tables
from orchestration.assets.publishing import backtest_report, lean_workspace
from orchestration.resources import WarehouseResource, dbt_resource
from orchestration.schedules import fetch_vendor_bars_job, vendor_bars_schedule
from orchestration.sensors import load_raw_job, raw_files_sensor
from warehouse.settings import Settings

ASSETS = [
    lake_raw_files,
    raw_tables,
    dbt_bars,
    udf_features,
    dbt_features,
    backtest_tables,
    portfolio_tables,
    dbt_results,
    lean_workspace,
    backtest_report,
]

# The research grid runs on demand (job `research_grid`), never in `main` or the demo.
research_grid_job = define_asset_job(
    "research_grid",
    selection=AssetSelection.assets(research_grid),
    description="Backtest strategies x parameters x timeframes x symbols (resumable).",
)

# The vendor connectors (network, daily partitions) run on their own schedule, not in `main`.
main_job = define_asset_job(
    "main",
    selection=AssetSelection.all() - AssetSelection.assets(vendor_bars, research_grid),
    description="Land, load, build, backtest, publish.",
)


def resources_for(settings: Settings, as_of: str | None = None) -> dict[str, object]:
    """The resources for one warehouse (the batch one, or a replay scratch)."""
    return {"warehouse": WarehouseResource.from_settings(settings, as_of), "dbt": dbt_resource()}


defs = Definitions(
    assets=[*ASSETS, vendor_bars, research_grid],
    jobs=[main_job, load_raw_job, fetch_vendor_bars_job, research_grid_job],
    schedules=[vendor_bars_schedule],
    sensors=[raw_files_sensor],
    resources=resources_for(Settings.from_env()),
)
