"""The research grid: strategies x parameter sets x timeframes x symbols, resumable.

Work is streamed one (symbol, timeframe) partition at a time: its bars and features
are read once, every (strategy, parameter set) becomes one signal column, and the
numba kernel (`signals.kernel.run_grid`, parallel over cells on every core)
simulates them together. A partition's trades, statistics and daily equity curves
are written in one transaction together with its row in `backtests.grid_partitions`,
so a killed grid continues where it stopped: a committed partition is never computed
again and an uncommitted one leaves nothing behind. Memory is bounded by one
partition's features and signals, whatever the universe size.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

import duckdb
import numpy as np
import pandas as pd

from signals.expressions import ExpressionError
from signals.kernel import REASONS, BacktestParams, Prices, run_grid
from signals.stats import STAT_NAMES, grid_daily_equity, grid_stats
from signals.strategy import Strategy
from warehouse.columns import SYMBOL, TIMEFRAME, TS
from warehouse.engines.duckdb import insert_frame

SCHEMA = "backtests"
# Bars with every feature (SQL, UDF, alternative data): what the backtests read.
DEFAULT_SOURCE = "select * from intermediate.int_bar_features_joined"
_STATS_DDL = ", ".join(f"{name} double" for name in STAT_NAMES)
TABLE_DDL = {
    "grid_runs": "run_id varchar primary key, created_at timestamp, spec varchar, "
    "partitions bigint, cells_per_symbol bigint",
    "grid_partitions": "run_id varchar, symbol varchar, timeframe varchar, cells bigint, "
    "trades bigint, skipped varchar, finished_at timestamp, "
    "primary key (run_id, symbol, timeframe)",
    "grid_stats": "run_id varchar, strategy_id varchar, strategy varchar, timeframe varchar, "
    f"symbol varchar, parameters varchar, {_STATS_DDL}",
    "grid_trades": "run_id varchar, strategy_id varchar, symbol varchar, timeframe varchar, "
    "entry_signal_time timestamp, entry_time timestamp, entry_price double, "
    "exit_time timestamp, exit_price double, reason varchar, return double, bars_held bigint",
    "grid_equity": "run_id varchar, strategy_id varchar, symbol varchar, timeframe varchar, "
    "day date, equity double",
}


@dataclass(frozen=True)
class GridSpec:
    """What a grid run covers; its hash is the run id, so the same spec resumes the same run.

    `sampling` is "default" (each strategy's declared values), "grid" (every combination
    of the parameter grid) or "random" (`samples` seeded Monte Carlo draws per strategy).
    """

    strategies: tuple[str, ...]
    timeframes: tuple[str, ...] | None = None
    symbols: tuple[str, ...] | None = None
    sampling: str = "default"
    samples: int = 0
    seed: int = 0
    source: str = DEFAULT_SOURCE
    overrides: tuple[tuple[str, float], ...] = field(default=())

    def __post_init__(self) -> None:
        """Reject an unknown sampling mode or a random sampling without a sample count."""
        if self.sampling not in ("default", "grid", "random"):
            raise ValueError(f"sampling {self.sampling!r} must be default, grid or random")
        if self.sampling == "random" and self.samples < 1:
            raise ValueError("random sampling needs samples >= 1")

    @property
    def run_id(self) -> str:
        """A stable id of this spec (the same spec resumes the same run)."""
        text = json.dumps(asdict(self), sort_keys=True, default=list)
        return "grid_" + hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Variant:
    """One signal column: a strategy instance with its parameter values and kernel params."""

    strategy: Strategy
    timeframe: str
    parameters: dict[str, float]
    params: BacktestParams

    @property
    def strategy_id(self) -> str:
        """The instance id, e.g. `rsi_reversion_1h_p1a2b3c4d`."""
        return self.strategy.instance_id(self.timeframe)


@dataclass(frozen=True)
class GridRun:
    """What a run did: partitions computed now, resumed (already done) and skipped strategies."""

    run_id: str
    partitions_total: int
    partitions_done_before: int
    partitions_computed: int
    cells: int
    trades: int
    bar_cells: int
    skipped: dict[str, str]


def parameter_sets(strategy: Strategy, spec: GridSpec) -> list[dict[str, float]]:
    """The parameter sets one strategy runs with under `spec`'s sampling."""
    if spec.sampling == "grid" and strategy.parameters:
        return strategy.parameter_grid()
    if spec.sampling == "random" and strategy.parameters:
        return strategy.sample_parameters(spec.samples, spec.seed)
    return [dict(strategy.parameter_values)]


def variants(strategies: Sequence[Strategy], timeframe: str, spec: GridSpec) -> list[Variant]:
    """Every (strategy, parameter set) column that runs on `timeframe`."""
    overrides = dict(spec.overrides)
    out = []
    for base in strategies:
        if timeframe not in base.timeframes:
            continue
        for values in parameter_sets(base, spec):
            strategy = base.with_parameters(**values) if values else base
            if overrides:
                strategy = strategy.with_overrides(**overrides)
            params = BacktestParams(
                direction=strategy.direction,
                stoploss=strategy.stoploss,
                take_profit=strategy.take_profit,
                fees=strategy.fees,
                slippage=strategy.slippage,
                **strategy.backtest_options(timeframe),
            )
            out.append(Variant(strategy, timeframe, dict(values), params))
    return out


