"""LEAN backtest results and live order events -> orders, fills, positions, statistics."""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from signals.lean_feedback import (
    LeanResultError,
    parse_statistic,
    position_status,
    positions_from_fills,
    read_backtest,
    read_live_order_events,
    slippage,
    split_tag,
    write_feedback,
)
from warehouse.engines.duckdb import connect

FIXTURES = Path(__file__).parent / "fixtures" / "lean_results"
BACKTEST_ID = "1234567890"


def _utc(text: str) -> pd.Timestamp:
    """A UTC timestamp."""
    return pd.Timestamp(text, tz="UTC")


@pytest.fixture
def results(tmp_path: Path) -> Path:
    """A copy of the backtest result folder (tests may corrupt it)."""
    folder = tmp_path / "backtests" / "2024-01-04_00-00-00"
    folder.mkdir(parents=True)
    for name in (f"{BACKTEST_ID}.json", f"{BACKTEST_ID}-order-events.json"):
        shutil.copyfile(FIXTURES / name, folder / name)
    return folder


def test_orders_from_backtest_result(results: Path) -> None:
    orders = read_backtest(results).orders
    assert orders["order_id"].tolist() == [1, 2, 3, 4, 5, 6]
    first = orders.iloc[0].to_dict()
    assert first == {
        "order_id": 1,
        "symbol": "BTCUSDT",
        "order_type": "limit",
        "direction": "buy",
        "quantity": 0.5,
        "limit_price": 42000.0,
        "stop_price": first["stop_price"],
        "status": "filled",
        "tag": "sig_a",
        "signal_id": "sig_a",
        "leg": "entry",
        "created_time": _utc("2024-01-02T00:05:00"),
    }
    assert math.isnan(first["stop_price"])
    assert orders["order_type"].tolist() == [
        "limit",
        "stop_market",
        "limit",
        "market",
        "stop_market",
        "limit",
    ]
    assert orders["status"].tolist() == [
        "filled",
        "canceled",
        "filled",
        "filled",
        "submitted",
        "submitted",
    ]
    assert orders["leg"].tolist() == ["entry", "stop_loss", "take_profit"] * 2
    assert orders["signal_id"].tolist() == ["sig_a"] * 3 + ["sig_b"] * 3
    assert orders.loc[1, "stop_price"] == 40000.0
    assert str(orders["created_time"].dtype) == "datetime64[us, UTC]"


def test_fills_and_fees(results: Path) -> None:
    fills = read_backtest(results, BACKTEST_ID).fills
    assert fills["order_id"].tolist() == [1, 1, 3, 4]
    assert fills["fill_quantity"].tolist() == [0.2, 0.3, -0.5, 2.0]
    assert fills["fill_price"].tolist() == [41990.0, 41995.0, 44000.0, 2210.5]
    assert fills["fee"].tolist() == [8.398, 12.5985, 22.0, 4.421]
    assert fills["time"].tolist() == [
        _utc("2024-01-02T00:07:00"),
        _utc("2024-01-02T00:09:00"),
        _utc("2024-01-03T06:00:00"),
        _utc("2024-01-03T12:00:00"),
    ]


def test_positions_after_each_fill(results: Path) -> None:
    positions = read_backtest(results).positions
    assert positions["symbol"].tolist() == ["BTCUSDT", "BTCUSDT", "BTCUSDT", "ETHUSDT"]
    assert positions["quantity"].tolist() == pytest.approx([0.2, 0.5, 0.0, 2.0])
    averages = positions["average_price"].tolist()
    assert averages[0] == 41990.0
    assert averages[1] == pytest.approx((0.2 * 41990 + 0.3 * 41995) / 0.5)
    assert math.isnan(averages[2])
    assert averages[3] == 2210.5


def test_positions_reduce_and_flip() -> None:
    fills = pd.DataFrame(
        {
            "order_id": [1, 2, 3],
            "symbol": ["AAPL"] * 3,
            "time": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"], utc=True),
            "fill_price": [100.0, 110.0, 120.0],
            "fill_quantity": [10.0, -4.0, -10.0],
            "fee": [1.0] * 3,
            "fee_currency": ["USD"] * 3,
        }
    )
    positions = positions_from_fills(fills)
    assert positions["quantity"].tolist() == [10.0, 6.0, -4.0]
    assert positions["average_price"].tolist() == [100.0, 100.0, 120.0]


