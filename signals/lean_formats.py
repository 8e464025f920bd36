"""Shared pieces of the LEAN exporters: checks, CSV text, signal_orders rows, safe writes."""

from __future__ import annotations

import math
import numbers
import os
import re
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from warehouse.columns import (
    SIGNAL_ORDERS_COLUMNS,
    SIGNAL_TIMESTAMP,
    STRATEGY_ID,
    SYMBOL,
    TIMESTAMP,
)

ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
DIRECTIONS = ("buy", "sell")
ENTRY_TYPES = ("market", "limit")
PRICE_COLUMNS = ("entry_price", "stop_loss", "take_profit")
UNIVERSE_COLUMNS = (
    SYMBOL,
    "security_type",
    "market",
    "first_signal_timestamp",
    "last_signal_timestamp",
)
_TIME_FORMATS = ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ")


def security_for(symbol: str) -> tuple[str, str]:
    """LEAN security type and market of a symbol: *USDT -> Binance crypto, *USD -> Coinbase."""
    upper = symbol.upper()
    if upper.endswith("USDT"):
        return "crypto", "binance"
    if upper.endswith("USD"):
        return "crypto", "coinbase"
    return "equity", "usa"


def check_identifiers(values: pd.Series, column: str, table: str) -> None:
    """Values that become file names or CSV fields: plain, non-empty identifiers only."""
    for position, value in enumerate(values):
        if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
            raise ValueError(
                f"{table}.iloc[{position}], column {column!r}: {value!r} is not an identifier "
                f"matching {ID_PATTERN.pattern}"
            )


def utc_naive(values: pd.Series, column: str, table: str) -> pd.Series:
    """A datetime64 column as naive UTC (tz-aware is converted; naive is taken as UTC)."""
    if not pd.api.types.is_datetime64_any_dtype(values):
        raise ValueError(f"{table}, column {column!r}: expected datetime64, got {values.dtype}")
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    bad = values.index[values.isna() | (values.dt.nanosecond != 0)]
    if len(bad):
        raise ValueError(
            f"{table}.iloc[{bad[0]}], column {column!r}: {values[bad[0]]!r} is missing or "
            "finer than a microsecond"
        )
    return values


def check_columns(frame: pd.DataFrame, expected: tuple[str, ...], table: str) -> pd.DataFrame:
    """The expected columns of `frame`, in contract order, with a fresh 0..n-1 index."""
    missing = [column for column in expected if column not in frame.columns]
    if missing:
        raise ValueError(
            f"{table}: missing columns {missing}; received {list(frame.columns)}; "
            f"expected {list(expected)}"
        )
    return frame.loc[:, list(expected)].reset_index(drop=True)


def check_not_late(frame: pd.DataFrame, table: str) -> None:
    """No row may refer to a bar after the row became available."""
    late = frame.index[frame[TIMESTAMP] > frame[SIGNAL_TIMESTAMP]]
    if len(late):
        raise ValueError(
            f"{table}.iloc[{late[0]}], column {TIMESTAMP!r}: later than {SIGNAL_TIMESTAMP!r} "
            "(a signal cannot refer to a bar after it became available)"
        )


def check_unique(frame: pd.DataFrame, key: list[str], table: str, noun: str) -> None:
    """Raise naming the first two rows that share `key` (one `noun` per key)."""
    duplicated = frame.index[frame.duplicated(key, keep=False)]
    if len(duplicated):
        raise ValueError(
            f"{table}.iloc{list(duplicated[:2])}: duplicate rows for columns {key} "
            f"(one {noun} per key)"
        )


def check_case_twins(frame: pd.DataFrame, table: str) -> None:
    """Symbols of one strategy must not differ only in case (file names are lower case)."""
    names = frame[[STRATEGY_ID, SYMBOL]].drop_duplicates()
    lower = names.assign(lower=names[SYMBOL].str.lower())
    twins = names[lower.duplicated([STRATEGY_ID, "lower"], keep=False)]
    if len(twins):
        raise ValueError(
            f"{table}, column {SYMBOL!r}: {sorted(twins[SYMBOL])} differ only in case "
            "(signal file names are lower case)"
        )


