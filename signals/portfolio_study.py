"""A portfolio walk-forward as a research study: `signalyard portfolio`.

It reads either the warehouse's backtested candidates (knowledge-day streams, exactly as
the published portfolios do) or one grid run's daily equity curves, runs a declared or
ad-hoc PortfolioSpec, and reports in-sample and out-of-sample results side by side. It
writes no table: what is published to `signal_weights` comes only from the specs declared
in `signals/library/portfolios/`, which the asset graph (and so the replay) rebuilds.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from signals.portfolio import return_stats
from signals.portfolio_pipeline import (
    PERIODS_PER_YEAR,
    PortfolioSpec,
    build_declared_portfolio,
)
from signals.walk_forward import WalkForwardResult
from warehouse.engines.duckdb import table_exists


@dataclass(frozen=True)
class PortfolioStudy:
    """The walk-forward of one spec over one set of candidate streams."""

    spec: PortfolioSpec
    source: str  # "warehouse" or "grid <run id>"
    returns: pd.DataFrame  # candidate daily returns over the data's span
    result: WalkForwardResult  # windows, daily IS/OOS returns and summary over that span

    def members(self) -> list[str]:
        """Candidates held by at least one decision, by id."""
        weights = self.result.weights
        return sorted(set(weights.loc[weights["weight"] > 0, "candidate"]))


def _grid_returns(conn: duckdb.DuckDBPyConnection, run_id: str) -> pd.DataFrame:
    from signals.grid import grid_frames  # the grid's tables, read only here

    if not table_exists(conn, "backtests.grid_equity"):
        raise ValueError(
            f"grid run {run_id!r}: no daily equity in backtests.grid_equity "
            "(no grid has run on this warehouse: `signalyard grid`)"
        )
    _, returns = grid_frames(conn, run_id)
    if returns.empty:
        raise ValueError(f"grid run {run_id!r}: no daily equity in backtests.grid_equity")
    return returns


def study_portfolio(
    conn: duckdb.DuckDBPyConnection,
    spec: PortfolioSpec,
    *,
    grid_run: str | None = None,
    as_of: Any = None,
) -> PortfolioStudy:
    """Walk `spec` forward over the warehouse's candidates, or over grid run `grid_run`'s."""
    if grid_run is None:
        run = build_declared_portfolio(conn, spec, as_of or pd.Timestamp.now("UTC"))
        if run.result is None:
            raise ValueError(
                f"{spec.id}: the backtested candidates do not cover one train window "
                f"({spec.train}) yet"
            )
        windows, daily, summary = run.diagnostics()
        returns = run.returns[run.returns.index <= daily.index[-1]]
        result = replace(run.result, windows=windows, returns=daily, summary=summary)
        return PortfolioStudy(spec, "warehouse", returns, result)
    returns = _grid_returns(conn, grid_run)
    span = returns.index[-1] - returns.index[0] + pd.Timedelta(days=1)
    if span < pd.Timedelta(spec.train):
        raise ValueError(
            f"grid run {grid_run!r}: {span.days} days of equity, shorter than the train "
            f"window {spec.train}"
        )
    result = spec.walk(returns, pd.Timedelta(spec.latency))
    return PortfolioStudy(spec, f"grid {grid_run}", returns, result)


def write_study_report(study: PortfolioStudy, path: Path) -> Path:
    """The HTML report (signals.report_grid): candidates, survivors' correlation, walk-forward."""
    from signals.report_grid import write_grid_report

    stats = return_stats(study.returns.fillna(0.0), PERIODS_PER_YEAR)
    members = study.members()
    return write_grid_report(
        path,
        stats,
        study.returns.fillna(0.0),
        study.result,
        survivors=members or None,
        title=f"signalyard portfolio {study.spec.id} ({study.source}, {study.spec.method})",
    )
