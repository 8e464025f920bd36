"""backtest_signals: fills, stops, costs and end-of-data rules, on hand-worked bars.

Each hand-built case states its expected trade; `reference_trades` at the bottom is an
independent plain-loop reading of the module docstring, cross-checked on random walks.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from signals import backtest_signals
from signals.backtest import TRADE_COLUMNS, bar_returns

FEES, SLIPPAGE = 0.001, 0.0005


def make_bars(rows: list[tuple[float, float, float, float]]) -> pd.DataFrame:
    """Hourly UTC bars from (open, high, low, close) tuples."""
    index = pd.date_range("2024-01-01", periods=len(rows), freq="h", tz="UTC")
    return pd.DataFrame(rows, columns=["open", "high", "low", "close"], index=index)


def quiet(n: int, price: float = 100.0) -> list[tuple[float, float, float, float]]:
    """`n` bars opening and closing at `price`, ranging +-0.5: no 5% level is touched."""
    return [(price, price + 0.5, price - 0.5, price)] * n


def at(bars: pd.DataFrame, *positions: int) -> pd.Series:
    """A boolean signal Series aligned with `bars`, True at the given bar positions."""
    flags = np.zeros(len(bars), dtype=bool)
    flags[list(positions)] = True
    return pd.Series(flags, index=bars.index)


def run(
    bars: pd.DataFrame, entries: tuple[int, ...], exits: tuple[int, ...] = (), **kwargs: Any
) -> tuple[pd.DataFrame, dict[str, float]]:
    return backtest_signals(bars, at(bars, *entries), at(bars, *exits), **kwargs)


def only_trade(trades: pd.DataFrame) -> pd.Series:
    assert len(trades) == 1, trades
    return trades.iloc[0]


def long_return(entry: float, exit_: float, fees: float = 0.0, slippage: float = 0.0) -> float:
    """Cash received on the sale over cash paid on the purchase, minus one."""
    paid = entry * (1 + slippage) * (1 + fees)
    received = exit_ * (1 - slippage) * (1 - fees)
    return received / paid - 1


def short_return(entry: float, exit_: float, fees: float = 0.0, slippage: float = 0.0) -> float:
    """Short-sale proceeds minus cost to cover, over the proceeds."""
    proceeds = entry * (1 - slippage) * (1 - fees)
    cover = exit_ * (1 + slippage) * (1 + fees)
    return (proceeds - cover) / proceeds


# --- fills at the next open --------------------------------------------------------------


def test_trade_frame_has_the_documented_columns() -> None:
    bars = make_bars(quiet(5))
    trades, stats = run(bars, entries=(0,), exits=(2,))
    assert list(trades.columns) == list(TRADE_COLUMNS)
    assert set(stats) >= {"trades", "win_rate", "profit_factor", "total_return", "sharpe"}


def test_entry_signal_fills_at_the_next_open_and_exit_signal_at_the_following_open() -> None:
    bars = make_bars([(100 + i, 100.5 + i, 99.5 + i, 100.25 + i) for i in range(7)])
    # a second entry signal while the position is open is ignored
    trades, stats = run(bars, entries=(1, 2), exits=(3,))
    trade = only_trade(trades)
    assert trade["entry_signal_time"] == bars.index[1]
    assert trade["entry_time"] == bars.index[2]
    assert trade["entry_price"] == 102.0
    assert trade["exit_signal_time"] == bars.index[3]
    assert trade["exit_time"] == bars.index[4]
    assert trade["exit_price"] == 104.0
    assert trade["reason"] == "exit_signal"
    assert trade["return"] == pytest.approx(104 / 102 - 1, rel=1e-12)
    assert trade["bars_held"] == 2
    assert stats["trades"] == 1


def test_an_exit_signal_while_flat_does_nothing() -> None:
    bars = make_bars(quiet(6))
    trades, _ = run(bars, entries=(), exits=(0, 1, 2))
    assert trades.empty


def test_an_entry_signal_on_the_bar_of_an_exit_signal_fill_opens_the_next_trade() -> None:
    bars = make_bars([(100.0 + i, 100.5 + i, 99.5 + i, 100.0 + i) for i in range(6)])
    trades, _ = run(bars, entries=(0, 2), exits=(1,))
    assert trades["reason"].tolist() == ["exit_signal", "open"]
    first, second = trades.iloc[0], trades.iloc[1]
    assert (first["entry_time"], first["exit_time"]) == (bars.index[1], bars.index[2])
    assert second["entry_signal_time"] == bars.index[2]
    assert second["entry_time"] == bars.index[3]
    assert second["entry_price"] == 103.0


# --- stop-loss and take-profit -------------------------------------------------------------


def test_stop_loss_touched_intrabar_fills_at_the_stop_price() -> None:
    rows = quiet(5)
    rows[2] = (98.0, 99.0, 89.0, 92.0)  # low 89 under the stop at 90
    bars = make_bars(rows)
    trade = only_trade(run(bars, entries=(0,), stoploss=-0.1)[0])
    assert trade["entry_time"] == bars.index[1]
    assert trade["entry_price"] == 100.0
    assert trade["reason"] == "stop_loss"
    assert trade["exit_signal_time"] == bars.index[2]
    assert trade["exit_time"] == bars.index[2]
    assert trade["exit_price"] == pytest.approx(90.0, rel=1e-12)
    assert trade["return"] == pytest.approx(-0.1, rel=1e-12)
    assert trade["bars_held"] == 1


def test_stop_loss_exactly_at_the_low_triggers() -> None:
    rows = quiet(4)
    rows[2] = (95.0, 96.0, 90.0, 95.0)  # low equals the stop
    trade = only_trade(run(make_bars(rows), entries=(0,), stoploss=-0.1)[0])
    assert trade["reason"] == "stop_loss"
    assert trade["exit_price"] == pytest.approx(90.0, rel=1e-12)


def test_a_gap_below_the_stop_fills_at_the_open() -> None:
    rows = quiet(5)
    rows[2] = (85.0, 86.0, 84.0, 85.5)  # opens under the stop at 90
    bars = make_bars(rows)
    trade = only_trade(run(bars, entries=(0,), stoploss=-0.1)[0])
    assert trade["reason"] == "stop_loss"
    assert trade["exit_time"] == bars.index[2]
    assert trade["exit_price"] == 85.0
    assert trade["return"] == pytest.approx(-0.15, rel=1e-12)


def test_the_stop_is_checked_on_the_entry_bar_itself() -> None:
    rows = quiet(4)
    rows[1] = (100.0, 100.5, 89.0, 91.0)  # entry at 100, same bar trades down to 89
    bars = make_bars(rows)
    trade = only_trade(run(bars, entries=(0,), stoploss=-0.1)[0])
    assert trade["entry_time"] == trade["exit_time"] == bars.index[1]
    assert trade["exit_price"] == pytest.approx(90.0, rel=1e-12)
    assert trade["bars_held"] == 0


def test_take_profit_touched_intrabar_fills_at_the_target() -> None:
    rows = quiet(5)
    rows[3] = (101.0, 106.0, 100.5, 103.0)  # high 106 over the target at 105
    bars = make_bars(rows)
    trade = only_trade(run(bars, entries=(0,), stoploss=-0.1, take_profit=0.05)[0])
    assert trade["reason"] == "take_profit"
    assert trade["exit_time"] == bars.index[3]
    assert trade["exit_price"] == pytest.approx(105.0, rel=1e-12)
    assert trade["return"] == pytest.approx(0.05, rel=1e-12)
    assert trade["bars_held"] == 2


def test_a_gap_above_the_target_fills_at_the_open() -> None:
    rows = quiet(5)
    rows[2] = (107.0, 108.0, 106.0, 107.5)
    trade = only_trade(run(make_bars(rows), entries=(0,), take_profit=0.05)[0])
    assert trade["reason"] == "take_profit"
    assert trade["exit_price"] == 107.0
    assert trade["return"] == pytest.approx(0.07, rel=1e-12)


def test_a_bar_touching_both_stop_and_target_is_a_stop() -> None:
    rows = quiet(5)
    rows[2] = (100.0, 106.0, 89.0, 104.0)
    trade = only_trade(run(make_bars(rows), entries=(0,), stoploss=-0.1, take_profit=0.05)[0])
    assert trade["reason"] == "stop_loss"
    assert trade["exit_price"] == pytest.approx(90.0, rel=1e-12)


def test_a_pending_exit_signal_fills_at_the_open_before_any_stop_in_that_bar() -> None:
    rows = quiet(5)
    rows[2] = (99.0, 99.5, 80.0, 81.0)  # would stop out, but the exit fills at the open first
    trade = only_trade(run(make_bars(rows), entries=(0,), exits=(1,), stoploss=-0.1)[0])
    assert trade["reason"] == "exit_signal"
    assert trade["exit_price"] == 99.0


def test_no_reentry_on_the_bar_of_a_stop_exit() -> None:
    rows = quiet(7)
    rows[2] = (98.0, 99.0, 89.0, 92.0)
    bars = make_bars(rows)
    # entry signals on the stop bar (2) is ignored; the one on bar 3 is taken
    trades, stats = run(bars, entries=(0, 2, 3), stoploss=-0.1)
    assert trades["reason"].tolist() == ["stop_loss", "open"]
    assert trades["entry_signal_time"].tolist() == [bars.index[0], bars.index[3]]
    assert trades.iloc[1]["entry_time"] == bars.index[4]
    assert stats["trades"] == 1


def test_no_reentry_on_the_bar_of_a_take_profit_exit() -> None:
    rows = quiet(6)
    rows[2] = (101.0, 106.0, 100.5, 104.0)
    bars = make_bars(rows)
    trades, _ = run(bars, entries=(0, 2), take_profit=0.05)
    assert trades["reason"].tolist() == ["take_profit"]


# --- costs -------------------------------------------------------------------------------


def test_fees_and_slippage_are_charged_on_both_sides() -> None:
    rows = quiet(5)
    rows[3] = (110.0, 110.5, 109.5, 110.0)
    bars = make_bars(rows)
    trade = only_trade(run(bars, entries=(0,), exits=(2,), fees=FEES, slippage=SLIPPAGE)[0])
    # fill prices are the quotes; costs show in the return only
    assert (trade["entry_price"], trade["exit_price"]) == (100.0, 110.0)
    expected = (110 * (1 - SLIPPAGE) * (1 - FEES)) / (100 * (1 + SLIPPAGE) * (1 + FEES)) - 1
    assert trade["return"] == pytest.approx(expected, rel=1e-12)
    assert trade["return"] == pytest.approx(0.1 - 2 * 1.1 * (FEES + SLIPPAGE), abs=2e-4)


def test_costs_apply_to_stop_exits_too() -> None:
    rows = quiet(4)
    rows[2] = (98.0, 99.0, 89.0, 92.0)
    trade = only_trade(
        run(make_bars(rows), entries=(0,), stoploss=-0.1, fees=FEES, slippage=SLIPPAGE)[0]
    )
    assert trade["exit_price"] == pytest.approx(90.0, rel=1e-12)
    assert trade["return"] == pytest.approx(long_return(100, 90, FEES, SLIPPAGE), rel=1e-12)
    assert trade["return"] < -0.1


def test_costs_turn_a_flat_trade_into_a_loss() -> None:
    trade = only_trade(run(make_bars(quiet(5)), entries=(0,), exits=(2,), fees=FEES)[0])
    assert trade["return"] == pytest.approx((1 - FEES) / (1 + FEES) - 1, rel=1e-12)


# --- short direction -----------------------------------------------------------------------


def test_short_trade_gains_when_the_price_falls() -> None:
    rows = quiet(5)
    rows[3] = (90.0, 90.5, 89.5, 90.0)
    bars = make_bars(rows)
    trade = only_trade(run(bars, entries=(0,), exits=(2,), direction="short")[0])
    assert (trade["entry_price"], trade["exit_price"]) == (100.0, 90.0)
    assert trade["reason"] == "exit_signal"
    assert trade["return"] == pytest.approx(0.1, rel=1e-12)


def test_short_trade_with_costs() -> None:
    rows = quiet(5)
    rows[3] = (90.0, 90.5, 89.5, 90.0)
    trade = only_trade(
        run(
            make_bars(rows),
            entries=(0,),
            exits=(2,),
            direction="short",
            fees=FEES,
            slippage=SLIPPAGE,
        )[0]
    )
    proceeds = 100 * (1 - SLIPPAGE) * (1 - FEES)
    cover = 90 * (1 + SLIPPAGE) * (1 + FEES)
    assert trade["return"] == pytest.approx((proceeds - cover) / proceeds, rel=1e-12)


def test_short_stop_loss_is_above_the_entry_and_checked_against_the_high() -> None:
    rows = quiet(5)
    rows[2] = (101.0, 111.0, 100.0, 108.0)  # high 111 over the stop at 110
    trade = only_trade(run(make_bars(rows), entries=(0,), direction="short", stoploss=-0.1)[0])
    assert trade["reason"] == "stop_loss"
    assert trade["exit_price"] == pytest.approx(110.0, rel=1e-12)
    assert trade["return"] == pytest.approx(-0.1, rel=1e-12)


def test_short_gap_above_the_stop_fills_at_the_open() -> None:
    rows = quiet(5)
    rows[2] = (115.0, 116.0, 114.0, 115.0)
    trade = only_trade(run(make_bars(rows), entries=(0,), direction="short", stoploss=-0.1)[0])
    assert trade["exit_price"] == 115.0
    assert trade["return"] == pytest.approx(-0.15, rel=1e-12)


def test_short_take_profit_is_below_the_entry_and_checked_against_the_low() -> None:
    rows = quiet(5)
    rows[2] = (99.0, 99.5, 94.0, 96.0)  # low 94 under the target at 95
    trade = only_trade(
        run(make_bars(rows), entries=(0,), direction="short", stoploss=-0.1, take_profit=0.05)[0]
    )
    assert trade["reason"] == "take_profit"
    assert trade["exit_price"] == pytest.approx(95.0, rel=1e-12)
    assert trade["return"] == pytest.approx(0.05, rel=1e-12)


def test_short_bar_touching_both_levels_is_a_stop() -> None:
    rows = quiet(5)
    rows[2] = (100.0, 111.0, 94.0, 100.0)
    trade = only_trade(
        run(make_bars(rows), entries=(0,), direction="short", stoploss=-0.1, take_profit=0.05)[0]
    )
    assert trade["reason"] == "stop_loss"


# --- end of data -----------------------------------------------------------------------------


def test_an_entry_signal_on_the_last_bar_is_pending_with_no_fill() -> None:
    bars = make_bars(quiet(5))
    trades, stats = run(bars, entries=(4,))
    trade = only_trade(trades)
    assert trade["reason"] == "pending"
    assert trade["entry_signal_time"] == bars.index[4]
    assert pd.isna(trade["entry_index"]) and pd.isna(trade["entry_time"])
    assert np.isnan(trade["entry_price"])
    assert pd.isna(trade["exit_time"]) and np.isnan(trade["exit_price"])
    assert np.isnan(trade["return"])
    assert stats["trades"] == 0
    assert stats["total_return"] == 0.0
    assert stats["exposure"] == 0.0


def test_a_position_open_at_the_end_stays_open_and_is_not_counted() -> None:
    rows = [(100.0, 101.0, 99.5, 100.5), (100.0, 101.0, 99.5, 100.5)]
    rows += [(101.0, 102.0, 100.5, 101.5), (102.0, 103.0, 101.5, 102.5)]
    bars = make_bars(rows)
    trades, stats = run(bars, entries=(0,), stoploss=-0.3, take_profit=0.5)
    trade = only_trade(trades)
    assert trade["reason"] == "open"
    assert trade["entry_time"] == bars.index[1]
    assert pd.isna(trade["exit_index"]) and pd.isna(trade["exit_time"])
    assert np.isnan(trade["exit_price"]) and np.isnan(trade["return"])
    assert np.isnan(trade["bars_held"])
    assert stats["trades"] == 0
    assert np.isnan(stats["win_rate"])
    # the open position is marked to the last close in the per-bar returns
    assert stats["total_return"] == pytest.approx(102.5 / 100 - 1, rel=1e-12)
    assert stats["exposure"] == pytest.approx(3 / 4)


def test_an_exit_signal_on_the_last_bar_is_recorded_but_the_position_stays_open() -> None:
    bars = make_bars(quiet(5))
    trade = only_trade(run(bars, entries=(0,), exits=(4,))[0])
    assert trade["reason"] == "open"
    assert trade["exit_signal_time"] == bars.index[4]
    assert pd.isna(trade["exit_time"])
    assert np.isnan(trade["return"])


def test_closed_trades_count_and_open_ones_do_not() -> None:
    rows = quiet(8)
    rows[3] = (104.0, 104.5, 103.5, 104.0)
    trades, stats = run(make_bars(rows), entries=(0, 5), exits=(2,))
    assert trades["reason"].tolist() == ["exit_signal", "open"]
    assert stats["trades"] == 1
    assert stats["win_rate"] == 1.0


# --- input validation ------------------------------------------------------------------------


def test_missing_price_columns_are_listed() -> None:
    bars = make_bars(quiet(3)).drop(columns=["high", "low"])
    with pytest.raises(ValueError, match=r"missing column\(s\) \['high', 'low'\]") as error:
        backtest_signals(bars, at(bars), at(bars))
    assert "received ['open', 'close']" in str(error.value)


def test_signals_must_have_one_value_per_bar() -> None:
    bars = make_bars(quiet(4))
    with pytest.raises(ValueError, match="one value per bar"):
        backtest_signals(bars, at(bars).iloc[:3], at(bars))


def test_an_unknown_direction_is_rejected() -> None:
    bars = make_bars(quiet(4))
    with pytest.raises(ValueError, match="direction 'buy'"):
        backtest_signals(bars, at(bars, 0), at(bars), direction="buy")


# --- cross-check against an independent reading of the docstring -------------------------------


def reference_trades(
    bars: pd.DataFrame,
    entries: np.ndarray,
    exits: np.ndarray,
    *,
    direction: str,
    stoploss: float | None,
    take_profit: float | None,
    fees: float,
    slippage: float,
) -> list[dict[str, Any]]:
    """A plain loop over bars: what happens at each open, within each bar, at each close."""
    o, h, lo = (bars[k].to_list() for k in ("open", "high", "low"))
    is_long = direction == "long"
    done: list[dict[str, Any]] = []
    position: dict[str, Any] | None = None
    entry_wanted_at: int | None = None  # bar whose close gave an entry signal
    exit_wanted_at: int | None = None  # bar whose close gave an exit signal

    def close(exit_signal: int, t: int, price: float, reason: str) -> None:
        nonlocal position
        assert position is not None
        ret = (
            long_return(position["entry_price"], price, fees, slippage)
            if is_long
            else short_return(position["entry_price"], price, fees, slippage)
        )
        position |= {
            "exit_signal_index": exit_signal,
            "exit_index": t,
            "exit_price": price,
            "reason": reason,
            "return": ret,
        }
        done.append(position)
        position = None

    for t in range(len(o)):
        # at the open: fill what the previous close asked for
        if entry_wanted_at is not None:
            position = {
                "entry_signal_index": entry_wanted_at,
                "entry_index": t,
                "entry_price": o[t],
            }
            entry_wanted_at = None
        if exit_wanted_at is not None:
            close(exit_wanted_at, t, o[t], "exit_signal")
            exit_wanted_at = None
        # within the bar: the stop first, then the target; a gap through a level fills at
        # the open
        left_on_a_level = False
        if position is not None:
            entry = position["entry_price"]
            if is_long:
                stop = None if stoploss is None else entry * (1 + stoploss)
                target = None if take_profit is None else entry * (1 + take_profit)
                if stop is not None and lo[t] <= stop:
                    close(t, t, min(o[t], stop), "stop_loss")
                    left_on_a_level = True
                elif target is not None and h[t] >= target:
                    close(t, t, max(o[t], target), "take_profit")
                    left_on_a_level = True
            else:
                stop = None if stoploss is None else entry * (1 - stoploss)
                target = None if take_profit is None else entry * (1 - take_profit)
                if stop is not None and h[t] >= stop:
                    close(t, t, max(o[t], stop), "stop_loss")
                    left_on_a_level = True
                elif target is not None and lo[t] <= target:
                    close(t, t, min(o[t], target), "take_profit")
                    left_on_a_level = True
        # at the close: read the signals
        if position is not None:
            if exits[t]:
                exit_wanted_at = t
        elif entries[t] and not left_on_a_level:
            entry_wanted_at = t

    if entry_wanted_at is not None:
        done.append({"entry_signal_index": entry_wanted_at, "reason": "pending"})
    if position is not None:
        done.append(position | {"exit_signal_index": exit_wanted_at, "reason": "open"})
    return done


def random_walk(seed: int, n: int = 2000) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Hourly OHLC bars with occasional large gaps, and random entry/exit signals."""
    rng = np.random.default_rng(seed)
    gaps = rng.normal(0, 0.002, n) + np.where(rng.random(n) < 0.03, rng.normal(0, 0.05, n), 0)
    moves = rng.normal(0, 0.01, n)
    close = 100 * np.exp(np.cumsum(gaps + moves))
    open_ = close * np.exp(-moves)
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0, 0.01, n)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0, 0.01, n)))
    index = pd.date_range("2023-01-01", periods=n, freq="h", tz="UTC")
    bars = pd.DataFrame({"open": open_, "high": high, "low": low, "close": close}, index=index)
    return bars, rng.random(n) < 0.06, rng.random(n) < 0.06


