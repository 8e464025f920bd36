"""Publishing: the signal tables exported to a LEAN CLI workspace, and the run report."""

from dagster import AssetKey, Config, MaterializeResult, asset

from orchestration.report import write_report
from orchestration.resources import WarehouseResource
from signals.lean_workspace import export_from_warehouse


class LeanExportConfig(Config):
    """`append` adds only new rows (live algorithms poll the files); `replace` rewrites."""

    mode: str = "append"
    object_store: bool = True


@asset(
    key=["lean", "workspace"],
    deps=[AssetKey(["signals", "signal_weights"]), AssetKey(["signals", "signal_orders"])],
    group_name="publishing",
    kinds={"python", "filesystem"},
)
def lean_workspace(config: LeanExportConfig, warehouse: WarehouseResource) -> MaterializeResult:
    """A LEAN CLI workspace: lean.json, signal files, prices, storage/, the algorithms."""
    with warehouse.connect() as conn:
        export = export_from_warehouse(
            conn,
            warehouse.settings.lean_workspace,
            mode=config.mode,
            object_store=config.object_store,
        )
    return MaterializeResult(
        metadata={
            "path": str(export.workspace),
            "weight_rows_written": export.rows_written,
            "order_rows_written": export.orders_written,
            "price_files": len(export.price_files),
        }
    )


@asset(
    key=["reports", "backtest_report"],
    deps=[
        AssetKey(["marts", "fct_backtest_stats"]),
        AssetKey(["signals", "signal_weights"]),
        AssetKey(["signals", "signal_orders"]),
    ],
    group_name="publishing",
    kinds={"python", "html"},
)
def backtest_report(warehouse: WarehouseResource) -> MaterializeResult:
    """An HTML page: table row counts, statistics per strategy and symbol, selections."""
    with warehouse.connect() as conn:
        path = write_report(conn, warehouse.settings.reports_dir / "report.html")
    return MaterializeResult(metadata={"path": str(path)})
