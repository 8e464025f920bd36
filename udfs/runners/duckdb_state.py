"""What an incremental DuckDB run must do per partition, decided from cheap aggregates.

After every run the runner records, per (target, symbol, timeframe), a checksum of the source
rows the target was computed from (`bit_xor` of a hash of ts, available_at and every bar
input) and a fingerprint of the feature definitions. The next incremental run compares, per
partition, the source rows up to the target's last ts with that record:

- same row count and checksum: the history is unchanged; only bars after the target's last
  ts are new, and they are appended (computed over a look-back window, see `duckdb.py`);
- anything else -- a corrected bar (same ts and available_at, new values: how restated
  vendor files arrive), a backfilled bar, a dropped bar, a target edited by hand -- and the
  partition is recomputed from its first bar.

A count/max(available_at) comparison alone would miss corrections: a restated bar keeps the
`available_at` of the bar it replaces (the rule is the vendor's bar time plus latency), so
the checksum covers the values themselves. It is one scan of the source inside DuckDB.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from udfs.runners.partition import FeaturePlan
from warehouse.columns import AVAILABLE_AT, META_SCHEMA, SYMBOL, TIMEFRAME, TS

STATE_TABLE = f"{META_SCHEMA}.udf_feature_state"
# Partition actions.
NEW, REBUILD, APPEND, UNCHANGED, DROP = "new", "rebuild", "append", "unchanged", "drop"


def quote(identifier: str) -> str:
    """A double-quoted SQL identifier."""
    return '"' + identifier.replace('"', '""') + '"'


def qualified(name: str) -> str:
    """`schema.table` with each part quoted."""
    return ".".join(quote(part) for part in name.split("."))


def columns_sql(columns: Iterable[str], alias: str = "") -> str:
    """Comma-separated quoted column names, each prefixed with `alias.` when given."""
    prefix = f"{alias}." if alias else ""
    return ", ".join(prefix + quote(column) for column in columns)


def same_key(left: str, right: str) -> str:
    """Join condition on (symbol, timeframe), NULL matching NULL."""
    return " and ".join(
        f"{left}.{quote(key)} is not distinct from {right}.{quote(key)}"
        for key in (SYMBOL, TIMEFRAME)
    )


def checksum_sql(plan: FeaturePlan, alias: str) -> str:
    """Hash of one source row's ts, available_at and bar inputs (bit_xor-ed per partition)."""
    return f"hash({columns_sql([TS, AVAILABLE_AT, *plan.inputs], alias)})"


@dataclass(frozen=True)
class PartitionState:
    """One partition's action and the figures it was decided on."""

    symbol: Any
    timeframe: Any
    action: str
    source_rows: int  # rows in the source now (0 when dropped)
    target_rows: int  # rows in the target before the run
    checksum: int | None  # of every source row now
    from_row: int = 0  # first source row (0-based, by ts) to compute
    verify_rows: int = 0  # stored rows just before the new ones to compare with the recompute
    known_us: int | None = None  # target's max available_at, microseconds since the epoch

    @property
    def label(self) -> str:
        """`partition symbol=... timeframe=...` for messages."""
        return f"partition symbol={self.symbol!r} timeframe={self.timeframe!r}"

    def whole(self) -> PartitionState:
        """The same partition read from its first bar, with nothing to verify."""
        return dataclasses.replace(self, from_row=0, verify_rows=0)

    @property
    def computed_rows(self) -> int:
        """Source rows this run reads and computes."""
        return self.source_rows - self.from_row if self.action in (NEW, REBUILD, APPEND) else 0


def ensure_state_table(conn: duckdb.DuckDBPyConnection) -> None:
    """Create the state table if missing."""
    conn.execute(f"create schema if not exists {quote(META_SCHEMA)}")
    conn.execute(
        f"create table if not exists {STATE_TABLE} (target varchar, {quote(SYMBOL)} varchar, "
        f"{quote(TIMEFRAME)} varchar, checksum ubigint, definition varchar)"
    )


def stored_definitions(conn: duckdb.DuckDBPyConnection, target: str) -> set[str]:
    """Fingerprints recorded for `target` (empty when it has no state)."""
    rows = conn.execute(
        f"select distinct definition from {STATE_TABLE} where target = ?", [target]
    ).fetchall()
    return {definition for (definition,) in rows}


def full_plan(
    conn: duckdb.DuckDBPyConnection, source: str, plan: FeaturePlan
) -> list[PartitionState]:
    """Every source partition, to compute from scratch, with its row count and checksum."""
    rows = conn.sql(
        f"select s.{quote(SYMBOL)}, s.{quote(TIMEFRAME)}, count(*), "
        f"bit_xor({checksum_sql(plan, 's')}) from {qualified(source)} s group by all "
        f"order by 1 nulls last, 2 nulls last"
    ).fetchall()
    return [PartitionState(s, t, NEW, n, 0, checksum) for s, t, n, checksum in rows]


