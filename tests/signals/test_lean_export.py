"""export_lean_workspace writes a deterministic LEAN CLI workspace from signal_weights rows."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from signals.lean_export import LeanExport, export_lean_workspace
from warehouse.settings import LEAN_ALGORITHMS_DIR

HEADER = "symbol,signal_timestamp,timestamp,signal,strategy_id"
UNIVERSE_HEADER = "symbol,security_type,market,first_signal_timestamp,last_signal_timestamp"
WEIGHTS_DIR = Path("data/custom/signal_weights")


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
    assert sorted(read_tree(tmp_path / "lean")) == [
        "SignalWeights/config.json",
        "SignalWeights/main.py",
        "SignalWeights/signal_data.py",
        "data/custom/signal_weights/macd_cci/universe.csv",
        "data/custom/signal_weights/macd_cci/weights/btcusdt.csv",
        "data/custom/signal_weights/macd_cci/weights/ethusdt.csv",
        "data/custom/signal_weights/rsi_daily/universe.csv",
        "data/custom/signal_weights/rsi_daily/weights/aapl.csv",
        "lean.json",
    ]


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


def test_reexport_drops_strategies_no_longer_in_the_frame(
    weights: pd.DataFrame, tmp_path: Path
) -> None:
    export_lean_workspace(weights, tmp_path)
    export_lean_workspace(weights[weights["strategy_id"] == "rsi_daily"], tmp_path)
    assert not (tmp_path / WEIGHTS_DIR / "macd_cci").exists()
    assert (tmp_path / WEIGHTS_DIR / "rsi_daily/weights/aapl.csv").is_file()


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
        project_dirs=(tmp_path / "SignalWeights",),
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
    assert "from signal_data import (" in (project / "main.py").read_text()
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
