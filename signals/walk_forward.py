"""Walk-forward portfolio re-selection over daily return streams, and its signal rows.

Timing (docs/portfolios.md): a return labelled day d is known at the end of that day, so
a decision at `decided_at` = D reads exactly the rows labelled in [D - train, D). Its
weights become available at `valid_from` = D + latency and hold until `valid_to`: the
next decision's `valid_from`, or `valid_from + test` when a test window ends them first;
the last decision without a test window stays valid until superseded (`valid_to` NaT).
A day's out-of-sample return uses the decision valid at that day's start; its in-sample
return uses the first decision made after it (the one that fitted it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from signals.portfolio import (
    RETURN_STAT_NAMES,
    build_portfolio,
    return_stats,
    select_survivors,
)
from signals.selection import PerformanceFilter
from warehouse.columns import (
    BACKTESTS_SCHEMA,
    SIGNAL,
    SIGNAL_TIMESTAMP,
    SIGNAL_WEIGHTS_COLUMNS,
    STRATEGY_ID,
    SYMBOL,
    TIMESTAMP,
)
from warehouse.engines.duckdb import insert_frame

DEFAULT_LATENCY = pd.Timedelta(seconds=1)  # dbt_project.yml's signal_latency_seconds
WEIGHT_COLUMNS = ("decided_at", "valid_from", "valid_to", "reference_bar", "candidate", "weight")
SUMMARY_STATS = ("sharpe", "total_return", "cagr", "volatility", "max_drawdown", "avg_drawdown")
PORTFOLIO_WEIGHTS_TABLE = f"{BACKTESTS_SCHEMA}.portfolio_weights"
PORTFOLIO_WEIGHTS_DDL = (
    "portfolio_id varchar, candidate_id varchar, symbol varchar, signal_timestamp timestamp, "
    "timestamp timestamp, signal double, strategy_id varchar"
)
CANDIDATE_SEPARATOR = "|"  # candidate ids are `<strategy instance>|<symbol>`


@dataclass(frozen=True)
class WalkForwardResult:
    """Weights history, per-decision diagnostics, daily returns and the IS/OOS summary."""

    weights: pd.DataFrame  # WEIGHT_COLUMNS, one row per decision and held candidate
    windows: pd.DataFrame  # one row per decision: timing, counts, IS and OOS statistics
    returns: pd.DataFrame  # daily portfolio returns: in_sample, out_of_sample (NaN outside)
    summary: pd.DataFrame  # rows in_sample / out_of_sample, SUMMARY_STATS + turnover


def _utc_returns(returns: pd.DataFrame) -> pd.DataFrame:
    """The returns on an ascending, unique UTC DatetimeIndex (naive times are UTC)."""
    if not isinstance(returns, pd.DataFrame) or not isinstance(returns.index, pd.DatetimeIndex):
        raise ValueError("returns: expected a DataFrame indexed by a DatetimeIndex (UTC dates)")
    index = returns.index
    index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    if not (index.is_monotonic_increasing and index.is_unique):
        raise ValueError("returns: the index must be ascending without duplicate dates")
    return returns.set_axis(index, axis=0).astype("float64")


def _bar(index: pd.DatetimeIndex) -> pd.Timedelta:
    """The median spacing of the rows (a day for daily returns)."""
    return pd.Series(index).diff().median() if len(index) > 1 else pd.Timedelta(days=1)


def _schedule(index: pd.DatetimeIndex, train: pd.Timedelta, step: pd.Timedelta) -> pd.Index:
    """Decision times: first date + train, then every step while the data covers them."""
    first = index[0] + train
    end = index[-1] + _bar(index)  # the last row is known once its bar has closed
    if first > end:
        raise ValueError(
            f"returns: {index[0]} .. {index[-1]} is shorter than the train window {train}"
        )
    return pd.date_range(first, end, freq=step)


def _decide(
    window: pd.DataFrame,
    performance_filter: PerformanceFilter | None,
    min_coverage: float,
    periods_per_year: float | None,
    method: str,
    options: dict[str, Any],
) -> tuple[int, int, pd.Series]:
    """Candidates with enough history, survivors of the filter, and their weights."""
    covered = window.columns[window.notna().mean() >= min_coverage]
    eligible = window[covered].fillna(0.0)
    survivors = list(covered)
    if performance_filter is not None and survivors:
        stats = return_stats(eligible, periods_per_year)
        survivors = select_survivors(stats, performance_filter)
    if not survivors:
        return len(covered), 0, pd.Series(dtype="float64")
    weights = build_portfolio(eligible[survivors], method, **options)
    return len(covered), len(survivors), weights[weights > 0]


def _decision_matrix(weights: pd.DataFrame, windows: pd.DataFrame) -> pd.DataFrame:
    """Decisions x held candidates: each decision's weights (0 where not held)."""
    if weights.empty:
        return pd.DataFrame(index=windows["decided_at"], dtype="float64")
    table = weights.pivot_table(
        index="decided_at", columns="candidate", values="weight", aggfunc="sum"
    )
    return table.reindex(index=windows["decided_at"], fill_value=0.0).fillna(0.0)


