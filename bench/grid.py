"""The research grid end to end: read features, evaluate conditions, simulate, write results.

`bench/backtest.py` times the kernel on ready-made signals; this times what a user runs,
`signals.grid.run_grid_study` on a DuckDB warehouse: per (symbol, timeframe) partition,
the features are read, every (strategy, parameter set) condition is evaluated with
pandas, the kernel simulates all columns, and trades, statistics and daily equity are
written in one transaction. The projection of the 60 x 6 x 200 study uses this rate.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench.report import Table, rate
from signals.grid import GridSpec, run_grid_study
from signals.strategy import strategy_from_dict
from warehouse.engines.duckdb import connect

SYMBOLS = 8
BARS = 100_000  # one-minute bars per symbol (~70 days)
STUDY_BAR_CELLS = 200 * 60 * (525_600 + 105_120 + 35_040 + 8_760 + 2_190 + 365)
_TEMPLATES = (
    ("osc_revert_{i}", "osc < low_{i}", "osc > 60", "long"),
    ("osc_fade_{i}", "osc > high_{i}", "osc < 40", "short"),
    ("trend_cross_{i}", "crosses_above(trend, level_{i})", "trend < 0", "long"),
    ("trend_break_{i}", "crosses_below(trend, level_{i}) and osc > 50", "trend > 0", "short"),
    ("osc_trend_{i}", "osc < low_{i} and trend > 0", "osc > 55 or trend < -0.5", "long"),
)
_PARAMETERS = {
    "low": {"default": 30, "range": [20, 40], "step": 5},
    "high": {"default": 70, "range": [60, 80], "step": 5},
    "level": {"default": 0.0, "range": [-0.4, 0.4], "step": 0.2},
}


def _strategies(copies: int = 2) -> list:
    """10 strategies of 5 parameter values each: 50 signal columns per partition."""
    out = []
    for i in range(copies):
        for name, entry, exit_, direction in _TEMPLATES:
            parameter = next(p for p in _PARAMETERS if f"{p}_{{i}}" in entry)
            spec = {
                "id": name.format(i=i),
                "description": "bench strategy",
                "timeframes": ["1m"],
                "direction": direction,
                "parameters": {f"{parameter}_{i}": _PARAMETERS[parameter]},
                "entry": entry.format(i=i),
                "exit": exit_,
                "stoploss": -0.02 - 0.01 * i,
                "take_profit": 0.03,
                "fees": 0.001,
            }
            out.append(strategy_from_dict(spec, "<bench>"))
    return out


def _warehouse(path: Path) -> None:
    rng = np.random.default_rng(5)
    frames = []
    for s in range(SYMBOLS):
        close = 100 * np.exp(np.cumsum(rng.normal(0, 0.001, BARS)))
        open_ = np.r_[close[0], close[:-1]]
        frames.append(
            pd.DataFrame(
                {
                    "symbol": f"SYM{s:02d}",
                    "timeframe": "1m",
                    "ts": pd.date_range("2024-01-01", periods=BARS, freq="1min"),
                    "open": open_,
                    "high": np.maximum(open_, close) * (1 + rng.uniform(0, 0.0005, BARS)),
                    "low": np.minimum(open_, close) * (1 - rng.uniform(0, 0.0005, BARS)),
                    "close": close,
                    "volume": rng.uniform(1, 10, BARS),
                    "osc": 50 + 30 * np.sin(np.arange(BARS) / 40) + rng.normal(0, 8, BARS),
                    "trend": np.sin(np.arange(BARS) / 300) + rng.normal(0, 0.1, BARS),
                }
            )
        )
    rows = pd.concat(frames, ignore_index=True)
    rows["available_at"] = rows["ts"]
    with connect(path) as conn:
        conn.execute("create schema intermediate")
        conn.register("rows", rows)
        conn.execute("create table intermediate.int_bar_features_joined as select * from rows")


def run(repeats: int | None = None) -> list[Table]:
    """Bar-cells/s of the whole grid (conditions + kernel + statistics + writes)."""
    root = Path(tempfile.mkdtemp(prefix="signalyard-bench-grid-"))
    try:
        source = root / "source.duckdb"
        _warehouse(source)
        strategies = _strategies()
        spec = GridSpec(strategies=tuple(s.id for s in strategies), sampling="grid")
        timings = []
        for _ in range(repeats or 3):
            work = root / f"run-{len(timings)}.duckdb"
            shutil.copyfile(source, work)
            with connect(work) as conn:
                started = time.perf_counter()
                result = run_grid_study(conn, spec, strategies)
                timings.append(time.perf_counter() - started)
        best = min(timings)
        per_second = result.bar_cells / best
        return [
            Table(
                title=(
                    f"grid: run_grid_study end to end, {SYMBOLS} symbols x {BARS:,} one-minute "
                    f"bars, {result.cells // SYMBOLS} strategy x parameter columns"
                ),
                headers=("contender", "bar-cells/s", "best s", "cells", "trades"),
                rows=[
                    (
                        "signalyard grid",
                        rate(result.bar_cells, best),
                        f"{best:.2f}",
                        f"{result.cells:,}",
                        f"{result.trades:,}",
                    )
                ],
                notes=[
                    "Includes reading features from DuckDB, evaluating every condition with",
                    "pandas, the kernel, statistics, daily equity and writing it per partition.",
                    f"Projected 60 strategies x 6 timeframes x 200 markets over 1 year of minutes "
                    f"({STUDY_BAR_CELLS / 1e9:.2f}G bar-cells, one variant each): "
                    f"{STUDY_BAR_CELLS / per_second / 60:.1f} min at this rate.",
                ],
            )
        ]
    finally:
        shutil.rmtree(root, ignore_errors=True)
