"""write_lean_prices writes bars in LEAN's own format, byte for byte as the golden fixtures."""

# The fixtures under fixtures/lean/ were written by hand from LEAN's source (QuantConnect/Lean):
# - paths: Common/Util/LeanData.cs GenerateRelativeZipFileDirectory + GenerateZipFileName
#   (minute: <type>/<market>/minute/<sym>/<yyyyMMdd>_trade.zip; daily: equity/usa/daily/<sym>.zip,
#   crypto/<market>/daily/<sym>_trade.zip), as in Data/equity/usa/minute/spy/20131007_trade.zip,
#   Data/equity/usa/daily/spy.zip and Data/crypto/coinbase/daily/btcusd_trade.zip;
# - zip member names: LeanData.GenerateZipEntryName (<yyyyMMdd>_<sym>_minute_trade.csv; daily
#   <sym>.csv), e.g. 20131007_spy_minute_trade.csv inside 20131007_trade.zip;
# - rows: LeanData.GenerateLine (minute: ms since midnight; daily: "yyyyMMdd HH:mm"; equity
#   prices Scale()d x10000; crypto prices and volumes as normalized decimals), joined with "\n"
#   and no trailing newline by Common/Data/LeanDataWriter.cs; data time zones (equity usa
#   America/New_York, crypto UTC) from Data/market-hours/market-hours-database.json;
# - map files: Common/Data/Auxiliary/MapFileRow.cs (date,ticker[,exchange]), e.g.
#   Data/equity/usa/map_files/spy.csv; factor files: CorporateFactorRow.cs (date, price factor
#   rounded to 7 decimals, split factor, reference price) and CorporateFactorProvider.cs (a row
#   applies to days up to its date), e.g. Data/equity/usa/factor_files/spy.csv.
# A fixture zip is a folder of the zip's name holding its one member, so the files stay readable.

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
import pytest

from signals.lean_export import export_lean_workspace
from signals.lean_prices import factor_file_text, plain_decimal, scaled_price, write_lean_prices

FIXTURES = Path(__file__).parent / "fixtures" / "lean"
COLUMNS = ["symbol", "ts", "open", "high", "low", "close", "volume"]


def make_bars(rows: list[tuple[object, ...]], *, adj_close: bool = False) -> pd.DataFrame:
    """A bars frame from (symbol, ts, open, high, low, close, volume[, adj_close]) tuples."""
    frame = pd.DataFrame(rows, columns=COLUMNS + (["adj_close"] if adj_close else []))
    frame["ts"] = pd.to_datetime(frame["ts"])
    return frame


@pytest.fixture
def minute_bars() -> pd.DataFrame:
    """AAPL in EST, after the close (still Jan 2 in New York) and in EDT; BTCUSDT at midnight."""
    return make_bars(
        [
            ("BTCUSDT", "2024-01-02 00:00", 42283.58, 42290.1, 42270.0, 42275.99, 12.34567),
            ("AAPL", "2024-01-02 14:31", 185.64, 185.7, 185.61, 185.69, 350.0),
            ("AAPL", "2024-01-02 14:30", 185.64, 185.88, 185.5, 185.6423, 1200.0),
            ("AAPL", "2024-01-03 00:30", 186.0, 186.0, 186.0, 186.0, 10.0),
            ("AAPL", "2024-07-01 13:30", 216.75, 217.51, 216.42, 217.0, 5000.0),
            ("BTCUSDT", "2024-01-01 23:59", 42283.58, 42300.0, 42280.01, 42283.58, 1.5e-05),
        ]
    )


@pytest.fixture
def daily_bars() -> pd.DataFrame:
    """AAPL with a 1% dividend adjustment before Jan 4; one Coinbase BTCUSD day."""
    return make_bars(
        [
            ("AAPL", "2024-01-02", 100.0, 101.5, 99.25, 100.0, 1000, 99.0),
            ("AAPL", "2024-01-03", 100.5, 102.0, 100.0, 101.0, 2000, 99.99),
            ("AAPL", "2024-01-04", 101.0, 103.0, 100.75, 102.0, 1500, 102.0),
            ("AAPL", "2024-01-05", 102.5, 104.0, 102.0, 103.12345, 1800, 103.12345),
            ("BTCUSD", "2024-01-01", 42280.5, 44000.0, 42000.25, 44180.0, 1234.5, 44180.0),
        ],
        adj_close=True,
    )


def read_data_tree(root: Path) -> dict[str, bytes]:
    """Every file under a data folder; a zip becomes `<zip path>/<member>` per member."""
    tree = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if path.is_file() and path.suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist():
                    tree[f"{relative}/{member}"] = archive.read(member)
        elif path.is_file():
            tree[relative] = path.read_bytes()
    return tree


@pytest.mark.parametrize("resolution", ["minute", "daily"])
def test_files_match_the_golden_fixtures_byte_for_byte(
    minute_bars: pd.DataFrame, daily_bars: pd.DataFrame, tmp_path: Path, resolution: str
) -> None:
    bars = minute_bars if resolution == "minute" else daily_bars
    written = write_lean_prices(bars, tmp_path, resolution=resolution)
    expected = read_data_tree(FIXTURES / resolution)
    assert read_data_tree(tmp_path) == expected
    files = {path.relative_to(tmp_path).as_posix() for path in written}
    assert files == {
        key.rsplit(".zip/", 1)[0] + ".zip" if ".zip/" in key else key for key in expected
    }


