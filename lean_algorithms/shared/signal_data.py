"""LEAN custom data for the `signal_weights` table: one PythonData class plus pure parsers."""

# The exporter (signals/lean_export.py) writes, under the LEAN data folder:
#     custom/signal_weights/<strategy_id>/universe.csv           one row per traded symbol
#     custom/signal_weights/<strategy_id>/weights/<symbol>.csv   the rows of one symbol
# This file is copied into every exported LEAN project, so it imports nothing from signalyard.

# LEAN projects import their API with `from AlgorithmImports import *`:
# ruff: noqa: F403, F405

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from datetime import datetime

from AlgorithmImports import *
from QuantConnect.Logging import Log

SIGNAL_COLUMNS = ("symbol", "signal_timestamp", "timestamp", "signal", "strategy_id")
UNIVERSE_COLUMNS = (
    "symbol",
    "security_type",
    "market",
    "first_signal_timestamp",
    "last_signal_timestamp",
)
SECURITY_TYPES = ("crypto", "equity")
DATA_ROOT = "custom/signal_weights"
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_TIME_FORMATS = ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class SignalRow:
    """One parsed signal_weights row; times are naive UTC."""

    symbol: str
    signal_timestamp: datetime
    timestamp: datetime
    signal: float
    strategy_id: str


@dataclass(frozen=True)
class UniverseEntry:
    """One traded symbol of a strategy, with how LEAN subscribes it and its signal span (UTC)."""

    symbol: str
    security_type: str
    market: str
    first_signal_timestamp: datetime
    last_signal_timestamp: datetime


def parse_utc(text: str, column: str) -> datetime:
    """Parse `YYYY-MM-DDTHH:MM:SS[.ffffff]Z` into a naive UTC datetime."""
    for time_format in _TIME_FORMATS:
        try:
            return datetime.strptime(text, time_format)
        except ValueError:
            continue
    raise ValueError(f"column {column!r}: {text!r} is not a UTC time like 2024-01-31T00:00:00Z")


def parse_signal_line(line: str) -> SignalRow | None:
    """Parse one signal CSV line; None for the header or a blank line, ValueError if malformed."""
    text = line.strip()
    if not text or text == ",".join(SIGNAL_COLUMNS):
        return None
    fields = text.split(",")
    if len(fields) != len(SIGNAL_COLUMNS):
        raise ValueError(
            f"expected {len(SIGNAL_COLUMNS)} columns {SIGNAL_COLUMNS}, got {len(fields)}"
        )
    symbol, signal_timestamp, timestamp, signal, strategy_id = fields
    for column, value in (("symbol", symbol), ("strategy_id", strategy_id)):
        if not ID_PATTERN.fullmatch(value):
            raise ValueError(f"column {column!r}: {value!r} is not a valid identifier")
    row = SignalRow(
        symbol=symbol,
        signal_timestamp=parse_utc(signal_timestamp, "signal_timestamp"),
        timestamp=parse_utc(timestamp, "timestamp"),
        signal=_parse_signal(signal),
        strategy_id=strategy_id,
    )
    if row.timestamp > row.signal_timestamp:
        raise ValueError("column 'timestamp': later than signal_timestamp (look-ahead)")
    return row


def _parse_signal(text: str) -> float:
    """Parse a target weight and check it is finite and within -1..1."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"column 'signal': {text!r} is not a number") from None
    if not math.isfinite(value) or not -1.0 <= value <= 1.0:
        raise ValueError(f"column 'signal': {text!r} is not within -1..1")
    return value


def parse_universe(text: str, source: str) -> list[UniverseEntry]:
    """Parse a universe.csv text; ValueError naming `source`, row and column when malformed."""
    lines = [line.strip() for line in text.splitlines()]
    if not lines or lines[0] != ",".join(UNIVERSE_COLUMNS):
        raise ValueError(f"{source}: row 1: header must be {','.join(UNIVERSE_COLUMNS)}")
    entries = []
    for number, line in enumerate(lines[1:], start=2):
        if not line:
            continue
        fields = line.split(",")
        try:
            entries.append(_universe_entry(fields))
        except ValueError as err:
            raise ValueError(f"{source}: row {number}: {err}") from None
    return entries


def _universe_entry(fields: list[str]) -> UniverseEntry:
    """Build one UniverseEntry from the split fields of a universe.csv row."""
    if len(fields) != len(UNIVERSE_COLUMNS):
        raise ValueError(f"expected {len(UNIVERSE_COLUMNS)} columns, got {len(fields)}")
    symbol, security_type, market, first, last = fields
    if not ID_PATTERN.fullmatch(symbol):
        raise ValueError(f"column 'symbol': {symbol!r} is not a valid identifier")
    if security_type not in SECURITY_TYPES:
        raise ValueError(
            f"column 'security_type': {security_type!r} is not one of {SECURITY_TYPES}"
        )
    if not ID_PATTERN.fullmatch(market):
        raise ValueError(f"column 'market': {market!r} is not a valid identifier")
    return UniverseEntry(
        symbol=symbol,
        security_type=security_type,
        market=market,
        first_signal_timestamp=parse_utc(first, "first_signal_timestamp"),
        last_signal_timestamp=parse_utc(last, "last_signal_timestamp"),
    )


def default_account_currency(universe: list[UniverseEntry]) -> str:
    """USDT when every symbol is a USDT pair (Binance quotes), else USD."""
    usdt_only = all(entry.symbol.upper().endswith("USDT") for entry in universe)
    return "USDT" if universe and usdt_only else "USD"


def universe_key(strategy_id: str) -> str:
    """The data-folder-relative key of a strategy's universe file."""
    return f"{DATA_ROOT}/{strategy_id}/universe.csv"


