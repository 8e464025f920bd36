"""export_lean_workspace writes a deterministic LEAN CLI workspace from signal_weights rows."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest

from signals.lean_export import LeanExport, export_lean_workspace, find_projects
from warehouse.settings import LEAN_ALGORITHMS_DIR

HEADER = "symbol,signal_timestamp,timestamp,signal,strategy_id"
UNIVERSE_HEADER = "symbol,security_type,market,first_signal_timestamp,last_signal_timestamp"
WEIGHTS_DIR = Path("data/custom/signal_weights")
PROJECTS = find_projects(LEAN_ALGORITHMS_DIR)  # other projects may join SignalWeights


def make_weights(rows: list[tuple[str, str, str, float, str]]) -> pd.DataFrame:
    """A signal_weights frame from (symbol, signal_timestamp, timestamp, signal, strategy_id)."""
    symbol, signal_timestamp, timestamp, signal, strategy_id = zip(*rows, strict=True)
    return pd.DataFrame(
        {
            "symbol": list(symbol),
            "signal_timestamp": pd.to_datetime(list(signal_timestamp), format="ISO8601"),
            "timestamp": pd.to_datetime(list(timestamp), format="ISO8601"),
            "signal": list(signal),
            "strategy_id": list(strategy_id),
        }
    )


@pytest.fixture
def weights() -> pd.DataFrame:
    """Two crypto pairs and one equity over two strategies, deliberately out of order."""
    return make_weights(
        [
            ("ETHUSDT", "2024-01-01 00:05", "2024-01-01 00:00", -0.5, "macd_cci"),
            ("BTCUSDT", "2024-01-01 00:10", "2024-01-01 00:05", 0.0, "macd_cci"),
            ("BTCUSDT", "2024-01-01 00:05", "2024-01-01 00:00", 0.25, "macd_cci"),
            ("BTCUSDT", "2024-01-01 00:00:00.5", "2023-12-31 23:55", 1.0, "macd_cci"),
            ("AAPL", "2024-01-02 21:00", "2024-01-02 14:30", -1.0, "rsi_daily"),
        ]
    )


def read_tree(root: Path) -> dict[str, bytes]:
    """Every file under root, by relative POSIX path."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_export_writes_lean_json_data_files_and_project(
    weights: pd.DataFrame, tmp_path: Path
) -> None:
    export_lean_workspace(weights, tmp_path / "lean")
    tree = sorted(read_tree(tmp_path / "lean"))
    projects = [path for path in tree if path.startswith(tuple(p.name + "/" for p in PROJECTS))]
    assert sorted(set(tree) - set(projects)) == [
        "data/custom/signal_weights/macd_cci/universe.csv",
        "data/custom/signal_weights/macd_cci/weights/btcusdt.csv",
        "data/custom/signal_weights/macd_cci/weights/ethusdt.csv",
        "data/custom/signal_weights/rsi_daily/universe.csv",
        "data/custom/signal_weights/rsi_daily/weights/aapl.csv",
        "lean.json",
    ]
    assert {
        "SignalWeights/config.json",
        "SignalWeights/main.py",
        "SignalWeights/signal_data.py",
    } <= (set(projects))


def test_signal_file_has_exact_header_and_rows_sorted_by_signal_timestamp(
    weights: pd.DataFrame, tmp_path: Path
) -> None:
    export_lean_workspace(weights, tmp_path)
    text = (tmp_path / WEIGHTS_DIR / "macd_cci/weights/btcusdt.csv").read_bytes().decode()
    assert text == (
        f"{HEADER}\n"
        "BTCUSDT,2024-01-01T00:00:00.500000Z,2023-12-31T23:55:00Z,1.0,macd_cci\n"
        "BTCUSDT,2024-01-01T00:05:00Z,2024-01-01T00:00:00Z,0.25,macd_cci\n"
        "BTCUSDT,2024-01-01T00:10:00Z,2024-01-01T00:05:00Z,0.0,macd_cci\n"
    )
    assert (tmp_path / WEIGHTS_DIR / "rsi_daily/weights/aapl.csv").read_text() == (
        f"{HEADER}\nAAPL,2024-01-02T21:00:00Z,2024-01-02T14:30:00Z,-1.0,rsi_daily\n"
    )


