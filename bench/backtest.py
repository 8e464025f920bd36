"""The numba backtest kernel vs vectorbt's Portfolio.from_signals, and the grid projection.

Head to head: 8 symbols x 1,000,000 one-minute bars, the same signals and settings, the
kernel set to vectorbt's stop conventions; the trades are asserted identical before
anything is timed. Then a slice of the "60 strategies x 6 timeframes x 200 markets" study
(two markets, one year of one-minute bars resampled to six timeframes, 60 strategy
columns) is timed with statistics and projected to 200 markets.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pandas as pd

from bench.data import random_signals, random_walk_bars
from bench.report import Table, rate
from bench.timing import measure
from signals.kernel import BacktestParams, GridResult, Prices, run_grid
from signals.stats import grid_stats

SYMBOLS, BARS, SEED, DENSITY, REPEATS = 8, 1_000_000, 11, 0.01, 3
SETTINGS = BacktestParams(
    stoploss=-0.01,
    take_profit=0.015,
    fees=0.001,
    slippage=0.0005,
    stops_on_entry_bar=False,  # vectorbt's conventions (docs/strategies.md), for identical trades
    signal_exit_first=False,
    entry_on_stop_bar=True,
)
YEAR_OF_MINUTES = 365 * 24 * 60
TIMEFRAMES = {"1m": 1, "5m": 5, "15m": 15, "1h": 60, "4h": 240, "1d": 1440}
STRATEGIES, MARKETS, SLICE_MARKETS = 60, 200, 2
ROOT = Path(__file__).resolve().parent.parent


def _peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _head_to_head_data() -> tuple[list[pd.DataFrame], np.ndarray, np.ndarray]:
    frames = [random_walk_bars(BARS, SEED + k) for k in range(SYMBOLS)]
    entries = np.stack([random_signals(BARS, DENSITY, 100 + k) for k in range(SYMBOLS)], axis=1)
    exits = np.stack([random_signals(BARS, DENSITY, 200 + k) for k in range(SYMBOLS)], axis=1)
    return frames, entries & ~exits, exits  # never together: vectorbt would ignore both


def _vectorbt(frames: list[pd.DataFrame], entries: np.ndarray, exits: np.ndarray) -> Any:
    """vectorbt configured to the kernel's fills (see tests/signals/test_vectorbt_parity.py)."""
    import vectorbt as vbt

    def wide(field: str) -> pd.DataFrame:
        return pd.DataFrame(np.stack([f[field].to_numpy() for f in frames], axis=1))

    o = wide("open")
    return vbt.Portfolio.from_signals(
        wide("close"),
        pd.DataFrame(entries).shift(1, fill_value=False),
        pd.DataFrame(exits).shift(1, fill_value=False),
        direction="longonly",
        price=o,
        open=o,
        high=wide("high"),
        low=wide("low"),
        size=1.0,
        size_type="amount",
        init_cash=1e12,
        accumulate=False,
        fees=SETTINGS.fees,
        slippage=SETTINGS.slippage,
        sl_stop=-SETTINGS.stoploss,
        tp_stop=SETTINGS.take_profit,
        stop_entry_price="price",
        stop_exit_price="stopmarket",
        freq="1min",
    )


def _assert_identical(ours: GridResult, prices: Prices, theirs: np.ndarray) -> int:
    """Trade for trade equality (bars, prices, returns); returns the number of trades."""
    s = SETTINGS.slippage
    for cell in range(SYMBOLS):
        part = slice(ours.first[cell], ours.first[cell] + ours.count[cell])
        filled = ours.entry[part] >= 0
        them = theirs[theirs["col"] == cell]
        closed = them["status"] == 1
        offset = prices.bounds[cell]
        checks = {
            "count": len(them) == filled.sum(),
            "entry bars": np.array_equal(them["entry_idx"], ours.entry[part][filled] - offset),
            "exit bars": np.array_equal(
                them["exit_idx"][closed], ours.exit[part][filled][closed] - offset
            ),
            "entry prices": np.allclose(
                them["entry_price"], ours.entry_price[part][filled] * (1 + s), rtol=1e-12
            ),
            "exit prices": np.allclose(
                them["exit_price"][closed], ours.exit_price[part][filled][closed] * (1 - s)
            ),
            "returns": np.allclose(
                them["pnl"][closed]
                / (them["size"] * them["entry_price"] + them["entry_fees"])[closed],
                ours.ret[part][filled][closed],
                rtol=0,
                atol=1e-9,
            ),
        }
        wrong = [name for name, ok in checks.items() if not ok]
        if wrong:
            raise AssertionError(f"symbol {cell}: kernel and vectorbt differ in {wrong}")
    return len(theirs)


