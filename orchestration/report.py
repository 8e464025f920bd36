"""The run report: one self-contained HTML page."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from orchestration.summary import table_rows

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #1d2430; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; font-size: 0.9rem; }
th, td { border-bottom: 1px solid #d8dde6; padding: 0.25rem 0.6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.pass { color: #0a7d32; font-weight: 600; }
"""


def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(
        index=False, float_format=lambda v: f"{v:,.4f}", border=0, na_rep="–", escape=True
    )


def write_report(conn: duckdb.DuckDBPyConnection, path: Path) -> Path:
    """Row counts, statistics per strategy instance and symbol, and selection history."""
    counts = pd.DataFrame(sorted(table_rows(conn).items()), columns=["table", "rows"])
    stats = conn.execute(
        "select strategy_id, symbol, trades, win_rate, profit_factor, total_return, sharpe, "
        "sortino, cagr, max_drawdown, avg_drawdown, exposure, avg_trade_duration_hours, "
        "avg_monthly_return, passes_filter from marts.fct_backtest_stats "
        "order by strategy_id, symbol"
    ).fetchdf()
    selected = conn.execute(
        "select strategy_id, symbol, count(*) filter (where is_selected) as weeks_selected, "
        "count(*) as weeks from marts.fct_strategy_selections group by 1, 2 order by 1, 2"
    ).fetchdf()
    signals = conn.execute(
        "select strategy_id, count(*) as rows, min(signal_timestamp) as first_signal, "
        "max(signal_timestamp) as last_signal from signals.signal_weights group by 1 order by 1"
    ).fetchdf()
    body = [
        "<h1>signalyard run report</h1>",
        f"<p>{int(stats['passes_filter'].sum())} of {len(stats)} strategy instance x symbol "
        "cells pass the performance filter on the whole history.</p>",
        "<h2>Backtest statistics</h2>",
        _table(stats),
        "<h2>Point-in-time selection (weekly epochs)</h2>",
        _table(selected),
        "<h2>Signal rows</h2>",
        _table(signals),
        "<h2>Tables</h2>",
        _table(counts),
    ]
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>signalyard report</title>"
        f"<style>{_STYLE}</style></head><body>{''.join(body)}</body></html>"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page)
    return path


__all__ = ["write_report"]
