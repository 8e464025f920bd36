"""The backtest of one signal series: one position at a time, fills at the next bar's open.

Semantics a user can state:
- a signal is read at the close of bar t; its entry or exit fills at the open of bar t+1;
- stop-loss and take-profit are checked against each bar's low/high from the entry bar
  on; when one bar touches both, the stop is assumed to hit first (conservative); a bar
  that gaps through a level fills at its open;
- after a stop or take-profit exit, an entry signal on that same bar is ignored;
- fees and slippage apply per side, as fractions of the price;
- a signal on the last bar is recorded with no fill yet (pending), and a position still
  open at the end stays open: nothing is closed "because the data ended".

The simulation is `signals.kernel` run on a single cell; its options (trailing stop,
minimal-ROI table, which level hits first, position sizing, vectorbt's conventions) are
keyword options here, with these defaults, and are described in `docs/strategies.md`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from signals.kernel import REASONS, BacktestParams, GridResult, Prices, run_grid
from signals.stats import compute_stats

TRADE_COLUMNS = (
    "entry_signal_index",
    "entry_signal_time",
    "entry_index",
    "entry_time",
    "entry_price",
    "exit_signal_index",
    "exit_signal_time",
    "exit_index",
    "exit_time",
    "exit_price",
    "reason",
    "return",
    "bars_held",
)


def _costly(price: float | np.ndarray, side: int, fees: float, slippage: float) -> Any:
    """Effective price per unit: paid on a buy (side +1), received on a sell (side -1)."""
    return price * (1 + side * slippage) * (1 + side * fees)


def backtest_signals(
    bars: pd.DataFrame,
    entries: pd.Series,
    exits: pd.Series,
    *,
    stoploss: float | None = None,
    take_profit: float | None = None,
    fees: float = 0.0,
    slippage: float = 0.0,
    direction: str = "long",
    periods_per_year: float | None = None,
    **options: Any,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Simulate entry/exit signals on OHLC bars; returns (trades, statistics).

    `options` are the other `signals.kernel.BacktestParams` fields: trailing_stop,
    trailing_offset, roi, position_size, both_hit, stops_on_entry_bar, signal_exit_first,
    entry_on_stop_bar.
    """
    missing = [c for c in ("open", "high", "low", "close") if c not in bars.columns]
    if missing:
        raise ValueError(
            f"bars: missing column(s) {missing}; received {list(bars.columns)}; "
            "expected open, high, low, close"
        )
    if len(entries) != len(bars) or len(exits) != len(bars):
        raise ValueError("entries and exits must have one value per bar")
    unknown = sorted(set(options) - set(BacktestParams.__dataclass_fields__))
    if unknown:
        raise TypeError(f"backtest_signals: unknown option(s) {unknown}")
    params = BacktestParams(
        direction=direction,
        stoploss=stoploss,
        take_profit=take_profit,
        fees=fees,
        slippage=slippage,
        **options,
    )
    prices = Prices.from_frames([bars])
    result = run_grid(prices, entries.to_numpy(dtype=bool), exits.to_numpy(dtype=bool), [params])
    trades = trade_frame(result, 0, bars.index)
    returns = bar_returns(trades, prices.close, params.sign, fees, slippage, params.position_size)
    stats = compute_stats(returns, trades, bars.index, periods_per_year)
    return trades, stats


def trade_frame(result: GridResult, cell: int, index: pd.Index, offset: int = 0) -> pd.DataFrame:
    """One cell's trade records as a TRADE_COLUMNS frame (positions relative to `offset`)."""

    def position(value: int) -> int | None:
        return None if value < 0 else int(value) - offset

    def at(i: int | None) -> pd.Timestamp | None:
        return None if i is None else index[i]

    rows = []
    for k in range(result.first[cell], result.first[cell] + result.count[cell]):
        entry_signal, entry = position(result.entry_signal[k]), position(result.entry[k])
        exit_signal, exit_ = position(result.exit_signal[k]), position(result.exit[k])
        rows.append(
            {
                "entry_signal_index": entry_signal,
                "entry_signal_time": at(entry_signal),
                "entry_index": entry,
                "entry_time": at(entry),
                "entry_price": result.entry_price[k],
                "exit_signal_index": exit_signal,
                "exit_signal_time": at(exit_signal),
                "exit_index": exit_,
                "exit_time": at(exit_),
                "exit_price": result.exit_price[k],
                "reason": REASONS[result.reason[k]],
                "return": result.ret[k],
                "bars_held": np.nan if exit_ is None or entry is None else exit_ - entry,
            }
        )
    frame = pd.DataFrame(rows, columns=list(TRADE_COLUMNS))
    for column in ("entry_signal_index", "entry_index", "exit_signal_index", "exit_index"):
        frame[column] = frame[column].astype("Int64")
    return frame


def bar_returns(
    trades: pd.DataFrame,
    close: np.ndarray,
    sign: int,
    fees: float,
    slippage: float,
    position_size: float = 1.0,
) -> np.ndarray:
    """Per-bar strategy returns, marking open positions to each bar's close.

    The position is held, not rebalanced: its value relative to the entry cost is
    `1 + sign * (mark - paid) / paid`, so the per-bar returns of a trade compound to
    exactly its trade return, long or short. With a position size f < 1, a fraction f of
    the equity is in the trade and the rest in cash: equity moves by
    `(1 - f) + f * value`, so a trade changes the equity by `f * return`.
    """
    returns = np.zeros(len(close))
    for t in trades.itertuples(index=False):
        if pd.isna(t.entry_index):
            continue
        start = int(t.entry_index)
        paid = _costly(t.entry_price, sign, fees, slippage)
        end = int(t.exit_index) if not pd.isna(t.exit_index) else len(close) - 1
        marks = close[start : end + 1].copy()
        if not pd.isna(t.exit_index):
            marks[-1] = _costly(t.exit_price, -sign, fees, slippage)
        value = (1 - position_size) + position_size * (1 + sign * (marks - paid) / paid)
        previous = np.concatenate([[1.0], value[:-1]])
        returns[start : end + 1] = value / previous - 1
    return returns
