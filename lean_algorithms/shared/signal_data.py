"""LEAN custom data for the `signal_weights` and `signal_orders` tables, plus pure parsers."""

# Keys, relative to the LEAN data folder (backtest) or the ObjectStore (live):
#     custom/signal_weights/<strategy_id>/universe.csv           one row per traded symbol
#     custom/signal_weights/<strategy_id>/weights/<symbol>.csv   the rows of one symbol
#     custom/signal_orders/<strategy_id>/universe.csv            same format as above
#     custom/signal_orders/<strategy_id>/orders/<symbol>.csv     bracket-order rows of one symbol
# This file is copied into every exported LEAN project, so it imports nothing from signalyard.
#
# Live switch (data_location): a backtest reads the files under Globals.data_folder; a live
# algorithm reads the same key from its ObjectStore (SubscriptionTransportMedium.OBJECT_STORE,
# the medium LEAN's custom-data docs give for streaming data kept in the Object Store). The
# ObjectStore is chosen over a REST URL because it needs no server and no secret in parameters:
# the publisher writes the same files to the workspace's `storage/` folder (local LEAN) or
# uploads them to the project's Object Store (QuantConnect Cloud).

# LEAN projects import their API with `from AlgorithmImports import *`:
# ruff: noqa: F403, F405

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

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
ORDERS_ROOT = "custom/signal_orders"
ORDER_COLUMNS = (
    "symbol",
    "signal_timestamp",
    "timestamp",
    "strategy_id",
    "direction",
    "entry_type",
    "entry_price",
    "stop_loss",
    "take_profit",
    "signal_id",
    "position_status",
)
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
class OrderRow:
    """One parsed signal_orders row; times are naive UTC, absent prices are None."""

    symbol: str
    signal_timestamp: datetime
    timestamp: datetime
    strategy_id: str
    direction: str
    entry_type: str
    entry_price: float | None
    stop_loss: float | None
    take_profit: float | None
    signal_id: str
    position_status: bool


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


def parse_order_line(line: str) -> OrderRow | None:
    """Parse one signal_orders CSV line; None for the header or a blank line, ValueError if bad."""
    text = line.strip()
    if not text or text == ",".join(ORDER_COLUMNS):
        return None
    fields = text.split(",")
    if len(fields) != len(ORDER_COLUMNS):
        raise ValueError(f"expected {len(ORDER_COLUMNS)} columns, got {len(fields)}")
    values = dict(zip(ORDER_COLUMNS, fields, strict=True))
    for column in ("symbol", "strategy_id", "signal_id"):
        if not ID_PATTERN.fullmatch(values[column]):
            raise ValueError(f"column {column!r}: {values[column]!r} is not a valid identifier")
    for column, allowed in _ORDER_CHOICES.items():
        if values[column] not in allowed:
            raise ValueError(f"column {column!r}: {values[column]!r} is not one of {allowed}")
    row = OrderRow(
        symbol=values["symbol"],
        signal_timestamp=parse_utc(values["signal_timestamp"], "signal_timestamp"),
        timestamp=parse_utc(values["timestamp"], "timestamp"),
        strategy_id=values["strategy_id"],
        direction=values["direction"],
        entry_type=values["entry_type"],
        entry_price=_parse_price(values["entry_price"], "entry_price"),
        stop_loss=_parse_price(values["stop_loss"], "stop_loss"),
        take_profit=_parse_price(values["take_profit"], "take_profit"),
        signal_id=values["signal_id"],
        position_status=values["position_status"] == "true",
    )
    if row.timestamp > row.signal_timestamp:
        raise ValueError("column 'timestamp': later than signal_timestamp (look-ahead)")
    if row.position_status:
        _check_entry_prices(row)
    return row


_ORDER_CHOICES = {
    "direction": ("buy", "sell"),
    "entry_type": ("market", "limit"),
    "position_status": ("true", "false"),
}


def _parse_price(text: str, column: str) -> float | None:
    """Parse an optional price: None when empty, else a finite positive number."""
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"column {column!r}: {text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"column {column!r}: {text!r} is not a positive price")
    return value


