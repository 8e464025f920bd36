"""The embedded DuckDB warehouse: connections configured the same way everywhere."""

from __future__ import annotations

from pathlib import Path

import duckdb

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
