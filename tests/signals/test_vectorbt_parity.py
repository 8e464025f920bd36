"""signals.kernel trade for trade against vectorbt's Portfolio.from_signals.

vectorbt is configured to our fill rule: signals shifted one bar forward and `price=open`
(a signal at t's close fills at t+1's open), one unit per trade (`size=1`, ample cash,
`accumulate=False`), stop levels from the fill price (`stop_entry_price="price"`), stop
exits charged slippage (`stop_exit_price="stopmarket"`). Where vectorbt's stop
conventions differ from our defaults, the kernel is set to vectorbt's with its options
(stops_on_entry_bar=False, signal_exit_first=False, entry_on_stop_bar=True); the tests at
the bottom show each difference on hand-built bars. docs/strategies.md lists them.

vectorbt compiles its simulator on first use (slow); one session fixture pays that once.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import vectorbt as vbt

from signals.kernel import REASONS, BacktestParams, GridResult, Prices, run_grid

COLUMNS, BARS = 6, 2000
VBT_CONVENTIONS = {
    "stops_on_entry_bar": False,
    "signal_exit_first": False,
    "entry_on_stop_bar": True,
}


def portfolio(
    o: pd.DataFrame, h: pd.DataFrame, lo: pd.DataFrame, c: pd.DataFrame,
    entries: pd.DataFrame, exits: pd.DataFrame, p: BacktestParams,
) -> Any:  # fmt: skip
    """vectorbt's simulation of our signals and parameters (see the module docstring)."""
    trailing = p.trailing_stop is not None
    assert not (trailing and p.stoploss is not None), "vectorbt has one stop-loss level"
    stop = p.trailing_stop if trailing else (-p.stoploss if p.stoploss is not None else np.nan)
    return vbt.Portfolio.from_signals(
        c,
        entries.shift(1, fill_value=False),
        exits.shift(1, fill_value=False),
        direction="longonly" if p.direction == "long" else "shortonly",
        price=o,
        open=o,
        high=h,
        low=lo,
        size=1.0,
        size_type="amount",
        init_cash=1e12,
        accumulate=False,
        fees=p.fees,
        slippage=p.slippage,
        sl_stop=stop,
        sl_trail=trailing,
        tp_stop=p.take_profit if p.take_profit is not None else np.nan,
        stop_entry_price="price",
        stop_exit_price="stopmarket",
        use_stops=True,
        freq="1h",
    )


@pytest.fixture(scope="session")
def warm_vectorbt() -> None:
    """Compile vectorbt's simulator and trade records once per session (one and two columns)."""
    close = np.array([100.0, 100.0, 95.0, 80.0, 100.0, 100.0])
    entries = np.array([True, False, False, True, False, False])
    exits = np.array([False, False, False, False, True, False])
    for columns in (1, 2):
        c = pd.DataFrame(np.repeat(close[:, None], columns, axis=1))
        e, x = (pd.DataFrame(np.repeat(f[:, None], columns, axis=1)) for f in (entries, exits))
        warm = portfolio(c, c * 1.01, c * 0.99, c, e, x, BacktestParams(stoploss=-0.1))
        assert len(warm.trades.values) == 2 * columns


def random_walks(seed: int) -> list[pd.DataFrame]:
    """Hourly OHLC bars with occasional gaps, and random signals (entry and exit never together).

    Our rule for an entry and an exit on one bar (flat: enter; in a position: exit) has no
    vectorbt conflict mode, so both engines get the same, never-coinciding signals.
    """
    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(COLUMNS):
        gaps = rng.normal(0, 0.002, BARS) + np.where(
            rng.random(BARS) < 0.03, rng.normal(0, 0.05, BARS), 0
        )
        moves = rng.normal(0, 0.01, BARS)
        close = 100 * np.exp(np.cumsum(gaps + moves))
        open_ = close * np.exp(-moves)
        high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0, 0.01, BARS)))
        low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0, 0.01, BARS)))
        exits = rng.random(BARS) < 0.05
        entries = (rng.random(BARS) < 0.06) & ~exits
        frames.append(
            pd.DataFrame(
                {
                    "open": open_,
                    "high": high,
                    "low": low,
                    "close": close,
                    "entry": entries,
                    "exit": exits,
                }
            )
        )
    return frames


def by_field(frames: list[pd.DataFrame], field: str) -> pd.DataFrame:
    """One column per walk, hourly index."""
    index = pd.date_range("2023-01-01", periods=len(frames[0]), freq="h")
    return pd.DataFrame(np.stack([f[field].to_numpy() for f in frames], axis=1), index=index)


