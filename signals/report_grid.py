"""One self-contained HTML report per grid run (plotly.js inline: it works offline).

Inputs are plain frames: `stats` has one row per grid cell, indexed by candidate id (the
column names of `returns`), with statistic and parameter columns; `returns` holds the
candidates' daily returns; `walk_forward` is an optional `signals.walk_forward` result.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

from signals.portfolio import RETURN_STAT_NAMES
from signals.stats import STAT_NAMES
from signals.walk_forward import WalkForwardResult

SECTIONS = {
    "equity-curves": "Equity curves",
    "drawdowns": "Drawdowns",
    "stats-table": "Statistics",
    "parameter-heatmap": "Parameter heat map",
    "correlation": "Correlation of survivors",
    "walk-forward": "Walk-forward: in-sample vs out-of-sample",
}
NOT_PARAMETERS = {
    *STAT_NAMES,
    *RETURN_STAT_NAMES,
    "passes_filter",
    "is_selected",
    "candidate",
    "run_id",
    "strategy_id",
    "parameters",
}
TABLE_STATS = (
    "trades",
    "total_return",
    "cagr",
    "sharpe",
    "sortino",
    "max_drawdown",
    "avg_drawdown",
    "avg_monthly_return",
    "win_rate",
    "profit_factor",
)
MAX_CORRELATED = 60  # candidates in the correlation matrix, beyond which it is unreadable
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #1d2430; }
section { margin-bottom: 2.5rem; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; font-size: 0.85rem; }
th, td { border-bottom: 1px solid #d8dde6; padding: 0.25rem 0.6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.note { color: #5b6575; }
"""


def _figure_html(fig: go.Figure, div_id: str, height: int = 460) -> str:
    """A figure's div and script; plotly.js itself is embedded once in the page head."""
    fig.update_layout(template="plotly_white", height=height, margin={"t": 40, "b": 40})
    config = {"displaylogo": False, "responsive": True}
    return pio.to_html(
        fig,
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,
        config=config,
        default_height=f"{height}px",
    )


def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(float_format=lambda v: f"{v:,.4f}", border=0, na_rep="–", escape=True)


def _note(text: str) -> str:
    return f"<p class='note'>{html.escape(text)}</p>"


def _curves(series: pd.DataFrame, div_id: str, title: str, yaxis: str) -> str:
    fig = go.Figure()
    for name, values in series.items():
        fig.add_trace(go.Scatter(x=values.index, y=values.to_numpy(), mode="lines", name=str(name)))
    fig.update_layout(title=title, yaxis_title=yaxis, hovermode="x unified")
    return _figure_html(fig, div_id)


def _equity(returns: pd.DataFrame) -> pd.DataFrame:
    return (1 + returns.astype("float64").fillna(0.0)).cumprod()


def _drawdown(equity: pd.DataFrame) -> pd.DataFrame:
    return equity / np.maximum(equity.cummax(), 1.0) - 1


def _top(stats: pd.DataFrame, returns: pd.DataFrame, stat: str, top: int) -> list[str]:
    """The `top` candidates with return streams, best `stat` first (ties: by id)."""
    ranked = stats[stats.index.isin(returns.columns)]
    order = ranked.assign(_id=ranked.index.astype(str)).sort_values(
        [stat, "_id"], ascending=[False, True], na_position="last"
    )
    return list(order.index[:top])


def expand_parameters(stats: pd.DataFrame) -> pd.DataFrame:
    """Stats with a JSON `parameters` column (as the grid writes it) spread into columns."""
    if "parameters" not in stats.columns:
        return stats
    parsed = [json.loads(text) if isinstance(text, str) else {} for text in stats["parameters"]]
    spread = pd.DataFrame(parsed, index=stats.index)
    return stats.join(spread[[c for c in spread.columns if c not in stats.columns]])


def parameter_columns(stats: pd.DataFrame) -> list[str]:
    """Columns of `stats` that vary and are not statistics: the grid's parameters."""
    return [c for c in stats.columns if c not in NOT_PARAMETERS and stats[c].nunique() > 1]


