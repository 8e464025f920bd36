"""signals.kernel: the options beyond the default semantics, on hand-worked bars, and batching.

Default behaviour is pinned by tests/signals/test_backtest.py (through backtest_signals,
which runs the kernel on one cell); test_kernel_reference.py cross-checks every option
against an independent loop on random walks.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from signals import backtest_signals
from signals.kernel import REASONS, SUMMARY_NAMES, BacktestParams, Prices, run_grid

Row = tuple[float, float, float, float]


def make_bars(rows: list[Row]) -> pd.DataFrame:
    """Hourly UTC bars from (open, high, low, close) tuples."""
    index = pd.date_range("2024-01-01", periods=len(rows), freq="h", tz="UTC")
    return pd.DataFrame(rows, columns=["open", "high", "low", "close"], index=index)


def quiet(n: int, price: float = 100.0) -> list[Row]:
    """`n` bars opening and closing at `price`, ranging +-0.5."""
    return [(price, price + 0.5, price - 0.5, price)] * n


def run(
    rows: list[Row], entries: tuple[int, ...], exits: tuple[int, ...] = (), **options: Any
) -> pd.DataFrame:
    bars = make_bars(rows)
    flags = np.zeros((2, len(bars)), dtype=bool)
    flags[0, list(entries)] = True
    flags[1, list(exits)] = True
    trades, _ = backtest_signals(
        bars, pd.Series(flags[0], bars.index), pd.Series(flags[1], bars.index), **options
    )
    return trades


def only(trades: pd.DataFrame) -> pd.Series:
    assert len(trades) == 1, trades
    return trades.iloc[0]


def summary_of(trades: pd.DataFrame) -> list[tuple[Any, ...]]:
    """(reason, entry index, exit index, exit price) per trade."""
    return [
        (t.reason, t.entry_index, None if pd.isna(t.exit_index) else t.exit_index, t.exit_price)
        for t in trades.itertuples()
    ]


# --- trailing stop -------------------------------------------------------------------------


def test_trailing_stop_follows_the_highest_high_of_earlier_bars() -> None:
    rows = quiet(7)
    rows[2] = (101.0, 110.0, 99.0, 108.0)  # high 110 lifts the level to 104.5 from bar 3 on
    rows[3] = (108.0, 109.0, 104.0, 105.0)  # low 104 under 104.5
    trades = run(rows, entries=(0,), trailing_stop=0.05)
    trade = only(trades)
    assert (trade["reason"], trade["exit_index"]) == ("trailing_stop", 3)
    assert trade["exit_price"] == pytest.approx(110 * 0.95, rel=1e-12)


def test_trailing_stop_does_not_use_the_same_bars_high() -> None:
    # the high of 110 and the low of 99 share a bar: their order is unknown, so the level
    # stays at 100.5 * 0.95 (highest earlier high: the entry bar's) and is not hit
    rows = quiet(2) + [(101.0, 110.0, 99.0, 108.0)] + quiet(3, 108.0)
    trades = run(rows, entries=(0,), trailing_stop=0.05)
    assert trades["reason"].tolist() == ["open"]


def test_trailing_stop_gap_fills_at_the_open() -> None:
    rows = quiet(6)
    rows[2] = (101.0, 110.0, 100.0, 109.0)
    rows[3] = (90.0, 91.0, 89.0, 90.5)
    trade = only(run(rows, entries=(0,), trailing_stop=0.05))
    assert (trade["reason"], trade["exit_price"]) == ("trailing_stop", 90.0)


def test_short_trailing_stop_follows_the_lowest_low() -> None:
    rows = quiet(6)
    rows[2] = (99.0, 101.0, 90.0, 92.0)  # low 90: the level falls to 94.5
    rows[3] = (92.0, 95.0, 91.0, 94.0)  # high 95 over it
    trade = only(run(rows, entries=(0,), direction="short", trailing_stop=0.05))
    assert (trade["reason"], trade["exit_index"]) == ("trailing_stop", 3)
    assert trade["exit_price"] == pytest.approx(90 * 1.05, rel=1e-12)
    assert trade["return"] == pytest.approx((100 - 94.5) / 100, rel=1e-12)


def test_trailing_offset_arms_the_trail_only_after_the_gain() -> None:
    rows = quiet(9)
    rows[2] = (100.0, 103.0, 99.8, 102.0)  # +3%: not armed (offset 5%)
    rows[3] = (102.0, 102.0, 100.5, 101.0)  # 2.4% under 103, no exit
    rows[4] = (101.0, 106.0, 100.8, 105.0)  # +6%: armed from the next bar
    rows[5] = (105.0, 105.5, 103.5, 104.0)  # 106 * 0.98 = 103.88 touched
    trade = only(run(rows, entries=(0,), trailing_stop=0.02, trailing_offset=0.05))
    assert (trade["reason"], trade["exit_index"]) == ("trailing_stop", 5)
    assert trade["exit_price"] == pytest.approx(106 * 0.98, rel=1e-12)
    at_once = only(run(rows, entries=(0,), trailing_stop=0.02))
    assert (at_once["reason"], at_once["exit_index"]) == ("trailing_stop", 3)


def test_the_tighter_of_fixed_and_trailing_stop_applies_and_names_the_reason() -> None:
    rows = quiet(6)
    rows[2] = (100.0, 100.5, 94.0, 95.0)
    trades = run(rows, entries=(0,), stoploss=-0.1, trailing_stop=0.05)
    assert summary_of(trades)[0][0] == "trailing_stop"  # 100.5 * 0.95 over 90
    assert summary_of(trades)[0][3] == pytest.approx(100.5 * 0.95, rel=1e-12)
    armed_later = run(rows, entries=(0,), stoploss=-0.05, trailing_stop=0.05, trailing_offset=0.1)
    assert summary_of(armed_later)[0][0] == "stop_loss"
    assert summary_of(armed_later)[0][3] == pytest.approx(95.0, rel=1e-12)


# --- minimal ROI ----------------------------------------------------------------------------


def test_roi_is_read_at_the_close_and_exits_at_the_next_open() -> None:
    rows = quiet(7)
    rows[2] = (100.0, 104.0, 99.5, 103.0)  # +3% at the close: under the 5% required
    rows[3] = (103.0, 106.5, 102.5, 106.0)  # +6%: ROI met at this close
    rows[4] = (105.0, 105.5, 104.5, 105.0)
    trade = only(run(rows, entries=(0,), roi={0: 0.05}))
    assert (trade["reason"], trade["exit_signal_index"], trade["exit_index"]) == ("roi", 3, 4)
    assert trade["exit_price"] == 105.0


def test_roi_requirement_falls_with_trade_age() -> None:
    rows = [(100.0, 100.6, 99.9, 100.2 + i / 100) for i in range(9)]
    # 0.2%..0.3% gains never reach 1%; from age 4 bars any non-negative return exits
    trade = only(run(rows, entries=(0,), roi=((0, 0.01), (4, 0.0))))
    assert (trade["reason"], trade["entry_index"], trade["exit_signal_index"]) == ("roi", 1, 5)


def test_roi_counts_costs() -> None:
    rows = [(100.0, 100.5, 99.5, 100.05)] * 6  # +0.05% before costs, a loss after them
    assert run(rows, entries=(0,), roi={0: 0.0}, fees=0.001)["reason"].tolist() == ["open"]
    assert run(rows, entries=(0,), roi={0: 0.0})["reason"].tolist()[0] == "roi"


def test_an_exit_signal_and_roi_on_one_close_is_an_exit_signal() -> None:
    rows = quiet(5)
    rows[2] = (100.0, 106.5, 99.5, 106.0)
    trade = only(run(rows, entries=(0,), exits=(2,), roi={0: 0.05}))
    assert trade["reason"] == "exit_signal"


# --- which level first, and vectorbt's conventions ---------------------------------------------


def test_target_first_takes_the_target_when_a_bar_touches_both() -> None:
    rows = quiet(5)
    rows[2] = (100.0, 106.0, 89.0, 104.0)
    trades = run(rows, entries=(0,), stoploss=-0.1, take_profit=0.05, both_hit="target_first")
    assert summary_of(trades)[0][:3] == ("take_profit", 1, 2)
    assert summary_of(trades)[0][3] == pytest.approx(105.0, rel=1e-12)


def test_stops_can_start_the_bar_after_entry() -> None:
    rows = quiet(5)
    rows[1] = (100.0, 100.5, 89.0, 95.0)  # would stop on the entry bar
    rows[2] = (95.0, 95.5, 94.5, 95.0)
    rows[3] = (95.0, 95.5, 85.0, 86.0)
    trades = run(rows, entries=(0,), stoploss=-0.1, stops_on_entry_bar=False)
    assert summary_of(trades)[0][:3] == ("stop_loss", 1, 3)


def test_stops_can_come_before_a_pending_exit_signal() -> None:
    rows = quiet(5)
    rows[2] = (99.0, 99.5, 80.0, 81.0)
    default = run(rows, entries=(0,), exits=(1,), stoploss=-0.1)
    stops_first = run(rows, entries=(0,), exits=(1,), stoploss=-0.1, signal_exit_first=False)
    assert summary_of(default)[0][::3] == ("exit_signal", 99.0)
    assert summary_of(stops_first)[0][0] == "stop_loss"
    assert summary_of(stops_first)[0][3] == pytest.approx(90.0, rel=1e-12)
    quiet_bar = run(quiet(5), entries=(0,), exits=(1,), stoploss=-0.1, signal_exit_first=False)
    assert summary_of(quiet_bar)[0] == ("exit_signal", 1, 2, 100.0)


def test_an_entry_on_the_stop_bar_can_be_taken() -> None:
    rows = quiet(6)
    rows[2] = (98.0, 99.0, 89.0, 92.0)
    trades = run(rows, entries=(0, 2), stoploss=-0.1, entry_on_stop_bar=True)
    assert trades["reason"].tolist() == ["stop_loss", "open"]
    assert trades["entry_index"].tolist() == [1, 3]


# --- position sizing ----------------------------------------------------------------------------


def test_position_size_scales_equity_not_trades() -> None:
    rows = quiet(8)
    rows[2] = (110.0, 110.5, 109.5, 110.0)
    rows[5] = (99.0, 99.5, 98.5, 99.0)
    bars = make_bars(rows)
    entries = pd.Series([True, False, False, True] + [False] * 4, bars.index)
    exits = pd.Series([False, True, False, False, True] + [False] * 3, bars.index)
    full, full_stats = backtest_signals(bars, entries, exits, fees=0.001)
    half, half_stats = backtest_signals(bars, entries, exits, fees=0.001, position_size=0.5)
    pd.testing.assert_frame_equal(full, half)
    expected = np.prod(1 + 0.5 * full["return"].to_numpy()) - 1
    assert half_stats["total_return"] == pytest.approx(expected, rel=1e-12)
    assert full_stats["total_return"] == pytest.approx(np.prod(1 + full["return"]) - 1, rel=1e-12)
    assert half_stats["trades"] == full_stats["trades"] == 2


# --- parameters and inputs ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("stoploss", 0.1, "stoploss 0.1 must be a negative fraction"),
        ("take_profit", -0.1, "take_profit -0.1 must be a positive fraction"),
        ("trailing_stop", 1.5, "trailing_stop 1.5 must be a fraction in"),
        ("trailing_offset", -0.01, "trailing_offset -0.01 must be a non-negative"),
        ("trailing_offset", 0.02, "trailing_offset 0.02 needs a trailing_stop"),
        ("fees", -0.001, "fees -0.001 must be a fraction"),
        ("position_size", 0.0, "position_size 0.0 must be a fraction in"),
        ("both_hit", "stop", "both_hit 'stop' must be one of"),
        ("roi", ((5, 0.01), (5, 0.02)), "needs distinct non-negative ages"),
        ("roi", {0: float("nan")}, "needs finite required returns"),
        ("direction", "buy", "direction 'buy' must be 'long' or 'short'"),
    ],
)
def test_invalid_parameters_are_named(field: str, value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        BacktestParams(**{field: value})


def test_roi_table_is_sorted_by_age() -> None:
    assert BacktestParams(roi={30: 0.01, 0: 0.04, 10: 0.02}).roi == (
        (0, 0.04),
        (10, 0.02),
        (30, 0.01),
    )


def test_unknown_backtest_option_is_rejected() -> None:
    bars = make_bars(quiet(3))
    flags = pd.Series(False, bars.index)
    with pytest.raises(TypeError, match=r"unknown option\(s\) \['trailing'\]"):
        backtest_signals(bars, flags, flags, trailing=0.1)


def grid_inputs(
    seed: int, lengths: tuple[int, ...], columns: int
) -> tuple[Prices, np.ndarray, np.ndarray]:
    """Random-walk segments of the given lengths and random (bars, columns) signals."""
    rng = np.random.default_rng(seed)
    frames = []
    for n in lengths:
        close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
        open_ = close * np.exp(rng.normal(0, 0.004, n))
        wick = np.abs(rng.normal(0, 0.006, (2, n)))
        frames.append(
            pd.DataFrame(
                {
                    "open": open_,
                    "high": np.maximum(open_, close) * (1 + wick[0]),
                    "low": np.minimum(open_, close) * (1 - wick[1]),
                    "close": close,
                }
            )
        )
    prices = Prices.from_frames(frames)
    rows = len(prices.close)
    return prices, rng.random((rows, columns)) < 0.08, rng.random((rows, columns)) < 0.08


GRID_PARAMS = [
    BacktestParams(stoploss=-0.02, take_profit=0.03, fees=0.001),
    BacktestParams(direction="short", trailing_stop=0.015, slippage=0.0005),
    BacktestParams(roi=((0, 0.02), (5, 0.0)), both_hit="target_first", take_profit=0.01),
    BacktestParams(stoploss=-0.01, stops_on_entry_bar=False, signal_exit_first=False),
]


def test_each_cell_of_a_grid_equals_its_own_single_cell_run() -> None:
    prices, entries, exits = grid_inputs(3, (500, 1, 0, 800, 2), len(GRID_PARAMS))
    grid = run_grid(prices, entries, exits, GRID_PARAMS)
    assert len(grid.count) == prices.segments * len(GRID_PARAMS)
    for seg in range(prices.segments):
        a, b = prices.bounds[seg], prices.bounds[seg + 1]
        alone = Prices(
            prices.open[a:b],
            prices.high[a:b],
            prices.low[a:b],
            prices.close[a:b],
            np.array([0, b - a]),
        )
        for col, params in enumerate(GRID_PARAMS):
            single = run_grid(alone, entries[a:b, col], exits[a:b, col], [params])
            cell = seg * len(GRID_PARAMS) + col
            part = slice(grid.first[cell], grid.first[cell] + grid.count[cell])
            assert grid.count[cell] == single.count[0]
            for name in ("entry_signal", "entry", "exit_signal", "exit"):
                got, want = getattr(grid, name)[part], getattr(single, name)
                np.testing.assert_array_equal(np.where(got >= 0, got - a, -1), want, err_msg=name)
            for name in ("entry_price", "exit_price", "ret", "reason"):
                np.testing.assert_array_equal(getattr(grid, name)[part], getattr(single, name))
            np.testing.assert_array_equal(grid.summary[cell], single.summary[0])
            assert (grid.cell[part] == cell).all()


def test_records_stay_inside_their_segment() -> None:
    prices, entries, exits = grid_inputs(4, (300, 300, 300), 2)
    grid = run_grid(prices, entries, exits, GRID_PARAMS[:2])
    segment = grid.cell // 2
    low, high = prices.bounds[segment], prices.bounds[segment + 1]
    for name in ("entry_signal", "entry", "exit_signal", "exit"):
        values = getattr(grid, name)
        present = values >= 0
        assert ((values[present] >= low[present]) & (values[present] < high[present])).all(), name


def test_small_record_batches_give_the_same_result() -> None:
    prices, entries, exits = grid_inputs(5, (400, 700, 50), len(GRID_PARAMS))
    whole = run_grid(prices, entries, exits, GRID_PARAMS)
    batched = run_grid(prices, entries, exits, GRID_PARAMS, max_records=30)
    for name in (
        "cell",
        "entry",
        "exit",
        "entry_price",
        "exit_price",
        "ret",
        "reason",
        "first",
        "count",
        "summary",
    ):
        np.testing.assert_array_equal(getattr(whole, name), getattr(batched, name), err_msg=name)


def test_summary_accumulates_the_closed_trades() -> None:
    prices, entries, exits = grid_inputs(6, (600, 900), len(GRID_PARAMS))
    grid = run_grid(prices, entries, exits, GRID_PARAMS)
    for cell in range(len(grid.count)):
        part = slice(grid.first[cell], grid.first[cell] + grid.count[cell])
        closed = grid.exit[part] >= 0
        returns = grid.ret[part][closed]
        expected = {
            "records": grid.count[cell],
            "closed": closed.sum(),
            "wins": (returns > 0).sum(),
            "gross_gain": returns[returns > 0].sum(),
            "gross_loss": -returns[returns < 0].sum(),
            "return_sum": returns.sum(),
            "bars_held": (grid.exit[part] - grid.entry[part])[closed].sum(),
        }
        got = dict(zip(SUMMARY_NAMES, grid.summary[cell], strict=True))
        assert got == pytest.approx(expected, rel=1e-12, abs=1e-15)
        assert np.isnan(grid.ret[part][~closed]).all()
        assert {REASONS[r] for r in grid.reason[part][~closed]} <= {"open", "pending"}


def test_signal_layout_does_not_matter() -> None:
    prices, entries, exits = grid_inputs(7, (500,), 3)
    c_order = run_grid(prices, entries, exits, GRID_PARAMS[:3])
    f_order = run_grid(prices, np.asfortranarray(entries), pd.DataFrame(exits), GRID_PARAMS[:3])
    np.testing.assert_array_equal(c_order.ret, f_order.ret)
    np.testing.assert_array_equal(c_order.exit, f_order.exit)


def test_grid_inputs_are_checked() -> None:
    prices, entries, exits = grid_inputs(8, (100, 50), 2)
    with pytest.raises(ValueError, match=r"entries: expected 150 rows"):
        run_grid(prices, entries[:-1], exits, GRID_PARAMS[:2])
    with pytest.raises(ValueError, match="1 parameter columns for 2 signal columns"):
        run_grid(prices, entries, exits, GRID_PARAMS[:1])
    with pytest.raises(ValueError, match="entries: missing values"):
        run_grid(prices, np.where(entries, 1.0, np.nan), exits, GRID_PARAMS[:2])
    skewed = Prices(
        prices.open, prices.high, prices.low, prices.close, np.array([0, 120, 100, 150])
    )
    with pytest.raises(ValueError, match="bounds"):
        run_grid(skewed, entries, exits, GRID_PARAMS[:2])
    with pytest.raises(ValueError, match=r"bars\[1\]: missing column\(s\) \['low'\]"):
        Prices.from_frames([make_bars(quiet(2)), make_bars(quiet(2)).drop(columns="low")])