def kernel_run(frames: list[pd.DataFrame], p: BacktestParams) -> tuple[Prices, GridResult]:
    prices = Prices.from_frames(frames)
    entries = np.concatenate([f["entry"].to_numpy() for f in frames])
    exits = np.concatenate([f["exit"].to_numpy() for f in frames])
    return prices, run_grid(prices, entries, exits, [p])


def assert_same_trades(frames: list[pd.DataFrame], p: BacktestParams) -> dict[str, int]:
    """Trade for trade: entry/exit bar and price, and the return; the reasons met are counted."""
    o, h, lo, c = (by_field(frames, k) for k in ("open", "high", "low", "close"))
    theirs = portfolio(
        o, h, lo, c, by_field(frames, "entry"), by_field(frames, "exit"), p
    ).trades.values
    prices, ours = kernel_run(frames, p)
    sign = p.sign
    reasons: dict[str, int] = {}
    for col in range(COLUMNS):
        them = theirs[theirs["col"] == col]
        part = slice(ours.first[col], ours.first[col] + ours.count[col])
        filled = ours.entry[part] >= 0  # vectorbt has no record of a last-bar (pending) signal
        offset = prices.bounds[col]
        assert len(them) == filled.sum(), col
        np.testing.assert_array_equal(them["entry_idx"], ours.entry[part][filled] - offset)
        # vectorbt records fill prices with slippage applied; ours are quotes
        np.testing.assert_allclose(
            them["entry_price"],
            ours.entry_price[part][filled] * (1 + sign * p.slippage),
            rtol=1e-12,
        )
        closed = them["status"] == 1
        reason = ours.reason[part][filled]
        assert (closed == (reason != REASONS.index("open"))).all()
        np.testing.assert_array_equal(
            them["exit_idx"][closed], ours.exit[part][filled][closed] - offset
        )
        np.testing.assert_allclose(
            them["exit_price"][closed],
            ours.exit_price[part][filled][closed] * (1 - sign * p.slippage),
            rtol=1e-12,
        )
        # vectorbt's return is pnl over the entry value before fees; ours is over the cash
        # paid (long) or the short-sale proceeds (short): the same pnl, fees moved across
        basis = them["size"] * them["entry_price"] + sign * them["entry_fees"]
        np.testing.assert_allclose(
            them["pnl"][closed] / basis[closed], ours.ret[part][filled][closed], rtol=0, atol=1e-9
        )
        for code in reason:
            reasons[REASONS[code]] = reasons.get(REASONS[code], 0) + 1
    return reasons


