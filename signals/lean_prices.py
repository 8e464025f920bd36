"""Write OHLCV bars in LEAN's own data format: trade-bar zips plus equity map/factor files."""

# Formats, as LEAN's source (QuantConnect/Lean) reads and writes them; checked against
# Common/Util/LeanData.cs (GenerateLine, GenerateZipFileName, GenerateZipEntryName,
# GenerateRelativeZipFileDirectory), Common/Data/LeanDataWriter.cs (lines joined with "\n", no
# trailing newline), Common/Data/Market/TradeBar.cs (parsing: minute time = file date + ms,
# converted from the data time zone; equity prices x 1/10000), Data/market-hours/
# market-hours-database.json (data time zone: Equity-usa America/New_York, Crypto binance and
# coinbase UTC), Common/Data/Auxiliary/MapFileRow.cs, CorporateFactorRow.cs,
# CorporateFactorProvider.cs and the sample files under Data/ (equity/usa/minute/spy/
# 20131007_trade.zip, equity/usa/daily/spy.zip, crypto/coinbase/daily/btcusd_trade.zip, ...).
#
# minute: <type>/<market>/minute/<sym>/<yyyyMMdd>_trade.zip holding
#   <yyyyMMdd>_<sym>_minute_trade.csv, one zip per symbol and day of the data time zone; rows
#   `ms since midnight,o,h,l,c,volume`, the bar's start time.
# daily: equity/usa/daily/<sym>.zip, crypto/<market>/daily/<sym>_trade.zip, both holding
#   <sym>.csv; rows `yyyyMMdd 00:00,o,h,l,c,volume`. A daily bar's day is the date of its `ts`.
# Equity prices are x10000 integers (LeanData.Scale; rounded half-even to an integer here),
# crypto prices and all volumes are plain decimals without trailing zeros (decimal.Normalize).
# map_files/<sym>.csv: `<first day>,<sym>` and `20501231,<sym>` (no rename history is known; the
# primary exchange column is optional and left out).
# factor_files/<sym>.csv: rows `yyyyMMdd,price factor,split factor,reference price`; LEAN uses
# the factors of the first row dated on or after a day. Derivation from adj_close: per day d
# (its last bar) r_d = adj_close / close, price factor f_d = r_d / r_last (so the newest day is
# 1), rounded half-even to 7 decimals; split factor 1 (splits are folded into the price factor,
# so LEAN's SplitAdjusted mode sees raw prices; Adjusted and ScaledRaw are right).
# Rows: every day whose factor differs from the next day's, with that day's raw close (4
# decimals) as reference price; before them a start row for the first day (reference price 1,
# as ToolBox/FactorFileGenerator.cs writes it) unless the first day is itself a change; then
# `20501231,1,1,0`. Without adj_close every factor is 1. Checked: from LEAN's own spy daily
# zip with adj_close = close x its factor, this gives every row of Data/equity/usa/factor_files/
# spy.csv exactly. Map and factor files end each line with "\n" (File.WriteAllLines in
# MapFile.WriteToCsv / FactorFile.WriteToFile). Zips are deterministic (fixed time, deflate).
# Round trip checked: LEAN's spy minute/daily and coinbase btcusd minute/daily sample zips,
# read back into bars, are rewritten with identical CSV members.

from __future__ import annotations

import io
import math
import zipfile
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import pandas as pd

from signals.lean_formats import check_identifiers, security_for, utc_naive, write_bytes
from warehouse.columns import OHLCV, SYMBOL, TS