def _threads(count: int, func: Callable[[], Any]) -> Callable[[], Any]:
    """`func`, run with `count` numba threads."""

    def run() -> Any:
        numba.set_num_threads(count)
        return func()

    return run


def _first_call_seconds(cold: bool) -> str:
    """First-call seconds of run_grid and grid_stats in a fresh process.

    cold: with an empty numba cache (compiling); otherwise with the on-disk cache that
    earlier runs left in the package's __pycache__ (loading compiled code).
    """
    code = (
        "import time; t = time.perf_counter()\n"
        "import numpy as np, pandas as pd\n"
        "from signals.kernel import BacktestParams, Prices, run_grid\n"
        "from signals.stats import grid_stats\n"
        "imported = time.perf_counter()\n"
        "frame = pd.DataFrame({k: np.full(50, 100.0) for k in ('open','high','low','close')},\n"
        "    index=pd.date_range('2024', periods=50, freq='min', tz='UTC'))\n"
        "prices, flags, p = Prices.from_frames([frame]), np.ones(50, bool), [BacktestParams()]\n"
        "result = run_grid(prices, flags, flags, p)\n"
        "kernel = time.perf_counter()\n"
        "grid_stats(result, prices, frame.index, p)\n"
        "print(imported - t, kernel - imported, time.perf_counter() - kernel)\n"
    )
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        if cold:
            env["NUMBA_CACHE_DIR"] = cache
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
    imported, kernel, stats = (float(x) for x in out.stdout.split())
    return f"import {imported:.1f}s, run_grid {kernel:.1f}s, grid_stats {stats:.1f}s"


def _head_to_head(repeats: int) -> Table:
    frames, entries, exits = _head_to_head_data()
    prices = Prices.from_frames(frames)
    index = frames[0].index.append([f.index for f in frames[1:]])
    flat_entries = entries.T.reshape(-1, 1)  # symbol k's bars are segment k
    flat_exits = exits.T.reshape(-1, 1)

    def ours() -> GridResult:
        return run_grid(prices, flat_entries, flat_exits, [SETTINGS])

    def ours_with_stats() -> pd.DataFrame:
        return grid_stats(ours(), prices, index, [SETTINGS])

    trades = _assert_identical(ours(), prices, _vectorbt(frames, entries, exits).trades.values)
    ours_with_stats()
    rss_ours = _peak_rss_mb()
    one, two, full, theirs = measure(
        _threads(1, ours),
        _threads(2, ours),
        _threads(2, ours_with_stats),
        lambda: _vectorbt(frames, entries, exits),
        repeats=repeats,
    )
    cells = SYMBOLS * BARS
    rows = []
    for name, timing in (
        ("signals.kernel.run_grid, 1 thread", one),
        ("signals.kernel.run_grid, 2 threads", two),
        ("run_grid + grid_stats, 2 threads", full),
        ("vectorbt Portfolio.from_signals (warm)", theirs),
    ):
        rows.append(
            (
                name,
                rate(cells, timing.median),
                rate(cells, timing.min),
                f"{timing.median:.3f}",
                f"{theirs.median / timing.median:.1f}x",
            )
        )
    return Table(
        title=f"backtest: kernel vs vectorbt, {SYMBOLS} symbols x {BARS:,} one-minute bars, "
        f"{repeats} runs",
        headers=("contender", "bar-cells/s med", "max", "median s", "vs vectorbt"),
        rows=rows,
        notes=[
            f"stoploss {SETTINGS.stoploss}, take_profit {SETTINGS.take_profit}, fees "
            f"{SETTINGS.fees}, slippage {SETTINGS.slippage}; entries/exits ~{DENSITY:.0%} of bars.",
            f"identical trades asserted before timing: {trades:,} trades, bar for bar and price "
            "for price, returns within 1e-9.",
            "vectorbt is single-threaded; its time excludes compiling (warm-up round) and "
            "building its trade records (pf.trades), which ours include.",
            f"vectorbt {version('vectorbt')}, numba {numba.__version__}, "
            f"threading layer {numba.threading_layer()}.",
            f"process peak RSS (after the study slice) with our runs {rss_ours:,.0f} MB; "
            f"after vectorbt's {_peak_rss_mb():,.0f} MB.",
            f"first call, cold compile (empty numba cache): {_first_call_seconds(cold=True)}; "
            f"with the on-disk cache: {_first_call_seconds(cold=False)}.",
        ],
    )


