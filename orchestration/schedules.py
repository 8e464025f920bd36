"""Schedules: the vendor connectors fetch yesterday's partition every day."""

from dagster import AssetSelection, build_schedule_from_partitioned_job, define_asset_job

from orchestration.assets.connectors import vendor_bars

fetch_vendor_bars_job = define_asset_job(
    "fetch_vendor_bars",
    selection=AssetSelection.assets(vendor_bars),  # daily partitions, from the asset
    description="Land one day of bars from the connectors in <home>/connectors.yaml.",
)

# At 00:30 UTC, for the day that just ended (the last complete partition). Stopped until
# turned on in the UI, since it needs <home>/connectors.yaml and network access.
vendor_bars_schedule = build_schedule_from_partitioned_job(
    fetch_vendor_bars_job, hour_of_day=0, minute_of_hour=30
)