def _daily(values: np.ndarray, matrix: np.ndarray, which: np.ndarray) -> np.ndarray:
    """Each day's portfolio return under decision `which[day]` (NaN where it is -1)."""
    out = np.einsum("dc,dc->d", values, matrix[np.maximum(which, 0)]) if len(matrix) else 0.0
    return np.where(which >= 0, out, np.nan)


def _stream_stats(r: pd.Series, ppy: float) -> dict[str, float]:
    """SUMMARY_STATS of one return stream (its non-NaN span); NaN when under two days."""
    r = r.dropna()
    if len(r) < 2:
        return dict.fromkeys(SUMMARY_STATS, np.nan)
    row = return_stats(r.to_frame(), ppy).iloc[0]
    return {name: float(row[name]) for name in SUMMARY_STATS}


def walk_forward(
    returns: pd.DataFrame,
    *,
    train: str | pd.Timedelta,
    step: str | pd.Timedelta,
    test: str | pd.Timedelta | None = None,
    latency: str | pd.Timedelta = DEFAULT_LATENCY,
    performance_filter: PerformanceFilter | None = None,
    method: str = "max_sharpe",
    min_coverage: float = 0.9,
    periods_per_year: float | None = None,
    **method_options: Any,
) -> WalkForwardResult:
    """Re-select survivors and weights every `step` from the `train` window before it.

    `performance_filter` may only bound statistics of return streams (RETURN_STAT_NAMES);
    candidates need returns on `min_coverage` of a window's rows to be considered.
    """
    frame = _utc_returns(returns)
    train, step, latency = pd.Timedelta(train), pd.Timedelta(step), pd.Timedelta(latency)
    test = None if test is None else pd.Timedelta(test)
    if min(train, step, test or step) <= pd.Timedelta(0) or latency < pd.Timedelta(0):
        raise ValueError(f"train {train}, step {step}, test {test}: expected positive windows")
    if performance_filter is not None:
        unusable = sorted(set(performance_filter.floors()) - set(RETURN_STAT_NAMES))
        if unusable:
            raise ValueError(
                f"performance_filter: {unusable} are not statistics of a return stream; "
                "set those thresholds to None (see signals.portfolio.SURVIVOR_PRESETS)"
            )
    options = dict(method_options)
    if periods_per_year is not None and method != "equal":
        options["periods_per_year"] = periods_per_year
    index = frame.index
    rows, decisions = [], []
    for decided_at in _schedule(index, train, step):
        lo, hi = index.searchsorted(decided_at - train), index.searchsorted(decided_at)
        window = frame.iloc[lo:hi]
        try:
            covered, survivors, weights = _decide(
                window, performance_filter, min_coverage, periods_per_year, method, options
            )
        except (ValueError, RuntimeError) as error:
            raise type(error)(f"walk-forward decision at {decided_at}: {error}") from error
        reference = window.index[-1] if len(window) else pd.NaT
        decisions.append(
            {
                "decided_at": decided_at,
                "valid_from": decided_at + latency,
                "reference_bar": reference,
                "train_start": decided_at - train,
                "candidates": covered,
                "survivors": survivors,
                "members": len(weights),
            }
        )
        rows += [(decided_at, c, float(w)) for c, w in weights.items()]
    windows = pd.DataFrame(decisions)
    successor = windows["valid_from"].shift(-1)
    windows["valid_to"] = successor
    if test is not None:
        expiry = windows["valid_from"] + test
        windows["valid_to"] = expiry.where(successor.isna() | (expiry < successor), successor)
    windows = windows[["decided_at", "valid_from", "valid_to", *windows.columns[2:-1]]]
    weights = pd.DataFrame(rows, columns=["decided_at", "candidate", "weight"]).merge(
        windows[["decided_at", "valid_from", "valid_to", "reference_bar"]], on="decided_at"
    )[list(WEIGHT_COLUMNS)]
    return _assess(frame, weights, windows, periods_per_year)


