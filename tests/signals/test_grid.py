"""The research grid: cells match backtest_signals, sampling is seeded, a killed run resumes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from signals.backtest import backtest_signals
from signals.grid import GridSpec, run_grid_study, variants
from signals.strategy import strategy_from_dict
from warehouse.engines.duckdb import connect

REPO = Path(__file__).resolve().parents[2]
SYMBOLS = ("AAA", "BBB", "CCC", "DDD")
TIMEFRAMES = ("5m", "1h")
STRATEGIES = (
    {
        "id": "osc_revert",
        "description": "Buy an oversold oscillator, sell when it recovers.",
        "timeframes": ["5m", "1h"],
        "parameters": {"osc_low": {"default": 30, "range": [20, 40], "step": 5}},
        "entry": "osc < osc_low",
        "exit": "osc > 60",
        "stoploss": -0.05,
        "take_profit": 0.04,
        "fees": 0.001,
    },
    {
        "id": "trend_short",
        "description": "Short a falling trend line.",
        "direction": "short",
        "timeframes": ["1h"],
        "entry": "crosses_below(trend, 0)",
        "exit": "trend > 0.5",
        "stoploss": -0.03,
    },
)


def _bars(symbol: str, timeframe: str, n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.004, n)))
    open_ = np.r_[close[0], close[:-1]] * (1 + rng.normal(0, 0.001, n))
    step = pd.Timedelta("5min" if timeframe == "5m" else "1h")
    return pd.DataFrame(
        {
            "symbol": symbol,
            "timeframe": timeframe,
            "ts": pd.date_range("2024-01-01", periods=n, freq=step),
            "open": open_,
            "high": np.maximum(open_, close) * (1 + rng.uniform(0, 0.003, n)),
            "low": np.minimum(open_, close) * (1 - rng.uniform(0, 0.003, n)),
            "close": close,
            "volume": rng.uniform(1, 10, n),
            "osc": np.clip(50 + np.cumsum(rng.normal(0, 4, n)) % 100 - 25, 0, 100),
            "trend": np.sin(np.arange(n) / 17) + rng.normal(0, 0.2, n),
        }
    )


def make_warehouse(path: Path) -> None:
    """A warehouse with bars and features joined for 4 symbols x 2 timeframes."""
    frames = [
        _bars(s, tf, 1500 if tf == "5m" else 600, seed=i * 10 + j)
        for i, s in enumerate(SYMBOLS)
        for j, tf in enumerate(TIMEFRAMES)
    ]
    rows = pd.concat(frames, ignore_index=True)
    rows["available_at"] = rows["ts"]
    with connect(path) as conn:
        conn.execute("create schema if not exists intermediate")
        conn.register("rows", rows)
        conn.execute("create table intermediate.int_bar_features_joined as select * from rows")


def strategies():
    """The two test strategies."""
    return [strategy_from_dict(spec, f"<{spec['id']}>") for spec in STRATEGIES]


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "w.duckdb"
    make_warehouse(path)
    return path


def test_every_cell_matches_backtest_signals_on_its_own(warehouse: Path):
    spec = GridSpec(strategies=("osc_revert", "trend_short"), sampling="grid")
    with connect(warehouse) as conn:
        run = run_grid_study(conn, spec, strategies())
        stats = conn.execute("select * from backtests.grid_stats").fetchdf()
        frame = conn.execute("select * from intermediate.int_bar_features_joined").fetchdf()
    # osc_revert: 5 parameter values x 2 timeframes; trend_short: 1 x 1h; over 4 symbols.
    assert run.cells == len(stats) == 4 * (5 * 2 + 1)
    assert run.partitions_computed == 8 and run.skipped == {}
    for row in stats.sample(6, random_state=3).itertuples():
        part = frame[(frame.symbol == row.symbol) & (frame.timeframe == row.timeframe)]
        part = part.set_index(pd.DatetimeIndex(part.ts)).sort_index()
        [variant] = [
            v
            for v in variants(strategies(), row.timeframe, spec)
            if v.strategy_id == row.strategy_id
        ]
        s = variant.strategy
        trades, expected = backtest_signals(
            part,
            s.entry.evaluate(part),
            s.exit.evaluate(part),
            stoploss=s.stoploss,
            take_profit=s.take_profit,
            fees=s.fees,
            slippage=s.slippage,
            direction=s.direction,
        )
        assert row.trades == expected["trades"]
        assert row.total_return == pytest.approx(expected["total_return"], rel=1e-9, abs=1e-12)
        assert row.sharpe == pytest.approx(expected["sharpe"], rel=1e-9, abs=1e-12, nan_ok=True)


def test_random_sampling_is_seeded_and_each_set_runs_once(warehouse: Path):
    spec = GridSpec(strategies=("osc_revert",), sampling="random", samples=3, seed=11)
    again = GridSpec(strategies=("osc_revert",), sampling="random", samples=3, seed=11)
    assert spec.run_id == again.run_id
    with connect(warehouse) as conn:
        run_grid_study(conn, spec, strategies()[:1])
        params = conn.execute(
            "select distinct parameters from backtests.grid_stats order by 1"
        ).fetchall()
    drawn = strategies()[0].sample_parameters(3, 11)
    assert len(drawn) == 3
    assert sorted(json.loads(p)["osc_low"] for (p,) in params) == sorted(
        {d["osc_low"] for d in drawn}
    )
    assert all(20 <= d["osc_low"] <= 40 for d in drawn)


def test_a_strategy_on_missing_columns_is_skipped_and_reported(warehouse: Path):
    broken = strategy_from_dict(
        {**STRATEGIES[1], "id": "needs_adx", "entry": "adx > 25", "exit": "adx < 20"}, "<x>"
    )
    spec = GridSpec(strategies=("needs_adx",), timeframes=("1h",))
    with connect(warehouse) as conn:
        run = run_grid_study(conn, spec, [broken])
    assert "needs_adx" in run.skipped and "adx" in run.skipped["needs_adx"]
    assert run.cells == 0


_CHILD = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from tests.signals.test_grid import strategies
from signals.grid import GridSpec, run_grid_study
from warehouse.engines.duckdb import connect
spec = GridSpec(strategies=("osc_revert", "trend_short"), sampling="grid")
with connect(Path(sys.argv[1])) as conn:
    run_grid_study(conn, spec, strategies(),
                   on_partition=lambda s, t, n: print(f"done {s} {t}", flush=True))
print("finished", flush=True)
"""


