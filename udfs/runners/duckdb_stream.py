"""Moving a DuckDB runner's rows: ordered Arrow streams in, partitions out, batches back.

`compute_pass` streams the planned partitions' rows (whole, or from their look-back start)
out of a reader cursor, has a `FeatureComputer` compute them, and queues the results on a
`BatchWriter` in partition order. For appended partitions it first compares the look-back
recompute with the stored rows just before the new ones and reports the columns that
disagree; `repair_pass` then recomputes only the features behind those columns over the
partitions' whole history and updates the new rows in place.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from itertools import repeat

import duckdb
import numpy as np
import pyarrow as pa

from udfs.runners import duckdb_state as state_sql
from udfs.runners.duckdb_state import (
    APPEND,
    PartitionState,
    columns_sql,
    qualified,
    quote,
    same_key,
)
from udfs.runners.partition import FeaturePlan, running_max
from udfs.runners.pool import FeatureComputer, Partition
from warehouse.columns import AVAILABLE_AT, SYMBOL, TIMEFRAME, TS

READ_BATCH_ROWS = 131_072
WRITE_BATCH_ROWS = 500_000
# Relative tolerance of the look-back check (times each column's magnitude).
RTOL = 1e-9
# Rows of the first partition computed in the driver before the workers fork.
WARM_UP_ROWS = 256
BATCH_VIEW = "__signalyard_udf_batch"
PLAN_VIEW = "__signalyard_udf_plan"


def _order(alias: str = "") -> str:
    """ORDER BY partition key (NULLs last, as the plan lists them), then ts."""
    prefix = f"{alias}." if alias else ""
    return (
        f"{prefix}{quote(SYMBOL)} nulls last, {prefix}{quote(TIMEFRAME)} nulls last, "
        f"{prefix}{quote(TS)}"
    )


def split(batches: pa.RecordBatchReader, counts: Iterable[int]) -> Iterator[pa.Table]:
    """Cut an ordered stream of batches into consecutive tables of `counts` rows each."""
    carry = batches.schema.empty_table()
    for count in counts:
        pieces, have = [carry], carry.num_rows
        while have < count:
            batch = batches.read_next_batch()  # StopIteration here means the counts lied
            pieces.append(pa.Table.from_batches([batch]))
            have += batch.num_rows
        rows = pa.concat_tables(pieces)
        yield rows.slice(0, count)
        carry = rows.slice(count)


def insert_sql(target: str, columns: list[str]) -> str:
    """Insert the batch view's `columns` into `target`."""
    return (
        f"insert into {qualified(target)} ({columns_sql(columns)}) "
        f"select {columns_sql(columns)} from {quote(BATCH_VIEW)}"
    )


def update_sql(target: str, columns: list[str]) -> str:
    """Overwrite `columns` of the target rows the batch view has (same key and ts)."""
    assignments = ", ".join(f"{quote(c)} = b.{quote(c)}" for c in columns)
    return (
        f"update {qualified(target)} as t set {assignments} from {quote(BATCH_VIEW)} b "
        f"where {same_key('t', 'b')} and t.{quote(TS)} = b.{quote(TS)}"
    )


