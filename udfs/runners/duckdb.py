"""DuckDB runner: compute features per (symbol, timeframe) partition and rewrite one table.

Rows stream out of DuckDB as Arrow batches ordered by (symbol, timeframe, ts), are cut
into partitions by their row counts, go through `compute_features` one partition at a
time, and go back in as Arrow batches -- never the whole source in pandas at once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from udfs.compute import compute_features, required_columns
from udfs.registry import output_schema
from warehouse.columns import AVAILABLE_AT, SYMBOL, TIMEFRAME, TS

KEY_COLUMNS = (SYMBOL, TIMEFRAME, TS, AVAILABLE_AT)
# DuckDB type of each declared output dtype.
SQL_TYPES = {"double": "DOUBLE"}
READ_BATCH_ROWS = 131_072
WRITE_BATCH_ROWS = 500_000
_BATCH_VIEW = "__signalyard_udf_batch"
_log = logging.getLogger(__name__)


def _quote(identifier: str) -> str:
    """A double-quoted SQL identifier."""
    return '"' + identifier.replace('"', '""') + '"'


def _qualified(name: str) -> str:
    """`schema.table` with each part quoted."""
    return ".".join(_quote(part) for part in name.split("."))


def _columns_sql(columns: Iterable[str]) -> str:
    """Comma-separated quoted column names."""
    return ", ".join(_quote(column) for column in columns)


def _check_source(conn: duckdb.DuckDBPyConnection, source: str, expected: list[str]) -> None:
    """Raise ValueError naming the source table's missing, received and expected columns."""
    received = list(conn.sql(f"select * from {_qualified(source)} limit 0").columns)
    missing = [column for column in expected if column not in received]
    if missing:
        raise ValueError(
            f"{source} is missing columns {missing}; received columns {received}; "
            f"expected columns {expected}"
        )


def _create_target(
    conn: duckdb.DuckDBPyConnection, source: str, target: str, schema: dict[str, str]
) -> None:
    """Create (or replace) the empty target table: key columns typed as in the source."""
    parts = target.split(".")
    if len(parts) > 1:
        conn.execute(f"create schema if not exists {_qualified('.'.join(parts[:-1]))}")
    features = "".join(
        f", cast(null as {SQL_TYPES[dtype]}) as {_quote(name)}" for name, dtype in schema.items()
    )
    conn.execute(
        f"create or replace table {_qualified(target)} as "
        f"select {_columns_sql(KEY_COLUMNS)}{features} from {_qualified(source)} limit 0"
    )


def _split(batches: pa.RecordBatchReader, counts: Iterable[int]) -> Iterator[pa.Table]:
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


def _partition_features(rows: pa.Table, inputs: list[str], columns: list[str]) -> pa.Table:
    """Key columns of one partition's rows plus its features, NaN as null."""
    index = pd.DatetimeIndex(rows.column(TS).to_numpy(), name=TS).tz_localize("UTC")
    bars = pd.DataFrame({column: rows.column(column).to_numpy() for column in inputs}, index=index)
    features = compute_features(bars, columns)
    out = {column: rows.column(column) for column in KEY_COLUMNS}
    # A value at ts reads every bar up to ts, so it is known once the latest of them is.
    available = rows.column(AVAILABLE_AT)
    known = np.maximum.accumulate(available.to_numpy())
    out[AVAILABLE_AT] = pa.array(known, type=available.type, from_pandas=True)
    for column in columns:
        values = features[column].to_numpy()
        out[column] = pa.array(values, type=pa.float64(), from_pandas=True)
    return pa.table(out)


class _BatchWriter:
    """Collects partition tables and inserts them into the target in large Arrow batches."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, target: str, columns: list[str]) -> None:
        """Write to `target`'s `columns` through `conn`."""
        self._conn = conn
        self._insert = (
            f"insert into {_qualified(target)} ({_columns_sql(columns)}) "
            f"select {_columns_sql(columns)} from {_quote(_BATCH_VIEW)}"
        )
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self.rows = 0

    def add(self, table: pa.Table) -> None:
        """Queue one partition; insert once enough rows are queued."""
        self._pending.append(table)
        self._pending_rows += table.num_rows
        if self._pending_rows >= WRITE_BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        """Insert every queued row."""
        if not self._pending:
            return
        batch = pa.concat_tables(self._pending)
        self._conn.register(_BATCH_VIEW, batch)
        try:
            self._conn.execute(self._insert)
        finally:
            self._conn.unregister(_BATCH_VIEW)
        self.rows += batch.num_rows
        self._pending, self._pending_rows = [], 0


def run_features(
    conn: duckdb.DuckDBPyConnection,
    source: str = "intermediate.int_bars_resampled",
    target: str = "features.udf_features",
    names: list[str] | None = None,
) -> int:
    """Replace `target` with the features of every (symbol, timeframe) in `source`; row count.

    `target` gets symbol, timeframe, ts, available_at (the running max of the source's over
    the partition: when every bar up to ts was known), then one DOUBLE column per requested
    feature output (all when `names` is None), NULL where undefined.
    The rewrite runs in one transaction on `conn`: on failure the old table stays.
    """
    if _qualified(source) == _qualified(target):
        raise ValueError(f"source and target are the same table: {source}")
    schema = output_schema(names)
    columns = list(schema)
    inputs = required_columns(columns)
    read = [*KEY_COLUMNS, *(column for column in inputs if column not in KEY_COLUMNS)]
    _check_source(conn, source, read)
    order = f"{_quote(SYMBOL)} nulls last, {_quote(TIMEFRAME)} nulls last"
    reader = conn.cursor()  # a second connection streams rows while `conn` writes
    try:
        reader.begin()  # one snapshot for the partition counts and the rows
        partitions = reader.sql(
            f"select {_columns_sql([SYMBOL, TIMEFRAME])}, count(*) from {_qualified(source)} "
            f"group by all order by {order}"
        ).fetchall()
        stream = reader.sql(
            f"select {_columns_sql(read)} from {_qualified(source)} order by {order}, {_quote(TS)}"
        ).to_arrow_reader(READ_BATCH_ROWS)
        conn.begin()
        try:
            _create_target(conn, source, target, schema)
            writer = _BatchWriter(conn, target, [*KEY_COLUMNS, *columns])
            parts = _split(stream, [count for _, _, count in partitions])
            for (symbol, timeframe, _), rows in zip(partitions, parts, strict=True):
                try:
                    writer.add(_partition_features(rows, inputs, columns))
                except ValueError as error:
                    raise ValueError(
                        f"{source}, partition symbol={symbol!r} timeframe={timeframe!r}: {error}"
                    ) from error
            writer.flush()
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
    finally:
        reader.close()
    _log.info(
        "udf features written",
        extra={"target": target, "rows": writer.rows, "partitions": len(partitions)},
    )
    return writer.rows
