"""Declared portfolios as point-in-time signal rows (docs/portfolios.md, "In the pipeline").

The candidates are the backtested (strategy instance, symbol) pairs; their return streams
are the per-bar returns `run_backtests` writes to `backtests.bar_returns`.

Timing, so that a replay cut at any T rebuilds exactly the rows published by T:
- a bar's return is known at its `available_at`. Returns are compounded into
  *knowledge days*: the row labelled k holds the bars with available_at in
  (k + grace, k + 1 day + grace]. A stream is NaN before its candidate's first bar and 0
  on later days without a known bar (in replay, "no bar yet" and "flat" look the same);
- a decision at the day boundary D is taken at D + grace from the rows labelled before D,
  which are exactly the bars available by then; its weights are published at
  D + grace + latency (walk_forward's valid_from);
- decisions run up to the pipeline's as-of (the replay's cut-off, else now), so whether a
  decision exists never depends on data arriving after it;
- a symbol's target weight is the sum over its allocated candidates of
  allocation x direction x in-position, where in-position follows the candidate's
  published entries and exits (the signal bar's available_at + latency), as LEAN sees them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from functools import cached_property
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import yaml

from signals.portfolio import METHODS, SURVIVOR_PRESETS, survivor_filter
from signals.selection import PerformanceFilter
from signals.walk_forward import (
    CANDIDATE_SEPARATOR,
    DEFAULT_LATENCY,
    PORTFOLIO_WEIGHTS_DDL,
    PORTFOLIO_WEIGHTS_TABLE,
    WEIGHT_COLUMNS,
    WalkForwardResult,
    naive_utc_columns,
    summarize,
    walk_forward,
    weights_to_signal_rows,
)
from warehouse.columns import (
    AVAILABLE_AT,
    BACKTESTS_SCHEMA,
    SIGNAL,
    SIGNAL_TIMESTAMP,
    SIGNAL_WEIGHTS_COLUMNS,
    STRATEGY_ID,
    SYMBOL,
    TIMEFRAME,
    TIMESTAMP,
)
from warehouse.engines.duckdb import replace_table

PORTFOLIO_DIR = Path(__file__).parent / "library" / "portfolios"
FEATURES_TABLE = "intermediate.int_bar_features_joined"
DAY = pd.Timedelta(days=1)
PERIODS_PER_YEAR = 365.25  # knowledge-day rows are calendar days
TARGETS_TABLE = f"{BACKTESTS_SCHEMA}.portfolio_targets"
WINDOWS_TABLE = f"{BACKTESTS_SCHEMA}.portfolio_windows"
RETURNS_TABLE = f"{BACKTESTS_SCHEMA}.portfolio_returns"
WINDOW_COLUMNS = (
    "decided_at",
    "valid_from",
    "valid_to",
    "candidates",
    "survivors",
    "members",
    "in_sample_sharpe",
    "in_sample_total_return",
    "out_of_sample_sharpe",
    "out_of_sample_total_return",
    "turnover",
)
TABLE_DDL = {
    PORTFOLIO_WEIGHTS_TABLE: PORTFOLIO_WEIGHTS_DDL,
    TARGETS_TABLE: "symbol varchar, signal_timestamp timestamp, timestamp timestamp, "
    "signal double, strategy_id varchar",
    WINDOWS_TABLE: "portfolio_id varchar, decided_at timestamp, valid_from timestamp, "
    "valid_to timestamp, candidates bigint, survivors bigint, members bigint, "
    "in_sample_sharpe double, in_sample_total_return double, "
    "out_of_sample_sharpe double, out_of_sample_total_return double, turnover double",
    RETURNS_TABLE: "portfolio_id varchar, day timestamp, in_sample double, out_of_sample double",
}
_TOLERANCE = 1e-12  # target changes smaller than this are optimiser noise, not a new row


@dataclass(frozen=True)
class PortfolioSpec:
    """One declared portfolio: how and how often its members and weights are chosen."""

    id: str
    description: str = ""
    method: str = "greedy"
    options: dict[str, Any] = field(default_factory=dict)  # build_portfolio options
    train: str = "14D"
    step: str = "7D"
    test: str | None = None
    survivors: str | None = "returns_only"  # a signals.portfolio.SURVIVOR_PRESETS name
    thresholds: dict[str, float | None] = field(default_factory=dict)  # preset overrides
    min_coverage: float = 0.9
    grace: str = "1min"
    latency: str = str(DEFAULT_LATENCY)

    def __post_init__(self) -> None:
        source = f"portfolio {self.id!r}"
        if not self.id or CANDIDATE_SEPARATOR in self.id:
            raise ValueError(f"{source}: id must be non-empty without {CANDIDATE_SEPARATOR!r}")
        for name in ("train", "step", "test"):
            value = getattr(self, name)
            if value is None:
                continue
            span = pd.Timedelta(value)
            if span <= pd.Timedelta(0) or span % DAY:
                raise ValueError(
                    f"{source}: {name} {value!r} must be a positive whole number of days "
                    "(decisions fall on day boundaries, see docs/portfolios.md)"
                )
        for name in ("grace", "latency"):
            if pd.Timedelta(getattr(self, name)) < pd.Timedelta(0):
                raise ValueError(f"{source}: {name} must not be negative")
        if pd.Timedelta(self.grace) >= DAY:
            raise ValueError(f"{source}: grace {self.grace!r} must be under a day")
        if self.method not in METHODS:
            raise ValueError(f"{source}: unknown method {self.method!r}; known: {sorted(METHODS)}")
        if self.survivors is not None and self.survivors not in SURVIVOR_PRESETS:
            raise ValueError(
                f"{source}: unknown survivors preset {self.survivors!r}; "
                f"known: {sorted(SURVIVOR_PRESETS)}"
            )
        self.performance_filter()  # unknown thresholds fail here, at load time

    @classmethod
    def load(cls, path: Path) -> PortfolioSpec:
        """A spec from YAML; unknown keys are an error naming the file."""
        values = yaml.safe_load(Path(path).read_text()) or {}
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"{path}: unknown key(s) {unknown}; known: {sorted(known)}")
        try:
            return cls(**values)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{path}: {error}") from error

    def walk(self, returns: pd.DataFrame, latency: pd.Timedelta) -> WalkForwardResult:
        """This spec's walk-forward over daily candidate `returns`, published `latency` after
        each decision."""
        return walk_forward(
            returns,
            train=self.train,
            step=self.step,
            test=self.test,
            latency=latency,
            performance_filter=self.performance_filter(),
            method=self.method,
            min_coverage=self.min_coverage,
            periods_per_year=PERIODS_PER_YEAR,
            **self.options,
        )

    def performance_filter(self) -> PerformanceFilter | None:
        """The survivor filter each window applies (None: every covered candidate)."""
        if self.survivors is None:
            return None
        return survivor_filter(self.survivors, **self.thresholds)


def load_portfolios(directory: Path = PORTFOLIO_DIR) -> list[PortfolioSpec]:
    """Every portfolio declared in `directory`, sorted by id; ids must be unique."""
    specs = sorted((PortfolioSpec.load(p) for p in directory.glob("*.yaml")), key=lambda s: s.id)
    ids = [s.id for s in specs]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{directory}: duplicate portfolio ids {ids}")
    return specs


def _utc(value: Any) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _naive(stamp: pd.Timestamp) -> pd.Timestamp:
    return stamp.tz_convert("UTC").tz_localize(None)


def last_complete_day(as_of: Any, grace: str | pd.Timedelta) -> pd.Timestamp:
    """The last knowledge day whose bars are all known at `as_of` (UTC midnight)."""
    return (_utc(as_of) - pd.Timedelta(grace)).floor("D") - DAY


def candidate_daily_returns(
    conn: duckdb.DuckDBPyConnection,
    as_of: Any,
    grace: str | pd.Timedelta = "1min",
    *,
    features_table: str = FEATURES_TABLE,
) -> pd.DataFrame:
    """Knowledge-day returns per candidate (`<strategy instance>|<symbol>` columns).

    Rows run from the first candidate's first day to `last_complete_day(as_of, grace)`;
    `attrs["last_bar_day"]` is the knowledge day of the last bar of any candidate.
    """
    grace = pd.Timedelta(grace)
    end = last_complete_day(as_of, grace)
    known_by = _naive(end + DAY + grace)
    spans = conn.execute(
        f"select i.strategy_id || ? || f.{SYMBOL} as candidate, min(f.{AVAILABLE_AT}), "
        f"max(f.{AVAILABLE_AT}) "
        f"from {BACKTESTS_SCHEMA}.strategy_instances i "
        f"join {features_table} f on f.{TIMEFRAME} = i.timeframe "
        f"where f.{AVAILABLE_AT} <= ? group by all order by 1",
        [CANDIDATE_SEPARATOR, known_by],
    ).fetchall()
    bars = conn.execute(
        f"select strategy_id || ? || {SYMBOL} as candidate, {AVAILABLE_AT}, bar_return "
        f"from {BACKTESTS_SCHEMA}.bar_returns where {AVAILABLE_AT} <= ? "
        "order by candidate, available_at, ts",
        [CANDIDATE_SEPARATOR, known_by],
    ).fetchdf()

    def day_of(times: pd.Series | pd.DatetimeIndex) -> pd.DatetimeIndex:
        shifted = pd.DatetimeIndex(times) - grace - pd.Timedelta(microseconds=1)
        return shifted.floor("D").tz_localize("UTC")

    first = {c: day_of(pd.DatetimeIndex([start]))[0] for c, start, _ in spans}
    if not first or min(first.values()) > end:
        return pd.DataFrame(index=pd.DatetimeIndex([], tz="UTC"), columns=sorted(first))
    index = pd.date_range(min(first.values()), end, freq="D", name="day")
    frame = pd.DataFrame(0.0, index=index, columns=sorted(first))
    if len(bars):
        growth = (1.0 + bars["bar_return"]).groupby(
            [bars["candidate"].to_numpy(), day_of(bars[AVAILABLE_AT])], sort=True
        )
        daily = (growth.prod() - 1.0).unstack(level=0)
        daily = daily.reindex(index=index, columns=frame.columns)
        frame = daily.fillna(0.0)
    for candidate, day in first.items():
        frame.loc[frame.index < day, candidate] = np.nan
    frame.attrs["last_bar_day"] = min(day_of(pd.DatetimeIndex([max(s[2] for s in spans)]))[0], end)
    return frame


def position_events(
    conn: duckdb.DuckDBPyConnection, latency: str | pd.Timedelta, as_of: Any
) -> pd.DataFrame:
    """Each candidate's published entries (+1 long, -1 short) and exits (0)."""
    seconds = pd.Timedelta(latency).total_seconds()
    frame = conn.execute(
        f"""
        with t as (
            select t.strategy_id || ? || t.symbol as candidate, t.symbol,
                case when i.direction = 'short' then -1.0 else 1.0 end as sign,
                t.entry_signal_ts, t.entry_signal_available_at,
                t.exit_signal_ts, t.exit_signal_available_at
            from {BACKTESTS_SCHEMA}.trades t
            join {BACKTESTS_SCHEMA}.strategy_instances i using (strategy_id)
        )
        select candidate, symbol, entry_signal_available_at as known, entry_signal_ts as bar,
            sign as position from t
        union all
        select candidate, symbol, exit_signal_available_at, exit_signal_ts, 0.0 from t
        where exit_signal_ts is not null
        """,
        [CANDIDATE_SEPARATOR],
    ).fetchdf()
    frame[SIGNAL_TIMESTAMP] = pd.to_datetime(frame.pop("known")).dt.tz_localize(
        "UTC"
    ) + pd.Timedelta(seconds=seconds)
    frame[TIMESTAMP] = pd.to_datetime(frame.pop("bar")).dt.tz_localize("UTC")
    frame = frame[frame[SIGNAL_TIMESTAMP] <= _utc(as_of)]
    # At one instant a candidate's exit applies before its next entry.
    frame = frame.assign(_entry=frame["position"] != 0.0)
    order = [SIGNAL_TIMESTAMP, "candidate", "_entry", TIMESTAMP]
    return frame.sort_values(order, kind="stable").drop(columns="_entry").reset_index(drop=True)


