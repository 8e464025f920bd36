"""Loading: new manifest entries into the warehouse's raw tables, each batch validated."""

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
from warehouse.expectations import DatasetExpectations, summarize_results, validate_new_batches
from warehouse.loading import ensure_meta, ensure_raw_table, load_new, loader_lock

RAW_KEYS = {name: AssetKey(["raw", name]) for name in DATASETS}
# Failed expectations listed in a check's metadata (the rest are in meta.expectation_results).
LISTED_FAILURES = 20


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
        spec
        for key in RAW_KEYS.values()
        for spec in (
            AssetCheckSpec(
                "no_quarantined_files",
                asset=key,
                description="Every file of this dataset loaded; none went to quarantine.",
            ),
            AssetCheckSpec(
                "expectations_pass",
                asset=key,
                description="Every loaded file of this dataset meets its Great Expectations "
                "suite (results in meta.expectation_results).",
            ),
        )
    ],
)
def raw_tables(
    context: AssetExecutionContext, warehouse: WarehouseResource
) -> Iterator[MaterializeResult | AssetCheckResult]:
    """Load every landed file the warehouse has not seen, then validate each new batch."""
    with loader_lock(warehouse.duckdb_path), warehouse.connect() as conn:
        ensure_meta(conn)
        for dataset in DATASETS.values():
            ensure_raw_table(conn, dataset)
        results = load_new(conn, warehouse.store())
        validations = validate_new_batches(conn)
        expectations = summarize_results(conn)
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
    for validation in validations:
        for failed in validation.failed():
            context.log.warning(
                f"{validation.batch.source_file}: {failed.expectation_type} "
                f"{list(failed.columns)} failed ({failed.unexpected_count} unexpected row(s)"
                f"{', ' + failed.error if failed.error else ''})"
            )
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
        yield _expectations_check(
            key,
            expectations.get(name, DatasetExpectations(name, 0, 0, ())),
            validated_now=sum(v.dataset == name for v in validations),
        )


def _expectations_check(
    key: AssetKey, summary: DatasetExpectations, validated_now: int
) -> AssetCheckResult:
    """Passes when no validated batch of the dataset failed its suite."""
    return AssetCheckResult(
        asset_key=key,
        check_name="expectations_pass",
        passed=summary.passed,
        metadata={
            "batches_validated": summary.batches,
            "batches_validated_now": validated_now,
            "failed_batches": summary.failed_batches,
            "failed_expectations": list(summary.failed_expectations[:LISTED_FAILURES]),
        },
    )