# parameters, and the exit reasons the walks must meet for the case to prove anything
CASES = {
    "long_stop_target_costs": (
        BacktestParams(stoploss=-0.03, take_profit=0.04, fees=0.001, slippage=0.0005),
        {"stop_loss", "take_profit", "exit_signal"},
    ),
    "short_stop_target_costs": (
        BacktestParams(
            direction="short", stoploss=-0.03, take_profit=0.04, fees=0.001, slippage=0.0005
        ),
        {"stop_loss", "take_profit", "exit_signal"},
    ),
    "long_signals_only": (BacktestParams(), {"exit_signal"}),
    "short_signals_only_fees": (BacktestParams(direction="short", fees=0.002), {"exit_signal"}),
    "long_trailing_and_target": (
        BacktestParams(trailing_stop=0.02, take_profit=0.05, fees=0.001),
        {"trailing_stop", "take_profit", "exit_signal"},
    ),
    "short_trailing_costs": (
        BacktestParams(direction="short", trailing_stop=0.02, fees=0.001, slippage=0.001),
        {"trailing_stop", "exit_signal"},
    ),
    # levels tighter than a bar's range: many bars touch both, exits are nearly all levels
    "long_levels_inside_a_bar": (
        BacktestParams(stoploss=-0.005, take_profit=0.005),
        {"stop_loss", "take_profit"},
    ),
    "short_levels_inside_a_bar": (
        BacktestParams(direction="short", stoploss=-0.005, take_profit=0.005, fees=0.001),
        {"stop_loss", "take_profit"},
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_kernel_trades_equal_vectorbt_trades(case: str, warm_vectorbt: None) -> None:
    params, levels = CASES[case]
    frames = random_walks(seed=sorted(CASES).index(case))
    reasons = assert_same_trades(frames, BacktestParams(**{**_fields(params), **VBT_CONVENTIONS}))
    assert levels <= set(reasons), reasons
    assert sum(reasons.values()) > 300  # trades compared over the six walks


def test_the_parity_walks_gap_through_stops(warm_vectorbt: None) -> None:
    """Stops filled at a gapped open, not at the level, are among the compared trades."""
    params = BacktestParams(stoploss=-0.03, take_profit=0.04, **VBT_CONVENTIONS)
    frames = random_walks(seed=sorted(CASES).index("long_stop_target_costs"))
    prices, ours = kernel_run(frames, params)
    stops = ours.reason == REASONS.index("stop_loss")
    gapped = ours.exit_price[stops] == prices.open[ours.exit[stops]]
    assert gapped.sum() >= 3
    assert_same_trades(frames, params)


def _fields(p: BacktestParams) -> dict[str, Any]:
    return {k: getattr(p, k) for k in p.__dataclass_fields__}


# --- the conventions that differ, one hand-built case each ---------------------------------------


def hand_frames(
    rows: list[tuple[float, float, float, float]], entries: tuple[int, ...], exits: tuple[int, ...]
) -> list[pd.DataFrame]:
    frame = pd.DataFrame(rows, columns=["open", "high", "low", "close"])
    frame["entry"] = frame.index.isin(entries)
    frame["exit"] = frame.index.isin(exits)
    return [frame]


def both_engines(
    frames: list[pd.DataFrame], **options: Any
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(entry, exit) bars of vectorbt's trades and of the kernel's with `options`."""
    frame = frames[0]
    index = pd.date_range("2023-01-01", periods=len(frame), freq="h")
    o, h, lo, c = (
        frame[[k]].set_axis(index).set_axis([0], axis=1) for k in ("open", "high", "low", "close")
    )
    e, x = (frame[[k]].set_axis(index).set_axis([0], axis=1) for k in ("entry", "exit"))
    params = BacktestParams(stoploss=-0.1, **options)
    theirs = portfolio(o, h, lo, c, e, x, params).trades.values
    _, ours = kernel_run(frames, params)
    filled = ours.entry >= 0
    return (
        [(int(a), int(b)) for a, b in zip(theirs["entry_idx"], theirs["exit_idx"], strict=True)],
        [
            (int(a), int(b) if b >= 0 else len(frame) - 1)
            for a, b in zip(ours.entry[filled], ours.exit[filled], strict=True)
        ],
    )


QUIET = (100.0, 100.5, 99.5, 100.0)


def test_vectorbt_starts_stops_the_bar_after_entry(warm_vectorbt: None) -> None:
    rows = [
        QUIET,
        (100.0, 100.5, 89.0, 95.0),
        (95.0, 95.5, 94.5, 95.0),
        (95.0, 95.5, 85.0, 86.0),
        QUIET,
    ]
    frames = hand_frames(rows, entries=(0,), exits=())
    theirs, ours = both_engines(frames)
    assert ours == [(1, 1)] and theirs == [(1, 3)]
    assert both_engines(frames, stops_on_entry_bar=False)[1] == theirs


def test_vectorbt_checks_stops_before_a_pending_exit(warm_vectorbt: None) -> None:
    rows = [QUIET, QUIET, (99.0, 99.5, 80.0, 81.0), QUIET]
    frames = hand_frames(rows, entries=(0,), exits=(1,))
    o, h, lo, c = (by_field(frames, k).iloc[:4] for k in ("open", "high", "low", "close"))
    _, ours = kernel_run(frames, BacktestParams(stoploss=-0.1))
    _, stops_first = kernel_run(frames, BacktestParams(stoploss=-0.1, signal_exit_first=False))
    theirs = portfolio(
        o,
        h,
        lo,
        c,
        by_field(frames, "entry").iloc[:4],
        by_field(frames, "exit").iloc[:4],
        BacktestParams(stoploss=-0.1),
    ).trades.values
    assert ours.exit_price.tolist() == [99.0]
    assert theirs["exit_price"].tolist() == pytest.approx([90.0]) == stops_first.exit_price.tolist()


def test_vectorbt_takes_an_entry_signal_on_a_stop_bar(warm_vectorbt: None) -> None:
    rows = [QUIET, QUIET, (98.0, 99.0, 89.0, 92.0), QUIET, QUIET]
    frames = hand_frames(rows, entries=(0, 2), exits=())
    theirs, ours = both_engines(frames)
    assert ours == [(1, 2)] and theirs == [(1, 2), (3, 4)]
    assert both_engines(frames, entry_on_stop_bar=True)[1] == theirs


def test_vectorbt_ignores_an_entry_and_an_exit_on_one_bar(warm_vectorbt: None) -> None:
    frames = hand_frames([QUIET] * 5, entries=(0,), exits=(0,))
    theirs, ours = both_engines(frames, **VBT_CONVENTIONS)
    assert theirs == [] and ours == [(1, 4)]
