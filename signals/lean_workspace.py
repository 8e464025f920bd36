"""The LEAN workspace from the warehouse: signal tables plus the traded symbols' prices."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from signals.lean_export import LeanExport, export_lean_workspace
from signals.lean_prices import write_lean_prices

_SIGNAL_SYMBOLS = """
    select symbol from signals.signal_weights
    union
    select symbol from signals.signal_orders
"""


def _bars(conn: duckdb.DuckDBPyConnection, table: str, extra: str = "") -> pd.DataFrame:
    """Bars of every symbol that has signal rows (what a `lean backtest` needs locally)."""
    return conn.sql(
        f"select symbol, ts, open, high, low, close, volume{extra} from {table} "
        f"where symbol in ({_SIGNAL_SYMBOLS}) order by symbol, ts"
    ).df()


def export_from_warehouse(
    conn: duckdb.DuckDBPyConnection,
    out_dir: Path,
    *,
    mode: str = "append",
    object_store: bool = True,
) -> LeanExport:
    """Export signal_weights, signal_orders and minute/daily prices to a LEAN workspace."""
    weights = conn.sql("select * from signals.signal_weights").df()
    orders = conn.sql("select * from signals.signal_orders").df()
    minute = _bars(conn, "staging.stg_raw__bars_1m")
    export = export_lean_workspace(
        weights,
        out_dir,
        orders=orders,
        mode=mode,
        object_store=object_store,
        prices=minute if len(minute) else None,
        price_resolution="minute",
    )
    daily = _bars(conn, "staging.stg_raw__bars_1d", ", adj_close")
    if len(daily):
        write_lean_prices(daily, Path(out_dir) / "data", resolution="daily")
    return export