def test_statistics_parsed_to_numbers(results: Path) -> None:
    stats = read_backtest(results).statistics
    table = {(row.source, row.name): row.value for row in stats.itertuples()}
    assert table["statistics", "Compounding Annual Return"] == pytest.approx(12.34567)
    assert table["statistics", "Drawdown"] == pytest.approx(0.012)
    assert table["statistics", "Total Orders"] == 6.0
    assert table["statistics", "Beta"] == -0.012
    assert table["statistics", "Total Fees"] == pytest.approx(47.42)
    assert table["statistics", "Estimated Strategy Capacity"] == 1_200_000.0
    assert math.isnan(table["statistics", "Lowest Capacity Asset"])
    assert math.isnan(table["statistics", "OrderListHash"])
    assert table["runtime", "Fees"] == pytest.approx(-47.42)
    assert table["runtime", "Equity"] == pytest.approx(101024.71)
    assert table["runtime", "Return"] == pytest.approx(0.0102)
    raw = stats.set_index(["source", "name"])["raw"]
    assert raw["runtime", "Equity"] == "₮101,024.71"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("12.3%", 0.123),
        ("$1,234.56", 1234.56),
        ("-$1,234.56", -1234.56),
        ("$-5", -5.0),
        ("0", 0.0),
        ("-0.012", -0.012),
        ("1.02 %", 0.0102),
        ("€3.5", 3.5),
        ("1e-3", 0.001),
        (" 42 ", 42.0),
        ("SPY R735QTJ8XC9X", None),
        ("", None),
        ("%", None),
        ("1,23", None),
        ("--5", None),
    ],
)
def test_parse_statistic(text: str, value: float | None) -> None:
    parsed = parse_statistic(text)
    assert parsed == (pytest.approx(value) if value is not None else None)


def test_slippage_in_bps_signed_by_direction(results: Path) -> None:
    feedback = read_backtest(results)
    intended = pd.DataFrame({"signal_id": ["sig_a", "sig_b"], "intended_price": [42000.0, 2205.0]})
    table = slippage(feedback.orders, feedback.fills, intended)
    assert table["order_id"].tolist() == [1, 4]
    assert table["average_fill_price"].tolist() == pytest.approx([41993.0, 2210.5])
    assert table["slippage_bps"].tolist() == pytest.approx(
        [(41993 / 42000 - 1) * 1e4, (2210.5 / 2205 - 1) * 1e4]
    )
    sells = feedback.orders.assign(direction=["sell"] + ["buy"] * 5)
    sold = slippage(sells, feedback.fills, intended.iloc[:1])
    assert sold["slippage_bps"].tolist() == pytest.approx([(1 - 41993 / 42000) * 1e4])


def test_slippage_rejects_bad_intended(results: Path) -> None:
    feedback = read_backtest(results)
    with pytest.raises(ValueError, match="missing columns"):
        slippage(feedback.orders, feedback.fills, pd.DataFrame({"signal_id": ["sig_a"]}))
    doubled = pd.DataFrame({"signal_id": ["sig_a", "sig_a"], "intended_price": [1.0, 2.0]})
    with pytest.raises(ValueError, match="duplicate signal_id 'sig_a'"):
        slippage(feedback.orders, feedback.fills, doubled)


def test_position_status(results: Path) -> None:
    feedback = read_backtest(results)
    status = position_status(feedback.orders, feedback.fills)
    assert status.to_dict("list") == {
        "signal_id": ["sig_a", "sig_b"],
        "position_status": [False, True],
    }
    unfilled = feedback.fills[feedback.fills["order_id"] != 4]
    assert position_status(feedback.orders, unfilled)["position_status"].tolist() == [
        False,
        False,
    ]


def test_split_tag() -> None:
    assert split_tag("abc") == ("abc", "entry")
    assert split_tag("abc:take_profit") == ("abc", "take_profit")
    assert split_tag("a:b") == ("a:b", "entry")
    assert split_tag("") == (None, None)


def test_write_feedback_replaces_tables(results: Path) -> None:
    conn = connect(":memory:")
    try:
        feedback = read_backtest(results)
        write_feedback(conn, feedback)
        write_feedback(conn, feedback)  # replaces, never appends
        counts = {
            name: conn.execute(f"select count(*) from lean.{name}").fetchone()[0]
            for name in ("orders", "fills", "positions", "statistics")
        }
        assert counts == {"orders": 6, "fills": 4, "positions": 4, "statistics": 36}
        types = dict(
            conn.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = 'lean' and table_name = 'fills'"
            ).fetchall()
        )
        assert types["time"] == "TIMESTAMP WITH TIME ZONE"
        assert types["fill_price"] == "DOUBLE"
        row = conn.execute(
            "select signal_id, leg, created_time from lean.orders where order_id = 3"
        ).fetchone()
        assert row[:2] == ("sig_a", "take_profit")
        assert pd.Timestamp(row[2]) == _utc("2024-01-02T00:09:00")
        empty = read_live_order_events(FIXTURES / "live-order-events.jsonl")
        write_feedback(conn, empty)
        assert conn.execute("select count(*) from lean.statistics").fetchone()[0] == 0
        assert conn.execute("select count(*) from lean.fills").fetchone()[0] == 2
    finally:
        conn.close()