def test_rows_with_equal_signal_timestamp_are_ordered_by_symbol_then_timestamp(
    tmp_path: Path,
) -> None:
    rows = make_weights(
        [
            ("BTCUSDT", "2024-01-01 00:05", "2024-01-01 00:04", 0.2, "s"),
            ("BTCUSDT", "2024-01-01 00:05", "2024-01-01 00:00", 0.1, "s"),
            ("BTCUSDT", "2024-01-01 00:01", "2024-01-01 00:00", 0.3, "s"),
        ]
    )
    export_lean_workspace(rows, tmp_path)
    lines = (tmp_path / WEIGHTS_DIR / "s/weights/btcusdt.csv").read_text().splitlines()
    assert [line.split(",")[3] for line in lines[1:]] == ["0.3", "0.1", "0.2"]


def test_universe_records_security_type_market_and_signal_span(
    weights: pd.DataFrame, tmp_path: Path
) -> None:
    export_lean_workspace(weights, tmp_path)
    assert (tmp_path / WEIGHTS_DIR / "macd_cci/universe.csv").read_text() == (
        f"{UNIVERSE_HEADER}\n"
        "BTCUSDT,crypto,binance,2024-01-01T00:00:00.500000Z,2024-01-01T00:10:00Z\n"
        "ETHUSDT,crypto,binance,2024-01-01T00:05:00Z,2024-01-01T00:05:00Z\n"
    )
    assert (tmp_path / WEIGHTS_DIR / "rsi_daily/universe.csv").read_text() == (
        f"{UNIVERSE_HEADER}\nAAPL,equity,usa,2024-01-02T21:00:00Z,2024-01-02T21:00:00Z\n"
    )


def test_usd_pairs_map_to_coinbase_crypto(tmp_path: Path) -> None:
    rows = make_weights([("BTCUSD", "2024-01-01 00:05", "2024-01-01 00:00", 0.5, "s")])
    export_lean_workspace(rows, tmp_path)
    universe = (tmp_path / WEIGHTS_DIR / "s/universe.csv").read_text().splitlines()
    assert universe[1].startswith("BTCUSD,crypto,coinbase,")


def test_second_export_is_byte_identical(weights: pd.DataFrame, tmp_path: Path) -> None:
    export_lean_workspace(weights, tmp_path / "lean")
    first = read_tree(tmp_path / "lean")
    export_lean_workspace(weights.iloc[::-1], tmp_path / "lean")
    assert read_tree(tmp_path / "lean") == first


def test_replace_mode_drops_strategies_no_longer_in_the_frame(
    weights: pd.DataFrame, tmp_path: Path
) -> None:
    export_lean_workspace(weights, tmp_path)
    export_lean_workspace(weights[weights["strategy_id"] == "rsi_daily"], tmp_path, mode="replace")
    assert not (tmp_path / WEIGHTS_DIR / "macd_cci").exists()
    assert (tmp_path / WEIGHTS_DIR / "rsi_daily/weights/aapl.csv").is_file()


def test_append_mode_keeps_strategies_missing_from_the_frame(
    weights: pd.DataFrame, tmp_path: Path
) -> None:
    export_lean_workspace(weights, tmp_path)
    before = read_tree(tmp_path / WEIGHTS_DIR)
    export_lean_workspace(weights[weights["strategy_id"] == "rsi_daily"], tmp_path)
    assert read_tree(tmp_path / WEIGHTS_DIR) == before


def test_returns_what_it_wrote(weights: pd.DataFrame, tmp_path: Path) -> None:
    export = export_lean_workspace(weights, tmp_path)
    root = tmp_path / WEIGHTS_DIR
    assert export == LeanExport(
        workspace=tmp_path,
        signal_files=(
            root / "macd_cci/weights/btcusdt.csv",
            root / "macd_cci/weights/ethusdt.csv",
            root / "rsi_daily/weights/aapl.csv",
        ),
        universe_files=(root / "macd_cci/universe.csv", root / "rsi_daily/universe.csv"),
        rows_written=5,
        project_dirs=tuple(tmp_path / project.name for project in PROJECTS),
    )