def ensure_tables(conn: duckdb.DuckDBPyConnection) -> None:
    """Create the grid tables if needed."""
    conn.execute(f"create schema if not exists {SCHEMA}")
    for name, ddl in TABLE_DDL.items():
        conn.execute(f"create table if not exists {SCHEMA}.{name} ({ddl})")


def _partitions(conn: duckdb.DuckDBPyConnection, spec: GridSpec) -> list[tuple[str, str]]:
    rows = conn.execute(
        f"select distinct {SYMBOL}, {TIMEFRAME} from ({spec.source}) order by all"
    ).fetchall()
    wanted_tf = set(spec.timeframes) if spec.timeframes else None
    wanted_sym = set(spec.symbols) if spec.symbols else None
    return [
        (symbol, timeframe)
        for symbol, timeframe in rows
        if (wanted_tf is None or timeframe in wanted_tf)
        and (wanted_sym is None or symbol in wanted_sym)
    ]


def _read(conn: duckdb.DuckDBPyConnection, spec: GridSpec, symbol: str, tf: str) -> pd.DataFrame:
    frame = conn.execute(
        f"select * from ({spec.source}) where {SYMBOL} = ? and {TIMEFRAME} = ? order by {TS}",
        [symbol, tf],
    ).fetchdf()
    return frame.set_index(pd.DatetimeIndex(frame[TS]))


def _signals(frame: pd.DataFrame, columns: list[Variant], skipped: dict[str, str]):
    """Entry and exit matrices of the variants whose columns exist; the variants kept."""
    kept, entries, exits = [], [], []
    for variant in columns:
        try:
            variant.strategy.check_columns(frame.columns)
        except ExpressionError as exc:
            skipped[variant.strategy.id] = str(exc)
            continue
        kept.append(variant)
        entries.append(variant.strategy.entry.evaluate(frame).to_numpy(dtype=bool))
        exits.append(variant.strategy.exit.evaluate(frame).to_numpy(dtype=bool))
    if not kept:
        return kept, None, None
    return kept, np.column_stack(entries), np.column_stack(exits)


def _results(run_id: str, symbol: str, tf: str, frame: pd.DataFrame, kept: list[Variant], ent, ex):
    prices = Prices.from_frames([frame])
    params = [v.params for v in kept]
    result = run_grid(prices, ent, ex, params)
    index = pd.DatetimeIndex(frame.index)
    stats = grid_stats(result, prices, index, params).reset_index(drop=True)
    ids = [v.strategy_id for v in kept]
    stats.insert(0, "parameters", [json.dumps(v.parameters, sort_keys=True) for v in kept])
    stats.insert(0, SYMBOL, symbol)
    stats.insert(0, TIMEFRAME, tf)
    stats.insert(0, "strategy", [v.strategy.id for v in kept])
    stats.insert(0, "strategy_id", ids)
    stats.insert(0, "run_id", run_id)
    cells = result.cell
    times = index.tz_localize(None) if index.tz is not None else index

    def at(positions: np.ndarray) -> pd.Series:
        valid = positions >= 0
        out = pd.Series(pd.NaT, index=range(len(positions)), dtype="datetime64[us]")
        out[valid] = times[positions[valid]]
        return out

    trades = pd.DataFrame(
        {
            "run_id": run_id,
            "strategy_id": np.asarray(ids, dtype=object)[cells % result.columns],
            SYMBOL: symbol,
            TIMEFRAME: tf,
            "entry_signal_time": at(result.entry_signal),
            "entry_time": at(result.entry),
            "entry_price": result.entry_price,
            "exit_time": at(result.exit),
            "exit_price": result.exit_price,
            "reason": np.asarray(REASONS, dtype=object)[result.reason],
            "return": result.ret,
            "bars_held": np.where(
                (result.exit >= 0) & (result.entry >= 0), result.exit - result.entry, -1
            ),
        }
    )
    trades["bars_held"] = trades["bars_held"].where(trades["bars_held"] >= 0).astype("Int64")
    equity = grid_daily_equity(result, prices, index, params, 0)
    equity.columns = ids
    equity.index = pd.DatetimeIndex(equity.index).date
    curves = (
        equity.rename_axis("day")
        .reset_index()
        .melt(id_vars="day", var_name="strategy_id", value_name="equity")
    )
    curves.insert(0, "run_id", run_id)
    curves.insert(2, SYMBOL, symbol)
    curves.insert(3, TIMEFRAME, tf)
    return stats, trades, curves