NAT = np.iinfo(np.int64).min  # how int64 nanoseconds spell NaT


def _ns(times: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """UTC nanoseconds since the epoch (NaT as NAT), for fast array comparisons."""
    return pd.DatetimeIndex(times).as_unit("ns").asi8


def _assess(
    frame: pd.DataFrame, weights: pd.DataFrame, windows: pd.DataFrame, ppy: float | None
) -> WalkForwardResult:
    """Daily in-sample and out-of-sample returns, per-decision statistics and turnover."""
    index, n = frame.index, len(windows)
    table = _decision_matrix(weights, windows)
    matrix = table.to_numpy()
    values = frame.reindex(columns=table.columns).fillna(0.0).to_numpy()
    # Out of sample: the last decision whose valid_from is at or before the day's start, while
    # still valid (an expired one leaves cash: a return of 0).
    active = windows["valid_from"].searchsorted(index, side="right") - 1
    days = _ns(index)
    valid_to = _ns(windows["valid_to"])[np.maximum(active, 0)]
    expired = (active >= 0) & (valid_to != NAT) & (days >= valid_to)
    oos = np.where(expired, 0.0, _daily(values, matrix, np.where(expired, -1, active)))
    # In sample: the first decision taken after the day, if the day is in its train window.
    fitted = windows["decided_at"].searchsorted(index, side="right")
    starts = _ns(windows["train_start"])[np.minimum(fitted, n - 1)]
    fitted = np.where((fitted < n) & (days >= starts), fitted, -1)
    daily = pd.DataFrame(
        {"in_sample": _daily(values, matrix, fitted), "out_of_sample": oos}, index=index
    )
    rows = []
    previous = np.zeros(matrix.shape[1])
    for k, decision in windows.iterrows():
        span = (index >= decision["train_start"]) & (index < decision["decided_at"])
        is_stats = _stream_stats(pd.Series(values[span] @ matrix[k], index[span]), ppy)
        oos_stats = _stream_stats(daily["out_of_sample"][(active == k) & ~expired], ppy)
        prior = windows["valid_to"].iloc[k - 1] if k else pd.NaT
        held_before = previous if k and prior >= decision["valid_from"] else 0.0 * previous
        rows.append(
            {
                **{f"in_sample_{name}": v for name, v in is_stats.items()},
                **{f"out_of_sample_{name}": v for name, v in oos_stats.items()},
                "turnover": float(np.abs(matrix[k] - held_before).sum()),
            }
        )
        previous = matrix[k]
    windows = pd.concat([windows, pd.DataFrame(rows, index=windows.index)], axis=1)
    return WalkForwardResult(weights, windows, daily, summarize(daily, windows, ppy))


def summarize(daily: pd.DataFrame, windows: pd.DataFrame, ppy: float | None) -> pd.DataFrame:
    """Rows in_sample / out_of_sample: SUMMARY_STATS, days, mean turnover per decision."""
    summary = pd.DataFrame(
        {name: _stream_stats(daily[name], ppy) for name in ("in_sample", "out_of_sample")}
    ).T
    summary["days"] = daily.notna().sum()
    summary["turnover_per_decision"] = [np.nan, windows["turnover"].mean()]
    return summary


def candidate_parts(candidate: str, portfolio_id: str) -> tuple[str, str]:
    """(strategy_id, symbol) of a `<strategy instance>|<symbol>` id; a bare id is a symbol."""
    strategy, separator, symbol = candidate.rpartition(CANDIDATE_SEPARATOR)
    return (strategy, symbol) if separator and strategy and symbol else (portfolio_id, candidate)


def weights_to_signal_rows(weights: pd.DataFrame, portfolio_id: str) -> pd.DataFrame:
    """`signal_weights` rows of a weights history (DESIGN.md contract, plus portfolio ids).

    Each decision emits its weights at `valid_from` (signal_timestamp) referring to its
    last training bar (timestamp), and 0 for each candidate it drops; a decision that
    expires before a successor starts emits 0 for its candidates at `valid_to`.
    """
    missing = sorted(set(WEIGHT_COLUMNS) - set(weights.columns))
    if missing:
        raise ValueError(f"weights history: missing column(s) {missing}; expected {WEIGHT_COLUMNS}")
    out: list[tuple] = []
    held: dict[str, float] = {}
    until, reference = pd.NaT, pd.NaT
    for _, group in weights.groupby("decided_at", sort=True):
        valid_from, valid_to, bar = group.iloc[0][["valid_from", "valid_to", "reference_bar"]]
        if held and not pd.isna(until) and until < valid_from:  # expired first: cash
            out += [(c, until, reference, 0.0) for c in sorted(held)]
            held = {}
        now = dict(zip(group["candidate"], group["weight"].astype(float), strict=True))
        out += [(c, valid_from, bar, 0.0) for c in sorted(set(held) - set(now))]
        out += [(c, valid_from, bar, w) for c, w in sorted(now.items())]
        held, until, reference = now, valid_to, bar
    if held and not pd.isna(until):
        out += [(c, until, reference, 0.0) for c in sorted(held)]
    rows = pd.DataFrame(out, columns=["candidate_id", SIGNAL_TIMESTAMP, TIMESTAMP, SIGNAL])
    parts = [candidate_parts(c, portfolio_id) for c in rows["candidate_id"]]
    rows[STRATEGY_ID] = [strategy for strategy, _ in parts]
    rows[SYMBOL] = [symbol for _, symbol in parts]
    rows["portfolio_id"] = portfolio_id
    return rows[["portfolio_id", "candidate_id", *SIGNAL_WEIGHTS_COLUMNS]]


def naive_utc_columns(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """`frame` with `columns` as UTC wall-clock times without a zone (the warehouse's
    `timestamp` type); naive input is taken as UTC."""
    return frame.assign(
        **{c: pd.to_datetime(frame[c], utc=True).dt.tz_localize(None) for c in columns}
    )


def write_portfolio_weights(
    conn: duckdb.DuckDBPyConnection, rows: pd.DataFrame, portfolio_id: str
) -> int:
    """Replace `backtests.portfolio_weights` rows of one portfolio (rerunnable)."""
    foreign = sorted(set(rows["portfolio_id"]) - {portfolio_id})
    if foreign:
        raise ValueError(f"rows: portfolio_id {foreign} differ from {portfolio_id!r}")
    frame = naive_utc_columns(rows, (SIGNAL_TIMESTAMP, TIMESTAMP))
    conn.execute(f"create schema if not exists {BACKTESTS_SCHEMA}")
    conn.execute(f"create table if not exists {PORTFOLIO_WEIGHTS_TABLE} ({PORTFOLIO_WEIGHTS_DDL})")
    conn.execute("begin transaction")
    try:
        conn.execute(
            f"delete from {PORTFOLIO_WEIGHTS_TABLE} where portfolio_id = ?", [portfolio_id]
        )
        if len(frame):
            insert_frame(conn, PORTFOLIO_WEIGHTS_TABLE, frame)
        conn.execute("commit")
    except Exception:
        conn.execute("rollback")
        raise
    return len(frame)