def test_lean_json_points_the_cli_at_the_data_folder(weights: pd.DataFrame, tmp_path: Path) -> None:
    export_lean_workspace(weights, tmp_path)
    lean_json = json.loads((tmp_path / "lean.json").read_text())
    assert lean_json["data-folder"] == "data"
    assert "job-organization-id" in lean_json
    assert lean_json["environments"]["backtesting"]["live-mode"] is False


def test_project_gets_the_shared_reader_and_lean_cli_config(
    weights: pd.DataFrame, tmp_path: Path
) -> None:
    export_lean_workspace(weights, tmp_path)
    project = tmp_path / "SignalWeights"
    assert (project / "signal_data.py").read_bytes() == (
        LEAN_ALGORITHMS_DIR / "shared" / "signal_data.py"
    ).read_bytes()
    assert (project / "main.py").read_bytes() == (
        LEAN_ALGORITHMS_DIR / "SignalWeights" / "main.py"
    ).read_bytes()
    assert "from signal_data import" in (project / "main.py").read_text()
    config = json.loads((project / "config.json").read_text())
    assert config["algorithm-language"] == "Python"
    assert config["parameters"]["strategy_id"] == "macd_cci"  # first strategy, sorted
    assert config["parameters"]["account_currency"] == ""  # derived from the universe in LEAN
    assert all(isinstance(value, str) for value in config["parameters"].values())


def test_custom_algorithms_dir_is_copied_without_caches(
    weights: pd.DataFrame, tmp_path: Path
) -> None:
    algorithms = tmp_path / "algos"
    (algorithms / "shared").mkdir(parents=True)
    (algorithms / "shared" / "signal_data.py").write_text("# reader\n")
    (algorithms / "Demo" / "__pycache__").mkdir(parents=True)
    (algorithms / "Demo" / "__pycache__" / "main.cpython-311.pyc").write_bytes(b"\0")
    (algorithms / "Demo" / "main.py").write_text("# algorithm\n")
    (algorithms / "Demo" / "config.json").write_text(
        '{"algorithm-language": "Python", "parameters": {"strategy_id": "", "cash": "5"}}'
    )
    export = export_lean_workspace(weights, tmp_path / "lean", algorithms_dir=algorithms)
    assert export.project_dirs == (tmp_path / "lean" / "Demo",)
    assert sorted(read_tree(tmp_path / "lean" / "Demo")) == [
        "config.json",
        "main.py",
        "signal_data.py",
    ]
    config = json.loads((tmp_path / "lean" / "Demo" / "config.json").read_text())
    assert config["parameters"] == {"strategy_id": "macd_cci", "cash": "5"}


def test_missing_columns_error_lists_missing_received_and_expected(
    weights: pd.DataFrame, tmp_path: Path
) -> None:
    with pytest.raises(ValueError) as error:
        export_lean_workspace(weights.drop(columns=["signal", "timestamp"]), tmp_path)
    message = str(error.value)
    assert "missing columns ['timestamp', 'signal']" in message
    assert "received ['symbol', 'signal_timestamp', 'strategy_id']" in message
    assert "expected ['symbol', 'signal_timestamp', 'timestamp', 'signal', 'strategy_id']" in (
        message
    )
    assert not (tmp_path / "lean.json").exists()  # nothing written on bad input


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("signal", 1.5, r"weights\.iloc\[2\], column 'signal': 1\.5 is not within -1\.\.1"),
        ("signal", float("nan"), r"weights\.iloc\[2\], column 'signal'"),
        ("symbol", "BTC/USDT", r"weights\.iloc\[2\], column 'symbol': 'BTC/USDT'"),
        ("strategy_id", "", r"weights\.iloc\[2\], column 'strategy_id'"),
        ("timestamp", pd.Timestamp("2024-01-02"), r"weights\.iloc\[2\], column 'timestamp'.*later"),
        ("signal_timestamp", pd.NaT, r"weights\.iloc\[2\], column 'signal_timestamp'.*missing"),
    ],
)
def test_bad_values_are_rejected_naming_row_and_column(
    weights: pd.DataFrame, tmp_path: Path, column: str, value: object, message: str
) -> None:
    bad = weights.copy()
    bad.loc[2, column] = value
    with pytest.raises(ValueError, match=message):
        export_lean_workspace(bad, tmp_path)