def test_each_zip_holds_exactly_the_member_lean_expects(
    minute_bars: pd.DataFrame, tmp_path: Path
) -> None:
    write_lean_prices(minute_bars, tmp_path, resolution="minute")
    path = tmp_path / "equity/usa/minute/aapl/20240102_trade.zip"
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist() == ["20240102_aapl_minute_trade.csv"]
        assert archive.infolist()[0].compress_type == zipfile.ZIP_DEFLATED


def test_writing_twice_gives_identical_zip_bytes(daily_bars: pd.DataFrame, tmp_path: Path) -> None:
    write_lean_prices(daily_bars, tmp_path / "a", resolution="daily")
    write_lean_prices(daily_bars.iloc[::-1], tmp_path / "b", resolution="daily")
    first = {p.relative_to(tmp_path / "a"): p.read_bytes() for p in (tmp_path / "a").rglob("*.*")}
    second = {p.relative_to(tmp_path / "b"): p.read_bytes() for p in (tmp_path / "b").rglob("*.*")}
    assert first == second


def test_tz_aware_timestamps_are_taken_in_utc(minute_bars: pd.DataFrame, tmp_path: Path) -> None:
    aware = minute_bars.assign(
        ts=minute_bars["ts"].dt.tz_localize("UTC").dt.tz_convert("Asia/Tokyo")
    )
    write_lean_prices(aware, tmp_path, resolution="minute")
    assert read_data_tree(tmp_path) == read_data_tree(FIXTURES / "minute")


@pytest.mark.parametrize(
    ("value", "scaled", "plain"),
    [
        (185.6423, "1856423", "185.6423"),
        (103.12345, "1031234", "103.12345"),
        (300.0, "3000000", "300"),
        (1.5e-05, "0", "0.000015"),
        (0.1 + 0.2, "3000", "0.30000000000000004"),
    ],
)
def test_price_formats(value: float, scaled: str, plain: str) -> None:
    assert scaled_price(value) == scaled
    assert plain_decimal(value) == plain


def test_factor_file_normalizes_to_the_newest_day_and_marks_each_change() -> None:
    days = pd.DataFrame(
        {"close": [50.0, 200.0, 100.0, 110.0], "adj_close": [24.0, 97.0, 100.0, 110.0]},
        index=["20240102", "20240103", "20240104", "20240105"],
    )
    assert factor_file_text(days) == (
        "20240102,0.4800000,1,50\n20240103,0.4850000,1,200\n20501231,1,1,0\n"
    )
    assert factor_file_text(days.drop(columns="adj_close")) == "20240102,1,1,1\n20501231,1,1,0\n"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns="volume"), r"bars: missing columns \['volume'\]"),
        (
            lambda f: f.assign(close=f["close"].where(f.index != 2, -1.0)),
            r"bars\.iloc\[2\], column 'close'",
        ),
        (
            lambda f: f.assign(volume=f["volume"].where(f.index != 1, float("nan"))),
            r"bars\.iloc\[1\], column 'volume'",
        ),
        (
            lambda f: f.assign(symbol=f["symbol"].where(f.index != 0, "BTC/USDT")),
            r"bars\.iloc\[0\], column 'symbol'",
        ),
        (
            lambda f: f.assign(ts=f["ts"].where(f.index != 3, pd.Timestamp("2024-01-03 00:30:30"))),
            r"bars\.iloc\[3\], column 'ts': not on a whole minute",
        ),
        (lambda f: pd.concat([f, f.iloc[[1]]]), r"bars\.iloc\[1, 6\]: duplicate minute bars"),
        (
            lambda f: f.assign(symbol=f["symbol"].where(f.index != 0, "btcusdt")),
            r"differ only in case",
        ),
    ],
)
def test_bad_bars_are_rejected_naming_row_and_column(
    minute_bars: pd.DataFrame, tmp_path: Path, change: object, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        write_lean_prices(change(minute_bars), tmp_path, resolution="minute")  # type: ignore[operator]
    assert not any(tmp_path.iterdir())


def test_unknown_resolution_is_rejected(minute_bars: pd.DataFrame, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"resolution: 'tick' is not one of"):
        write_lean_prices(minute_bars, tmp_path, resolution="tick")


def test_workspace_export_writes_prices_into_its_data_folder(
    minute_bars: pd.DataFrame, daily_bars: pd.DataFrame, tmp_path: Path
) -> None:
    weights = pd.DataFrame(
        {
            "symbol": ["AAPL"],
            "signal_timestamp": pd.to_datetime(["2024-01-02 21:00"]),
            "timestamp": pd.to_datetime(["2024-01-02 14:30"]),
            "signal": [0.5],
            "strategy_id": ["s"],
        }
    )
    export = export_lean_workspace(weights, tmp_path / "ws", prices=minute_bars)
    data = read_data_tree(tmp_path / "ws" / "data")
    assert {k: v for k, v in data.items() if not k.startswith("custom/")} == read_data_tree(
        FIXTURES / "minute"
    )
    assert tmp_path / "ws/data/equity/usa/minute/aapl/20240102_trade.zip" in export.price_files
    export_lean_workspace(weights, tmp_path / "d", prices=daily_bars, price_resolution="daily")
    assert (tmp_path / "d/data/equity/usa/daily/aapl.zip").is_file()
    with pytest.raises(ValueError, match=r"bars\.iloc\[0\], column 'open'"):
        export_lean_workspace(weights, tmp_path / "bad", prices=minute_bars.assign(open=0.0))
    assert not (tmp_path / "bad").exists()