def _check_entry_prices(row: OrderRow) -> None:
    """Check an entry row's prices: a limit price, and stop/entry/target on the right sides.

    stop_loss and take_profit are each optional (a strategy without a stoploss or a take-profit);
    the ones present must satisfy stop < entry < target for a buy, the reverse for a sell (a
    market entry has no entry price, so only stop < target is checked when both are present).
    """
    if row.entry_type == "limit" and row.entry_price is None:
        raise ValueError("column 'entry_price': a limit entry needs a price")
    entry = row.entry_price if row.entry_type == "limit" else None
    buy = row.direction == "buy"

    def before(low: float | None, high: float | None) -> bool:
        """`low` is on the stop side of `high` (or one of them is absent)."""
        return low is None or high is None or (low < high if buy else low > high)

    if not (before(row.stop_loss, entry) and before(row.stop_loss, row.take_profit)):
        side = "below" if buy else "above"
        raise ValueError(f"column 'stop_loss': a {row.direction} needs it {side} the entry/target")
    if not before(entry, row.take_profit):
        side = "above" if buy else "below"
        raise ValueError(f"column 'take_profit': a {row.direction} needs it {side} the entry")


def optional_price(value: float | None) -> float | None:
    """A price read back from a SignalOrderData field: None when absent (stored as 0.0)."""
    if value is None:
        return None
    price = float(value)
    return price if price > 0 else None


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


def universe_key(strategy_id: str, root: str = DATA_ROOT) -> str:
    """The data-folder-relative key of a strategy's universe file (weights or orders root)."""
    return f"{root}/{strategy_id}/universe.csv"


def weights_key(strategy_id: str, symbol: str) -> str:
    """The data-folder-relative key of one symbol's signal file (file names are lower case)."""
    return f"{DATA_ROOT}/{strategy_id}/weights/{symbol.lower()}.csv"


def orders_key(strategy_id: str, symbol: str) -> str:
    """The data-folder-relative key of one symbol's bracket-order file (lower-case name)."""
    return f"{ORDERS_ROOT}/{strategy_id}/orders/{symbol.lower()}.csv"


def data_location(key: str, is_live_mode: bool) -> tuple[str, SubscriptionTransportMedium]:
    """Where a signal key is read from: live -> the ObjectStore key, backtest -> the data folder."""
    if is_live_mode:
        return key, SubscriptionTransportMedium.OBJECT_STORE
    return os.path.join(Globals.data_folder, key), SubscriptionTransportMedium.LOCAL_FILE


def load_universe(
    algorithm: QCAlgorithm, strategy_id: str, root: str = DATA_ROOT
) -> list[UniverseEntry]:
    """Read a strategy's universe.csv from wherever `data_location` points."""
    location, medium = data_location(universe_key(strategy_id, root), algorithm.live_mode)
    if medium == SubscriptionTransportMedium.OBJECT_STORE:
        text = algorithm.object_store.read(location)
    else:
        with open(location, encoding="utf-8") as handle:
            text = handle.read()
    return parse_universe(text, location)


def traded_ticker(symbol: Symbol) -> str:
    """The traded ticker behind a signal subscription (its underlying when linked)."""
    return symbol.underlying.value if symbol.has_underlying else symbol.value