def target_weights(
    allocations: pd.DataFrame, events: pd.DataFrame, portfolio_id: str
) -> pd.DataFrame:
    """`signal_weights` rows: each symbol's target whenever an allocation or position changes.

    `allocations`: weights_to_signal_rows output (candidate_id, signal_timestamp, timestamp,
    signal); `events`: position_events output. A row is emitted when a symbol's target moves;
    changes published at the same instant make one row, its timestamp the latest bar among them.
    """
    changes = pd.concat(
        [
            pd.DataFrame(
                {
                    "candidate": allocations["candidate_id"],
                    SYMBOL: allocations[SYMBOL],
                    SIGNAL_TIMESTAMP: pd.to_datetime(allocations[SIGNAL_TIMESTAMP], utc=True),
                    TIMESTAMP: pd.to_datetime(allocations[TIMESTAMP], utc=True),
                    "allocation": allocations[SIGNAL].astype(float),
                    "position": np.nan,
                }
            ),
            events[events["candidate"].isin(set(allocations["candidate_id"]))].assign(
                allocation=np.nan
            ),
        ],
        ignore_index=True,
    )
    rows = []
    for symbol, group in changes.groupby(SYMBOL, sort=True):
        allocation: dict[str, float] = {}
        position: dict[str, float] = {}
        current = 0.0
        for moment, batch in group.groupby(SIGNAL_TIMESTAMP, sort=True):
            for row in batch.itertuples(index=False):
                if not np.isnan(row.allocation):
                    allocation[row.candidate] = row.allocation
                else:
                    position[row.candidate] = row.position
            target = sum(w * position.get(c, 0.0) for c, w in sorted(allocation.items()))
            if abs(target - current) > _TOLERANCE:
                rows.append((symbol, moment, batch[TIMESTAMP].max(), float(np.clip(target, -1, 1))))
                current = target
    out = pd.DataFrame(rows, columns=[SYMBOL, SIGNAL_TIMESTAMP, TIMESTAMP, SIGNAL])
    out[STRATEGY_ID] = portfolio_id
    return out[list(SIGNAL_WEIGHTS_COLUMNS)]


