"""Backtests of the strategy library on every symbol, point-in-time selection, and the
declared portfolios built from them."""

from collections.abc import Iterator

import pandas as pd
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
from signals.portfolio_pipeline import build_declared_portfolio, load_portfolios, write_portfolios
from signals.selection import PerformanceFilter
from signals.strategy import load_library

TABLES = ("strategy_instances", "trades", "stats", "selections", "bar_returns")
PORTFOLIO_TABLES = (
    "portfolio_weights",
    "portfolio_targets",
    "portfolio_windows",
    "portfolio_returns",
)


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
        "bar_returns": summary.bar_returns,
    }
    for table in TABLES:
        yield MaterializeResult(asset_key=["backtests", table], metadata={"rows": counts[table]})


@multi_asset(
    specs=[
        AssetSpec(
            ["backtests", table],
            group_name="backtests",
            kinds={"python", "duckdb"},
            deps=[
                AssetKey(["backtests", "strategy_instances"]),
                AssetKey(["backtests", "trades"]),
                AssetKey(["backtests", "bar_returns"]),
                AssetKey(["intermediate", "int_bar_features_joined"]),
            ],
        )
        for table in PORTFOLIO_TABLES
    ],
)
def portfolio_tables(
    context: AssetExecutionContext, warehouse: WarehouseResource
) -> Iterator[MaterializeResult]:
    """Walk-forward allocations and per-symbol targets of every declared portfolio.

    Decisions run up to the warehouse's cut-off (the replay's as-of, else now), each from
    what was known when it was taken (docs/portfolios.md, "In the pipeline").
    """
    as_of = pd.Timestamp(warehouse.as_of) if warehouse.as_of else pd.Timestamp.now("UTC")
    specs = load_portfolios()
    with warehouse.connect() as conn:
        runs = [build_declared_portfolio(conn, spec, as_of) for spec in specs]
        counts = write_portfolios(conn, runs)
    for run in runs:
        if run.result is None:
            context.log.info(f"{run.spec.id}: the data does not cover one train window yet")
            continue
        windows, _, summary = run.diagnostics()
        context.log.info(
            f"{run.spec.id}: {len(windows)} decisions over the data; out-of-sample Sharpe "
            f"{summary.at['out_of_sample', 'sharpe']:.2f} vs in-sample "
            f"{summary.at['in_sample', 'sharpe']:.2f}"
        )
    for table in PORTFOLIO_TABLES:
        yield MaterializeResult(
            asset_key=["backtests", table],
            metadata={"rows": counts[table], "portfolios": [s.id for s in specs]},
        )
