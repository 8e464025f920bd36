"""Connectors: one UTC day of vendor bars landed in raw/ for every configured symbol."""

from dagster import AssetExecutionContext, Failure, MaterializeResult, MetadataValue, asset

from orchestration.partitions import daily_partitions
from orchestration.resources import WarehouseResource
from warehouse.connectors import registry
from warehouse.connectors.backfill import BackfillResult, backfill
from warehouse.connectors.base import ConnectorError
from warehouse.connectors.config import CONFIG_NAME, read_config


@asset(
    key=["lake", "vendor_bars"],
    group_name="landing",
    kinds={"python", "filesystem"},
    partitions_def=daily_partitions,
)
def vendor_bars(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    """Bars of the connectors in <home>/connectors.yaml for one day, landed in raw/."""
    config_path = warehouse.settings.home / CONFIG_NAME
    window = context.partition_time_window
    store = warehouse.store()
    results: list[BackfillResult] = []
    failures: list[str] = []
    try:
        entries = read_config(config_path)
    except (FileNotFoundError, ValueError) as exc:
        raise Failure(description=str(exc)) from exc
    for entry in entries:
        connector = registry.make_connector(entry.vendor, entry.dataset, exchange=entry.exchange)
        for symbol in entry.symbols:
            try:
                results.append(backfill(connector, store, symbol, window.start, window.end))
            except ConnectorError as exc:
                context.log.error(str(exc))
                failures.append(f"{connector.vendor} {entry.dataset} {symbol}: {exc}")
    rows = [
        f"| {r.vendor} | {r.dataset} | {r.symbol} | {r.files_landed} | {r.bars} |" for r in results
    ]
    metadata = {
        "config": str(config_path),
        "files_landed": sum(r.files_landed for r in results),
        "bars": sum(r.bars for r in results),
        "symbols": MetadataValue.md(
            "| vendor | dataset | symbol | files | bars |\n|---|---|---|---|---|\n"
            + "\n".join(rows)
        ),
    }
    if failures:
        # What landed stays landed (and checkpointed); a retry resumes after it.
        raise Failure(
            description=f"{len(failures)} symbol(s) failed: " + "; ".join(failures),
            metadata=metadata,
        )
    context.log.info(
        f"{context.partition_key}: {metadata['files_landed']} file(s), {metadata['bars']} bar(s)"
    )
    return MaterializeResult(metadata=metadata)