RESOLUTIONS = ("minute", "daily")
BAR_COLUMNS = (SYMBOL, TS, *OHLCV)
ADJ_CLOSE = "adj_close"
DATA_TIME_ZONES = {"equity": "America/New_York", "crypto": "UTC"}
END_OF_TIME = "20501231"
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def validate_bars(bars: pd.DataFrame, resolution: str) -> pd.DataFrame:
    """Check a bars frame (symbol, ts, OHLCV, optional adj_close); ts comes back naive UTC."""
    if resolution not in RESOLUTIONS:
        raise ValueError(f"resolution: {resolution!r} is not one of {RESOLUTIONS}")
    missing = [column for column in BAR_COLUMNS if column not in bars.columns]
    if missing:
        raise ValueError(
            f"bars: missing columns {missing}; received {list(bars.columns)}; "
            f"expected {list(BAR_COLUMNS)} (and optionally {ADJ_CLOSE!r})"
        )
    columns = list(BAR_COLUMNS) + ([ADJ_CLOSE] if ADJ_CLOSE in bars.columns else [])
    frame = bars.loc[:, columns].reset_index(drop=True)
    check_identifiers(frame[SYMBOL], SYMBOL, "bars")
    frame[TS] = utc_naive(frame[TS], TS, "bars")
    for column in columns[2:]:
        frame[column] = _checked_numbers(frame[column], column, allow_zero=column == "volume")
    if resolution == "minute":
        off = frame.index[frame[TS] != frame[TS].dt.floor("min")]
        if len(off):
            raise ValueError(f"bars.iloc[{off[0]}], column {TS!r}: not on a whole minute")
    day = frame[TS].dt.normalize() if resolution == "daily" else frame[TS]
    duplicated = frame.index[frame.assign(_key=day).duplicated([SYMBOL, "_key"], keep=False)]
    if len(duplicated):
        raise ValueError(
            f"bars.iloc{list(duplicated[:2])}: duplicate {resolution} bars for one symbol"
        )
    symbols = pd.Series(frame[SYMBOL].unique())
    twins = symbols[symbols.str.lower().duplicated(keep=False)]
    if len(twins):
        raise ValueError(f"bars, column {SYMBOL!r}: {sorted(twins)} differ only in case")
    return frame


def _checked_numbers(values: pd.Series, column: str, *, allow_zero: bool) -> pd.Series:
    """A price (> 0) or volume (>= 0) column as finite floats."""
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        raise ValueError(f"bars, column {column!r}: expected a number, got {values.dtype}")
    floats = values.astype("float64")
    for position, value in enumerate(floats):
        if not math.isfinite(value) or value < 0.0 or (value == 0.0 and not allow_zero):
            raise ValueError(
                f"bars.iloc[{position}], column {column!r}: {value!r} is not a valid "
                f"{'volume' if allow_zero else 'price'}"
            )
    return floats


def write_lean_prices(bars: pd.DataFrame, data_dir: Path, *, resolution: str) -> tuple[Path, ...]:
    """Write `bars` under a LEAN data folder; equities also get map and factor files."""
    frame = validate_bars(bars, resolution)
    data_dir = Path(data_dir)
    written: list[Path] = []
    for symbol, rows in frame.groupby(SYMBOL, sort=True):
        security_type, market = security_for(str(symbol))
        rows = rows.sort_values(TS, kind="mergesort")
        local = _data_time(rows[TS], security_type, resolution)
        lower = str(symbol).lower()
        lines = _bar_lines(rows, local, security_type, resolution)
        folder = data_dir / security_type / market / resolution
        if resolution == "minute":
            for day, day_lines in lines.groupby(local.dt.strftime("%Y%m%d"), sort=True):
                path = folder / lower / f"{day}_trade.zip"
                member = f"{day}_{lower}_minute_trade.csv"
                written.append(_write_zip(path, member, day_lines.to_list()))
        else:
            name = f"{lower}.zip" if security_type == "equity" else f"{lower}_trade.zip"
            written.append(_write_zip(folder / name, f"{lower}.csv", lines.to_list()))
        if security_type == "equity":
            written.extend(_write_corporate_files(rows, local, data_dir / "equity" / market, lower))
    return tuple(written)


