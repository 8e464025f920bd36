"""Loading: new manifest entries into the warehouse's raw tables."""

from collections.abc import Iterator

from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    MaterializeResult,
    multi_asset,
)

from orchestration.resources import WarehouseResource
from warehouse.datasets import DATASETS
from warehouse.loading import ensure_meta, ensure_raw_table, load_new

RAW_KEYS = {name: AssetKey(["raw", name]) for name in DATASETS}


@multi_asset(
    specs=[
        AssetSpec(
            key,
            group_name="loading",
            kinds={"python", "duckdb"},
            deps=[AssetKey(["lake", "raw_files"])],
            description=f"raw.{name}: {DATASETS[name].description}",
        )
        for name, key in RAW_KEYS.items()
    ],
    check_specs=[
        AssetCheckSpec(
            "no_quarantined_files",
            asset=key,
            description="Every file of this dataset loaded; none went to quarantine.",
        )
        for key in RAW_KEYS.values()
    ],
)
def raw_tables(
    context: AssetExecutionContext, warehouse: WarehouseResource
) -> Iterator[MaterializeResult | AssetCheckResult]:
    """Load every landed file the warehouse has not seen, one transaction per file."""
    with warehouse.connect() as conn:
        ensure_meta(conn)
        for dataset in DATASETS.values():
            ensure_raw_table(conn, dataset)
        results = load_new(conn, warehouse.store())
        counts = dict(
            conn.execute(
                "select dataset, count(*) filter (where status = 'quarantined') "
                "from meta.loaded_files group by dataset"
            ).fetchall()
        )
        rows = {
            name: conn.execute(f"select count(*) from raw.{name}").fetchall()[0][0]
            for name in DATASETS
        }
    for result in results:
        if result.status == "quarantined":
            context.log.warning(f"quarantined {result.key}: {result.reason}")
    for name, key in RAW_KEYS.items():
        new = [r for r in results if r.dataset == name]
        yield MaterializeResult(
            asset_key=key,
            metadata={
                "rows": rows[name],
                "files_loaded_now": sum(r.status == "loaded" for r in new),
                "files_quarantined_now": sum(r.status == "quarantined" for r in new),
            },
        )
        yield AssetCheckResult(
            asset_key=key,
            check_name="no_quarantined_files",
            passed=counts.get(name, 0) == 0,
            metadata={"quarantined_files": counts.get(name, 0)},
        )
