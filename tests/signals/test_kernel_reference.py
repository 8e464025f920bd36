"""signals.kernel against an independent plain-Python reading of every option, on random walks.

The reference below is written from docs/strategies.md, bar by bar: what happens at the
open, within the bar, at the close. It shares no code with the kernel.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from signals.kernel import REASONS, BacktestParams, Prices, run_grid


def net_return(long: bool, entry: float, exit_: float, fees: float, slippage: float) -> float:
    """Trade return after costs: long on the cash paid, short on the short-sale proceeds."""
    if long:
        return exit_ * (1 - slippage) * (1 - fees) / (entry * (1 + slippage) * (1 + fees)) - 1
    proceeds = entry * (1 - slippage) * (1 - fees)
    return (proceeds - exit_ * (1 + slippage) * (1 + fees)) / proceeds


def reference_trades(
    bars: pd.DataFrame, entries: np.ndarray, exits: np.ndarray, p: BacktestParams
) -> list[dict[str, Any]]:
    """Trades of one cell, as dicts with the kernel's record fields."""
    o, h, lo, c = (bars[k].tolist() for k in ("open", "high", "low", "close"))
    long = p.direction == "long"
    done: list[dict[str, Any]] = []
    position: dict[str, Any] | None = None
    entry_wanted: int | None = None
    exit_wanted: tuple[int, str] | None = None

    def leave(exit_signal: int, t: int, price: float, reason: str) -> None:
        nonlocal position
        assert position is not None
        ret = net_return(long, position["entry_price"], price, p.fees, p.slippage)
        done.append(position | {"exit_signal": exit_signal, "exit": t, "exit_price": price})
        done[-1] |= {"reason": reason, "ret": ret}
        position = None

    def fill_wanted_exit(t: int) -> None:
        nonlocal exit_wanted
        if position is not None and exit_wanted is not None:
            leave(exit_wanted[0], t, o[t], exit_wanted[1])
        exit_wanted = None

    for t in range(len(o)):
        # the open: fills asked for at the previous close
        if entry_wanted is not None:
            position = {"entry_signal": entry_wanted, "entry": t, "entry_price": o[t], "best": o[t]}
            entry_wanted, exit_wanted = None, None
        if p.signal_exit_first:
            fill_wanted_exit(t)
        # within the bar: levels
        left_on_a_level = False
        if position is not None and (p.stops_on_entry_bar or t > position["entry"]):
            entry, best = position["entry_price"], position["best"]
            candidates = []  # (level, reason)
            if p.stoploss is not None:
                candidates.append(
                    (entry * (1 + p.stoploss if long else 1 - p.stoploss), "stop_loss")
                )
            if p.trailing_stop is not None:
                offset = p.trailing_offset or 0.0
                armed = best >= entry * (1 + offset) if long else best <= entry * (1 - offset)
                if armed:
                    level = best * (1 - p.trailing_stop) if long else best * (1 + p.trailing_stop)
                    candidates.append((level, "trailing_stop"))
            stop = None
            for level, reason in candidates:  # the tighter level; ties keep the fixed stop
                if stop is None or (level > stop[0] if long else level < stop[0]):
                    stop = (level, reason)
            target = None
            if p.take_profit is not None:
                target = entry * (1 + p.take_profit) if long else entry * (1 - p.take_profit)
            stop_touched = stop is not None and (lo[t] <= stop[0] if long else h[t] >= stop[0])
            target_touched = target is not None and (h[t] >= target if long else lo[t] <= target)
            order = ["stop", "target"] if p.both_hit == "stop_first" else ["target", "stop"]
            for level_kind in order:
                if level_kind == "stop" and stop_touched:
                    assert stop is not None
                    price = min(o[t], stop[0]) if long else max(o[t], stop[0])
                    leave(t, t, price, stop[1])
                    left_on_a_level = True
                    break
                if level_kind == "target" and target_touched:
                    assert target is not None
                    price = max(o[t], target) if long else min(o[t], target)
                    leave(t, t, price, "take_profit")
                    left_on_a_level = True
                    break
            if position is not None:
                position["best"] = max(best, h[t]) if long else min(best, lo[t])
        if not p.signal_exit_first:
            fill_wanted_exit(t)
        # the close: signals and the ROI table
        if position is not None:
            if exits[t]:
                exit_wanted = (t, "exit_signal")
            elif p.roi:
                age = t - position["entry"]
                reached = [ret for bars_held, ret in p.roi if bars_held <= age]
                now = net_return(long, position["entry_price"], c[t], p.fees, p.slippage)
                if reached and now >= reached[-1]:
                    exit_wanted = (t, "roi")
        elif entries[t] and (p.entry_on_stop_bar or not left_on_a_level):
            entry_wanted = t
    if entry_wanted is not None:
        done.append({"entry_signal": entry_wanted, "reason": "pending"})
    if position is not None:
        pending_exit = exit_wanted[0] if exit_wanted is not None else None
        done.append(position | {"exit_signal": pending_exit, "reason": "open"})
    for trade in done:
        trade.pop("best", None)
    return done