class BatchWriter:
    """Collects partition tables and applies `statement` to them in large Arrow batches."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, statement: str) -> None:
        """Run `statement` (reading the batch view) through `conn`."""
        self._conn = conn
        self._statement = statement
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self.rows = 0

    def add(self, table: pa.Table) -> None:
        """Queue one partition; write once enough rows are queued."""
        self._pending.append(table)
        self._pending_rows += table.num_rows
        if self._pending_rows >= WRITE_BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        """Write every queued row."""
        if not self._pending:
            return
        batch = pa.concat_tables(self._pending)
        self._conn.register(BATCH_VIEW, batch)
        try:
            self._conn.execute(self._statement)
        finally:
            self._conn.unregister(BATCH_VIEW)
        self.rows += batch.num_rows
        self._pending, self._pending_rows = [], 0


def output(
    plan: FeaturePlan, rows: pa.Table, features: dict, start: int, known_us: int | None
) -> pa.Table:
    """Key columns and features of rows[start:], NaN as NULL, available_at as running max."""
    rows = rows.slice(start)
    out = {column: rows.column(column) for column in (SYMBOL, TIMEFRAME, TS)}
    # A value at ts reads every bar up to ts, so it is known once the latest of them is.
    available = rows.column(AVAILABLE_AT)
    known = running_max(available.to_numpy())
    if known_us is not None and len(known):
        known = np.maximum(known, np.datetime64(known_us, "us").astype(known.dtype))
    out[AVAILABLE_AT] = pa.array(known, type=available.type, from_pandas=True)
    for column in plan.columns:
        out[column] = pa.array(features[column][start:], type=pa.float64(), from_pandas=True)
    return pa.table(out)


def disagreeing(
    plan: FeaturePlan, rows: pa.Table, features: dict, end: int, stored: pa.Table
) -> list[str]:
    """Columns whose recompute differs from the stored rows ending before row `end`.

    A column agrees when NULLs sit in the same rows and every value is within `RTOL` times
    the column's largest stored magnitude there. Misaligned timestamps fail every column.
    """
    start = end - stored.num_rows
    if not stored.column(TS).equals(rows.column(TS).slice(start, stored.num_rows)):
        return list(plan.columns)
    failed = []
    for column in plan.columns:
        got = features[column][start:end]
        want = stored.column(column).to_numpy()
        missing = np.isnan(want)
        finite = np.abs(want[~missing & np.isfinite(want)])
        tolerance = RTOL * (finite.max() if finite.size else 0.0)
        with np.errstate(invalid="ignore"):
            close = (got == want) | (np.abs(got - want) <= tolerance)
        if not np.array_equal(np.isnan(got), missing) or not close[~missing].all():
            failed.append(column)
    return failed


def _marks_sql(table: str, position: str, descending: bool) -> str:
    """Per planned partition, the ts of its row at 1-based `position` (counted by ts).

    `position` is an expression over the plan view's columns (`from_row + 1`,
    `verify_rows`); only keys and ts go through the window's sort, however wide the table.
    """
    order = f"x.{quote(TS)} desc" if descending else f"x.{quote(TS)}"
    return (
        f"select {quote(SYMBOL)}, {quote(TIMEFRAME)}, {quote(TS)} as mark from ("
        f"select x.{quote(SYMBOL)}, x.{quote(TIMEFRAME)}, x.{quote(TS)}, p.{position} as wanted, "
        f"row_number() over (partition by x.{quote(SYMBOL)}, x.{quote(TIMEFRAME)} "
        f"order by {order}) as position "
        f"from {qualified(table)} x join {quote(PLAN_VIEW)} p on {same_key('x', 'p')}) "
        f"where position = wanted"
    )


def source_stream(
    reader: duckdb.DuckDBPyConnection, source: str, plan: FeaturePlan, windowed: bool
) -> pa.RecordBatchReader:
    """Source rows of the planned partitions (from their `from_row`), ordered by key and ts."""
    read = columns_sql(plan.read_columns)
    if not windowed:
        return reader.sql(
            f"select {read} from {qualified(source)} order by {_order()}"
        ).to_arrow_reader(READ_BATCH_ROWS)
    marks = _marks_sql(source, "from_row + 1", descending=False)
    return reader.sql(
        f"select {columns_sql(plan.read_columns, 's')} from {qualified(source)} s "
        f"join ({marks}) m on {same_key('s', 'm')} and s.{quote(TS)} >= m.mark "
        f"order by {_order('s')}"
    ).to_arrow_reader(READ_BATCH_ROWS)


def stored_stream(
    verifier: duckdb.DuckDBPyConnection, target: str, plan: FeaturePlan
) -> pa.RecordBatchReader:
    """The last `verify_rows` stored rows of each planned partition, ordered by key and ts."""
    marks = _marks_sql(target, "verify_rows", descending=True)
    return verifier.sql(
        f"select {columns_sql([TS, *plan.columns], 't')} from {qualified(target)} t "
        f"join ({marks}) m on {same_key('t', 'm')} and t.{quote(TS)} >= m.mark "
        f"order by {_order('t')}"
    ).to_arrow_reader(READ_BATCH_ROWS)


def _check_key(source: str, state: PartitionState, part: pa.Table) -> None:
    """Raise ValueError unless the rows cut for a partition belong to it (first and last
    suffice: the stream is ordered by key)."""
    for column, value in ((SYMBOL, state.symbol), (TIMEFRAME, state.timeframe)):
        values = part.column(column)
        found = {values[0].as_py(), values[-1].as_py()} if len(values) else {value}
        if found != {value}:
            raise ValueError(
                f"{source}, {state.label}: the {state.computed_rows} rows read for it hold "
                f"{column} values {sorted(map(str, found))}; a duplicated ts at its look-back "
                "start, or the source changed during the run"
            )


def partitions(
    source: str,
    plan: FeaturePlan,
    states: list[PartitionState],
    rows: pa.RecordBatchReader,
    stored: pa.RecordBatchReader | None,
) -> Iterator[Partition]:
    """Each planned partition's rows (and stored rows to verify), ready for the computer."""
    parts = split(rows, [state.computed_rows for state in states])
    checks = split(stored, [s.verify_rows for s in states]) if stored else repeat(None)
    for state, part, check in zip(states, parts, checks, strict=False):
        _check_key(source, state, part)
        yield Partition(
            label=f"{source}, {state.label}",
            payload=(state, part, check),
            ts=part.column(TS).to_numpy(),
            inputs={column: part.column(column).to_numpy() for column in plan.inputs},
        )


