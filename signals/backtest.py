"""The backtest kernel: one position at a time, fills at the next bar's open.

Semantics a user can state:
- a signal is read at the close of bar t; its entry or exit fills at the open of bar t+1;
- stop-loss and take-profit are checked against each bar's low/high from the entry bar
  on; when one bar touches both, the stop is assumed to hit first (conservative); a bar
  that gaps through a level fills at its open;
- after a stop or take-profit exit, an entry signal on that same bar is ignored;
- fees and slippage apply per side, as fractions of the price;
- a signal on the last bar is recorded with no fill yet (pending), and a position still
  open at the end stays open: nothing is closed "because the data ended".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

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


@dataclass
class _Trade:
    entry_signal_index: int
    entry_index: int | None = None
    entry_price: float = np.nan
    exit_signal_index: int | None = None
    exit_index: int | None = None
    exit_price: float = np.nan
    reason: str = "pending"


def _costly(price: float, side: int, fees: float, slippage: float) -> float:
    """Effective price per unit: paid on a buy (side +1), received on a sell (side -1)."""
    return price * (1 + side * slippage) * (1 + side * fees)


def _simulate(
    o: np.ndarray,
    h: np.ndarray,
    lo: np.ndarray,
    entries: np.ndarray,
    exits: np.ndarray,
    sign: int,
    stoploss: float | None,
    take_profit: float | None,
) -> list[_Trade]:
    trades: list[_Trade] = []
    current: _Trade | None = None
    for i in range(len(o)):
        stopped = False
        if current is not None and current.entry_index is None:
            current.entry_index, current.entry_price = i, o[i]
        if current is not None and current.exit_signal_index is not None:
            current.exit_index, current.exit_price, current.reason = i, o[i], "exit_signal"
            trades.append(current)
            current = None
        if current is not None:
            entry = current.entry_price
            stop = entry * (1 + sign * stoploss) if stoploss is not None else None
            target = entry * (1 + sign * take_profit) if take_profit is not None else None
            worst, best = (lo[i], h[i]) if sign > 0 else (h[i], lo[i])
            if stop is not None and sign * (worst - stop) <= 0:
                fill = stop if sign * (o[i] - stop) > 0 else o[i]
                current.reason = "stop_loss"
            elif target is not None and sign * (best - target) >= 0:
                fill = target if sign * (target - o[i]) > 0 else o[i]
                current.reason = "take_profit"
            else:
                fill = None
            if fill is not None:
                current.exit_signal_index = current.exit_index = i
                current.exit_price = fill
                trades.append(current)
                current, stopped = None, True
        if current is not None and exits[i]:
            current.exit_signal_index = i
        elif current is None and not stopped and entries[i]:
            current = _Trade(entry_signal_index=i)
    if current is not None:
        current.reason = "open" if current.entry_index is not None else "pending"
        trades.append(current)
    return trades


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
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Simulate entry/exit signals on OHLC bars; returns (trades, statistics)."""
    missing = [c for c in ("open", "high", "low", "close") if c not in bars.columns]
    if missing:
        raise ValueError(
            f"bars: missing column(s) {missing}; received {list(bars.columns)}; "
            "expected open, high, low, close"
        )
    if len(entries) != len(bars) or len(exits) != len(bars):
        raise ValueError("entries and exits must have one value per bar")
    if direction not in ("long", "short"):
        raise ValueError(f"direction {direction!r} must be 'long' or 'short'")
    sign = 1 if direction == "long" else -1
    o, h, lo, c = (bars[k].to_numpy(dtype="float64") for k in ("open", "high", "low", "close"))
    raw = _simulate(
        o,
        h,
        lo,
        entries.to_numpy(dtype=bool),
        exits.to_numpy(dtype=bool),
        sign,
        stoploss,
        take_profit,
    )
    trades = _trade_frame(raw, bars.index, sign, fees, slippage)
    returns = bar_returns(trades, c, sign, fees, slippage)
    stats = compute_stats(returns, trades, bars.index, periods_per_year)
    return trades, stats


def _trade_frame(
    raw: list[_Trade], index: pd.Index, sign: int, fees: float, slippage: float
) -> pd.DataFrame:
    def at(i: int | None) -> pd.Timestamp | None:
        return None if i is None else index[i]

    rows = []
    for t in raw:
        closed = t.exit_index is not None
        ret = np.nan
        if closed:
            paid = _costly(t.entry_price, sign, fees, slippage)
            got = _costly(t.exit_price, -sign, fees, slippage)
            ret = got / paid - 1 if sign > 0 else (paid - got) / paid
        rows.append(
            {
                "entry_signal_index": t.entry_signal_index,
                "entry_signal_time": at(t.entry_signal_index),
                "entry_index": t.entry_index,
                "entry_time": at(t.entry_index),
                "entry_price": t.entry_price,
                "exit_signal_index": t.exit_signal_index,
                "exit_signal_time": at(t.exit_signal_index),
                "exit_index": t.exit_index,
                "exit_time": at(t.exit_index),
                "exit_price": t.exit_price,
                "reason": t.reason,
                "return": ret,
                "bars_held": (t.exit_index - t.entry_index) if closed else np.nan,
            }
        )
    frame = pd.DataFrame(rows, columns=list(TRADE_COLUMNS))
    for column in ("entry_signal_index", "entry_index", "exit_signal_index", "exit_index"):
        frame[column] = frame[column].astype("Int64")
    return frame


def bar_returns(
    trades: pd.DataFrame, close: np.ndarray, sign: int, fees: float, slippage: float
) -> np.ndarray:
    """Per-bar strategy returns, marking open positions to each bar's close.

    The position is held, not rebalanced: its value relative to the entry cost is
    `1 + sign * (mark - paid) / paid`, so the per-bar returns of a trade compound to
    exactly its trade return, long or short.
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
        value = 1 + sign * (marks - paid) / paid
        previous = np.concatenate([[1.0], value[:-1]])
        returns[start : end + 1] = value / previous - 1
    return returns