def validate_orders(orders: pd.DataFrame) -> pd.DataFrame:
    """Check the signal_orders contract columns and values; times come back as naive UTC."""
    frame = check_columns(orders, SIGNAL_ORDERS_COLUMNS, "orders")
    for column in (SYMBOL, STRATEGY_ID, "signal_id"):
        check_identifiers(frame[column], column, "orders")
    for column in (SIGNAL_TIMESTAMP, TIMESTAMP):
        frame[column] = utc_naive(frame[column], column, "orders")
    for column, allowed in (("direction", DIRECTIONS), ("entry_type", ENTRY_TYPES)):
        for position, value in enumerate(frame[column]):
            if value not in allowed:
                raise ValueError(
                    f"orders.iloc[{position}], column {column!r}: {value!r} is not one of {allowed}"
                )
    for column in PRICE_COLUMNS:
        frame[column] = _checked_prices(frame[column], column)
    for position, (entry_type, price) in enumerate(
        zip(frame["entry_type"], frame["entry_price"], strict=True)
    ):
        if (entry_type == "market") != math.isnan(price):
            raise ValueError(
                f"orders.iloc[{position}], column 'entry_price': {price!r} for a {entry_type} "
                "order (null for market, a price for limit)"
            )
    frame["position_status"] = _checked_booleans(frame["position_status"])
    check_not_late(frame, "orders")
    for key in ([STRATEGY_ID, SYMBOL, TIMESTAMP], ["signal_id"]):
        check_unique(frame, key, "orders", "order")
    check_case_twins(frame, "orders")
    return frame


def _checked_prices(values: pd.Series, column: str) -> pd.Series:
    """An optional price column as float: null (NaN) or finite and above zero."""
    floats = []
    for position, value in enumerate(values):
        if value is None or value is pd.NA or value is pd.NaT:
            floats.append(math.nan)
            continue
        number = float(value) if isinstance(value, numbers.Real) else math.inf
        if isinstance(value, bool | np.bool_) or not (
            math.isnan(number) or 0.0 < number < math.inf
        ):
            raise ValueError(
                f"orders.iloc[{position}], column {column!r}: {value!r} is not a positive price"
            )
        floats.append(number)
    return pd.Series(floats, index=values.index, dtype="float64")


def _checked_booleans(values: pd.Series) -> pd.Series:
    """A boolean column without nulls, as Python bools."""
    for position, value in enumerate(values):
        if not isinstance(value, bool | np.bool_):
            raise ValueError(
                f"orders.iloc[{position}], column 'position_status': {value!r} is not a boolean"
            )
    return values.astype(bool)


def format_utc(values: pd.Series) -> pd.Series:
    """Naive-UTC datetimes as `YYYY-MM-DDTHH:MM:SS[.ffffff]Z` strings."""
    seconds = values.dt.strftime("%Y-%m-%dT%H:%M:%S")
    fraction = values.dt.microsecond.map(lambda micro: f".{micro:06d}" if micro else "")
    return seconds.astype(str) + fraction.astype(str) + "Z"


def format_float(value: float) -> str:
    """Python's shortest round-trip float; empty for null; -0.0 becomes 0.0."""
    return "" if math.isnan(value) else repr(float(value) + 0.0)


def orders_csv_text(rows: pd.DataFrame) -> str:
    """One orders file: header, then rows by signal_timestamp, symbol, timestamp."""
    ordered = rows.sort_values([SIGNAL_TIMESTAMP, SYMBOL, TIMESTAMP], kind="mergesort")
    table = ordered.astype({column: str for column in (SYMBOL, STRATEGY_ID, "signal_id")})
    table = table.assign(
        **{
            SIGNAL_TIMESTAMP: format_utc(ordered[SIGNAL_TIMESTAMP]),
            TIMESTAMP: format_utc(ordered[TIMESTAMP]),
            "position_status": [
                "true" if value else "false" for value in ordered["position_status"]
            ],
            **{column: [format_float(v) for v in ordered[column]] for column in PRICE_COLUMNS},
        }
    )
    return csv_text(SIGNAL_ORDERS_COLUMNS, table)