def random_walk(seed: int, n: int = 1500) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Hourly OHLC bars with occasional gaps, and random entry/exit signals."""
    rng = np.random.default_rng(seed)
    gaps = rng.normal(0, 0.002, n) + np.where(rng.random(n) < 0.03, rng.normal(0, 0.04, n), 0)
    moves = rng.normal(0, 0.01, n)
    close = 100 * np.exp(np.cumsum(gaps + moves))
    open_ = close * np.exp(-moves)
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0, 0.008, n)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0, 0.008, n)))
    bars = pd.DataFrame({"open": open_, "high": high, "low": low, "close": close})
    return bars, rng.random(n) < 0.07, rng.random(n) < 0.04


def kernel_trades(result: Any, cell: int, offset: int) -> list[dict[str, Any]]:
    """One cell's records in the reference's shape (absent values dropped)."""
    out = []
    for k in range(result.first[cell], result.first[cell] + result.count[cell]):
        row: dict[str, Any] = {"reason": REASONS[result.reason[k]]}
        for name in ("entry_signal", "entry", "exit_signal", "exit"):
            value = int(getattr(result, name)[k])
            if value >= 0:
                row[name] = value - offset
        for name in ("entry_price", "exit_price", "ret"):
            value = float(getattr(result, name)[k])
            if not np.isnan(value):
                row[name] = value
        out.append(row)
    return out


CASES = {
    "trailing": BacktestParams(trailing_stop=0.02, fees=0.001),
    "trailing_short_offset": BacktestParams(
        direction="short", trailing_stop=0.015, trailing_offset=0.01, stoploss=-0.03
    ),
    "trailing_and_fixed_and_target": BacktestParams(
        trailing_stop=0.03, trailing_offset=0.02, stoploss=-0.02, take_profit=0.05, slippage=0.001
    ),
    "roi": BacktestParams(roi={0: 0.03, 5: 0.01, 12: 0.0}, stoploss=-0.04, fees=0.0005),
    "roi_short": BacktestParams(direction="short", roi=((2, 0.005),), take_profit=0.03),
    "target_first": BacktestParams(stoploss=-0.006, take_profit=0.006, both_hit="target_first"),
    "target_first_short": BacktestParams(
        direction="short", stoploss=-0.006, take_profit=0.006, both_hit="target_first"
    ),
    "vectorbt_conventions": BacktestParams(
        stoploss=-0.02,
        take_profit=0.03,
        trailing_stop=0.025,
        stops_on_entry_bar=False,
        signal_exit_first=False,
        entry_on_stop_bar=True,
        fees=0.001,
    ),
    "vectorbt_conventions_short": BacktestParams(
        direction="short",
        stoploss=-0.01,
        stops_on_entry_bar=False,
        signal_exit_first=False,
        entry_on_stop_bar=True,
    ),
    "sized_defaults": BacktestParams(position_size=0.3),
}
EXPECTED_REASONS = {
    "trailing": {"trailing_stop"},
    "trailing_short_offset": {"trailing_stop", "stop_loss"},
    "trailing_and_fixed_and_target": {"trailing_stop", "stop_loss", "take_profit"},
    "roi": {"roi", "stop_loss"},
    "roi_short": {"roi", "take_profit"},
    "target_first": {"take_profit", "stop_loss"},
    "target_first_short": {"take_profit", "stop_loss"},
    "vectorbt_conventions": {"trailing_stop", "stop_loss", "take_profit"},
    "vectorbt_conventions_short": {"stop_loss"},
    "sized_defaults": set(),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_kernel_matches_the_reference(case: str) -> None:
    params = CASES[case]
    walks = [random_walk(seed) for seed in (11, 12, 13)]
    prices = Prices.from_frames([bars for bars, _, _ in walks])
    entries = np.concatenate([e for _, e, _ in walks])
    exits = np.concatenate([x for _, _, x in walks])
    result = run_grid(prices, entries, exits, [params])
    reasons: set[str] = set()
    for segment, (bars, seg_entries, seg_exits) in enumerate(walks):
        expected = reference_trades(bars, seg_entries, seg_exits, params)
        actual = kernel_trades(result, segment, int(prices.bounds[segment]))
        assert len(actual) == len(expected), segment
        for number, (got, want) in enumerate(zip(actual, expected, strict=True)):
            want = {k: v for k, v in want.items() if v is not None}
            assert got.keys() == want.keys(), (segment, number)
            for key, value in want.items():
                if isinstance(value, float):
                    assert got[key] == pytest.approx(value, rel=1e-12, abs=1e-15), (number, key)
                else:
                    assert got[key] == value, (segment, number, key)
        reasons |= {t["reason"] for t in actual}
    # the cross-check is only as good as the cases it meets
    assert "exit_signal" in reasons
    assert EXPECTED_REASONS[case] <= reasons, reasons


def test_vectorbt_conventions_meet_the_situations_they_change() -> None:
    """Stops hit on a bar with a pending exit signal, and entries on stop bars, do occur."""
    params = CASES["vectorbt_conventions"]
    bars, entries, exits = random_walk(11)
    trades = reference_trades(bars, entries, exits, params)
    stop_bars = {t["exit"] for t in trades if t["reason"] in ("stop_loss", "trailing_stop")}
    assert any(entries[b] for b in stop_bars), "no entry signal on a stop bar"
    assert any(exits[b - 1] for b in stop_bars), "no stop on a bar with a pending exit"
