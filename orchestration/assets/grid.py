"""The research grid as an asset: strategies x parameter sets x timeframes x symbols."""

from dagster import AssetExecutionContext, AssetKey, Config, MaterializeResult, asset

from orchestration.resources import WarehouseResource
from signals.grid import GridSpec, run_grid_study
from signals.strategy import load_library


class GridConfig(Config):
    """Which strategies (default: the whole library), timeframes, symbols and sampling."""

    strategies: list[str] = []
    timeframes: list[str] = []
    symbols: list[str] = []
    sampling: str = "default"
    samples: int = 0
    seed: int = 0
    fresh: bool = False


@asset(
    key=["backtests", "grid"],
    deps=[AssetKey(["intermediate", "int_bars_resampled"]), AssetKey(["features", "udf_features"])],
    group_name="research",
    kinds={"python", "duckdb"},
)
def research_grid(
    context: AssetExecutionContext, config: GridConfig, warehouse: WarehouseResource
) -> MaterializeResult:
    """backtests.grid_stats/grid_trades/grid_equity of one grid run (resumes a killed run)."""
    library = {s.id: s for s in load_library()}
    wanted = tuple(config.strategies) or tuple(library)
    spec = GridSpec(
        strategies=wanted,
        timeframes=tuple(config.timeframes) or None,
        symbols=tuple(config.symbols) or None,
        sampling=config.sampling,
        samples=config.samples,
        seed=config.seed,
    )
    with warehouse.connect() as conn:
        run = run_grid_study(
            conn,
            spec,
            [library[i] for i in wanted],
            fresh=config.fresh,
            on_partition=lambda s, t, n: context.log.debug(f"{s} {t}: {n} cells"),
        )
    for strategy_id, why in run.skipped.items():
        context.log.warning(f"skipped {strategy_id}: {why}")
    return MaterializeResult(
        metadata={
            "run_id": run.run_id,
            "partitions_computed": run.partitions_computed,
            "partitions_resumed": run.partitions_done_before,
            "cells": run.cells,
            "trades": run.trades,
            "bar_cells": run.bar_cells,
            "skipped_strategies": len(run.skipped),
        }
    )