def run_grid_study(
    conn: duckdb.DuckDBPyConnection,
    spec: GridSpec,
    strategies: Sequence[Strategy],
    *,
    fresh: bool = False,
    progress: bool = False,
    on_partition: Callable[[str, str, int], None] | None = None,
) -> GridRun:
    """Run (or continue) the grid described by `spec` over `strategies`; see the module doc."""
    ensure_tables(conn)
    run_id = spec.run_id
    if fresh:
        for table in TABLE_DDL:
            conn.execute(f"delete from {SCHEMA}.{table} where run_id = ?", [run_id])
    partitions = _partitions(conn, spec)
    done = {
        (s, t)
        for s, t in conn.execute(
            f"select symbol, timeframe from {SCHEMA}.grid_partitions where run_id = ?", [run_id]
        ).fetchall()
    }
    per_tf = {tf: variants(strategies, tf, spec) for tf in {t for _, t in partitions}}
    conn.execute(
        f"insert into {SCHEMA}.grid_runs values (?, ?, ?, ?, ?) on conflict do nothing",
        [
            run_id,
            datetime.now(UTC).replace(tzinfo=None),
            json.dumps(asdict(spec), sort_keys=True, default=list),
            len(partitions),
            sum(len(v) for v in per_tf.values()),
        ],
    )
    todo = [p for p in partitions if p not in done]
    skipped: dict[str, str] = {}
    cells = trades = bar_cells = 0
    for symbol, tf in _progress(todo, progress):
        frame = _read(conn, spec, symbol, tf)
        kept, ent, ex = _signals(frame, per_tf[tf], skipped) if len(frame) else ([], None, None)
        conn.execute("begin transaction")
        try:
            count = 0
            if kept:
                stats, trade_rows, curves = _results(run_id, symbol, tf, frame, kept, ent, ex)
                insert_frame(conn, f"{SCHEMA}.grid_stats", stats)
                insert_frame(conn, f"{SCHEMA}.grid_trades", trade_rows)
                insert_frame(conn, f"{SCHEMA}.grid_equity", curves)
                count = len(trade_rows)
            conn.execute(
                f"insert into {SCHEMA}.grid_partitions values (?, ?, ?, ?, ?, ?, ?)",
                [
                    run_id, symbol, tf, len(kept), count,
                    json.dumps(sorted(skipped)) if skipped else None,
                    datetime.now(UTC).replace(tzinfo=None),
                ],
            )  # fmt: skip
            conn.execute("commit")
        except BaseException:
            conn.execute("rollback")
            raise
        cells += len(kept)
        trades += count
        bar_cells += len(kept) * len(frame)
        if on_partition is not None:
            on_partition(symbol, tf, len(kept))
    return GridRun(run_id, len(partitions), len(done), len(todo), cells, trades, bar_cells, skipped)


def _progress(items: list[tuple[str, str]], enabled: bool) -> Iterator[tuple[str, str]]:
    if not enabled:
        return iter(items)
    from tqdm import tqdm

    return iter(tqdm(items, desc="grid", unit="partition", leave=False))


def grid_frames(conn: duckdb.DuckDBPyConnection, run_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A run's stats (index `strategy_id|symbol`) and daily returns (one column per cell)."""
    stats = conn.execute(
        f"select * from {SCHEMA}.grid_stats where run_id = ? order by strategy_id, symbol",
        [run_id],
    ).fetchdf()
    stats.index = pd.Index(stats["strategy_id"] + "|" + stats[SYMBOL], name="candidate")
    equity = conn.execute(
        f"select strategy_id || '|' || symbol as candidate, day, equity "
        f"from {SCHEMA}.grid_equity where run_id = ? order by day",
        [run_id],
    ).fetchdf()
    curves = equity.pivot(index="day", columns="candidate", values="equity")
    curves.index = pd.DatetimeIndex(curves.index).tz_localize(UTC)
    returns = curves.pct_change().iloc[1:]
    return stats, returns.reindex(columns=stats.index)


def write_run_report(
    conn: duckdb.DuckDBPyConnection, run_id: str, path, *, train: str = "14D", step: str = "7D"
):
    """The run's HTML report (signals.report_grid), with a greedy walk-forward when it fits."""
    from signals.report_grid import write_grid_report
    from signals.selection import PerformanceFilter
    from signals.walk_forward import walk_forward

    stats, returns = grid_frames(conn, run_id)
    if stats.empty:
        return None
    library_filter = PerformanceFilter.load()
    floors = library_filter.floors()
    survivors = [
        c
        for c in stats.index
        if all(pd.notna(stats.at[c, k]) and stats.at[c, k] >= v for k, v in floors.items())
    ]
    result = None
    days = returns.index.max() - returns.index.min() if len(returns) else pd.Timedelta(0)
    if days > pd.Timedelta(train) + pd.Timedelta(step) and len(returns.columns) > 1:
        result = walk_forward(returns.fillna(0.0), train=train, step=step, method="greedy")
    return write_grid_report(
        path,
        stats,
        returns.fillna(0.0),
        result,
        survivors=[c for c in survivors if c in returns.columns] or None,
        title=f"signalyard grid {run_id}",
    )
