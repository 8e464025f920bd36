"""Feature UDFs computed on the warehouse engine, read back by dbt as a source."""

from dagster import AssetKey, MaterializeResult, asset

from orchestration.resources import WarehouseResource
from udfs.runners.duckdb import run_features


@asset(
    key=["features", "udf_features"],
    deps=[AssetKey(["intermediate", "int_bars_resampled"])],
    group_name="features",
    kinds={"python", "duckdb"},
)
def udf_features(warehouse: WarehouseResource) -> MaterializeResult:
    """RSI, MACD and CCI per symbol, timeframe and bar (pure pandas/numpy UDFs)."""
    with warehouse.connect() as conn:
        rows = run_features(conn)
    return MaterializeResult(metadata={"rows": rows})
