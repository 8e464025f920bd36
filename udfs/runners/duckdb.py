"""DuckDB runner: features per (symbol, timeframe) partition on every core, one transaction.

Rows stream out of DuckDB as Arrow batches ordered by (symbol, timeframe, ts) and are cut
into partitions by their row counts; a pool of worker processes computes them
(`udfs.runners.pool`, at most a few partitions in flight), and the results go back in as
Arrow batches in partition order -- never the whole source in memory at once.

A full run replaces the target. An incremental run (`incremental=True`) appends only the
bars after each partition's last stored ts, recomputed over the preceding `lookback` bars,
and recomputes from scratch the partitions whose history changed (`duckdb_state`).
Recursive indicators (EMAs, Wilder smoothing) depend on the whole history; a look-back
window approximates them (their error shrinks geometrically with its length), so before
appending, the window's values on the last `VERIFY_ROWS` stored rows are compared with the
stored ones. Columns that differ by more than `duckdb_stream.RTOL` times their magnitude
there, or whose NULLs moved, are recomputed over the partition's whole history and the
new rows updated, in the same transaction. A feature with unbounded memory (a running
total such as OBV) thus never drifts, and only it pays for the whole history.
"""

from __future__ import annotations

import dataclasses
import logging

import duckdb

from udfs.runners import duckdb_state as state_sql
from udfs.runners import duckdb_stream as stream
from udfs.runners.duckdb_state import (
    APPEND,
    DROP,
    NEW,
    REBUILD,
    UNCHANGED,
    PartitionState,
    columns_sql,
    qualified,
    quote,
    same_key,
)
from udfs.runners.partition import KEY_COLUMNS, FeaturePlan
from udfs.runners.pool import FeatureComputer

# DuckDB type of each declared output dtype.
SQL_TYPES = {"double": "DOUBLE"}
# Look-back of an incremental append: at least this many bars, and this many warm-ups.
LOOKBACK_BARS = 512
LOOKBACK_WARMUPS = 16
# Stored rows compared with the look-back recompute (tolerance: `duckdb_stream.RTOL`).
VERIFY_ROWS = 64
_log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class FeatureRun:
    """What one run did: its mode (and why), rows written, deleted and fed to the UDFs, and
    partitions by fate (computed from scratch, appended -- of which `repaired` needed some
    features over their whole history --, unchanged, dropped)."""

    mode: str
    reason: str
    rows_written: int
    rows_deleted: int
    rows_computed: int
    partitions_computed: int
    partitions_appended: int
    partitions_repaired: int
    partitions_unchanged: int
    partitions_dropped: int


def _check_source(conn: duckdb.DuckDBPyConnection, source: str, expected: list[str]) -> None:
    """Raise ValueError naming the source table's missing, received and expected columns."""
    received = list(conn.sql(f"select * from {qualified(source)} limit 0").columns)
    missing = [column for column in expected if column not in received]
    if missing:
        raise ValueError(
            f"{source} is missing columns {missing}; received columns {received}; "
            f"expected columns {expected}"
        )


def _expected_columns(
    conn: duckdb.DuckDBPyConnection, source: str, plan: FeaturePlan
) -> list[tuple[str, str]]:
    """(name, type) of the target: key columns typed as in the source, then the features."""
    keys = conn.sql(f"select {columns_sql(KEY_COLUMNS)} from {qualified(source)} limit 0")
    features = [(column, SQL_TYPES[dtype]) for column, dtype in plan.dtypes.items()]
    return [*zip(keys.columns, map(str, keys.types), strict=True), *features]


def _full_reason(
    conn: duckdb.DuckDBPyConnection, source: str, target: str, plan: FeaturePlan
) -> str:
    """Why an incremental run must rebuild everything ("" when it need not)."""
    schema, _, name = target.rpartition(".")
    exists = conn.execute(
        "select count(*) from duckdb_tables() where schema_name = ? and table_name = ?",
        [schema or "main", name],
    ).fetchall()[0][0]
    if not exists:
        return "target does not exist"
    have = [(n, str(t)) for n, t in zip(*_describe(conn, target), strict=True)]
    want = _expected_columns(conn, source, plan)
    if have != want:
        return f"columns differ: target has {have}, the request needs {want}"
    definitions = state_sql.stored_definitions(conn, target)
    if not definitions:
        return "no state recorded for the target"
    if definitions != {plan.fingerprint()}:
        return "feature definitions changed"
    return ""


def _describe(conn: duckdb.DuckDBPyConnection, table: str) -> tuple[list[str], list[str]]:
    """Column names and types of a table."""
    relation = conn.sql(f"select * from {qualified(table)} limit 0")
    return list(relation.columns), [str(t) for t in relation.types]


def _create_target(
    conn: duckdb.DuckDBPyConnection, source: str, target: str, plan: FeaturePlan
) -> None:
    """Create (or replace) the empty target table: key columns typed as in the source.

    Spelled out as DDL: DuckDB 2.0.0 loses the rows of a table created with
    `create table ... as select ... limit 0` and then filled with a row group or more
    inside the same transaction (scans of it return nothing until a checkpoint).
    """
    parts = target.split(".")
    if len(parts) > 1:
        conn.execute(f"create schema if not exists {qualified('.'.join(parts[:-1]))}")
    columns = ", ".join(f"{quote(n)} {t}" for n, t in _expected_columns(conn, source, plan))
    conn.execute(f"create or replace table {qualified(target)} ({columns})")


