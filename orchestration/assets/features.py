"""Feature UDFs computed on the warehouse engine, read back by dbt as a source."""

from dagster import AssetExecutionContext, AssetKey, Config, MaterializeResult, asset

from orchestration.resources import WarehouseResource
from udfs.runners import duckdb as duckdb_runner
from udfs.runners import runner_for


class UdfFeaturesConfig(Config):
    """How to bring the feature table up to date."""

    full_refresh: bool = False  # recompute every partition instead of appending new bars
    workers: int | None = None  # None: up to one per CPU if it pays off; 1: in this process


@asset(
    key=["features", "udf_features"],
    deps=[AssetKey(["intermediate", "int_bars_resampled"])],
    group_name="features",
    kinds={"python", "duckdb"},
)
def udf_features(
    context: AssetExecutionContext, config: UdfFeaturesConfig, warehouse: WarehouseResource
) -> MaterializeResult:
    """Registered feature UDFs per symbol, timeframe and bar, appending only new bars."""
    target = warehouse.settings.target
    if runner_for(target) is not duckdb_runner.run_features:
        raise ValueError(
            f"the udf_features asset runs on the duckdb target, not {target!r}; run "
            f"udfs.runners.{target}.run_features against that engine (docs/engines.md)"
        )
    with warehouse.connect() as conn:
        run = duckdb_runner.materialize_features(
            conn, incremental=not config.full_refresh, workers=config.workers
        )
        rows = conn.sql("select count(*) from features.udf_features").fetchall()[0][0]
    context.log.info(f"udf_features: {run.mode} run ({run.reason or 'history unchanged'})")
    return MaterializeResult(
        metadata={
            "rows": rows,
            "mode": run.mode,
            "rows_written": run.rows_written,
            "rows_deleted": run.rows_deleted,
            "rows_computed": run.rows_computed,
            "partitions_computed": run.partitions_computed,
            "partitions_appended": run.partitions_appended,
            "partitions_repaired": run.partitions_repaired,
            "partitions_unchanged": run.partitions_unchanged,
        }
    )
