"""The pure parsers of lean_algorithms/shared/signal_data.py, run outside LEAN.

signal_data.py does `from AlgorithmImports import *`, which only LEAN's container provides, so
the fixture loads it with two stand-in modules that define just the names the module needs at
import time (a PythonData base class and Log). The class's get_source/reader are not run here.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from signals.lean_export import export_lean_workspace

SIGNAL_DATA = Path(__file__).resolve().parents[2] / "lean_algorithms" / "shared" / "signal_data.py"
HEADER = "symbol,signal_timestamp,timestamp,signal,strategy_id"


@pytest.fixture
def signal_data(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """signal_data.py imported with stand-ins for LEAN's runtime modules."""
    algorithm_imports = types.ModuleType("AlgorithmImports")
    algorithm_imports.PythonData = type("PythonData", (), {})  # type: ignore[attr-defined]
    logging = types.ModuleType("QuantConnect.Logging")
    logging.Log = type("Log", (), {})  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "AlgorithmImports", algorithm_imports)
    monkeypatch.setitem(sys.modules, "QuantConnect", types.ModuleType("QuantConnect"))
    monkeypatch.setitem(sys.modules, "QuantConnect.Logging", logging)
    spec = importlib.util.spec_from_file_location("signal_data_under_test", SIGNAL_DATA)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_header_and_blank_lines_parse_to_none(signal_data: types.ModuleType) -> None:
    assert signal_data.parse_signal_line(HEADER) is None
    assert signal_data.parse_signal_line(HEADER + "\r\n") is None
    assert signal_data.parse_signal_line("   ") is None


def test_row_parses_to_naive_utc_times_and_float_signal(signal_data: types.ModuleType) -> None:
    row = signal_data.parse_signal_line(
        "BTCUSDT,2024-01-01T00:05:00Z,2024-01-01T00:00:00Z,-0.25,macd_cci\n"
    )
    assert row == signal_data.SignalRow(
        symbol="BTCUSDT",
        signal_timestamp=datetime(2024, 1, 1, 0, 5),
        timestamp=datetime(2024, 1, 1, 0, 0),
        signal=-0.25,
        strategy_id="macd_cci",
    )
    assert row.signal_timestamp.tzinfo is None