def test_timestamps_must_be_datetimes(weights: pd.DataFrame, tmp_path: Path) -> None:
    bad = weights.assign(timestamp=weights["timestamp"].astype(str))
    with pytest.raises(ValueError, match=r"column 'timestamp': expected datetime64"):
        export_lean_workspace(bad, tmp_path)


def test_duplicate_keys_are_rejected(weights: pd.DataFrame, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"weights\.iloc\[2, 5\]: duplicate rows"):
        export_lean_workspace(pd.concat([weights, weights.iloc[[2]]]), tmp_path)


def test_symbols_differing_only_in_case_are_rejected(tmp_path: Path) -> None:
    rows = make_weights(
        [
            ("btcusdt", "2024-01-01 00:05", "2024-01-01 00:00", 0.5, "s"),
            ("BTCUSDT", "2024-01-01 00:10", "2024-01-01 00:05", 0.5, "s"),
        ]
    )
    with pytest.raises(ValueError, match="differ only in case"):
        export_lean_workspace(rows, tmp_path)


def test_tz_aware_times_are_written_in_utc(tmp_path: Path) -> None:
    rows = make_weights([("AAPL", "2024-01-02 16:00", "2024-01-02 09:30", 0.5, "s")])
    for column in ("signal_timestamp", "timestamp"):
        rows[column] = rows[column].dt.tz_localize("America/New_York")
    export_lean_workspace(rows, tmp_path)
    lines = (tmp_path / WEIGHTS_DIR / "s/weights/aapl.csv").read_text().splitlines()
    assert lines[1] == "AAPL,2024-01-02T21:00:00Z,2024-01-02T14:30:00Z,0.5,s"


def test_missing_shared_reader_is_reported_before_writing(
    weights: pd.DataFrame, tmp_path: Path
) -> None:
    (tmp_path / "algos").mkdir()
    with pytest.raises(FileNotFoundError, match=r"shared/signal_data\.py"):
        export_lean_workspace(weights, tmp_path / "lean", algorithms_dir=tmp_path / "algos")
    assert not (tmp_path / "lean").exists()


ORDERS_HEADER = (
    "symbol,signal_timestamp,timestamp,strategy_id,direction,entry_type,entry_price,stop_loss,"
    "take_profit,signal_id,position_status"
)
ORDERS_DIR = Path("data/custom/signal_orders")


def make_orders(text: str) -> pd.DataFrame:
    """A macd_cci signal_orders frame from compact CSV lines (see ORDER_FIELDS)."""
    frame = pd.read_csv(io.StringIO(text), names=ORDER_FIELDS, dtype={"signal_id": str})
    for column in ("signal_timestamp", "timestamp"):
        frame[column] = pd.to_datetime(frame[column], format="ISO8601")
    return frame.astype({"position_status": bool}).assign(strategy_id="macd_cci")


ORDER_FIELDS = ["symbol", "signal_timestamp", "timestamp", "direction", "entry_type"]
ORDER_FIELDS += ["entry_price", "stop_loss", "take_profit", "signal_id", "position_status"]


@pytest.fixture
def orders() -> pd.DataFrame:
    """An entry with a bracket, then its exit (null prices); a limit entry on another pair."""
    return make_orders(
        "BTCUSDT,2024-01-01 00:10,2024-01-01 00:05,sell,market,,,,b2,False\n"
        "BTCUSDT,2024-01-01 00:05:00.25,2024-01-01 00:00,buy,market,,29000.5,33000,b1,True\n"
        "ETHUSDT,2024-01-01 00:05,2024-01-01 00:00,buy,limit,2250,2100,2400,e1,True\n"
    )


