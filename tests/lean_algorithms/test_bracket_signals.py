"""BracketSignals on the LEAN test double: entries, one-cancels-other brackets, exits, restarts."""

from __future__ import annotations

import types
from datetime import datetime, timedelta
from pathlib import Path

import lean_double
import pytest
from lean_double import Bar, Symbol
from lean_replay import FolderObjectStore, LoadAlgorithm, Replay, Slice, bars, write_table

HEADER = (
    "symbol,signal_timestamp,timestamp,strategy_id,direction,entry_type,entry_price,"
    "stop_loss,take_profit,signal_id,position_status"
)
UNIVERSE = "symbol,security_type,market,first_signal_timestamp,last_signal_timestamp\n{rows}"
FLAT = Bar(100, 100, 100, 100)


def t(minute: int) -> datetime:
    """2024-01-02 10:<minute> UTC."""
    return datetime(2024, 1, 2, 10, minute)


def row(minute: int, signal_id: str = "sig1", symbol: str = "AAPL", **fields: str) -> str:
    """An orders line available at 10:<minute>:30 for the bar of 10:<minute>:00."""
    values = {"direction": "buy", "entry_type": "market", "entry_price": "", "stop_loss": "95"}
    values |= {"take_profit": "110", "position_status": "true", **fields}
    return (
        f"{symbol},2024-01-02T10:{minute:02d}:30Z,2024-01-02T10:{minute:02d}:00Z,s1,"
        f"{values['direction']},{values['entry_type']},{values['entry_price']},"
        f"{values['stop_loss']},{values['take_profit']},{signal_id},{values['position_status']}"
    )


def exit_row(minute: int, signal_id: str = "sig2") -> str:
    """An exit line: position_status false, no prices."""
    return row(minute, signal_id, stop_loss="", take_profit="", position_status="false")


def write_orders(root: Path, lines: list[str], symbols: tuple[str, ...] = ("AAPL",)) -> None:
    """Write the s1 orders table (universe + one file per symbol) under root."""
    universe = "".join(
        f"{s},equity,usa,2024-01-02T10:00:00Z,2024-01-02T11:00:00Z\n" for s in symbols
    )
    files = {"universe.csv": UNIVERSE.format(rows=universe)}
    for symbol in symbols:
        mine = [line for line in lines if line.startswith(f"{symbol},")]
        files[f"orders/{symbol.lower()}.csv"] = "\n".join([HEADER, *mine]) + "\n"
    write_table(root, "signal_orders", "s1", files)


def replay(
    module: types.ModuleType, tmp_path: Path, lines: list[str], path: dict, **params: str
) -> Replay:
    """Write the rows into the data folder and start BracketSignals on them."""
    write_orders(tmp_path / "data", lines, tuple(sorted({line.split(",")[0] for line in lines})))
    return Replay(module.BracketSignalsAlgorithm, {"strategy_id": "s1", **params}, path)


@pytest.fixture
def bracket(load_algorithm: LoadAlgorithm) -> types.ModuleType:
    """BracketSignals/main.py loaded against the double."""
    return load_algorithm("BracketSignals")


ENTRY = ("AAPL", "market", 100, 0.0, "sig1:entry:95.0:110.0", "filled")


def check_entry_bracket(module: types.ModuleType, tmp_path: Path) -> None:
    """A filled market buy gets a stop at stop_loss and a target at take_profit, both -100."""
    run = replay(module, tmp_path, [row(0)], bars([t(m) for m in range(4)], "AAPL", *[100] * 4))
    run.run()
    assert run.orders() == [
        ENTRY,
        ("AAPL", "stop_market", -100, 95.0, "sig1:stop", "submitted"),
        ("AAPL", "limit", -100, 110.0, "sig1:target", "submitted"),
    ]
    assert [(time, r["signal_id"]) for time, r in run.delivered] == [(t(1), "sig1")]


def test_entry_fill_places_stop_and_target_for_the_filled_quantity(
    bracket: types.ModuleType, tmp_path: Path
) -> None:
    check_entry_bracket(bracket, tmp_path)


def test_market_entry_filled_inside_the_order_call_is_bracketed_once(
    bracket: types.ModuleType, tmp_path: Path
) -> None:
    run = replay(bracket, tmp_path, [row(0)], bars([t(m) for m in range(4)], "AAPL", *[100] * 4))
    run.broker.sync_market = True  # LEAN backtests fill market orders before they return
    run.run()
    assert run.orders() == [
        ENTRY,
        ("AAPL", "stop_market", -100, 95.0, "sig1:stop", "submitted"),
        ("AAPL", "limit", -100, 110.0, "sig1:target", "submitted"),
    ]
    assert run.holdings[t(1)] == {"AAPL": 100}