def test_live_order_events() -> None:
    feedback = read_live_order_events(FIXTURES / "live-order-events.jsonl")
    assert feedback.fills["order_id"].tolist() == [11, 12]
    assert feedback.fills["time"].tolist() == [
        _utc("2024-02-01T09:31:10.250"),
        _utc("2024-02-02T15:00:00"),
    ]
    assert feedback.positions["quantity"].tolist() == [1.5, 0.0]
    orders = feedback.orders
    assert orders["order_id"].tolist() == [11, 12]
    assert orders["status"].tolist() == ["filled", "filled"]
    assert orders["limit_price"].tolist()[0] == 2300.0
    assert orders["stop_price"].tolist()[1] == 2200.0
    assert orders["signal_id"].isna().all()
    assert orders["created_time"].tolist()[0] == _utc("2024-02-01T09:30:00")


def test_live_events_with_known_orders(results: Path) -> None:
    known = read_backtest(results).orders
    feedback = read_live_order_events(FIXTURES / "live-order-events.jsonl", orders=known)
    assert feedback.orders is known


def _rewrite(path: Path, edit: Callable[[Any], object]) -> None:
    """Load JSON, apply `edit`, write it back."""
    data = json.loads(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(json.dumps(data), encoding="utf-8")


def test_unknown_order_field_names_file_and_record(results: Path) -> None:
    _rewrite(results / f"{BACKTEST_ID}.json", lambda data: data["orders"]["3"].update(foo=1))
    with pytest.raises(LeanResultError) as raised:
        read_backtest(results)
    message = str(raised.value)
    assert f"{BACKTEST_ID}.json: orders['3']: unknown field(s) ['foo']" in message


def test_unknown_event_field_names_file_and_record(results: Path) -> None:
    path = results / f"{BACKTEST_ID}-order-events.json"
    _rewrite(path, lambda data: data[4].update(fillPriceX=1.0))
    with pytest.raises(LeanResultError, match=r"order-events\.json: record 4: unknown field"):
        read_backtest(results)


@pytest.mark.parametrize(
    ("index", "field", "value", "expected"),
    [
        (2, "fillPrice", "41995", r"record 2: field 'fillPrice': '41995' is not a finite number"),
        (0, "status", "held", r"record 0: field 'status': 'held' is not one of"),
        (1, "time", "yesterday", r"record 1: field 'time': 'yesterday'"),
        (3, "orderId", None, r"record 3: missing field\(s\) \['orderId'\]"),
    ],
)
def test_bad_event_values(
    results: Path, index: int, field: str, value: object, expected: str
) -> None:
    path = results / f"{BACKTEST_ID}-order-events.json"
    _rewrite(path, lambda data: data[index].update({field: value}))
    with pytest.raises(LeanResultError, match=expected):
        read_backtest(results)


def test_bad_json_names_file_and_line(results: Path, tmp_path: Path) -> None:
    path = results / f"{BACKTEST_ID}.json"
    path.write_text('{"orders": {,}}', encoding="utf-8")
    with pytest.raises(LeanResultError, match=rf"{BACKTEST_ID}\.json: line 1, column 13"):
        read_backtest(results)
    live = tmp_path / "live.jsonl"
    live.write_text('{"orderId": 1}\n\n{oops\n', encoding="utf-8")
    with pytest.raises(LeanResultError, match=r"live\.jsonl: line 3, column 2"):
        read_live_order_events(live)


def test_missing_or_ambiguous_result_files(results: Path, tmp_path: Path) -> None:
    with pytest.raises(LeanResultError, match="expected one"):
        read_backtest(tmp_path)
    with pytest.raises(LeanResultError, match=r"999\.json: file not found"):
        read_backtest(results, "999")
    path = results / f"{BACKTEST_ID}.json"
    _rewrite(path, lambda data: data.update(orders=[1]))
    with pytest.raises(LeanResultError, match="'orders' maps id -> order"):
        read_backtest(results)