def test_orders_are_written_with_exact_header_nulls_and_booleans(
    weights: pd.DataFrame, orders: pd.DataFrame, tmp_path: Path
) -> None:
    export = export_lean_workspace(weights, tmp_path, orders=orders)
    root = tmp_path / ORDERS_DIR / "macd_cci"
    assert (root / "orders/btcusdt.csv").read_bytes().decode() == (
        f"{ORDERS_HEADER}\n"
        "BTCUSDT,2024-01-01T00:05:00.250000Z,2024-01-01T00:00:00Z,macd_cci,buy,market,,29000.5,"
        "33000.0,b1,true\n"
        "BTCUSDT,2024-01-01T00:10:00Z,2024-01-01T00:05:00Z,macd_cci,sell,market,,,,b2,false\n"
    )
    assert (root / "orders/ethusdt.csv").read_text().splitlines()[1] == (
        "ETHUSDT,2024-01-01T00:05:00Z,2024-01-01T00:00:00Z,macd_cci,buy,limit,2250.0,2100.0,"
        "2400.0,e1,true"
    )
    assert (root / "universe.csv").read_text() == (
        f"{UNIVERSE_HEADER}\n"
        "BTCUSDT,crypto,binance,2024-01-01T00:05:00.250000Z,2024-01-01T00:10:00Z\n"
        "ETHUSDT,crypto,binance,2024-01-01T00:05:00Z,2024-01-01T00:05:00Z\n"
    )
    assert export.order_files == (root / "orders/btcusdt.csv", root / "orders/ethusdt.csv")
    assert export.order_universe_files == (root / "universe.csv",)
    assert export.orders_written == 3


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("direction", "long", r"orders\.iloc\[1\], column 'direction': 'long' is not one of"),
        ("entry_type", "stop", r"orders\.iloc\[1\], column 'entry_type'"),
        ("entry_price", 100.0, r"orders\.iloc\[1\], column 'entry_price': 100\.0 for a market"),
        ("stop_loss", -1.0, r"orders\.iloc\[1\], column 'stop_loss': -1\.0 is not a positive"),
        ("signal_id", "b 1", r"orders\.iloc\[1\], column 'signal_id'"),
        ("position_status", None, r"orders\.iloc\[1\], column 'position_status'"),
        ("timestamp", pd.Timestamp("2024-01-02"), r"orders\.iloc\[1\], column 'timestamp'.*later"),
        ("signal_id", "b2", r"orders\.iloc\[0, 1\]: duplicate rows for columns \['signal_id'\]"),
    ],
)
def test_bad_orders_are_rejected_naming_row_and_column(
    weights: pd.DataFrame,
    orders: pd.DataFrame,
    tmp_path: Path,
    column: str,
    value: object,
    message: str,
) -> None:
    bad = orders.astype({"position_status": object}) if value is None else orders.copy()
    bad.loc[1, column] = value
    with pytest.raises(ValueError, match=message):
        export_lean_workspace(weights, tmp_path, orders=bad)
    assert not (tmp_path / "lean.json").exists()


def test_orders_missing_columns_are_listed(
    weights: pd.DataFrame, orders: pd.DataFrame, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match=r"orders: missing columns \['signal_id'\]; received"):
        export_lean_workspace(weights, tmp_path, orders=orders.drop(columns=["signal_id"]))


def test_append_adds_only_new_rows_keeping_a_byte_identical_prefix(
    weights: pd.DataFrame, orders: pd.DataFrame, tmp_path: Path
) -> None:
    export_lean_workspace(weights, tmp_path, orders=orders)
    btc = tmp_path / WEIGHTS_DIR / "macd_cci/weights/btcusdt.csv"
    btc_orders = tmp_path / ORDERS_DIR / "macd_cci/orders/btcusdt.csv"
    before, before_orders = btc.read_bytes(), btc_orders.read_bytes()
    newer = make_weights([("BTCUSDT", "2024-01-01 00:15", "2024-01-01 00:10", -0.75, "macd_cci")])
    newer_order = make_orders(
        "BTCUSDT,2024-01-01 00:15,2024-01-01 00:10,buy,market,,40000,50000,b3,True\n"
    )
    export_lean_workspace(
        pd.concat([newer, weights]), tmp_path, orders=pd.concat([orders, newer_order])
    )
    assert btc.read_bytes() == before + (
        b"BTCUSDT,2024-01-01T00:15:00Z,2024-01-01T00:10:00Z,-0.75,macd_cci\n"
    )
    assert btc_orders.read_bytes() == before_orders + (
        b"BTCUSDT,2024-01-01T00:15:00Z,2024-01-01T00:10:00Z,macd_cci,buy,market,,40000.0,50000.0,b3,true\n"
    )
    universe = (tmp_path / WEIGHTS_DIR / "macd_cci/universe.csv").read_text().splitlines()
    assert universe[1] == "BTCUSDT,crypto,binance,2024-01-01T00:00:00.500000Z,2024-01-01T00:15:00Z"
    assert universe[2] == "ETHUSDT,crypto,binance,2024-01-01T00:05:00Z,2024-01-01T00:05:00Z"


