"""The bad-input corpus: one file per way a vendor delivery goes wrong, with its exact outcome.

Each case is built here from readable text (binary damage is applied in code), so
the corpus documents itself. `reason` fragments must all appear in the quarantine
reason, which always starts with the file's key; loaded cases state their rows.
"""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.parquet as pq

HEADER = "symbol,ts,open,high,low,close,volume\n"


def bars(*rows: str) -> bytes:
    """A bars CSV with the standard header."""
    return (HEADER + "".join(f"{row}\n" for row in rows)).encode()


def _minutes(count: int, symbol: str = "BTCUSDT") -> list[str]:
    return [
        f"{symbol},2024-01-01T{i // 60:02d}:{i % 60:02d}:00Z,100,101,99,100.5,{i + 1}"
        for i in range(count)
    ]


def _truncated_gzip() -> bytes:
    data = gzip.compress(bars(*_minutes(600)), mtime=0)
    return data[: len(data) // 2]


def _wrong_type_parquet() -> bytes:
    table = pa.table(
        {
            "symbol": ["ETHUSDT", "ETHUSDT"],
            "ts": ["2024-01-01T00:00:00Z", "2024-01-01T00:01:00Z"],
            "open": [1.0, 1.0],
            "high": [2.0, 2.0],
            "low": [0.5, 0.5],
            "close": ["1.5", "one and a half"],
            "volume": [1.0, 2.0],
        }
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


@dataclass(frozen=True)
class BadFile:
    """A corpus file: its name and bytes, and the outcome the loader must reach."""

    name: str
    data: bytes
    status: str
    reason: tuple[str, ...] = ()
    rows: int = 0
    warnings: tuple[str, ...] = ()
    extra_columns: tuple[str, ...] = ()
    notes: str = field(default="", compare=False)


CORPUS = (
    BadFile(
        "truncated.csv.gz",
        _truncated_gzip(),
        "quarantined",
        ("the gzip stream ends early (truncated file?)", "row "),
    ),
    BadFile(
        "semicolons.csv",
        b"symbol;ts;open;high;low;close;volume\nBTCUSDT;2024-01-01T00:00:00Z;1;2;1;2;5\n",
        "quarantined",
        ("missing column(s)", "the header looks ';'-delimited, expected ','"),
    ),
    BadFile(
        "missing_close.csv",
        b"symbol,ts,open,high,low,volume\nBTCUSDT,2024-01-01T00:00:00Z,1,2,1,5\n",
        "quarantined",
        ("missing column(s) ['close']", "received ['symbol', 'ts', 'open', 'high', 'low'"),
    ),
    BadFile(
        "extra_columns.csv",
        b"symbol,ts,open,high,low,close,volume,trades\nBTCUSDT,2024-01-02T00:00:00Z,1,2,1,2,5,9\n",
        "loaded",
        rows=1,
        warnings=("schema drift: extra column(s) ['trades']",),
        extra_columns=("trades",),
    ),
    BadFile(
        "wrong_type.csv",
        bars(*_minutes(2, "SOLUSDT")[:1], "SOLUSDT,2024-01-01T00:01:00Z,1,2,1,2,ten"),
        "quarantined",
        ("row 3, column 'volume': not a valid double (got 'ten')", "1 row(s) affected"),
    ),
    BadFile(
        "wrong_type.parquet",
        _wrong_type_parquet(),
        "quarantined",
        ("row 2, column 'close': not a valid double (got 'one and a half')",),
    ),
    BadFile(
        "nan_price.csv",
        bars("XRPUSDT,2024-01-01T00:00:00Z,1,2,1,NaN,5"),
        "quarantined",
        ("row 2, column 'close': not a finite number (got 'NaN')",),
    ),
    BadFile(
        "negative_price.csv",
        bars("XRPUSDT,2024-01-01T00:00:00Z,1,2,-1,1,5"),
        "quarantined",
        ("row 2, column 'low': price must be positive (got '-1')",),
    ),
    BadFile(
        "zero_price.csv",
        bars("XRPUSDT,2024-01-01T00:00:00Z,0,2,1,1,5"),
        "quarantined",
        ("row 2, column 'open': price must be positive (got '0')",),
    ),
    BadFile(
        "high_below_low.csv",
        bars("XRPUSDT,2024-01-01T00:00:00Z,1,1,2,1,5"),
        "quarantined",
        ("row 2, column 'high': high is below low (got '1')",),
    ),
    BadFile(
        "duplicate_conflict.csv",
        bars(
            "ADAUSDT,2024-01-01T00:00:00Z,1,2,1,2,5",
            "ADAUSDT,2024-01-01T00:01:00Z,1,2,1,2,5",
            "ADAUSDT,2024-01-01T00:00:00Z,1,2,1,2,6",
        ),
        "quarantined",
        ("row 2, column 'ts': duplicate key ['symbol', 'ts'] with different values",),
        notes="the reason also names the conflicting row (4)",
    ),
    BadFile(
        "duplicate_identical.csv",
        bars(
            "DOTUSDT,2024-01-01T00:00:00Z,1,2,1,2,5",
            "DOTUSDT,2024-01-01T00:00:00Z,1,2,1,2,5",
            "DOTUSDT,2024-01-01T00:01:00Z,1,2,1,2,5",
        ),
        "loaded",
        rows=2,
        warnings=("1 identical duplicate row(s) loaded once",),
    ),
    BadFile(
        "out_of_order.csv",
        bars(
            "LTCUSDT,2024-01-01T00:02:00Z,1,2,1,2,5",
            "LTCUSDT,2024-01-01T00:00:00Z,1,2,1,2,5",
            "LTCUSDT,2024-01-01T00:01:00Z,1,2,1,2,5",
        ),
        "loaded",
        rows=3,
    ),
    BadFile(
        "naive_timestamps.csv",
        bars("TRXUSDT,2024-01-01 00:00:00,1,2,1,2,5", "TRXUSDT,2024-01-01 00:01:00,1,2,1,2,5"),
        "loaded",
        rows=2,
        warnings=("column 'ts': 2 timestamp(s) without offset read as UTC",),
    ),
    BadFile(
        "mixed_offsets.csv",
        bars("AVAXUSDT,2024-01-01T00:00:00Z,1,2,1,2,5", "AVAXUSDT,2024-01-01 00:01:00,1,2,1,2,5"),
        "quarantined",
        ("row 3, column 'ts': timestamp without a UTC offset in a file whose other",),
    ),
    BadFile(
        "future.csv",
        bars("LINKUSDT,2024-01-01T00:00:00Z,1,2,1,2,5", "LINKUSDT,2031-06-01T00:00:00Z,1,2,1,2,5"),
        "quarantined",
        ("row 3, column 'ts': timestamp in the future: after the file was received",),
    ),
    BadFile("empty.csv", b"", "quarantined", ("empty.csv: file is empty",)),
    BadFile("header_only.csv", HEADER.encode(), "loaded", rows=0),
    BadFile(
        "not_utf8.csv",
        bars("BCHUSDT,2024-01-01T00:00:00Z,1,2,1,2,5")
        + b"BCH\xff\xfe,2024-01-01T00:01:00Z,1,2,1,2,5\n",
        "quarantined",
        ("row 3, column 'symbol', byte", "not UTF-8"),
    ),
    BadFile(
        "ragged.csv",
        bars("ETCUSDT,2024-01-01T00:00:00Z,1,2,1,2,5", "ETCUSDT,2024-01-01T00:01:00Z,1,2,1,2,5,7"),
        "quarantined",
        ("row 3: cannot read csv", "Expected Number of Columns: 7 Found: 8"),
    ),
    BadFile(
        "malformed.jsonl",
        b'{"symbol":"NEOUSDT","ts":"2024-01-01T00:00:00Z","open":1,"high":2,"low":1,'
        b'"close":2,"volume":5}\n{"symbol": "NEOUSDT", "ts": \n',
        "quarantined",
        ("row 2: cannot read jsonl: not valid JSON",),
    ),
)
