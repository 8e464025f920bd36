"""The batched numba backtest kernel: many cells (symbol segment x parameter column) per call.

One cell is one symbol's bars (a segment of the concatenated OHLC arrays) simulated with
one column of entry/exit signals and that column's parameters. `run_grid` simulates every
cell, both cores in parallel, and returns compact trade records plus per-cell summaries.
The semantics (every option) are stated in `docs/strategies.md`; the defaults are those
of `signals.backtest`'s module docstring.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numba import njit, prange

REASONS = ("pending", "open", "exit_signal", "stop_loss", "take_profit", "trailing_stop", "roi")
PENDING, OPEN, EXIT_SIGNAL, STOP_LOSS, TAKE_PROFIT, TRAILING_STOP, ROI = range(len(REASONS))
SUMMARY_NAMES = ("records", "closed", "wins", "gross_gain", "gross_loss", "return_sum", "bars_held")
BOTH_HIT = ("stop_first", "target_first")
MAX_RECORDS_PER_BATCH = 4_000_000  # trade slots allocated per kernel call (~250 MB)


@dataclass(frozen=True)
class BacktestParams:
    """One parameter column: direction, exits, costs, sizing and fill conventions."""

    direction: str = "long"
    stoploss: float | None = None  # negative fraction of the entry price, e.g. -0.1
    take_profit: float | None = None  # positive fraction
    trailing_stop: float | None = None  # positive fraction under the best price since entry
    trailing_offset: float | None = None  # trailing starts once the best price gains this much
    roi: tuple[tuple[int, float], ...] | Mapping[int, float] = ()  # bars held -> return
    fees: float = 0.0
    slippage: float = 0.0
    position_size: float = 1.0  # fraction of equity per trade: equity only, never trades
    both_hit: str = "stop_first"  # or "target_first": a bar touching stop and target
    stops_on_entry_bar: bool = True  # False: stops start the bar after entry (vectorbt)
    signal_exit_first: bool = True  # False: stops are checked before a pending exit (vectorbt)
    entry_on_stop_bar: bool = False  # True: an entry signal on a stop-exit bar counts (vectorbt)

    def __post_init__(self) -> None:
        def fail(name: str, rule: str) -> ValueError:
            return ValueError(f"BacktestParams.{name} {getattr(self, name)!r} {rule}")

        if self.direction not in ("long", "short"):
            raise ValueError(f"direction {self.direction!r} must be 'long' or 'short'")
        if self.stoploss is not None and not self.stoploss < 0:
            raise fail("stoploss", "must be a negative fraction, e.g. -0.1")
        if self.take_profit is not None and not self.take_profit > 0:
            raise fail("take_profit", "must be a positive fraction")
        if self.trailing_stop is not None and not 0 < self.trailing_stop < 1:
            raise fail("trailing_stop", "must be a fraction in (0, 1)")
        if self.trailing_offset is not None and not self.trailing_offset >= 0:
            raise fail("trailing_offset", "must be a non-negative fraction")
        if self.trailing_offset is not None and self.trailing_stop is None:
            raise fail("trailing_offset", "needs a trailing_stop to arm")
        for name in ("fees", "slippage"):
            if not 0 <= getattr(self, name) < 1:
                raise fail(name, "must be a fraction in [0, 1)")
        if not 0 < self.position_size <= 1:
            raise fail("position_size", "must be a fraction in (0, 1]")
        if self.both_hit not in BOTH_HIT:
            raise fail("both_hit", f"must be one of {list(BOTH_HIT)}")
        roi = self.roi.items() if isinstance(self.roi, Mapping) else self.roi
        table = tuple(sorted((int(age), float(ret)) for age, ret in roi))
        ages = [age for age, _ in table]
        if any(age < 0 for age in ages) or len(set(ages)) != len(ages):
            raise fail("roi", "needs distinct non-negative ages (bars)")
        if not all(np.isfinite(ret) for _, ret in table):
            raise fail("roi", "needs finite required returns")
        object.__setattr__(self, "roi", table)

    @property
    def sign(self) -> int:
        """+1 for long, -1 for short."""
        return 1 if self.direction == "long" else -1


@dataclass(frozen=True)
class Prices:
    """OHLC arrays of one or more symbols, concatenated; segment k is bounds[k]:bounds[k+1]."""

    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    bounds: np.ndarray

    @classmethod
    def from_frames(cls, frames: Sequence[pd.DataFrame]) -> Prices:
        """Concatenate per-symbol bar frames (columns open, high, low, close) into segments."""
        for number, frame in enumerate(frames):
            missing = [c for c in ("open", "high", "low", "close") if c not in frame.columns]
            if missing:
                raise ValueError(
                    f"bars[{number}]: missing column(s) {missing}; received "
                    f"{list(frame.columns)}; expected open, high, low, close"
                )
        arrays = [
            np.concatenate([f[k].to_numpy(dtype="float64") for f in frames]) if frames else []
            for k in ("open", "high", "low", "close")
        ]
        bounds = np.concatenate([[0], np.cumsum([len(f) for f in frames])]).astype(np.int64)
        return cls(*(np.ascontiguousarray(a, dtype=np.float64) for a in arrays), bounds)

    @property
    def segments(self) -> int:
        """Number of symbol segments."""
        return len(self.bounds) - 1


@dataclass(frozen=True)
class GridResult:
    """Trade records of every cell (cell = segment * columns + column) and their summaries.

    Record indices are positions in the concatenated arrays, -1 where absent; prices and
    returns are NaN where absent; `reason` indexes REASONS. Cell c's records are
    `first[c] : first[c] + count[c]`, in trade order. `summary` has SUMMARY_NAMES columns.
    """

    columns: int
    cell: np.ndarray
    entry_signal: np.ndarray
    entry: np.ndarray
    exit_signal: np.ndarray
    exit: np.ndarray
    entry_price: np.ndarray
    exit_price: np.ndarray
    ret: np.ndarray
    reason: np.ndarray
    first: np.ndarray
    count: np.ndarray
    summary: np.ndarray


@njit(cache=True, nogil=True)
def effective_price(price: float, side: float, fees: float, slippage: float) -> float:
    """Price per unit after costs: paid on a buy (side +1), received on a sell (side -1)."""
    return price * (1 + side * slippage) * (1 + side * fees)


@njit(cache=True, nogil=True)
def _trade_return(paid, got, sign):
    return got / paid - 1 if sign > 0 else (paid - got) / paid


@njit(cache=True, nogil=True)
def _record(out_i, out_f, k, entry_sig, entry_i, exit_sig, exit_i, reason, entry_px, exit_px, ret):
    """Write trade record k."""
    out_i[0, k], out_i[1, k], out_i[2, k], out_i[3, k], out_i[4, k] = (
        entry_sig, entry_i, exit_sig, exit_i, reason,
    )  # fmt: skip
    out_f[0, k], out_f[1, k], out_f[2, k] = entry_px, exit_px, ret
    return k + 1


@njit(cache=True, nogil=True)
def _simulate_cell(o, h, lo, c, start, end, entries, exits, p, roi_age, roi_ret, out_i, out_f, k):
    """Simulate one cell into the record arrays from slot k; returns the slot after the last.

    p: sign, stoploss, take_profit, trailing, trailing_offset, fees, slippage, target_first,
    stops_on_entry_bar, signal_exit_first, entry_on_stop_bar (NaN = absent level).
    out_i rows: entry_signal, entry, exit_signal, exit, reason; out_f: prices and return.
    """
    sign, sl, tp, trail, offset, fees, slip = p[0], p[1], p[2], p[3], p[4], p[5], p[6]
    target_first, on_entry_bar, signal_first, reenter = p[7] > 0, p[8] > 0, p[9] > 0, p[10] > 0
    has_sl, has_tp, has_trail = not np.isnan(sl), not np.isnan(tp), not np.isnan(trail)
    has_levels = has_sl or has_tp or has_trail
    n_roi = roi_age.shape[0]
    in_pos = pending_entry = False
    pending_exit = 0
    entry_sig = entry_i = exit_sig = -1
    entry_px = paid = peak = stop_fixed = target = arm_at = 0.0
    for i in range(start, end):
        stopped = False
        if pending_entry:
            pending_entry, in_pos = False, True
            entry_i, entry_px, peak, exit_sig, pending_exit = i, o[i], o[i], -1, 0
            paid = effective_price(entry_px, sign, fees, slip)
            stop_fixed = entry_px * (1 + sign * sl)
            target = entry_px * (1 + sign * tp)
            arm_at = entry_px * (1 + sign * offset) if not np.isnan(offset) else entry_px
        if in_pos and pending_exit != 0 and signal_first:
            ret = _trade_return(paid, effective_price(o[i], -sign, fees, slip), sign)
            k = _record(
                out_i, out_f, k, entry_sig, entry_i, exit_sig, i, pending_exit, entry_px, o[i], ret
            )
            in_pos = False
        if in_pos and has_levels and (on_entry_bar or i > entry_i):
            stop, stop_reason = np.nan, STOP_LOSS
            if has_sl:
                stop = stop_fixed
            if has_trail and sign * (peak - arm_at) >= 0:
                trailing = peak * (1 - sign * trail)
                if not has_sl or sign * (trailing - stop) > 0:
                    stop, stop_reason = trailing, TRAILING_STOP
            worst, best = (lo[i], h[i]) if sign > 0 else (h[i], lo[i])
            hit_stop = not np.isnan(stop) and sign * (worst - stop) <= 0
            hit_target = has_tp and sign * (best - target) >= 0
            reason, fill = 0, np.nan
            if hit_stop and not (hit_target and target_first):
                reason, fill = stop_reason, (stop if sign * (o[i] - stop) > 0 else o[i])
            elif hit_target:
                reason, fill = TAKE_PROFIT, (target if sign * (target - o[i]) > 0 else o[i])
            if reason != 0:
                ret = _trade_return(paid, effective_price(fill, -sign, fees, slip), sign)
                k = _record(out_i, out_f, k, entry_sig, entry_i, i, i, reason, entry_px, fill, ret)
                in_pos, stopped = False, True
            elif sign * (best - peak) > 0:
                peak = best
        if in_pos and pending_exit != 0:  # only when stops come first and none was hit
            ret = _trade_return(paid, effective_price(o[i], -sign, fees, slip), sign)
            k = _record(
                out_i, out_f, k, entry_sig, entry_i, exit_sig, i, pending_exit, entry_px, o[i], ret
            )
            in_pos = False
        if in_pos:
            if exits[i]:
                pending_exit, exit_sig = EXIT_SIGNAL, i
            elif n_roi > 0:
                age = i - entry_i
                for j in range(n_roi - 1, -1, -1):
                    if roi_age[j] <= age:
                        got = effective_price(c[i], -sign, fees, slip)
                        if _trade_return(paid, got, sign) >= roi_ret[j]:
                            pending_exit, exit_sig = ROI, i
                        break
        elif entries[i] and (reenter or not stopped):
            pending_entry, entry_sig = True, i
    if pending_entry:
        k = _record(out_i, out_f, k, entry_sig, -1, -1, -1, PENDING, np.nan, np.nan, np.nan)
    elif in_pos:
        k = _record(
            out_i, out_f, k, entry_sig, entry_i, exit_sig, -1, OPEN, entry_px, np.nan, np.nan
        )
    return k


@njit(cache=True, nogil=True, parallel=True)
def _capacities(bounds, entries, cell_seg, cell_col, out):
    """Record slots each cell may need: every record starts with its own entry signal."""
    for j in prange(cell_seg.shape[0]):
        start, end = bounds[cell_seg[j]], bounds[cell_seg[j] + 1]
        row = entries[cell_col[j]]
        count = 0
        for i in range(start, end):
            count += row[i]
        out[j] = min(count, end - start)


@njit(cache=True, nogil=True, parallel=True)
def _run_cells(
    o, h, lo, c, bounds, entries, exits, params, roi_age, roi_ret, roi_len, cell_seg, cell_col,
    slot, out_i, out_f, used, summary,
):  # fmt: skip
    for j in prange(cell_seg.shape[0]):
        col, seg = cell_col[j], cell_seg[j]
        n = roi_len[col]
        stop = _simulate_cell(
            o, h, lo, c, bounds[seg], bounds[seg + 1], entries[col], exits[col], params[col],
            roi_age[col, :n], roi_ret[col, :n], out_i, out_f, slot[j],
        )  # fmt: skip
        used[j] = stop - slot[j]
        closed = wins = 0
        gain = loss = total = held = 0.0
        for k in range(slot[j], stop):
            if out_i[3, k] >= 0:
                r = out_f[2, k]
                closed += 1
                wins += r > 0
                gain += max(r, 0.0)
                loss -= min(r, 0.0)
                total += r
                held += out_i[3, k] - out_i[1, k]
        summary[j, 0], summary[j, 1], summary[j, 2] = stop - slot[j], closed, wins
        summary[j, 3], summary[j, 4], summary[j, 5], summary[j, 6] = gain, loss, total, held


def _param_arrays(params: Sequence[BacktestParams]) -> tuple[np.ndarray, ...]:
    """Per-column parameter matrix and padded ROI tables for the kernel."""
    nan = np.nan
    table = np.array(
        [
            (
                p.sign,
                nan if p.stoploss is None else p.stoploss,
                nan if p.take_profit is None else p.take_profit,
                nan if p.trailing_stop is None else p.trailing_stop,
                nan if p.trailing_offset is None else p.trailing_offset,
                p.fees,
                p.slippage,
                p.both_hit == "target_first",
                p.stops_on_entry_bar,
                p.signal_exit_first,
                p.entry_on_stop_bar,
            )
            for p in params
        ],
        dtype=np.float64,
    ).reshape(len(params), 11)
    width = max([len(p.roi) for p in params] + [1])
    roi_age = np.zeros((len(params), width), dtype=np.int64)
    roi_ret = np.zeros((len(params), width), dtype=np.float64)
    for col, p in enumerate(params):
        for j, (age, ret) in enumerate(p.roi):
            roi_age[col, j], roi_ret[col, j] = age, ret
    roi_len = np.array([len(p.roi) for p in params], dtype=np.int64)
    return table, roi_age, roi_ret, roi_len


def signal_matrix(
    signals: np.ndarray | pd.DataFrame | pd.Series, rows: int, name: str
) -> np.ndarray:
    """Signals as a (columns, bars) C-ordered bool matrix (the kernel's layout)."""
    values = np.asarray(signals)
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2 or values.shape[0] != rows:
        raise ValueError(f"{name}: expected {rows} rows (one per bar), got shape {values.shape}")
    if values.dtype != np.bool_:
        if pd.isna(values).any():
            raise ValueError(f"{name}: missing values; signals must be True/False")
        values = values.astype(bool)
    return plain(values.T, np.bool_)


def plain(values: Any, dtype: Any) -> np.ndarray:
    """A C-contiguous, writeable array: every caller meets the same compiled kernel variant."""
    out = np.ascontiguousarray(values, dtype=dtype)
    return out if out.flags.writeable else out.copy()


def run_grid(
    prices: Prices,
    entries: np.ndarray | pd.DataFrame,
    exits: np.ndarray | pd.DataFrame,
    params: Sequence[BacktestParams],
    *,
    max_records: int = MAX_RECORDS_PER_BATCH,
) -> GridResult:
    """Simulate every (segment, column) cell: entries/exits are (bars, columns) booleans."""
    if not params:
        raise ValueError("params: at least one parameter column is needed")
    rows = len(prices.close)
    lengths = {k: len(getattr(prices, k)) for k in ("open", "high", "low", "close")}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"prices: open, high, low and close differ in length: {lengths}")
    entry_m = signal_matrix(entries, rows, "entries")
    exit_m = signal_matrix(exits, rows, "exits")
    if entry_m.shape != exit_m.shape:
        raise ValueError(f"entries {entry_m.shape[::-1]} and exits {exit_m.shape[::-1]} differ")
    if len(params) != entry_m.shape[0]:
        raise ValueError(f"{len(params)} parameter columns for {entry_m.shape[0]} signal columns")
    if prices.bounds[0] != 0 or prices.bounds[-1] != rows or np.any(np.diff(prices.bounds) < 0):
        raise ValueError(f"bounds {prices.bounds} must rise from 0 to the bar count {rows}")
    table, roi_age, roi_ret, roi_len = _param_arrays(params)
    o, h, low, c = (
        plain(a, np.float64) for a in (prices.open, prices.high, prices.low, prices.close)
    )
    bounds = plain(prices.bounds, np.int64)
    columns = len(params)
    cells = prices.segments * columns
    cell_seg = np.repeat(np.arange(prices.segments, dtype=np.int64), columns)
    cell_col = np.tile(np.arange(columns, dtype=np.int64), prices.segments)
    capacity = np.zeros(cells, dtype=np.int64)
    _capacities(bounds, entry_m, cell_seg, cell_col, capacity)
    used = np.zeros(cells, dtype=np.int64)
    summary = np.zeros((cells, len(SUMMARY_NAMES)), dtype=np.float64)
    parts_i, parts_f = [], []
    lo = 0
    while lo < cells:
        hi = lo + max(1, int(np.searchsorted(np.cumsum(capacity[lo:]), max_records, "right")))
        slot = np.concatenate([[0], np.cumsum(capacity[lo:hi])]).astype(np.int64)
        out_i = np.empty((5, slot[-1]), dtype=np.int64)
        out_f = np.empty((3, slot[-1]), dtype=np.float64)
        _run_cells(
            o, h, low, c, bounds, entry_m, exit_m, table, roi_age, roi_ret, roi_len,
            cell_seg[lo:hi], cell_col[lo:hi], slot[:-1], out_i, out_f, used[lo:hi],
            summary[lo:hi],
        )  # fmt: skip
        keep = np.repeat(slot[:-1], used[lo:hi]) + _ranks(used[lo:hi])
        parts_i.append(out_i[:, keep])
        parts_f.append(out_f[:, keep])
        lo = hi
    ints = np.concatenate(parts_i, axis=1) if parts_i else np.empty((5, 0), np.int64)
    floats = np.concatenate(parts_f, axis=1) if parts_f else np.empty((3, 0), np.float64)
    first = np.cumsum(used) - used
    return GridResult(
        columns=columns,
        cell=np.repeat(np.arange(cells, dtype=np.int64), used),
        entry_signal=ints[0],
        entry=ints[1],
        exit_signal=ints[2],
        exit=ints[3],
        entry_price=floats[0],
        exit_price=floats[1],
        ret=floats[2],
        reason=ints[4].astype(np.int8),
        first=first,
        count=used,
        summary=summary,
    )


def _ranks(counts: np.ndarray) -> np.ndarray:
    """0..count-1 for each count, concatenated."""
    total = int(counts.sum())
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(total, dtype=np.int64) - starts