def _data_time(ts: pd.Series, security_type: str, resolution: str) -> pd.Series:
    """Bar start times in the data time zone (naive); daily bars keep only their date."""
    if resolution == "daily":
        return ts.dt.normalize()
    zone = DATA_TIME_ZONES[security_type]
    return ts.dt.tz_localize("UTC").dt.tz_convert(zone).dt.tz_localize(None)


def _bar_lines(
    rows: pd.DataFrame, local: pd.Series, security_type: str, resolution: str
) -> pd.Series:
    """One LEAN CSV line per bar: time, open, high, low, close, volume."""
    if resolution == "minute":
        times = ((local - local.dt.normalize()) // pd.Timedelta(milliseconds=1)).astype(str)
    else:
        times = local.dt.strftime("%Y%m%d 00:00")
    price = scaled_price if security_type == "equity" else plain_decimal
    fields = [times.to_list()]
    fields += [[price(value) for value in rows[column]] for column in OHLCV[:4]]
    fields.append([plain_decimal(value) for value in rows["volume"]])
    return pd.Series([",".join(values) for values in zip(*fields, strict=True)], index=rows.index)


def scaled_price(value: float) -> str:
    """An equity price as LEAN stores it: x10000, rounded half-even to an integer."""
    scaled = (Decimal(repr(float(value))) * 10_000).quantize(Decimal(1), ROUND_HALF_EVEN)
    return str(int(scaled))


def plain_decimal(value: float) -> str:
    """The shortest decimal of a float, without exponent or trailing zeros (300.0 -> 300)."""
    text = format(Decimal(repr(float(value))).normalize(), "f")
    return "0" if text in ("-0", "0") else text


def _write_zip(path: Path, member: str, lines: list[str]) -> Path:
    """A deterministic one-member zip (deflate, fixed time) of lines joined by `\\n`."""
    buffer = io.BytesIO()
    info = zipfile.ZipInfo(member, date_time=_ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(info, "\n".join(lines).encode("utf-8"))
    write_bytes(path, buffer.getvalue())
    return path


def _write_corporate_files(
    rows: pd.DataFrame, local: pd.Series, market_dir: Path, lower: str
) -> list[Path]:
    """An equity's map file and factor file, from its trading days (data time zone)."""
    days = rows.assign(_day=local.dt.strftime("%Y%m%d")).groupby("_day", sort=True).last()
    map_path = market_dir / "map_files" / f"{lower}.csv"
    write_bytes(map_path, f"{days.index[0]},{lower}\n{END_OF_TIME},{lower}\n".encode())
    factor_path = market_dir / "factor_files" / f"{lower}.csv"
    write_bytes(factor_path, factor_file_text(days).encode())
    return [map_path, factor_path]


def factor_file_text(days: pd.DataFrame) -> str:
    """Factor file lines from per-day close (and adj_close): see the module comment."""
    closes = [Decimal(repr(float(value))) for value in days["close"]]
    if ADJ_CLOSE in days.columns:
        ratios = [Decimal(repr(float(v))) / c for v, c in zip(days[ADJ_CLOSE], closes, strict=True)]
    else:
        ratios = [Decimal(1)] * len(closes)
    factors = [(ratio / ratios[-1]).quantize(Decimal("1E-7"), ROUND_HALF_EVEN) for ratio in ratios]
    lines = []
    for position, (day, factor, close) in enumerate(zip(days.index, factors, closes, strict=True)):
        last = position == len(factors) - 1
        change = not last and factor != factors[position + 1]
        if change or position == 0:
            reference = close.quantize(Decimal("1E-4"), ROUND_HALF_EVEN) if change else 1
            lines.append(f"{day},{_factor_text(factor)},1,{plain_decimal(float(reference))}")
    lines.append(f"{END_OF_TIME},1,1,0")
    return "\n".join(lines) + "\n"


def _factor_text(factor: Decimal) -> str:
    """A price factor with 7 decimals as LEAN writes it; exactly 1 as `1`."""
    return "1" if factor == 1 else f"{factor:.7f}"