@dataclass(frozen=True)
class PortfolioRun:
    """What one declared portfolio produced at one as-of."""

    spec: PortfolioSpec
    returns: pd.DataFrame  # candidate knowledge-day returns
    result: WalkForwardResult | None  # None: the data does not cover one train window yet
    allocations: pd.DataFrame  # backtests.portfolio_weights rows
    targets: pd.DataFrame  # backtests.portfolio_targets rows (signal_weights contract)

    def diagnostics(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """(windows, daily returns, IS/OOS summary) over the span the bars cover.

        Decisions run on to the as-of (now, in a batch run) with nothing to learn from
        after the last bar; those days and decisions are left out of the diagnostics.
        Computed once per run (the writer and the asset's log both read them).
        """
        return self._diagnostics

    @cached_property
    def _diagnostics(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        if self.result is None:
            raise ValueError(f"{self.spec.id}: no decision yet, so nothing to assess")
        last = self.returns.attrs.get("last_bar_day", self.result.returns.index[-1])
        windows = self.result.windows
        windows = windows[windows["train_start"] <= last]
        daily = self.result.returns[self.result.returns.index <= last]
        return windows, daily, summarize(daily, windows, PERIODS_PER_YEAR)


def build_declared_portfolio(
    conn: duckdb.DuckDBPyConnection,
    spec: PortfolioSpec,
    as_of: Any,
    *,
    features_table: str = FEATURES_TABLE,
) -> PortfolioRun:
    """Walk-forward allocations and symbol targets of `spec`, from what was known at `as_of`."""
    returns = candidate_daily_returns(conn, as_of, spec.grace, features_table=features_table)
    events = position_events(conn, spec.latency, as_of)
    if returns.empty or returns.index[0] + pd.Timedelta(spec.train) > (
        returns.index[-1] + DAY
    ):  # no decision yet: no allocation, so no target either
        none = weights_to_signal_rows(pd.DataFrame(columns=list(WEIGHT_COLUMNS)), spec.id)
        return PortfolioRun(spec, returns, None, none, target_weights(none, events, spec.id))
    result = spec.walk(returns, pd.Timedelta(spec.grace) + pd.Timedelta(spec.latency))
    allocations = weights_to_signal_rows(result.weights, spec.id)
    targets = target_weights(allocations, events, spec.id)
    return PortfolioRun(spec, returns, result, allocations, targets)


def write_portfolios(conn: duckdb.DuckDBPyConnection, runs: list[PortfolioRun]) -> dict[str, int]:
    """Replace the portfolio tables with these runs' rows (the graph rebuilds them whole)."""
    conn.execute(f"create schema if not exists {BACKTESTS_SCHEMA}")
    assessed = [(run.spec.id, *run.diagnostics()) for run in runs if run.result is not None]
    frames = {
        PORTFOLIO_WEIGHTS_TABLE: [
            naive_utc_columns(run.allocations, (SIGNAL_TIMESTAMP, TIMESTAMP)) for run in runs
        ],
        TARGETS_TABLE: [
            naive_utc_columns(run.targets, (SIGNAL_TIMESTAMP, TIMESTAMP)) for run in runs
        ],
        WINDOWS_TABLE: [
            naive_utc_columns(
                windows[list(WINDOW_COLUMNS)], ("decided_at", "valid_from", "valid_to")
            ).assign(portfolio_id=portfolio_id)
            for portfolio_id, windows, _, _ in assessed
        ],
        RETURNS_TABLE: [
            naive_utc_columns(daily.rename_axis("day").reset_index(), ("day",)).assign(
                portfolio_id=portfolio_id
            )
            for portfolio_id, _, daily, _ in assessed
        ],
    }
    return {
        table.split(".")[-1]: replace_table(conn, table, TABLE_DDL[table], parts)
        for table, parts in frames.items()
    }
