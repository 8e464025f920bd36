"""Publishing: the signal tables exported to a LEAN CLI workspace, and the run report."""

from dagster import AssetKey, MaterializeResult, asset

from orchestration.report import write_report
from orchestration.resources import WarehouseResource
from signals.lean_export import export_lean_workspace


@asset(
    key=["lean", "workspace"],
    deps=[AssetKey(["signals", "signal_weights"])],
    group_name="publishing",
    kinds={"python", "filesystem"},
)
def lean_workspace(warehouse: WarehouseResource) -> MaterializeResult:
    """A LEAN CLI workspace: lean.json, signal CSVs under data/custom, the algorithms."""
    with warehouse.connect() as conn:
        weights = conn.execute(
            "select * from signals.signal_weights order by signal_timestamp, symbol"
        ).fetchdf()
    export = export_lean_workspace(weights, warehouse.settings.lean_workspace)
    return MaterializeResult(
        metadata={
            "path": str(export.workspace),
            "rows": export.rows_written,
            "files": len(export.signal_files),
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