def _study_slice_inputs() -> list[tuple[str, Prices, pd.DatetimeIndex, np.ndarray, np.ndarray]]:
    """Per timeframe: two markets' bars resampled from one year of minutes, 60 signal columns."""
    minutes = [random_walk_bars(YEAR_OF_MINUTES, 500 + m) for m in range(SLICE_MARKETS)]
    rules = {"open": "first", "high": "max", "low": "min", "close": "last"}
    out = []
    rng = np.random.default_rng(7)
    for name, step in TIMEFRAMES.items():
        frames = [m if step == 1 else m.resample(f"{step}min").agg(rules) for m in minutes]
        prices = Prices.from_frames(frames)
        index = frames[0].index.append([f.index for f in frames[1:]])
        density = rng.uniform(0.005, 0.05, STRATEGIES)
        shape = (len(prices.close), STRATEGIES)
        entries = np.asfortranarray(rng.random(shape) < density)
        exits = np.asfortranarray(rng.random(shape) < density)
        out.append((name, prices, index, entries, exits))
    return out


def _strategy_params() -> list[BacktestParams]:
    """60 varied parameter columns: directions, stops, targets, trailing, ROI tables."""
    rng = np.random.default_rng(8)
    params = []
    for k in range(STRATEGIES):
        params.append(
            BacktestParams(
                direction="long" if k % 3 else "short",
                stoploss=-float(rng.uniform(0.005, 0.05)) if k % 4 else None,
                take_profit=float(rng.uniform(0.005, 0.08)) if k % 2 else None,
                trailing_stop=float(rng.uniform(0.005, 0.03)) if k % 5 == 0 else None,
                roi=((0, 0.05), (60, 0.01), (240, 0.0)) if k % 6 == 0 else (),
                fees=0.001,
            )
        )
    return params


def _study_projection() -> Table:
    inputs = _study_slice_inputs()
    params = _strategy_params()
    rows, total_seconds, total_cells = [], 0.0, 0
    numba.set_num_threads(2)
    for name, prices, index, entries, exits in inputs:
        grid_stats(run_grid(prices, entries, exits, params), prices, index, params)  # warm
        started = time.perf_counter()
        stats = grid_stats(run_grid(prices, entries, exits, params), prices, index, params)
        seconds = time.perf_counter() - started
        bar_cells = len(prices.close) * STRATEGIES
        total_seconds += seconds
        total_cells += bar_cells
        bars_per_market = len(prices.close) // SLICE_MARKETS
        rows.append(
            (
                name,
                f"{bars_per_market:,}",
                f"{bar_cells:,}",
                f"{seconds:.3f}",
                rate(bar_cells, seconds),
                f"{int(stats['trades'].sum()):,}",
            )
        )
    scale = MARKETS / SLICE_MARKETS
    study_cells = total_cells * scale
    projected = total_seconds * scale
    rows.append(
        (
            "all",
            "",
            f"{total_cells:,}",
            f"{total_seconds:.3f}",
            rate(total_cells, total_seconds),
            "",
        )
    )
    return Table(
        title=f"backtest: study slice, {SLICE_MARKETS} markets x {STRATEGIES} strategies x "
        f"{len(TIMEFRAMES)} timeframes, 1 year of minutes, run_grid + grid_stats, 2 threads",
        headers=("timeframe", "bars/market", "bar-cells", "seconds", "bar-cells/s", "trades"),
        rows=rows,
        notes=[
            "projection: bar-cells = markets x strategies x sum over timeframes of "
            f"({YEAR_OF_MINUTES:,} / minutes per bar) = {MARKETS} x {STRATEGIES} x "
            f"{total_cells // (SLICE_MARKETS * STRATEGIES):,} = {study_cells:,.0f}; "
            f"wall = bar-cells / measured rate = {projected:,.0f} s ({projected / 60:.1f} min) "
            f"for {MARKETS * STRATEGIES * len(TIMEFRAMES):,} backtests on this machine.",
            "Kernel and statistics only: computing the signals (features, conditions) and "
            "resampling are not included.",
            f"one call holds one timeframe x {SLICE_MARKETS} markets x {STRATEGIES} columns; "
            f"peak RSS so far {_peak_rss_mb():,.0f} MB (the study runs call after call, so "
            "memory does not grow with the number of markets).",
        ],
    )


def run(repeats: int | None = None) -> list[Table]:
    """Kernel vs vectorbt on 8 x 1M bars, and the 60 x 6 x 200 study projection."""
    study = _study_projection()  # first, so its peak RSS is its own
    return [_head_to_head(repeats or REPEATS), study]