def csv_text(columns: tuple[str, ...], table: pd.DataFrame) -> str:
    """A header line and one comma-joined line per row, `\\n`-terminated."""
    lines = [",".join(columns)]
    lines.extend(",".join(values) for values in table[list(columns)].itertuples(index=False))
    return "\n".join(lines) + "\n"


def parse_utc(text: str) -> datetime:
    """Parse `YYYY-MM-DDTHH:MM:SS[.ffffff]Z` (as written by format_utc) into naive UTC."""
    for time_format in _TIME_FORMATS:
        try:
            return datetime.strptime(text, time_format)
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not a UTC time like 2024-01-31T00:00:00Z")


def appended_text(path: Path, text: str) -> str:
    """`text` if it only appends rows to the file at `path`; ValueError if it rewrites history."""
    if not path.exists():
        return text
    old = path.read_text(encoding="utf-8")
    old_lines, new_lines = old.splitlines(), text.splitlines()
    if not old.endswith("\n") or not old_lines or old_lines[0] != new_lines[0]:
        raise ValueError(f"{path}: unexpected header or an incomplete last line; not appending")
    if len(old_lines) == 1:
        return text
    try:
        last = parse_utc(old_lines[-1].split(",")[1])
        kept = [line for line in new_lines[1:] if parse_utc(line.split(",")[1]) <= last]
    except (IndexError, ValueError) as err:
        raise ValueError(f"{path}: cannot read signal_timestamp: {err}") from None
    if kept != old_lines[1:]:
        raise ValueError(
            f"{path}: the rows up to signal_timestamp {old_lines[-1].split(',')[1]} differ from "
            "the file; history is never rewritten (export with mode='replace' to rewrite)"
        )
    return text


def write_text(path: Path, text: str) -> None:
    """Write UTF-8 text with `\\n` line ends atomically (temp file + rename), making folders."""
    write_bytes(path, text.encode("utf-8"))


def write_bytes(path: Path, data: bytes) -> None:
    """Write bytes atomically: a reader sees the old file or the new one, never a partial one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def universe_text(rows: pd.DataFrame, existing: Path | None) -> str:
    """One strategy's universe.csv: symbol, type, market, signal span (merged with `existing`)."""
    spans = {
        str(symbol): (first.to_pydatetime(), last.to_pydatetime())
        for symbol, (first, last) in rows.groupby(SYMBOL)[SIGNAL_TIMESTAMP]
        .agg(["min", "max"])
        .iterrows()
    }
    if existing is not None and existing.exists():
        for symbol, (first, last) in _read_universe(existing).items():
            new_first, new_last = spans.get(symbol, (first, last))
            spans[symbol] = (min(first, new_first), max(last, new_last))
    symbols = sorted(spans)
    securities = [security_for(symbol) for symbol in symbols]
    table = pd.DataFrame(
        {
            SYMBOL: symbols,
            "security_type": [security_type for security_type, _ in securities],
            "market": [market for _, market in securities],
            "first_signal_timestamp": format_utc(pd.Series([spans[s][0] for s in symbols])),
            "last_signal_timestamp": format_utc(pd.Series([spans[s][1] for s in symbols])),
        }
    )
    return csv_text(UNIVERSE_COLUMNS, table)


def _read_universe(path: Path) -> dict[str, tuple[datetime, datetime]]:
    """The signal spans of an existing universe.csv, by symbol; ValueError naming the file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or lines[0] != ",".join(UNIVERSE_COLUMNS):
        raise ValueError(f"{path}: header must be {','.join(UNIVERSE_COLUMNS)}")
    spans = {}
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split(",")
        try:
            spans[fields[0]] = (parse_utc(fields[3]), parse_utc(fields[4]))
        except (IndexError, ValueError) as err:
            raise ValueError(f"{path}: row {number}: {err}") from None
    return spans