def test_a_stop_placed_at_take_profit_fails_the_bracket_check(
    load_algorithm: LoadAlgorithm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = (lean_double.LEAN_DIR / "BracketSignals" / "main.py").read_text()
    broken = source.replace("quantity, self.stop_price, tag", "quantity, self.target_price, tag")
    assert broken != source
    (tmp_path / "broken.py").write_text(broken)
    load_algorithm("BracketSignals")  # installs the double and signal_data
    module = lean_double.load(monkeypatch, tmp_path / "broken.py", "broken_bracket")
    with pytest.raises(AssertionError):
        check_entry_bracket(module, tmp_path)


@pytest.mark.parametrize(
    ("bar", "filled", "price", "cancelled"),
    [
        (Bar(100, 111, 99, 105), "sig1:target", 110.0, "sig1:stop"),
        (Bar(100, 101, 94, 96), "sig1:stop", 95.0, "sig1:target"),
        (Bar(90, 91, 88, 89), "sig1:stop", 90.0, "sig1:target"),  # gap through the stop
    ],
    ids=["target-cancels-stop", "stop-cancels-target", "gap-fills-stop-at-open"],
)
def test_one_bracket_fill_cancels_the_other(
    bracket: types.ModuleType,
    tmp_path: Path,
    bar: Bar,
    filled: str,
    price: float,
    cancelled: str,
) -> None:
    run = replay(
        bracket, tmp_path, [row(0)], bars([t(m) for m in range(5)], "AAPL", *[100] * 3, bar, 100)
    )
    run.run()
    status = {tag: s for _, _, _, _, tag, s in run.orders()}
    assert status == {ENTRY[4]: "filled", filled: "filled", cancelled: "canceled"}
    fills = [e for e in run.broker.orders if e.tag == filled]
    assert run.broker.cash == pytest.approx(100_000 - 100 * 100 + 100 * price)
    assert fills[0].filled == -100
    assert run.holdings[t(4)] == {}


def test_partial_entry_fills_resize_the_bracket(bracket: types.ModuleType, tmp_path: Path) -> None:
    thin = Bar(100, 100, 100, 100, max_fill=40)
    run = replay(
        bracket,
        tmp_path,
        [row(0)],
        bars([t(m) for m in range(5)], "AAPL", 100, 100, thin, thin, thin),
    )
    sizes = []
    for minute in (2, 3, 4):
        run.run(until=t(minute))
        sizes.append([q for _, kind, q, _, _, _ in run.orders() if kind != "market"])
    assert sizes == [[-40, -40], [-80, -80], [-100, -100]]
    assert run.orders()[0][5] == "filled" and len(run.orders()) == 3


def test_sell_limit_entry_brackets_above_and_below(
    bracket: types.ModuleType, tmp_path: Path
) -> None:
    line = row(
        0,
        direction="sell",
        entry_type="limit",
        entry_price="105",
        stop_loss="110",
        take_profit="95",
    )
    path = bars([t(m) for m in range(4)], "AAPL", 100, 100, Bar(100, 106, 99, 104), 104)
    run = replay(bracket, tmp_path, [line], path)
    run.run()
    assert run.orders() == [
        ("AAPL", "limit", -95, 105.0, "sig1:entry:110.0:95.0", "filled"),
        ("AAPL", "stop_market", 95, 110.0, "sig1:stop", "submitted"),
        ("AAPL", "limit", 95, 95.0, "sig1:target", "submitted"),
    ]


def test_exit_row_cancels_the_bracket_and_closes_at_market(
    bracket: types.ModuleType, tmp_path: Path
) -> None:
    run = replay(
        bracket, tmp_path, [row(0), exit_row(3)], bars([t(m) for m in range(6)], "AAPL", *[100] * 6)
    )
    run.run()
    assert run.orders() == [
        ENTRY,
        ("AAPL", "stop_market", -100, 95.0, "sig1:stop", "canceled"),
        ("AAPL", "limit", -100, 110.0, "sig1:target", "canceled"),
        ("AAPL", "market", -100, 0.0, "sig2:exit", "filled"),
    ]
    assert run.holdings[t(5)] == {}


def test_max_open_positions_skips_entries_beyond_it(
    bracket: types.ModuleType, tmp_path: Path
) -> None:
    path = {t(m): {"AAPL": FLAT, "MSFT": FLAT} for m in range(4)}
    run = replay(bracket, tmp_path, [row(0), row(1, "sig9", "MSFT")], path, max_open_positions="1")
    run.run()
    assert {symbol for symbol, *_ in run.orders()} == {"AAPL"}


def test_restart_mid_position_rebuilds_without_new_orders(
    bracket: types.ModuleType, tmp_path: Path
) -> None:
    path = bars([t(m) for m in range(6)], "AAPL", 100, 100, 100, 100, Bar(100, 111, 99, 105), 100)
    run = replay(bracket, tmp_path, [row(0)], path)
    run.run(until=t(2))
    run.restart()
    run.algorithm.on_data(Slice([r for _, r in run.delivered]))  # the entry row seen again
    run.run(until=t(3))
    assert len(run.orders()) == 3
    run.run()  # the target fills: the new instance cancels the stop it rebuilt
    assert [s for *_, s in run.orders()] == ["filled", "canceled", "filled"]


@pytest.mark.parametrize(
    ("fields", "sizes"),
    [({}, [100, -100, -100]), ({"direction": "sell", "stop_loss": "105"}, [-100, 100, 100])],
    ids=["buy", "sell"],
)
def test_restart_during_partial_entry_keeps_resizing(
    bracket: types.ModuleType, tmp_path: Path, fields: dict[str, str], sizes: list[int]
) -> None:
    line = row(0, **(fields | {"take_profit": "90"} if fields else {}))
    thin = Bar(100, 100, 100, 100, max_fill=40)
    path = bars([t(m) for m in range(5)], "AAPL", 100, 100, thin, thin, thin)
    run = replay(bracket, tmp_path, [line], path)
    run.run(until=t(2))
    run.restart()
    run.run()
    assert [q for _, kind, q, *_ in run.orders()] == sizes


def test_restart_with_pending_limit_entry_brackets_from_its_tag(
    bracket: types.ModuleType, tmp_path: Path
) -> None:
    line = row(0, entry_type="limit", entry_price="98")
    path = bars([t(m) for m in range(5)], "AAPL", 100, 100, 100, Bar(99, 99, 97, 98), 98)
    run = replay(bracket, tmp_path, [line], path)
    run.run(until=t(2))
    run.restart()
    run.run()
    assert run.orders() == [
        ("AAPL", "limit", 102, 98.0, "sig1:entry:95.0:110.0", "filled"),
        ("AAPL", "stop_market", -102, 95.0, "sig1:stop", "submitted"),
        ("AAPL", "limit", -102, 110.0, "sig1:target", "submitted"),
    ]


def test_live_mode_reads_the_same_keys_from_the_object_store(
    bracket: types.ModuleType, tmp_path: Path
) -> None:
    write_orders(tmp_path / "storage", [row(0)])  # nothing under the data folder
    store = FolderObjectStore(tmp_path / "storage")
    path = bars([t(m) for m in range(4)], "AAPL", *[100] * 4)
    run = Replay(bracket.BracketSignalsAlgorithm, {"strategy_id": "s1"}, path, store)
    run.run()
    assert run.orders()[0] == ENTRY and len(run.orders()) == 3
    assert not (tmp_path / "data").exists()


def test_every_order_row_is_delivered_once_never_before_its_signal_timestamp(
    bracket: types.ModuleType, tmp_path: Path
) -> None:
    lines = [row(0), exit_row(2), row(4, "sig3"), exit_row(6, "sig4")]
    run = replay(bracket, tmp_path, lines, bars([t(m) for m in range(9)], "AAPL", *[100] * 9))
    run.run()
    delivered = [(r["signal_id"], time) for time, r in run.delivered]
    assert sorted(i for i, _ in delivered) == ["sig1", "sig2", "sig3", "sig4"]
    for line in lines:
        fields = line.split(",")
        available = datetime.strptime(fields[1], "%Y-%m-%dT%H:%M:%SZ")
        [when] = [time for signal_id, time in delivered if signal_id == fields[9]]
        assert available <= when <= available + timedelta(minutes=1)
    assert Symbol("AAPL") not in run.algorithm.book.by_symbol  # sig4 closed the sig3 trade


# One-legged trades: a strategy without a take-profit (stop only) or without a stoploss
# (target only) exports an empty field; the entry tag leaves that price empty.
STOP_ONLY = ("AAPL", "stop_market", -100, 95.0, "sig1:stop")
TARGET_ONLY = ("AAPL", "limit", -100, 110.0, "sig1:target")
ONE_LEG = pytest.mark.parametrize(
    ("fields", "tag", "leg"),
    [
        ({"take_profit": ""}, "sig1:entry:95.0:", STOP_ONLY),
        ({"stop_loss": ""}, "sig1:entry::110.0", TARGET_ONLY),
    ],
    ids=["stop-only", "target-only"],
)


@ONE_LEG
def test_one_legged_entry_places_only_its_leg(
    bracket: types.ModuleType, tmp_path: Path, fields: dict[str, str], tag: str, leg: tuple
) -> None:
    path = bars([t(m) for m in range(4)], "AAPL", *[100] * 4)
    run = replay(bracket, tmp_path, [row(0, **fields)], path)
    run.run()
    assert run.orders() == [("AAPL", "market", 100, 0.0, tag, "filled"), (*leg, "submitted")]
    assert run.holdings[t(3)] == {"AAPL": 100}
    [(_, delivered)] = run.delivered  # the reader stores an absent price as 0.0
    assert (delivered["stop_loss"], delivered["take_profit"]) == (
        (95.0, 0.0) if leg == STOP_ONLY else (0.0, 110.0)
    )


@ONE_LEG
def test_one_legged_entry_filled_inside_the_order_call_places_its_leg_once(
    bracket: types.ModuleType, tmp_path: Path, fields: dict[str, str], tag: str, leg: tuple
) -> None:
    path = bars([t(m) for m in range(4)], "AAPL", *[100] * 4)
    run = replay(bracket, tmp_path, [row(0, **fields)], path)
    run.broker.sync_market = True
    run.run()
    assert run.orders() == [("AAPL", "market", 100, 0.0, tag, "filled"), (*leg, "submitted")]


def test_sell_entries_place_only_the_leg_they_have(
    bracket: types.ModuleType, tmp_path: Path
) -> None:
    stop_only = row(0, direction="sell", stop_loss="105", take_profit="")
    target_only = row(0, "sig5", "MSFT", direction="sell", stop_loss="", take_profit="90")
    path = {t(m): {"AAPL": FLAT, "MSFT": FLAT} for m in range(4)}
    run = replay(bracket, tmp_path, [stop_only, target_only], path, position_size="0.05")
    run.run()
    assert sorted(run.orders()) == [
        ("AAPL", "market", -50, 0.0, "sig1:entry:105.0:", "filled"),
        ("AAPL", "stop_market", 50, 105.0, "sig1:stop", "submitted"),
        ("MSFT", "limit", 50, 90.0, "sig5:target", "submitted"),
        ("MSFT", "market", -50, 0.0, "sig5:entry::90.0", "filled"),
    ]


def test_entry_without_legs_holds_until_its_exit_row(
    bracket: types.ModuleType, tmp_path: Path
) -> None:
    line = row(0, stop_loss="", take_profit="")
    wild = Bar(100, 150, 50, 100)  # would hit any stop or target
    path = bars([t(m) for m in range(7)], "AAPL", 100, 100, wild, wild, 100, 100, 100)
    run = replay(bracket, tmp_path, [line, exit_row(4)], path)
    run.run(until=t(4))
    assert run.orders() == [("AAPL", "market", 100, 0.0, "sig1:entry::", "filled")]
    assert run.holdings[t(4)] == {"AAPL": 100}
    run.run()
    assert run.orders()[1:] == [("AAPL", "market", -100, 0.0, "sig2:exit", "filled")]
    assert run.holdings[t(6)] == {}
    assert Symbol("AAPL") not in run.algorithm.book.by_symbol


@ONE_LEG
def test_partial_entry_fills_resize_the_one_leg(
    bracket: types.ModuleType, tmp_path: Path, fields: dict[str, str], tag: str, leg: tuple
) -> None:
    thin = Bar(100, 100, 100, 100, max_fill=40)
    path = bars([t(m) for m in range(5)], "AAPL", 100, 100, thin, thin, thin)
    run = replay(bracket, tmp_path, [row(0, **fields)], path)
    sizes = []
    for minute in (2, 3, 4):
        run.run(until=t(minute))
        sizes.append([(kind, q, price, tg) for _, kind, q, price, tg, _ in run.orders()[1:]])
    _, kind, _, price, leg_tag = leg
    assert sizes == [[(kind, q, price, leg_tag)] for q in (-40, -80, -100)]
    assert run.orders() == [("AAPL", "market", 100, 0.0, tag, "filled"), (*leg, "submitted")]


@pytest.mark.parametrize(
    ("fields", "bar", "filled", "price", "again"),
    [
        ({"take_profit": ""}, Bar(100, 101, 94, 96), STOP_ONLY, 95.0, 99),
        ({"take_profit": ""}, Bar(90, 91, 88, 89), STOP_ONLY, 90.0, 99),  # gap through the stop
        ({"stop_loss": ""}, Bar(100, 111, 99, 105), TARGET_ONLY, 110.0, 101),
    ],
    ids=["stop-only-stop-fills", "stop-only-gap", "target-only-target-fills"],
)
def test_the_one_leg_fills_and_ends_the_trade(
    bracket: types.ModuleType,
    tmp_path: Path,
    fields: dict[str, str],
    bar: Bar,
    filled: tuple,
    price: float,
    again: int,
) -> None:
    path = bars([t(m) for m in range(7)], "AAPL", *[100] * 3, bar, *[100] * 3)
    run = replay(bracket, tmp_path, [row(0, **fields), row(4, "sig7", **fields)], path)
    run.run(until=t(3))
    assert run.orders()[1:] == [(*filled, "filled")]
    assert run.broker.cash == pytest.approx(100_000 - 100 * 100 + 100 * price)
    assert run.holdings[t(3)] == {}
    assert Symbol("AAPL") not in run.algorithm.book.by_symbol
    run.run()  # the trade ended, so the next entry row opens a new one with the same leg
    first_entry_tag = run.orders()[0][4]
    _, kind, _, level, leg_tag = filled
    assert run.orders()[2:] == [
        ("AAPL", "market", again, 0.0, first_entry_tag.replace("sig1", "sig7"), "filled"),
        ("AAPL", kind, -again, level, leg_tag.replace("sig1", "sig7"), "submitted"),
    ]


def test_a_leg_the_row_lacks_is_never_hit(bracket: types.ModuleType, tmp_path: Path) -> None:
    path = bars([t(m) for m in range(5)], "AAPL", 100, 100, 100, Bar(100, 111, 99, 105), 100)
    run = replay(bracket, tmp_path, [row(0, take_profit="")], path)  # no target at 110
    run.run()
    assert run.orders() == [
        ("AAPL", "market", 100, 0.0, "sig1:entry:95.0:", "filled"),
        (*STOP_ONLY, "submitted"),
    ]
    assert run.holdings[t(4)] == {"AAPL": 100}


@ONE_LEG
def test_exit_row_cancels_the_one_leg_and_closes_at_market(
    bracket: types.ModuleType, tmp_path: Path, fields: dict[str, str], tag: str, leg: tuple
) -> None:
    path = bars([t(m) for m in range(6)], "AAPL", *[100] * 6)
    run = replay(bracket, tmp_path, [row(0, **fields), exit_row(3)], path)
    run.run()
    assert run.orders() == [
        ("AAPL", "market", 100, 0.0, tag, "filled"),
        (*leg, "canceled"),
        ("AAPL", "market", -100, 0.0, "sig2:exit", "filled"),
    ]
    assert run.holdings[t(5)] == {}


@ONE_LEG
def test_restart_mid_one_legged_position_rebuilds_without_new_orders(
    bracket: types.ModuleType, tmp_path: Path, fields: dict[str, str], tag: str, leg: tuple
) -> None:
    hit = Bar(100, 111, 94, 100)  # reaches both 95 and 110: only the leg that exists fills
    path = bars([t(m) for m in range(6)], "AAPL", 100, 100, 100, 100, hit, 100)
    run = replay(bracket, tmp_path, [row(0, **fields)], path)
    run.run(until=t(2))
    run.restart()
    run.algorithm.on_data(Slice([r for _, r in run.delivered]))  # the entry row seen again
    run.run(until=t(3))
    assert run.orders() == [("AAPL", "market", 100, 0.0, tag, "filled"), (*leg, "submitted")]
    trade = run.algorithm.book.by_symbol[Symbol("AAPL")]
    assert (trade.stop_price, trade.target_price) == (
        (95.0, None) if leg == STOP_ONLY else (None, 110.0)
    )
    run.run()
    assert run.orders()[1:] == [(*leg, "filled")]
    assert run.holdings[t(5)] == {}
    assert Symbol("AAPL") not in run.algorithm.book.by_symbol


def test_restart_with_a_legless_position_places_nothing_until_the_exit_row(
    bracket: types.ModuleType, tmp_path: Path
) -> None:
    path = bars([t(m) for m in range(6)], "AAPL", *[100] * 6)
    run = replay(bracket, tmp_path, [row(0, stop_loss="", take_profit=""), exit_row(3)], path)
    run.run(until=t(2))
    run.restart()
    run.algorithm.on_data(Slice([r for _, r in run.delivered]))  # skipped: AAPL is invested
    run.run()
    assert run.orders() == [
        ("AAPL", "market", 100, 0.0, "sig1:entry::", "filled"),
        ("AAPL", "market", -100, 0.0, "sig2:exit", "filled"),
    ]


@ONE_LEG
def test_restart_during_partial_one_legged_entry_keeps_resizing(
    bracket: types.ModuleType, tmp_path: Path, fields: dict[str, str], tag: str, leg: tuple
) -> None:
    thin = Bar(100, 100, 100, 100, max_fill=40)
    path = bars([t(m) for m in range(5)], "AAPL", 100, 100, thin, thin, thin)
    run = replay(bracket, tmp_path, [row(0, **fields)], path)
    run.run(until=t(2))
    run.restart()
    run.run(until=t(3))
    assert run.orders()[1:] == [(*leg[:2], -80, *leg[3:], "submitted")]
    run.run()
    assert run.orders() == [("AAPL", "market", 100, 0.0, tag, "filled"), (*leg, "submitted")]


@ONE_LEG
def test_restart_with_pending_one_legged_limit_entry_places_only_its_leg(
    bracket: types.ModuleType, tmp_path: Path, fields: dict[str, str], tag: str, leg: tuple
) -> None:
    line = row(0, entry_type="limit", entry_price="98", **fields)
    path = bars([t(m) for m in range(5)], "AAPL", 100, 100, 100, Bar(99, 99, 97, 98), 98)
    run = replay(bracket, tmp_path, [line], path)
    run.run(until=t(2))
    run.restart()
    trade = run.algorithm.book.by_symbol[Symbol("AAPL")]
    assert (trade.stop_price, trade.target_price) == (
        (95.0, None) if leg == STOP_ONLY else (None, 110.0)
    )
    run.run()
    assert run.orders() == [
        ("AAPL", "limit", 102, 98.0, tag, "filled"),
        (*leg[:2], -102, *leg[3:], "submitted"),
    ]


def test_restart_with_pending_legless_limit_entry_places_no_leg(
    bracket: types.ModuleType, tmp_path: Path
) -> None:
    line = row(0, entry_type="limit", entry_price="98", stop_loss="", take_profit="")
    path = bars([t(m) for m in range(5)], "AAPL", 100, 100, 100, Bar(99, 99, 97, 98), 98)
    run = replay(bracket, tmp_path, [line], path)
    run.run(until=t(2))
    run.restart()
    run.run()
    assert run.orders() == [("AAPL", "limit", 102, 98.0, "sig1:entry::", "filled")]
    assert run.holdings[t(4)] == {"AAPL": 102}


@pytest.mark.parametrize(
    ("stop", "target", "tag"),
    [
        (95.0, 110.0, "sig1:entry:95.0:110.0"),
        (95.0, None, "sig1:entry:95.0:"),
        (None, 110.5, "sig1:entry::110.5"),
        (None, None, "sig1:entry::"),
    ],
)
def test_entry_tags_round_trip_absent_legs(
    bracket: types.ModuleType, stop: float | None, target: float | None, tag: str
) -> None:
    assert bracket.entry_tag("sig1", stop, target) == tag
    assert bracket.parse_tag(tag) == ("sig1", "entry", [stop, target])


@pytest.mark.parametrize(
    "tag", ["sig1:entry:x:110.0", "sig1:entry:95.0", "sig1:entry:0:", "sig1:entry:nan:", "sig1"]
)
def test_tags_not_written_here_have_no_role(bracket: types.ModuleType, tag: str) -> None:
    assert bracket.parse_tag(tag) == ("", "", [])