def incremental_plan(
    conn: duckdb.DuckDBPyConnection,
    source: str,
    target: str,
    plan: FeaturePlan,
    lookback: int,
    verify_rows: int,
) -> list[PartitionState]:
    """Each partition of the source or the target with what this run does to it."""
    rows = conn.execute(
        f"""
        with target_stats as (
            select {quote(SYMBOL)}, {quote(TIMEFRAME)}, count(*) as target_rows,
                max({quote(TS)}) as max_ts, epoch_us(max({quote(AVAILABLE_AT)})) as known_us
            from {qualified(target)} group by all
        ),
        source_stats as (
            select s.{quote(SYMBOL)}, s.{quote(TIMEFRAME)}, count(*) as source_rows,
                count(*) filter (where s.{quote(TS)} <= t.max_ts) as old_rows,
                bit_xor({checksum_sql(plan, "s")}) as checksum,
                bit_xor({checksum_sql(plan, "s")}) filter (where s.{quote(TS)} <= t.max_ts)
                    as old_checksum
            from {qualified(source)} s left join target_stats t on {same_key("s", "t")}
            group by all
        ),
        state as (
            select {quote(SYMBOL)}, {quote(TIMEFRAME)}, checksum as stored_checksum
            from {STATE_TABLE} where target = ?
        ),
        joined as (
            select coalesce(s.{quote(SYMBOL)}, t.{quote(SYMBOL)}) as {quote(SYMBOL)},
                coalesce(s.{quote(TIMEFRAME)}, t.{quote(TIMEFRAME)}) as {quote(TIMEFRAME)},
                s.source_rows, s.old_rows, s.checksum, s.old_checksum, t.target_rows, t.known_us
            from source_stats s full join target_stats t on {same_key("s", "t")}
        )
        select j.*, st.stored_checksum
        from joined j left join state st on {same_key("j", "st")}
        order by 1 nulls last, 2 nulls last
        """,
        [target],
    ).fetchall()
    states = []
    for symbol, timeframe, source_rows, old_rows, checksum, old_checksum, *rest in rows:
        target_rows, known_us, stored = rest
        base = {"symbol": symbol, "timeframe": timeframe, "checksum": checksum}
        if source_rows is None:
            states.append(
                PartitionState(**base, action=DROP, source_rows=0, target_rows=target_rows)
            )
        elif target_rows is None:
            states.append(
                PartitionState(**base, action=NEW, source_rows=source_rows, target_rows=0)
            )
        elif stored is None or old_rows != target_rows or old_checksum != stored:
            states.append(
                PartitionState(
                    **base, action=REBUILD, source_rows=source_rows, target_rows=target_rows
                )
            )
        elif source_rows == old_rows:
            states.append(
                PartitionState(
                    **base, action=UNCHANGED, source_rows=source_rows, target_rows=target_rows
                )
            )
        else:
            from_row = max(0, old_rows - lookback)
            states.append(
                PartitionState(
                    **base,
                    action=APPEND,
                    source_rows=source_rows,
                    target_rows=target_rows,
                    from_row=from_row,
                    verify_rows=min(verify_rows, old_rows - from_row) if from_row else 0,
                    known_us=known_us,
                )
            )
    return states


def plan_table(states: Iterable[PartitionState]) -> pa.Table:
    """The partitions as an Arrow table to join with (symbol, timeframe, action, rows)."""
    states = list(states)
    return pa.table(
        {
            SYMBOL: pa.array([s.symbol for s in states], type=pa.string()),
            TIMEFRAME: pa.array([s.timeframe for s in states], type=pa.string()),
            "action": pa.array([s.action for s in states], type=pa.string()),
            "from_row": pa.array([s.from_row for s in states], type=pa.int64()),
            "verify_rows": pa.array([s.verify_rows for s in states], type=pa.int64()),
        }
    )


def write_state(
    conn: duckdb.DuckDBPyConnection,
    target: str,
    plan: FeaturePlan,
    states: Iterable[PartitionState],
    view: str,
) -> None:
    """Record each remaining partition's source checksum and the plan's fingerprint."""
    kept = [s for s in states if s.action != DROP]
    table = pa.table(
        {
            SYMBOL: pa.array([s.symbol for s in kept], type=pa.string()),
            TIMEFRAME: pa.array([s.timeframe for s in kept], type=pa.string()),
            "checksum": pa.array([s.checksum for s in kept], type=pa.uint64()),
        }
    )
    conn.execute(f"delete from {STATE_TABLE} where target = ?", [target])
    conn.register(view, table)
    try:
        conn.execute(
            f"insert into {STATE_TABLE} select ?, {quote(SYMBOL)}, {quote(TIMEFRAME)}, checksum, ? "
            f"from {quote(view)}",
            [target, plan.fingerprint()],
        )
    finally:
        conn.unregister(view)
