"""Landing: vendor files into the lake's raw/ with a manifest entry each."""

from dagster import AssetExecutionContext, Config, MaterializeResult, asset

from orchestration.resources import WarehouseResource
from warehouse.landing import land_path
from warehouse.manifest import read_manifest
from warehouse.sample_data import write_sample_files


class LandingConfig(Config):
    """Whether to land the bundled sample data too (what `signalyard demo` does)."""

    land_sample_data: bool = False


@asset(key=["lake", "raw_files"], group_name="landing", kinds={"python", "filesystem"})
def lake_raw_files(
    context: AssetExecutionContext, config: LandingConfig, warehouse: WarehouseResource
) -> MaterializeResult:
    """Vendor files landed unchanged in raw/, each recorded in the manifest."""
    store = warehouse.store()
    landed = skipped = 0
    if config.land_sample_data:
        for drop in write_sample_files(warehouse.settings.home / "sample"):
            for result in land_path(store, drop.path, vendor=drop.vendor, dataset=drop.dataset):
                landed += result.landed
                skipped += not result.landed
    entries = read_manifest(store)
    context.log.info(f"landed {landed} new file(s), {skipped} already present")
    return MaterializeResult(
        metadata={
            "files_landed": landed,
            "files_already_landed": skipped,
            "manifest_entries": len(entries),
            "lake": warehouse.lake,
        }
    )
