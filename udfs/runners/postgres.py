"""PostgreSQL runner: the same feature UDFs per (symbol, timeframe), written back with COPY.

One transaction (REPEATABLE READ, so the partition counts and the rows are one snapshot)
replaces the target: `drop table` + `create table ... with no data` (DDL is transactional
in PostgreSQL, so readers see the old table until commit), then the source streams through
a server-side (named) cursor ordered by (symbol, timeframe, ts), is cut into partitions by
their row counts, computed in a pool of worker processes (`udfs.runners.pool`, a few
partitions in flight), and each partition is copied into the target with binary
`COPY ... FROM STDIN` in partition order.

One ordered cursor rather than one query per partition: dbt builds tables without indexes,
so a `where symbol = ... and timeframe = ...` query per partition would scan the whole
source once per partition; one ordered scan reads it once and the server sorts it once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus

from udfs.runners.partition import KEY_COLUMNS, FeaturePlan
from udfs.runners.pool import FeatureComputer, Partition
from warehouse.columns import AVAILABLE_AT, SYMBOL, TIMEFRAME, TS

# PostgreSQL type of each declared output dtype.
SQL_TYPES = {"double": "double precision"}
FETCH_ROWS = 50_000
WARM_UP_ROWS = 256
_CURSOR = "signalyard_udf_source"
_log = logging.getLogger(__name__)


def _table(name: str) -> sql.Identifier:
    """`schema.table` as a quoted identifier."""
    return sql.Identifier(*name.split("."))


def _columns(names: Sequence[str]) -> sql.Composed:
    """Comma-separated quoted column names."""
    return sql.SQL(", ").join(sql.Identifier(name) for name in names)


def _check_source(cur: psycopg.Cursor, source: str, expected: list[str]) -> None:
    """Raise ValueError naming the source table's missing, received and expected columns."""
    cur.execute(sql.SQL("select * from {} limit 0").format(_table(source)))
    received = [column.name for column in cur.description]
    missing = [column for column in expected if column not in received]
    if missing:
        raise ValueError(
            f"{source} is missing columns {missing}; received columns {received}; "
            f"expected columns {expected}"
        )


def _create_target(cur: psycopg.Cursor, source: str, target: str, plan: FeaturePlan) -> list:
    """Replace the target with an empty table (keys typed as in the source); column type oids."""
    schema, _, _ = target.rpartition(".")
    if schema:
        cur.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
    cur.execute(sql.SQL("drop table if exists {}").format(_table(target)))
    features = sql.SQL("").join(
        sql.SQL(", cast(null as {}) as {}").format(sql.SQL(SQL_TYPES[dtype]), sql.Identifier(name))
        for name, dtype in plan.dtypes.items()
    )
    cur.execute(
        sql.SQL("create table {} as select {}{} from {} with no data").format(
            _table(target), _columns(KEY_COLUMNS), features, _table(source)
        )
    )
    cur.execute(sql.SQL("select * from {} limit 0").format(_table(target)))
    return [column.type_code for column in cur.description]


def _naive_utc(values: Sequence[Any]) -> np.ndarray:
    """Datetimes (naive UTC, or aware) as datetime64[us] in UTC; None as NaT."""
    out = [
        v.astimezone(UTC).replace(tzinfo=None)
        if isinstance(v, datetime) and v.tzinfo is not None
        else v
        for v in values
    ]
    return np.array(out, dtype="datetime64[us]")


def _running_max(values: Sequence[Any]) -> list[Any]:
    """Running maximum of datetimes as given (types and time zones kept); NULL propagates."""
    out: list[Any] = []
    best = None
    for value in values:
        if value is None or (out and out[-1] is None):
            out.append(None)
            continue
        best = value if best is None or value > best else best
        out.append(best)
    return out