@pytest.mark.parametrize(
    "change",
    [
        lambda frame: frame.assign(signal=frame["signal"].where(frame.index != 2, 0.3)),
        lambda frame: frame.drop(index=3),
        lambda frame: pd.concat(
            [
                frame,
                make_weights(
                    [("BTCUSDT", "2024-01-01 00:10", "2024-01-01 00:06", 0.1, "macd_cci")]
                ),
            ]
        ),
    ],
    ids=["changed-row", "missing-row", "late-row-at-last-signal-timestamp"],
)
def test_append_refuses_to_rewrite_history(
    weights: pd.DataFrame, tmp_path: Path, change: object
) -> None:
    export_lean_workspace(weights, tmp_path)
    before = read_tree(tmp_path)
    changed = change(weights)  # type: ignore[operator]
    with pytest.raises(ValueError, match=r"macd_cci/weights/btcusdt\.csv: the rows up to"):
        export_lean_workspace(changed, tmp_path)
    assert read_tree(tmp_path) == before  # checked before anything is written
    export_lean_workspace(changed, tmp_path, mode="replace")


def test_changed_old_order_is_an_error(
    weights: pd.DataFrame, orders: pd.DataFrame, tmp_path: Path
) -> None:
    export_lean_workspace(weights, tmp_path, orders=orders)
    changed = orders.assign(take_profit=orders["take_profit"].where(orders.index != 1, 34000.0))
    with pytest.raises(ValueError, match=r"signal_orders/macd_cci/orders/btcusdt\.csv"):
        export_lean_workspace(weights, tmp_path, orders=changed)


def test_unknown_mode_is_rejected(weights: pd.DataFrame, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"mode: 'merge' is not one of"):
        export_lean_workspace(weights, tmp_path, mode="merge")


def test_object_store_gets_the_same_files_under_the_keys_the_algorithm_reads(
    weights: pd.DataFrame, orders: pd.DataFrame, tmp_path: Path
) -> None:
    export = export_lean_workspace(weights, tmp_path, orders=orders, object_store=True)
    data = read_tree(tmp_path / "data")
    storage = read_tree(tmp_path / "storage")
    assert storage == data
    assert "custom/signal_weights/macd_cci/weights/btcusdt.csv" in storage
    assert "custom/signal_orders/macd_cci/orders/ethusdt.csv" in storage
    assert sorted(export.storage_files) == sorted(tmp_path / "storage" / key for key in storage)
    newer = make_weights([("BTCUSDT", "2024-01-01 00:15", "2024-01-01 00:10", 0.5, "macd_cci")])
    export_lean_workspace(pd.concat([weights, newer]), tmp_path, orders=orders, object_store=True)
    assert read_tree(tmp_path / "storage") == read_tree(tmp_path / "data") != data  # appended


def test_replace_mode_only_clears_the_tables_it_writes(
    weights: pd.DataFrame, orders: pd.DataFrame, tmp_path: Path
) -> None:
    export_lean_workspace(weights, tmp_path, orders=orders, object_store=True)
    export_lean_workspace(weights.iloc[[4]], tmp_path, mode="replace")
    assert (tmp_path / ORDERS_DIR / "macd_cci/orders/btcusdt.csv").is_file()
    assert (tmp_path / "storage/custom/signal_weights/macd_cci/universe.csv").is_file()
    assert not (tmp_path / WEIGHTS_DIR / "macd_cci").exists()