def weights_key(strategy_id: str, symbol: str) -> str:
    """The data-folder-relative key of one symbol's signal file (file names are lower case)."""
    return f"{DATA_ROOT}/{strategy_id}/weights/{symbol.lower()}.csv"


def data_location(key: str, is_live_mode: bool) -> tuple[str, SubscriptionTransportMedium]:
    """Where a signal key is read from: the one place the live switch goes."""
    # Issue #6: in live mode read `key` from the ObjectStore (or the REST API) instead, i.e.
    # return (key, SubscriptionTransportMedium.OBJECT_STORE). Until then both modes read the
    # local file the exporter wrote.
    return os.path.join(Globals.data_folder, key), SubscriptionTransportMedium.LOCAL_FILE


def load_universe(algorithm: QCAlgorithm, strategy_id: str) -> list[UniverseEntry]:
    """Read a strategy's universe.csv from wherever `data_location` points."""
    location, medium = data_location(universe_key(strategy_id), algorithm.live_mode)
    if medium == SubscriptionTransportMedium.OBJECT_STORE:
        text = algorithm.object_store.read(location)
    else:
        with open(location, encoding="utf-8") as handle:
            text = handle.read()
    return parse_universe(text, location)


def traded_ticker(symbol: Symbol) -> str:
    """The traded ticker behind a signal subscription (its underlying when linked)."""
    return symbol.underlying.value if symbol.has_underlying else symbol.value


class SignalWeightData(PythonData):
    """A signal_weights row: time = timestamp, end_time = signal_timestamp, value = signal."""

    strategy_id: str = ""

    @classmethod
    def configure(cls, strategy_id: str) -> None:
        """Select the strategy whose files get_source reads (call once in initialize)."""
        if not ID_PATTERN.fullmatch(strategy_id):
            raise ValueError(f"parameter 'strategy_id': {strategy_id!r} is not a valid identifier")
        cls.strategy_id = strategy_id

    def get_source(
        self, config: SubscriptionDataConfig, date: datetime, is_live_mode: bool
    ) -> SubscriptionDataSource:
        """One CSV per strategy and symbol; the same file for every date."""
        key = weights_key(SignalWeightData.strategy_id, traded_ticker(config.symbol))
        location, medium = data_location(key, is_live_mode)
        return SubscriptionDataSource(location, medium, FileFormat.CSV)

    # LEAN skips a line for which the reader returns None; the stubs declare BaseData only.
    def reader(  # type: ignore[override]
        self, config: SubscriptionDataConfig, line: str, date: datetime, is_live_mode: bool
    ) -> BaseData | None:
        """Parse one line; None for the header and for bad lines (logged with file and reason)."""
        try:
            row = parse_signal_line(line)
        except ValueError as err:
            key = weights_key(SignalWeightData.strategy_id, traded_ticker(config.symbol))
            Log.error(f"SignalWeightData: skipped a bad line in {key}: {err}: {line.strip()!r}")
            return None
        if row is None:
            return None
        data = SignalWeightData()
        data.symbol = config.symbol
        data.time = row.timestamp
        # LEAN emits data at end_time: a row is seen only once it became available.
        data.end_time = row.signal_timestamp
        data.value = row.signal
        data["signal"] = row.signal
        data["strategy_id"] = row.strategy_id
        return data

    def is_sparse_data(self) -> bool:
        """Signals arrive irregularly; gaps are not missing data."""
        return True

    def requires_mapping(self) -> bool:
        """File names follow the exported symbol, never a mapped ticker."""
        return False