def test_a_killed_grid_continues_where_it_stopped_with_no_cell_twice_or_lost(tmp_path: Path):
    killed, whole = tmp_path / "killed.duckdb", tmp_path / "whole.duckdb"
    make_warehouse(killed)
    make_warehouse(whole)
    command = [sys.executable, "-c", _CHILD, str(killed), str(REPO)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.PIPE, text=True)
    for _ in range(3):  # let three partitions commit, then kill mid-run
        assert child.stdout.readline().startswith("done")
    child.send_signal(signal.SIGKILL)
    child.wait()
    with connect(killed, read_only=True) as conn:
        partial = conn.execute("select count(*) from backtests.grid_partitions").fetchall()[0][0]
    assert 3 <= partial < 8
    spec = GridSpec(strategies=("osc_revert", "trend_short"), sampling="grid")
    with connect(killed) as conn:
        run = run_grid_study(conn, spec, strategies())
        resumed = conn.execute("select * from backtests.grid_stats order by all").fetchdf()
        resumed_trades = conn.execute("select count(*) from backtests.grid_trades").fetchall()
    assert run.partitions_done_before == partial
    assert run.partitions_computed == 8 - partial
    with connect(whole) as conn:
        run_grid_study(conn, spec, strategies())
        expected = conn.execute("select * from backtests.grid_stats order by all").fetchdf()
        expected_trades = conn.execute("select count(*) from backtests.grid_trades").fetchall()
    assert resumed.duplicated(["strategy_id", "symbol"]).sum() == 0
    pd.testing.assert_frame_equal(resumed, expected)
    assert resumed_trades == expected_trades
