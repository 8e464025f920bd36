"""The embedded DuckDB warehouse: connections configured the same way everywhere."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import duckdb
import pandas as pd

# Never download extensions at run time (httpfs & co. hang behind firewalls).
CONNECTION_CONFIG = {
    "autoinstall_known_extensions": "false",
    "autoload_known_extensions": "false",
}


def connect(path: Path | str, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) the warehouse file with UTC and no auto-downloads."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = duckdb.connect(str(path), read_only=read_only, config=dict(CONNECTION_CONFIG))
    conn.execute("set TimeZone = 'UTC'")
    conn.execute("set enable_progress_bar = false")  # our commands draw their own bars
    return conn


def table_exists(conn: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    """Whether `schema.table` exists (table or view)."""
    schema, _, name = qualified.rpartition(".")
    rows = conn.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema or "main", name],
    ).fetchall()
    return bool(rows[0][0])


def insert_frame(conn: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> int:
    """Append `frame`'s rows to `table`, columns matched by name; the rows inserted."""
    view = "_signalyard_insert_frame"
    conn.register(view, frame)
    try:
        conn.execute(f"insert into {table} by name select * from {view}")
    finally:
        conn.unregister(view)
    return len(frame)


def replace_table(
    conn: duckdb.DuckDBPyConnection, table: str, ddl: str, frames: Iterable[pd.DataFrame]
) -> int:
    """Recreate `table` with the columns `ddl` declares and fill it from `frames`; rows written.

    The declared columns keep the table's types whatever the frames hold, even with no rows.
    """
    conn.execute(f"create or replace table {table} ({ddl})")
    return sum(insert_frame(conn, table, frame) for frame in frames if len(frame))
