"""Backtest every strategy instance on every symbol in the warehouse and write the results."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from signals.backtest import backtest_signals, bar_returns
from signals.selection import PerformanceFilter, select_point_in_time
from signals.stats import STAT_NAMES, periods_per_year_of
from signals.strategy import Strategy
from warehouse.columns import AVAILABLE_AT, BACKTESTS_SCHEMA, SYMBOL, TIMEFRAME, TS
from warehouse.engines.duckdb import replace_table

FEATURES_TABLE = "intermediate.int_bar_features_joined"
_STATS = ", ".join(f"{name} double" for name in STAT_NAMES)
# Declared schemas, so the tables exist with their types even when a run finds no bars.
TABLE_DDL = {
    "strategy_instances": "strategy_id varchar, strategy_name varchar, timeframe varchar, "
    "direction varchar, entry_condition varchar, exit_condition varchar, stoploss double, "
    "take_profit double, position_weight double, fees double, slippage double",
    "trades": "trade_id varchar, strategy_id varchar, symbol varchar, "
    "entry_signal_ts timestamp, entry_signal_available_at timestamp, "
    "entry_signal_close double, entry_at timestamp, entry_price double, "
    "exit_signal_ts timestamp, exit_signal_available_at timestamp, exit_at timestamp, "
    "exit_price double, exit_reason varchar, trade_return double, bars_held double",
    "stats": f"strategy_id varchar, symbol varchar, {_STATS}, passes_filter boolean",
    "selections": f"strategy_id varchar, symbol varchar, decided_at timestamp, {_STATS}, "
    "is_selected boolean",
    # Each bar's strategy return (marked to its close), where not 0: the return streams
    # that portfolio construction allocates between (signals.portfolio_pipeline).
    "bar_returns": "strategy_id varchar, symbol varchar, ts timestamp, available_at timestamp, "
    "bar_return double",
}


@dataclass(frozen=True)
class BacktestSummary:
    """Row counts written and the instances that passed the filter on the whole history."""

    trades: int
    stats: int
    selections: int
    bar_returns: int
    passed: tuple[tuple[str, str], ...]


def _trade_id(strategy_id: str, symbol: str, signal_time: pd.Timestamp) -> str:
    key = f"{strategy_id}|{symbol}|{signal_time.isoformat()}"
    return hashlib.sha256(key.encode()).hexdigest()[:20]


def _partition(
    conn: duckdb.DuckDBPyConnection, table: str, symbol: str, timeframe: str
) -> pd.DataFrame:
    frame = conn.execute(
        f"select * from {table} where {SYMBOL} = ? and {TIMEFRAME} = ? order by {TS}",
        [symbol, timeframe],
    ).fetchdf()
    return frame.set_index(pd.DatetimeIndex(frame[TS]))


def backtest_partition(
    strategy: Strategy,
    bars: pd.DataFrame,
    performance_filter: PerformanceFilter,
    timeframe: str | None = None,
) -> tuple[pd.DataFrame, dict[str, float], pd.DataFrame, np.ndarray]:
    """Trades, whole-history stats, point-in-time selections and per-bar returns."""
    entries, exits = strategy.entry.evaluate(bars), strategy.exit.evaluate(bars)
    if timeframe is None and TIMEFRAME in bars.columns and len(bars):
        timeframe = str(bars[TIMEFRAME].iloc[0])
    ppy = periods_per_year_of(bars.index)
    trades, stats = backtest_signals(
        bars,
        entries,
        exits,
        stoploss=strategy.stoploss,
        take_profit=strategy.take_profit,
        fees=strategy.fees,
        slippage=strategy.slippage,
        direction=strategy.direction,
        periods_per_year=ppy,
        **strategy.backtest_options(timeframe),  # minimal ROI, trailing stop
    )
    sign = 1 if strategy.direction == "long" else -1
    returns = bar_returns(
        trades, bars["close"].to_numpy("float64"), sign, strategy.fees, strategy.slippage
    )
    selections = select_point_in_time(
        bars[AVAILABLE_AT], returns, trades, bars.index, performance_filter, ppy
    )
    return trades, stats, selections, returns


def _bar_return_rows(
    returns: np.ndarray, bars: pd.DataFrame, strategy_id: str, symbol: str
) -> pd.DataFrame:
    """The bars where the instance earned or lost something (in a position)."""
    moved = returns != 0.0
    return pd.DataFrame(
        {
            "strategy_id": strategy_id,
            "symbol": symbol,
            "ts": bars[TS].to_numpy()[moved],
            "available_at": bars[AVAILABLE_AT].to_numpy()[moved],
            "bar_return": returns[moved],
        }
    )


def _trade_rows(
    trades: pd.DataFrame, bars: pd.DataFrame, strategy_id: str, symbol: str
) -> pd.DataFrame:
    available = bars[AVAILABLE_AT].to_numpy()
    close = bars["close"].to_numpy()

    def pick(values: np.ndarray, positions: pd.Series) -> list:
        return [None if pd.isna(p) else values[int(p)] for p in positions]

    return pd.DataFrame(
        {
            "trade_id": [_trade_id(strategy_id, symbol, t) for t in trades["entry_signal_time"]],
            "strategy_id": strategy_id,
            "symbol": symbol,
            "entry_signal_ts": trades["entry_signal_time"],
            "entry_signal_available_at": pick(available, trades["entry_signal_index"]),
            "entry_signal_close": pick(close, trades["entry_signal_index"]),
            "entry_at": trades["entry_time"],
            "entry_price": trades["entry_price"],
            "exit_signal_ts": trades["exit_signal_time"],
            "exit_signal_available_at": pick(available, trades["exit_signal_index"]),
            "exit_at": trades["exit_time"],
            "exit_price": trades["exit_price"],
            "exit_reason": trades["reason"],
            "trade_return": trades["return"],
            "bars_held": trades["bars_held"],
        }
    )


def _instance_rows(strategies: Sequence[Strategy]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "strategy_id": s.instance_id(tf),
                "strategy_name": s.id,
                "timeframe": tf,
                "direction": s.direction,
                "entry_condition": s.entry.bound_text,  # parameters shown by value
                "exit_condition": s.exit.bound_text,
                "stoploss": s.stoploss,
                "take_profit": s.take_profit,
                "position_weight": s.position_weight,
                "fees": s.fees,
                "slippage": s.slippage,
            }
            for s in strategies
            for tf in s.timeframes
        ]
    )


def _write(conn: duckdb.DuckDBPyConnection, name: str, frames: list[pd.DataFrame]) -> int:
    """Replace `backtests.<name>` with the rows of `frames` (rerunnable: never appends)."""
    conn.execute(f"create schema if not exists {BACKTESTS_SCHEMA}")
    return replace_table(conn, f"{BACKTESTS_SCHEMA}.{name}", TABLE_DDL[name], frames)


def run_backtests(
    conn: duckdb.DuckDBPyConnection,
    strategies: Sequence[Strategy],
    performance_filter: PerformanceFilter,
    *,
    features_table: str = FEATURES_TABLE,
) -> BacktestSummary:
    """Backtest each strategy x timeframe x symbol; write trades, stats and selections."""
    columns = [r[0] for r in conn.execute(f"describe {features_table}").fetchall()]
    for strategy in strategies:
        strategy.entry.check_columns(columns)
        strategy.exit.check_columns(columns)
    trade_frames, stat_rows, selection_frames, return_frames = [], [], [], []
    for strategy in strategies:
        for timeframe in strategy.timeframes:
            strategy_id = strategy.instance_id(timeframe)
            symbols = [
                r[0]
                for r in conn.execute(
                    f"select distinct {SYMBOL} from {features_table} where {TIMEFRAME} = ? "
                    f"order by 1",
                    [timeframe],
                ).fetchall()
            ]
            for symbol in symbols:
                bars = _partition(conn, features_table, symbol, timeframe)
                trades, stats, selections, returns = backtest_partition(
                    strategy, bars, performance_filter, timeframe
                )
                trade_frames.append(_trade_rows(trades, bars, strategy_id, symbol))
                return_frames.append(_bar_return_rows(returns, bars, strategy_id, symbol))
                stat_rows.append(
                    {
                        "strategy_id": strategy_id,
                        "symbol": symbol,
                        **stats,
                        "passes_filter": performance_filter.passes(stats),
                    }
                )
                selection_frames.append(selections.assign(strategy_id=strategy_id, symbol=symbol))
    _write(conn, "strategy_instances", [_instance_rows(strategies)])
    trades = _write(conn, "trades", trade_frames)
    stats = _write(conn, "stats", [pd.DataFrame(stat_rows)])
    selections = _write(conn, "selections", selection_frames)
    return_rows = _write(conn, "bar_returns", return_frames)
    passed = tuple((r["strategy_id"], r["symbol"]) for r in stat_rows if r["passes_filter"])
    return BacktestSummary(trades, stats, selections, return_rows, passed)