def _bars(source: str, plan: FeaturePlan, key: tuple, rows: list[tuple]) -> Partition:
    """One partition's fetched rows as a `Partition` (columns in `plan.read_columns` order)."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in plan.read_columns]
    by_name = dict(zip(plan.read_columns, columns, strict=True))
    return Partition(
        label=f"{source}, partition symbol={key[0]!r} timeframe={key[1]!r}",
        payload=by_name,
        ts=_naive_utc(by_name[TS]),
        inputs={column: np.array(by_name[column], dtype=np.float64) for column in plan.inputs},
    )


def _partitions(
    conn: psycopg.Connection, source: str, plan: FeaturePlan, counts: list[tuple]
) -> Iterator[Partition]:
    """Partitions cut from one server-side cursor over the source ordered by key and ts."""
    with conn.cursor(name=_CURSOR) as cursor:
        cursor.execute(
            sql.SQL("select {} from {} order by {}, {}, {}").format(
                _columns(plan.read_columns),
                _table(source),
                sql.Identifier(SYMBOL),
                sql.Identifier(TIMEFRAME),
                sql.Identifier(TS),
            )
        )
        carry: list[tuple] = []
        for symbol, timeframe, count in counts:
            while len(carry) < count:
                batch = cursor.fetchmany(FETCH_ROWS)
                if not batch:
                    raise RuntimeError(f"{source} ended before partition {symbol!r}/{timeframe!r}")
                carry.extend(batch)
            rows, carry = carry[:count], carry[count:]
            yield _bars(source, plan, (symbol, timeframe), rows)


def _copy(
    cur: psycopg.Cursor,
    target: str,
    plan: FeaturePlan,
    columns: dict[str, tuple],
    features: dict,
    types: list,
) -> int:
    """COPY one partition's keys and features (NaN as NULL) into the target; rows copied."""
    values = [
        columns[SYMBOL],
        columns[TIMEFRAME],
        columns[TS],
        _running_max(columns[AVAILABLE_AT]),
    ]
    for column in plan.columns:
        array = features[column].astype(object)
        array[np.isnan(features[column])] = None
        values.append(array.tolist())
    statement = sql.SQL("copy {} ({}) from stdin (format binary)").format(
        _table(target), _columns(plan.output_columns)
    )
    with cur.copy(statement) as copy:
        copy.set_types(types)
        for row in zip(*values, strict=True):
            copy.write_row(row)
    return len(values[0])


def run_features(
    conn: psycopg.Connection,
    source: str = "intermediate.int_bars_resampled",
    target: str = "features.udf_features",
    names: list[str] | None = None,
    *,
    workers: int | None = None,
) -> int:
    """Replace `target` with the features of every (symbol, timeframe) in `source`; row count.

    Same contract as the DuckDB runner: symbol, timeframe, ts, available_at (running max of
    the source's over the partition), then one `double precision` column per requested
    feature output, NULL where undefined. Partitions are computed by `workers` processes
    (default: up to one per CPU when a pool pays off, see `udfs.runners.pool`). One
    transaction on `conn`: on failure the old table stays.
    """
    if source.split(".") == target.split("."):
        raise ValueError(f"source and target are the same table: {source}")
    plan = FeaturePlan.resolve(names)
    began = conn.info.transaction_status == TransactionStatus.IDLE
    written = 0
    with conn.transaction(), conn.cursor() as cur:
        if began:  # counts and rows from one snapshot
            cur.execute("set transaction isolation level repeatable read")
        cur.execute("set local timezone to 'UTC'")
        _check_source(cur, source, list(plan.read_columns))
        counts = cur.execute(
            sql.SQL("select {}, {}, count(*) from {} group by 1, 2 order by 1, 2").format(
                sql.Identifier(SYMBOL), sql.Identifier(TIMEFRAME), _table(source)
            )
        ).fetchall()
        types = _create_target(cur, source, target, plan)
        rows = sum(count for _, _, count in counts)
        computer = FeatureComputer(plan, workers=workers, partitions=len(counts), rows=rows)
        if computer.workers > 1 and not computer.measure:
            symbol, timeframe, _ = counts[0]
            head = cur.execute(
                sql.SQL(
                    "select {} from {} where {} is not distinct from %s "
                    "and {} is not distinct from %s order by {} limit %s"
                ).format(
                    _columns(plan.read_columns),
                    _table(source),
                    sql.Identifier(SYMBOL),
                    sql.Identifier(TIMEFRAME),
                    sql.Identifier(TS),
                ),
                [symbol, timeframe, WARM_UP_ROWS],
            ).fetchall()
            computer.warm_up(_bars(source, plan, (symbol, timeframe), head))
        with computer:
            for partition, features in computer.map(_partitions(conn, source, plan, counts)):
                written += _copy(cur, target, plan, partition.payload, features, types)
    _log.info(
        "udf features written",
        extra={"target": target, "rows": written, "partitions": len(counts)},
    )
    return written
