"""What is in the warehouse: row counts per table, quarantine, passing strategies."""

from __future__ import annotations

import duckdb

from warehouse.engines.duckdb import table_exists

SCHEMAS = ("raw", "staging", "intermediate", "features", "backtests", "marts", "signals", "lean")


def table_rows(conn: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """`schema.table` -> row count for every table and view of signalyard's schemas."""
    names = conn.execute(
        "select table_schema || '.' || table_name from information_schema.tables "
        f"where table_schema in ({', '.join('?' * len(SCHEMAS))}) order by 1",
        list(SCHEMAS),
    ).fetchall()
    return {n: conn.execute(f"select count(*) from {n}").fetchall()[0][0] for (n,) in names}


def quarantined_files(conn: duckdb.DuckDBPyConnection) -> list[dict[str, str]]:
    """Every quarantined file with its reason."""
    if not table_exists(conn, "meta.loaded_files"):
        return []
    rows = conn.execute(
        "select key, dataset, reason from meta.loaded_files where status = 'quarantined' "
        "order by key"
    ).fetchall()
    return [{"key": k, "dataset": d, "reason": r} for k, d, r in rows]


def passing_instances(conn: duckdb.DuckDBPyConnection) -> list[dict[str, object]]:
    """Strategy instances and symbols that pass the filter on the whole history."""
    if not table_exists(conn, "marts.fct_backtest_stats"):
        return []
    frame = conn.execute(
        "select strategy_id, symbol, trades, win_rate, profit_factor, total_return, sharpe, "
        "max_drawdown from marts.fct_backtest_stats where passes_filter "
        "order by strategy_id, symbol"
    ).fetchdf()
    return frame.to_dict("records")


def portfolio_summaries(conn: duckdb.DuckDBPyConnection) -> list[dict[str, object]]:
    """Per declared portfolio: decisions over the data, members now, IS/OOS compounded return."""
    if not table_exists(conn, "backtests.portfolio_windows"):
        return []
    rows = conn.execute(
        """
        with windows as (
            select portfolio_id, count(*) as decisions,
                arg_max(members, decided_at) as last_members
            from backtests.portfolio_windows group by all
        ),
        daily as (
            select portfolio_id,
                product(1 + in_sample) - 1 as in_sample_return,
                product(1 + out_of_sample) - 1 as out_of_sample_return
            from backtests.portfolio_returns group by all
        ),
        targets as (
            select strategy_id as portfolio_id, count(*) as target_rows
            from backtests.portfolio_targets group by all
        )
        select windows.*, daily.in_sample_return, daily.out_of_sample_return,
            coalesce(targets.target_rows, 0) as target_rows
        from windows
        left join daily using (portfolio_id)
        left join targets using (portfolio_id)
        order by portfolio_id
        """
    ).fetchdf()
    return rows.to_dict("records")