def _heatmap(stats: pd.DataFrame, parameters: Sequence[str] | None, stat: str, agg: str) -> str:
    axes = list(parameters) if parameters is not None else parameter_columns(stats)[:2]
    if len(axes) != 2:
        return _note(f"A heat map needs two parameter columns; found {axes}.")
    missing = sorted(set(axes) - set(stats.columns))
    if missing:
        raise ValueError(f"stats: parameter column(s) {missing} not found")
    x, y = axes
    grid = stats.pivot_table(index=y, columns=x, values=stat, aggfunc=agg, dropna=False)
    fig = go.Figure(
        go.Heatmap(
            z=grid.to_numpy(),
            x=[str(v) for v in grid.columns],
            y=[str(v) for v in grid.index],
            colorscale="RdYlGn",
            colorbar={"title": {"text": stat}},
            hovertemplate=f"{x}=%{{x}}<br>{y}=%{{y}}<br>{agg} {stat}=%{{z:.4f}}<extra></extra>",
        )
    )
    fig.update_layout(title=f"{agg} {stat} by {x} and {y}", xaxis_title=x, yaxis_title=y)
    return _figure_html(fig, "parameter-heatmap-plot")


def _correlation(returns: pd.DataFrame, survivors: Sequence[str]) -> str:
    if len(survivors) < 2:
        return _note(f"{len(survivors)} survivor(s): no correlation matrix to show.")
    shown = list(survivors)[:MAX_CORRELATED]
    corr = returns[shown].astype("float64").fillna(0.0).corr()
    fig = go.Figure(
        go.Heatmap(
            z=corr.to_numpy(),
            x=shown,
            y=shown,
            zmin=-1,
            zmax=1,
            colorscale="RdBu_r",
            hovertemplate="%{x}<br>%{y}<br>correlation %{z:.3f}<extra></extra>",
        )
    )
    fig.update_layout(title="Correlation of daily returns", yaxis_autorange="reversed")
    cut = _note(f"Showing the first {MAX_CORRELATED} of {len(survivors)}.")
    return _figure_html(fig, "correlation-plot", 620) + (cut if len(survivors) > len(shown) else "")


def _walk_forward(result: WalkForwardResult | None) -> str:
    if result is None:
        return _note("No walk-forward run was given for this grid run.")
    known = result.returns.notna()
    span = known.cummax() & known[::-1].cummax()[::-1]  # each curve over its own span
    equity = _equity(result.returns).where(span).dropna(how="all")
    parts = [_curves(equity, "walk-forward-equity", "Stitched equity", "equity")]
    windows = result.windows
    fig = go.Figure()
    for side in ("in_sample", "out_of_sample"):
        label = side.replace("_", "-")
        fig.add_trace(go.Bar(x=windows["decided_at"], y=windows[f"{side}_sharpe"], name=label))
    fig.update_layout(title="Sharpe per decision", barmode="group", yaxis_title="Sharpe")
    parts.append(_figure_html(fig, "walk-forward-sharpe", 380))
    parts.append(_table(result.summary))
    return "".join(parts)


def write_grid_report(
    path: Path,
    stats: pd.DataFrame,
    returns: pd.DataFrame,
    walk_forward: WalkForwardResult | None = None,
    *,
    parameters: Sequence[str] | None = None,
    stat: str = "sharpe",
    heatmap_agg: str = "median",
    survivors: Sequence[str] | None = None,
    top: int = 10,
    title: str = "signalyard grid report",
) -> Path:
    """Write the grid run's report to `path`: one HTML file with every section."""
    stats = expand_parameters(stats)
    if stat not in stats.columns:
        raise ValueError(f"stats: no column {stat!r}; received {sorted(map(str, stats.columns))}")
    unknown = sorted(set(survivors or ()) - set(returns.columns))
    if unknown:
        raise ValueError(f"survivors: no return column for {unknown}")
    best = _top(stats, returns, stat, top)
    equity = _equity(returns[best])
    shown = [c for c in (*parameter_columns(stats), *TABLE_STATS) if c in stats.columns]
    table = stats.sort_values(stat, ascending=False, na_position="last")[shown].head(50)
    chosen = list(survivors) if survivors is not None else best
    body = {
        "equity-curves": _curves(
            equity, "equity-curves-plot", f"Top {len(best)} by {stat}", "equity"
        ),
        "drawdowns": _curves(_drawdown(equity), "drawdowns-plot", "Drawdown", "drawdown"),
        "stats-table": _table(table) + _note(f"{len(stats)} cells; the best 50 by {stat}."),
        "parameter-heatmap": _heatmap(stats, parameters, stat, heatmap_agg),
        "correlation": _correlation(returns, chosen),
        "walk-forward": _walk_forward(walk_forward),
    }
    sections = "".join(
        f"<section id='{key}'><h2>{SECTIONS[key]}</h2>{content}</section>"
        for key, content in body.items()
    )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style>"
        f"<script type='text/javascript'>{get_plotlyjs()}</script></head>"
        f"<body><h1>{html.escape(title)}</h1>{sections}</body></html>"
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
