"""Backtests of the strategy library on every symbol, with point-in-time selection."""

from collections.abc import Iterator

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    Config,
    MaterializeResult,
    multi_asset,
)

from orchestration.resources import WarehouseResource
from signals.pipeline import run_backtests
from signals.selection import PerformanceFilter
from signals.strategy import load_library

TABLES = ("strategy_instances", "trades", "stats", "selections")


class BacktestConfig(Config):
    """Overrides for the library's declarations and the filter's thresholds."""

    take_profit: float | None = None
    # False: only strategies declared `demo: true` (the default; the research library
    # opts out with `demo: false` to keep `signalyard demo` fast); True: the whole library.
    all_strategies: bool = False
    min_trades: int | None = None
    min_sharpe: float | None = None


@multi_asset(
    specs=[
        AssetSpec(
            ["backtests", table],
            group_name="backtests",
            kinds={"python", "duckdb"},
            deps=[AssetKey(["intermediate", "int_bar_features_joined"])],
        )
        for table in TABLES
    ],
)
def backtest_tables(
    context: AssetExecutionContext, config: BacktestConfig, warehouse: WarehouseResource
) -> Iterator[MaterializeResult]:
    """Trades, whole-history statistics and weekly point-in-time filter decisions."""
    strategies = load_library(demo_only=not config.all_strategies)
    if config.take_profit is not None:
        strategies = [s.with_overrides(take_profit=config.take_profit) for s in strategies]
    overrides = {
        k: v
        for k, v in (("min_trades", config.min_trades), ("min_sharpe", config.min_sharpe))
        if v is not None
    }
    performance_filter = PerformanceFilter.load(**overrides)
    with warehouse.connect() as conn:
        summary = run_backtests(conn, strategies, performance_filter)
    context.log.info(f"passed the filter on the whole history: {summary.passed}")
    counts = {
        "strategy_instances": sum(len(s.timeframes) for s in strategies),
        "trades": summary.trades,
        "stats": summary.stats,
        "selections": summary.selections,
    }
    for table in TABLES:
        yield MaterializeResult(asset_key=["backtests", table], metadata={"rows": counts[table]})