def as_records(trades: pd.DataFrame) -> list[dict[str, Any]]:
    """The module's trades in the reference's shape (absent values dropped)."""
    keys = (
        "entry_signal_index",
        "entry_index",
        "entry_price",
        "exit_signal_index",
        "exit_index",
        "exit_price",
        "reason",
        "return",
    )
    records = []
    for row in trades.to_dict("records"):
        records.append({k: row[k] for k in keys if not pd.isna(row[k])})
    return records


def assert_same_trades(actual: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    assert len(actual) == len(expected)
    for number, (got, want) in enumerate(zip(actual, expected, strict=True)):
        want = {k: v for k, v in want.items() if v is not None}
        assert got.keys() == want.keys(), number
        for key, value in want.items():
            if isinstance(value, float):
                assert got[key] == pytest.approx(value, rel=1e-12, abs=1e-15), (number, key)
            else:
                assert got[key] == value, (number, key)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize(
    ("direction", "stoploss", "take_profit", "fees", "slippage"),
    [
        ("long", -0.03, 0.04, FEES, SLIPPAGE),
        ("short", -0.03, 0.04, FEES, SLIPPAGE),
        ("long", -0.02, None, 0.0, 0.0),
        ("short", None, 0.02, 0.002, 0.0),
        ("long", None, None, 0.0, 0.001),
        # levels tighter than a bar's range: many bars touch both
        ("long", -0.005, 0.005, 0.0, 0.0),
        ("short", -0.005, 0.005, FEES, 0.0),
    ],
)
def test_matches_an_independent_reference_on_a_random_walk(
    seed: int,
    direction: str,
    stoploss: float | None,
    take_profit: float | None,
    fees: float,
    slippage: float,
) -> None:
    bars, entries, exits = random_walk(seed)
    params = dict(
        direction=direction,
        stoploss=stoploss,
        take_profit=take_profit,
        fees=fees,
        slippage=slippage,
    )
    trades, stats = backtest_signals(
        bars, pd.Series(entries, index=bars.index), pd.Series(exits, index=bars.index), **params
    )
    expected = reference_trades(bars, entries, exits, **params)
    assert_same_trades(as_records(trades), expected)
    assert stats["trades"] == sum(t["reason"] not in ("open", "pending") for t in expected)
    # the cross-check is only as good as the cases it meets
    reasons = set(trades["reason"])
    if stoploss is None or stoploss < -0.01:  # tight levels leave no time for exit signals
        assert "exit_signal" in reasons
    if stoploss is not None:
        assert "stop_loss" in reasons
    if take_profit is not None:
        assert "take_profit" in reasons


def test_random_walk_meets_gap_fills_and_stops_on_the_entry_bar() -> None:
    bars, entries, exits = random_walk(1)
    trades, _ = backtest_signals(
        bars,
        pd.Series(entries, index=bars.index),
        pd.Series(exits, index=bars.index),
        stoploss=-0.03,
        take_profit=0.04,
    )
    stops = trades[trades["reason"] == "stop_loss"]
    opens = bars["open"].to_numpy()[stops["exit_index"].to_numpy(dtype=int)]
    assert (stops["exit_price"].to_numpy() == opens).any(), "no gap through a stop"
    assert (stops["bars_held"] == 0).any(), "no stop on the entry bar"


def test_random_walk_with_tight_levels_meets_bars_touching_both() -> None:
    bars, entries, exits = random_walk(1)
    trades, _ = backtest_signals(
        bars,
        pd.Series(entries, index=bars.index),
        pd.Series(exits, index=bars.index),
        stoploss=-0.005,
        take_profit=0.005,
    )
    stops = trades[trades["reason"] == "stop_loss"]
    highs = bars["high"].to_numpy()[stops["exit_index"].to_numpy(dtype=int)]
    assert (highs >= stops["entry_price"].to_numpy() * 1.005).any()


def test_long_bar_returns_compound_to_the_trade_returns() -> None:
    bars, entries, exits = random_walk(5)
    exits[-50:] = True  # make sure the last position is closed before the data ends
    entries[-50:] = False
    trades, stats = backtest_signals(
        bars,
        pd.Series(entries, index=bars.index),
        pd.Series(exits, index=bars.index),
        stoploss=-0.03,
        take_profit=0.04,
        fees=FEES,
        slippage=SLIPPAGE,
    )
    assert set(trades["reason"]) <= {"exit_signal", "stop_loss", "take_profit"}
    returns = bar_returns(trades, bars["close"].to_numpy(), 1, FEES, SLIPPAGE)
    for trade in trades.to_dict("records"):
        held = returns[trade["entry_index"] : trade["exit_index"] + 1]
        assert np.prod(1 + held) - 1 == pytest.approx(trade["return"], rel=1e-9)
    assert stats["total_return"] == pytest.approx(np.prod(1 + trades["return"]) - 1, rel=1e-9)


def test_short_bar_returns_compound_to_the_trade_return() -> None:
    rows = [(100.0, 100.0, 100.0, 100.0), (100.0, 100.0, 75.0, 75.0)]
    rows += [(75.0, 75.0, 50.0, 50.0), (50.0, 50.0, 50.0, 50.0), (50.0, 50.0, 50.0, 50.0)]
    trades, stats = run(make_bars(rows), entries=(0,), exits=(2,), direction="short")
    trade = only_trade(trades)
    assert (trade["entry_price"], trade["exit_price"]) == (100.0, 50.0)
    assert trade["return"] == pytest.approx(0.5)
    assert stats["total_return"] == pytest.approx(trade["return"])


# --- the kernel's options, through backtest_signals ------------------------------------------


def test_spelling_out_the_default_options_changes_nothing() -> None:
    bars, entries, exits = random_walk(2)
    signals = (pd.Series(entries, index=bars.index), pd.Series(exits, index=bars.index))
    costs = {"stoploss": -0.03, "take_profit": 0.04, "fees": FEES, "slippage": SLIPPAGE}
    plain_trades, plain_stats = backtest_signals(bars, *signals, **costs)
    spelled_trades, spelled_stats = backtest_signals(
        bars,
        *signals,
        **costs,
        trailing_stop=None,
        trailing_offset=None,
        roi=(),
        position_size=1.0,
        both_hit="stop_first",
        stops_on_entry_bar=True,
        signal_exit_first=True,
        entry_on_stop_bar=False,
    )
    pd.testing.assert_frame_equal(plain_trades, spelled_trades)
    assert plain_stats == spelled_stats


def test_sized_bar_returns_compound_to_the_sized_trade_returns() -> None:
    bars, entries, exits = random_walk(4)
    trades, stats = backtest_signals(
        bars,
        pd.Series(entries, index=bars.index),
        pd.Series(exits, index=bars.index),
        stoploss=-0.03,
        direction="short",
        fees=FEES,
        position_size=0.25,
    )
    returns = bar_returns(trades, bars["close"].to_numpy(), -1, FEES, 0.0, position_size=0.25)
    closed = trades.dropna(subset=["exit_index"])
    assert len(closed) > 20
    for trade in closed.to_dict("records"):
        held = returns[trade["entry_index"] : trade["exit_index"] + 1]
        assert np.prod(1 + held) - 1 == pytest.approx(0.25 * trade["return"], rel=1e-9)
    assert stats["trades"] == len(closed)


def test_a_trailing_stop_option_reaches_the_kernel() -> None:
    rows = quiet(6)
    rows[2] = (101.0, 110.0, 100.0, 109.0)
    rows[3] = (108.0, 108.5, 103.0, 104.0)
    trade = only_trade(run(make_bars(rows), entries=(0,), trailing_stop=0.05)[0])
    assert (trade["reason"], trade["exit_index"]) == ("trailing_stop", 3)
    assert trade["exit_price"] == pytest.approx(104.5, rel=1e-12)