def test_fractional_seconds_parse(signal_data: types.ModuleType) -> None:
    row = signal_data.parse_signal_line(
        "AAPL,2024-01-02T14:31:00.500000Z,2024-01-02T14:30:00Z,1.0,s"
    )
    assert row.signal_timestamp == datetime(2024, 1, 2, 14, 31, 0, 500000)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("BTCUSDT,2024-01-01T00:05:00Z,2024-01-01T00:00:00Z,0.5", "expected 5 columns"),
        ("BTCUSDT,2024-01-01 00:05:00,2024-01-01T00:00:00Z,0.5,s", "column 'signal_timestamp'"),
        ("BTCUSDT,2024-01-01T00:05:00+01:00,2024-01-01T00:00:00Z,0.5,s", "signal_timestamp"),
        ("BTCUSDT,2024-01-01T00:05:00Z,yesterday,0.5,s", "column 'timestamp'"),
        ("BTCUSDT,2024-01-01T00:05:00Z,2024-01-01T00:00:00Z,1.5,s", "not within -1..1"),
        ("BTCUSDT,2024-01-01T00:05:00Z,2024-01-01T00:00:00Z,nan,s", "not within -1..1"),
        ("BTCUSDT,2024-01-01T00:05:00Z,2024-01-01T00:00:00Z,long,s", "not a number"),
        (",2024-01-01T00:05:00Z,2024-01-01T00:00:00Z,0.5,s", "column 'symbol'"),
        ("BTCUSDT,2024-01-01T00:05:00Z,2024-01-01T00:10:00Z,0.5,s", "look-ahead"),
    ],
)
def test_bad_lines_raise_naming_the_column(
    signal_data: types.ModuleType, line: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        signal_data.parse_signal_line(line)


def test_universe_parses_and_names_file_row_column_on_error(
    signal_data: types.ModuleType,
) -> None:
    text = (
        "symbol,security_type,market,first_signal_timestamp,last_signal_timestamp\n"
        "BTCUSDT,crypto,binance,2024-01-01T00:00:00Z,2024-01-03T00:00:00Z\n"
        "AAPL,equity,usa,2024-01-02T14:31:00Z,2024-01-02T14:31:00Z\n"
    )
    entries = signal_data.parse_universe(text, "u.csv")
    assert [(e.symbol, e.security_type, e.market) for e in entries] == [
        ("BTCUSDT", "crypto", "binance"),
        ("AAPL", "equity", "usa"),
    ]
    assert entries[0].last_signal_timestamp == datetime(2024, 1, 3)
    with pytest.raises(ValueError, match=r"u\.csv: row 3: column 'security_type'"):
        signal_data.parse_universe(text.replace("equity", "option"), "u.csv")
    with pytest.raises(ValueError, match=r"u\.csv: row 1: header"):
        signal_data.parse_universe("symbol,market\n", "u.csv")


def test_file_keys_match_the_exported_layout(signal_data: types.ModuleType) -> None:
    assert signal_data.weights_key("macd_cci", "BTCUSDT") == (
        "custom/signal_weights/macd_cci/weights/btcusdt.csv"
    )
    assert signal_data.universe_key("macd_cci") == "custom/signal_weights/macd_cci/universe.csv"


def test_every_exported_line_parses_back_to_its_row(
    signal_data: types.ModuleType, tmp_path: Path
) -> None:
    weights = pd.DataFrame(
        {
            "symbol": ["BTCUSDT", "ETHUSDT", "BTCUSDT", "AAPL"],
            "signal_timestamp": pd.to_datetime(
                ["2024-01-01 00:05", "2024-01-01 00:05", "2024-01-01 00:10:00.25", "2024-01-02"],
                format="ISO8601",
            ),
            "timestamp": pd.to_datetime(
                ["2024-01-01 00:00", "2024-01-01 00:00", "2024-01-01 00:05", "2024-01-01"],
                format="ISO8601",
            ),
            "signal": [0.1, -1.0, 1 / 3, 0.0],
            "strategy_id": ["macd_cci", "macd_cci", "macd_cci", "rsi"],
        }
    )
    export = export_lean_workspace(weights, tmp_path / "lean")
    parsed = []
    for path in export.signal_files:
        rows = [signal_data.parse_signal_line(line) for line in path.read_text().splitlines()]
        assert rows[0] is None  # header
        parsed.extend(rows[1:])
    expected = {
        (r.symbol, r.signal_timestamp.to_pydatetime(), r.timestamp.to_pydatetime(), r.signal)
        for r in weights.itertuples()
    }
    assert {(r.symbol, r.signal_timestamp, r.timestamp, r.signal) for r in parsed} == expected
    for path in export.universe_files:
        assert signal_data.parse_universe(path.read_text(), str(path))


def test_account_currency_is_usdt_only_for_all_usdt_universes(
    signal_data: types.ModuleType,
) -> None:
    def entry(symbol: str) -> object:
        day = datetime(2024, 1, 1)
        return signal_data.UniverseEntry(symbol, "crypto", "binance", day, day)

    assert signal_data.default_account_currency([entry("BTCUSDT"), entry("ETHUSDT")]) == "USDT"
    assert signal_data.default_account_currency([entry("BTCUSDT"), entry("AAPL")]) == "USD"
    assert signal_data.default_account_currency([]) == "USD"


ORDER_HEADER = (
    "symbol,signal_timestamp,timestamp,strategy_id,direction,entry_type,entry_price,"
    "stop_loss,take_profit,signal_id,position_status"
)
ORDER_TIMES = "BTCUSDT,2024-01-01T00:05:00Z,2024-01-01T00:00:00Z,s"


def test_order_header_and_blank_lines_parse_to_none(signal_data: types.ModuleType) -> None:
    assert signal_data.parse_order_line(ORDER_HEADER + "\n") is None
    assert signal_data.parse_order_line("") is None


def test_order_rows_parse_with_empty_prices_as_none(signal_data: types.ModuleType) -> None:
    entry = signal_data.parse_order_line(f"{ORDER_TIMES},buy,market,,95.5,110,ab12,true")
    assert entry == signal_data.OrderRow(
        symbol="BTCUSDT",
        signal_timestamp=datetime(2024, 1, 1, 0, 5),
        timestamp=datetime(2024, 1, 1, 0, 0),
        strategy_id="s",
        direction="buy",
        entry_type="market",
        entry_price=None,
        stop_loss=95.5,
        take_profit=110.0,
        signal_id="ab12",
        position_status=True,
    )
    exit_row = signal_data.parse_order_line(f"{ORDER_TIMES},sell,market,,,,cd34,false")
    assert (exit_row.position_status, exit_row.stop_loss, exit_row.take_profit) == (
        False,
        None,
        None,
    )
    short = signal_data.parse_order_line(f"{ORDER_TIMES},sell,limit,100,105,90,ef56,true")
    assert (short.entry_price, short.stop_loss, short.take_profit) == (100.0, 105.0, 90.0)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ("buy,market,,95,110,id,true,extra", "expected 11 columns"),
        ("hold,market,,95,110,id,true", "column 'direction'"),
        ("buy,stop,,95,110,id,true", "column 'entry_type'"),
        ("buy,market,,95,110,id,yes", "column 'position_status'"),
        ("buy,market,,95,110,,true", "column 'signal_id'"),
        ("buy,market,,x,110,id,true", "column 'stop_loss': 'x' is not a number"),
        ("buy,market,,-1,110,id,true", "not a positive price"),
        ("buy,limit,,95,110,id,true", "a limit entry needs a price"),
        ("buy,limit,,95,,id,true", "a limit entry needs a price"),
        ("buy,limit,,,,id,true", "a limit entry needs a price"),
        ("buy,market,,110,95,id,true", "column 'stop_loss': a buy needs it below"),
        ("buy,market,,95,95,id,true", "column 'stop_loss': a buy needs it below"),
        ("buy,limit,120,95,110,id,true", "column 'take_profit': a buy needs it above"),
        ("buy,limit,90,95,110,id,true", "column 'stop_loss': a buy needs it below"),
        ("sell,market,,95,110,id,true", "column 'stop_loss': a sell needs it above"),
        # One leg only: it is still checked against the limit price.
        ("buy,limit,100,101,,id,true", "column 'stop_loss': a buy needs it below"),
        ("buy,limit,100,100,,id,true", "column 'stop_loss': a buy needs it below"),
        ("buy,limit,100,,99,id,true", "column 'take_profit': a buy needs it above"),
        ("sell,limit,100,99,,id,true", "column 'stop_loss': a sell needs it above"),
        ("sell,limit,100,,101,id,true", "column 'take_profit': a sell needs it below"),
        ("buy,market,,,0,id,true", "column 'take_profit': '0' is not a positive price"),
    ],
)
def test_bad_order_lines_raise_naming_the_column(
    signal_data: types.ModuleType, fields: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        signal_data.parse_order_line(f"{ORDER_TIMES},{fields}")


@pytest.mark.parametrize(
    ("fields", "prices"),
    [
        ("buy,market,,95,,id,true", (None, 95.0, None)),  # no take-profit
        ("buy,market,,,110,id,true", (None, None, 110.0)),  # no stoploss
        ("buy,market,,,,id,true", (None, None, None)),  # neither: held until the exit row
        ("sell,market,,105,,id,true", (None, 105.0, None)),
        ("sell,market,,,90,id,true", (None, None, 90.0)),
        ("buy,limit,100,95,,id,true", (100.0, 95.0, None)),
        ("buy,limit,100,,110,id,true", (100.0, None, 110.0)),
        ("buy,limit,100,,,id,true", (100.0, None, None)),
        ("sell,limit,100,105,,id,true", (100.0, 105.0, None)),
        ("sell,limit,100,,90,id,true", (100.0, None, 90.0)),
        ("buy,market,,120,,id,true", (None, 120.0, None)),  # market: no entry price to check
        ("sell,market,,,120,id,true", (None, None, 120.0)),
    ],
)
def test_entry_rows_may_leave_stop_loss_or_take_profit_empty(
    signal_data: types.ModuleType, fields: str, prices: tuple[float | None, ...]
) -> None:
    row = signal_data.parse_order_line(f"{ORDER_TIMES},{fields}")
    assert row.position_status is True
    assert (row.entry_price, row.stop_loss, row.take_profit) == prices


@pytest.mark.parametrize(
    ("stored", "price"), [(0.0, None), (None, None), (95.5, 95.5), (110, 110.0)]
)
def test_optional_price_reads_a_stored_zero_as_absent(
    signal_data: types.ModuleType, stored: float | None, price: float | None
) -> None:
    assert signal_data.optional_price(stored) == price


def test_order_row_after_its_signal_timestamp_is_look_ahead(signal_data: types.ModuleType) -> None:
    line = "BTCUSDT,2024-01-01T00:05:00Z,2024-01-01T00:06:00Z,s,buy,market,,95,110,id,true"
    with pytest.raises(ValueError, match="look-ahead"):
        signal_data.parse_order_line(line)


def test_order_keys_match_the_orders_layout(signal_data: types.ModuleType) -> None:
    assert signal_data.orders_key("s1", "BTCUSDT") == "custom/signal_orders/s1/orders/btcusdt.csv"
    assert signal_data.universe_key("s1", signal_data.ORDERS_ROOT) == (
        "custom/signal_orders/s1/universe.csv"
    )