def _delete(conn: duckdb.DuckDBPyConnection, target: str, states: list[PartitionState]) -> int:
    """Delete the given partitions' rows from the target; the rows they had."""
    if not states:
        return 0
    conn.register(stream.PLAN_VIEW, state_sql.plan_table(states))
    try:
        conn.execute(
            f"delete from {qualified(target)} t using {quote(stream.PLAN_VIEW)} p "
            f"where {same_key('t', 'p')}"
        )
    finally:
        conn.unregister(stream.PLAN_VIEW)
    return sum(state.target_rows for state in states)


def _repair(
    conn: duckdb.DuckDBPyConnection,
    cursors: tuple[duckdb.DuckDBPyConnection, duckdb.DuckDBPyConnection],
    source: str,
    target: str,
    plan: FeaturePlan,
    repairs: dict[PartitionState, list[str]],
    workers: int | None,
) -> int:
    """Recompute disagreeing columns over whole histories, update the new rows; rows read."""
    if not repairs:
        return 0
    columns = {column for failed in repairs.values() for column in failed}
    subplan = plan.subset(columns)
    states = list(repairs)
    _log.info(
        "look-back check failed; recomputing over whole histories",
        extra={"target": target, "partitions": len(states), "columns": list(subplan.columns)},
    )
    writer = stream.BatchWriter(conn, stream.update_sql(target, list(subplan.columns)))
    rows = sum(state.source_rows for state in states)
    with FeatureComputer(subplan, workers, partitions=len(states), rows=rows) as computer:
        stream.repair_pass(cursors, source, target, computer, states, writer)
    writer.flush()
    return sum(state.source_rows for state in states)


def materialize_features(
    conn: duckdb.DuckDBPyConnection,
    source: str = "intermediate.int_bars_resampled",
    target: str = "features.udf_features",
    names: list[str] | None = None,
    *,
    incremental: bool = False,
    workers: int | None = None,
    lookback: int | None = None,
) -> FeatureRun:
    """Bring `target` up to date with `source` (see `run_features`); what the run did."""
    if qualified(source) == qualified(target):
        raise ValueError(f"source and target are the same table: {source}")
    plan = FeaturePlan.resolve(names)
    _check_source(conn, source, list(plan.read_columns))
    if lookback is None:
        lookback = max(LOOKBACK_BARS, LOOKBACK_WARMUPS * plan.max_warmup)
    if lookback < 1:
        raise ValueError(f"lookback must be at least 1 bar, got {lookback}")
    state_sql.ensure_state_table(conn)
    reason = _full_reason(conn, source, target, plan) if incremental else "full run requested"
    reader, verifier = conn.cursor(), conn.cursor()
    try:
        reader.begin()  # one snapshot for the plan and the rows
        verifier.begin()
        if reason:
            states = state_sql.full_plan(reader, source, plan)
        else:
            states = state_sql.incremental_plan(reader, source, target, plan, lookback, VERIFY_ROWS)
        todo = [state for state in states if state.computed_rows]
        computer = FeatureComputer(
            plan, workers=workers, partitions=len(todo), rows=sum(s.computed_rows for s in todo)
        )
        if computer.workers > 1 and not computer.measure:
            computer.warm_up(stream.warm_up_partition(reader, source, plan, todo[0]))
        conn.begin()
        try:
            if reason:
                _create_target(conn, source, target, plan)
            deleted = _delete(conn, target, [s for s in states if s.action in (DROP, REBUILD)])
            writer = stream.BatchWriter(conn, stream.insert_sql(target, list(plan.output_columns)))
            with computer:
                repairs = stream.compute_pass(
                    (reader, verifier), source, target, computer, todo, writer, not reason
                )
            writer.flush()
            repaired_rows = _repair(
                conn, (reader, verifier), source, target, plan, repairs, workers
            )
            state_sql.write_state(conn, target, plan, states, stream.PLAN_VIEW)
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
    finally:
        reader.close()
        verifier.close()
    run = FeatureRun(
        mode="full" if reason else "incremental",
        reason=reason,
        rows_written=writer.rows,
        rows_deleted=deleted,
        rows_computed=sum(s.computed_rows for s in todo) + repaired_rows,
        partitions_computed=sum(s.action in (NEW, REBUILD) for s in states),
        partitions_appended=sum(s.action == APPEND for s in states),
        partitions_repaired=len(repairs),
        partitions_unchanged=sum(s.action == UNCHANGED for s in states),
        partitions_dropped=sum(s.action == DROP for s in states),
    )
    _log.info("udf features written", extra={"target": target, **dataclasses.asdict(run)})
    return run


def run_features(
    conn: duckdb.DuckDBPyConnection,
    source: str = "intermediate.int_bars_resampled",
    target: str = "features.udf_features",
    names: list[str] | None = None,
    *,
    incremental: bool = False,
    workers: int | None = None,
    lookback: int | None = None,
) -> int:
    """Write the features of every (symbol, timeframe) in `source` to `target`; rows written.

    `target` gets symbol, timeframe, ts, available_at (the running max of the source's over
    the partition: when every bar up to ts was known), then one DOUBLE column per requested
    feature output (all when `names` is None), NULL where undefined. Partitions are computed
    by `workers` processes (default: up to one per CPU, when measuring shows a pool pays
    off -- see `udfs.runners.pool`; 1: in this process). A full run replaces the table; with
    `incremental=True` only new bars are appended and changed partitions recomputed, and a
    different feature set, definition or a missing target falls back to a full run. Either
    way the write is one transaction on `conn`: on failure the old table stays.
    """
    return materialize_features(
        conn,
        source,
        target,
        names,
        incremental=incremental,
        workers=workers,
        lookback=lookback,
    ).rows_written