def warm_up_partition(
    reader: duckdb.DuckDBPyConnection, source: str, plan: FeaturePlan, state: PartitionState
) -> Partition:
    """The first rows one partition will compute, to warm the features up in the driver."""
    rows = reader.sql(
        f"select {columns_sql(plan.read_columns)} from {qualified(source)} "
        f"where {quote(SYMBOL)} is not distinct from ? and {quote(TIMEFRAME)} is not distinct "
        f"from ? order by {quote(TS)} limit ? offset ?",
        params=[state.symbol, state.timeframe, WARM_UP_ROWS, state.from_row],
    ).to_arrow_table()
    return Partition(
        label=f"{source}, {state.label}",
        payload=None,
        ts=rows.column(TS).to_numpy(),
        inputs={column: rows.column(column).to_numpy() for column in plan.inputs},
    )


@contextmanager
def _streams(
    cursors: tuple[duckdb.DuckDBPyConnection, duckdb.DuckDBPyConnection],
    source: str,
    target: str,
    plan: FeaturePlan,
    states: list[PartitionState],
    windowed: bool,
) -> Iterator[Iterator[Partition]]:
    """The partitions' iterator; the streams are closed and the plan view dropped after."""
    reader, verifier = cursors
    view = state_sql.plan_table(states)
    verify = windowed and any(state.verify_rows for state in states)
    used = [cursor for cursor, wanted in ((reader, windowed), (verifier, verify)) if wanted]
    for cursor in used:
        cursor.register(PLAN_VIEW, view)
    streams = []
    try:
        streams.append(source_stream(reader, source, plan, windowed))
        if verify:
            streams.append(stored_stream(verifier, target, plan))
        stored = streams[1] if verify else None
        yield partitions(source, plan, states, streams[0], stored)
    finally:
        for stream in streams:
            stream.close()  # the cursor takes no other query while a result is open
        for cursor in used:
            cursor.unregister(PLAN_VIEW)


def compute_pass(
    cursors: tuple[duckdb.DuckDBPyConnection, duckdb.DuckDBPyConnection],
    source: str,
    target: str,
    computer: FeatureComputer,
    states: list[PartitionState],
    writer: BatchWriter,
    windowed: bool,
) -> dict[PartitionState, list[str]]:
    """Compute and queue the planned partitions; appended ones' disagreeing columns, if any."""
    plan = computer.plan
    repairs = {}
    with _streams(cursors, source, target, plan, states, windowed) as parts:
        for partition, features in computer.map(parts):
            state, rows, check = partition.payload
            start = state.target_rows - state.from_row if state.action == APPEND else 0
            if check is not None and check.num_rows:
                failed = disagreeing(plan, rows, features, start, check)
                if failed:
                    repairs[state] = failed
            writer.add(output(plan, rows, features, start, state.known_us))
    return repairs


def repair_pass(
    cursors: tuple[duckdb.DuckDBPyConnection, duckdb.DuckDBPyConnection],
    source: str,
    target: str,
    computer: FeatureComputer,
    states: list[PartitionState],
    writer: BatchWriter,
) -> None:
    """Recompute `computer.plan` over each partition's whole history; queue its new rows."""
    whole = [state.whole() for state in states]
    with _streams(cursors, source, target, computer.plan, whole, True) as parts:
        for partition, features in computer.map(parts):
            state, rows, _ = partition.payload
            new = output(computer.plan, rows, features, state.target_rows, None)
            writer.add(new.select([SYMBOL, TIMEFRAME, TS, *computer.plan.columns]))