class SignalFileData(PythonData):
    """Shared behaviour of the signal-table readers: one strategy, sparse, unmapped files.

    A subclass names its file (`file_key`), parses a line (`parse_line`) and copies the
    parsed row's columns onto the data point (`fill`); `time` = timestamp and `end_time` =
    signal_timestamp are set here, so LEAN emits a row only once it became available.
    """

    strategy_id: str = ""

    @classmethod
    def configure(cls, strategy_id: str) -> None:
        """Select the strategy whose files get_source reads (call once in initialize)."""
        if not ID_PATTERN.fullmatch(strategy_id):
            raise ValueError(f"parameter 'strategy_id': {strategy_id!r} is not a valid identifier")
        cls.strategy_id = strategy_id

    @classmethod
    def file_key(cls, ticker: str) -> str:
        """The data-folder key of one symbol's file for the configured strategy."""
        raise NotImplementedError(f"{cls.__name__} must name its files")

    @staticmethod
    def parse_line(line: str) -> SignalRow | OrderRow | None:
        """One parsed line; None for the header and blank lines, ValueError if malformed."""
        raise NotImplementedError("a signal reader must parse its lines")

    def fill(self, row: Any) -> None:
        """Copy the parsed row's columns onto this data point."""
        raise NotImplementedError(f"{type(self).__name__} must copy its columns")

    def get_source(
        self, config: SubscriptionDataConfig, date: datetime, is_live_mode: bool
    ) -> SubscriptionDataSource:
        """One CSV per strategy and symbol; the same file for every date."""
        location, medium = data_location(self.file_key(traded_ticker(config.symbol)), is_live_mode)
        return SubscriptionDataSource(location, medium, FileFormat.CSV)

    # LEAN skips a line for which the reader returns None; the stubs declare BaseData only.
    def reader(  # type: ignore[override]
        self, config: SubscriptionDataConfig, line: str, date: datetime, is_live_mode: bool
    ) -> BaseData | None:
        """Parse one line; None for the header and for bad lines (logged with file and reason)."""
        try:
            row = self.parse_line(line)
        except ValueError as err:
            key = self.file_key(traded_ticker(config.symbol))
            name = type(self).__name__
            Log.error(f"{name}: skipped a bad line in {key}: {err}: {line.strip()!r}")
            return None
        if row is None:
            return None
        data = type(self)()
        data.symbol = config.symbol
        data.time = row.timestamp
        # LEAN emits data at end_time: a row is seen only once it became available.
        data.end_time = row.signal_timestamp
        data.fill(row)
        return data

    def is_sparse_data(self) -> bool:
        """Signals arrive irregularly; gaps are not missing data."""
        return True

    def requires_mapping(self) -> bool:
        """File names follow the exported symbol, never a mapped ticker."""
        return False


class SignalWeightData(SignalFileData):
    """A signal_weights row: time = timestamp, end_time = signal_timestamp, value = signal."""

    @classmethod
    def file_key(cls, ticker: str) -> str:
        """`custom/signal_weights/<strategy_id>/weights/<ticker>.csv`."""
        return weights_key(cls.strategy_id, ticker)

    @staticmethod
    def parse_line(line: str) -> SignalRow | None:
        """A signal_weights line."""
        return parse_signal_line(line)

    def fill(self, row: SignalRow) -> None:
        """The weight as value, plus the signal and strategy_id columns."""
        self.value = row.signal
        self["signal"] = row.signal
        self["strategy_id"] = row.strategy_id


class SignalOrderData(SignalFileData):
    """A signal_orders row: time = timestamp, end_time = signal_timestamp.

    Absent prices (an empty entry_price, stop_loss or take_profit) are stored as 0.0, which no
    parsed price can be (prices are positive): read them back with `optional_price`, which
    turns 0.0 into None. 0.0 rather than None keeps every field a number in LEAN's data store.
    """

    @classmethod
    def file_key(cls, ticker: str) -> str:
        """`custom/signal_orders/<strategy_id>/orders/<ticker>.csv`."""
        return orders_key(cls.strategy_id, ticker)

    @staticmethod
    def parse_line(line: str) -> OrderRow | None:
        """A signal_orders line."""
        return parse_order_line(line)

    def fill(self, row: OrderRow) -> None:
        """Every order column; absent prices as 0.0 (see the class docstring)."""
        self.value = row.entry_price or 0.0
        self["strategy_id"] = row.strategy_id
        self["direction"] = row.direction
        self["entry_type"] = row.entry_type
        self["entry_price"] = row.entry_price or 0.0
        self["stop_loss"] = row.stop_loss or 0.0
        self["take_profit"] = row.take_profit or 0.0
        self["signal_id"] = row.signal_id
        self["position_status"] = row.position_status
