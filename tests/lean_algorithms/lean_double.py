"""A test double for the slice of LEAN's API the signalyard algorithms use, plus a replay clock.

Not an engine: one clock over a price path the test defines, the custom-data class's own
get_source/reader for the signal rows (each delivered at the first step at or after its end_time),
and simple fills checked at each step's bar (market at the open; stop and limit at their price,
or at the open when the bar gaps through them; at most `max_fill` units per order per bar).
"""

from __future__ import annotations

import importlib.util
import math
import sys
import types
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

LEAN_DIR = Path(__file__).resolve().parents[2] / "lean_algorithms"


def _names(**values: Any) -> types.SimpleNamespace:
    """An enum-like namespace."""
    return types.SimpleNamespace(**values)


Resolution = _names(MINUTE="minute", HOUR="hour", DAILY="daily")
TimeZones = _names(UTC="UTC")
Market = _names(BINANCE="binance", COINBASE="coinbase", USA="usa")
BrokerageName = _names(BINANCE="binance")
AccountType = _names(MARGIN="margin", CASH="cash")
PortfolioBias = _names(LONG_SHORT="long_short")
SecurityType = _names(BASE="base", CRYPTO="crypto", EQUITY="equity")
InsightDirection = _names(UP=1, DOWN=-1, FLAT=0)
OrderType = _names(MARKET="market", LIMIT="limit", STOP_MARKET="stop_market")
OrderStatus = _names(PARTIALLY_FILLED="partial", FILLED="filled", CANCELED="canceled")
OrderField = _names(LIMIT_PRICE="limit_price", STOP_PRICE="stop_price")
SubscriptionTransportMedium = _names(LOCAL_FILE="local_file", OBJECT_STORE="object_store")
FileFormat = _names(CSV="csv")
Globals = _names(data_folder="")


@dataclass(frozen=True)
class Symbol:
    """A ticker; signal subscriptions link to their traded symbol as underlying."""

    value: str
    underlying: Symbol | None = None

    @property
    def has_underlying(self) -> bool:
        """Whether this is a linked (signal) symbol."""
        return self.underlying is not None


class Log:
    """Collects Log.error messages."""

    errors: list[str] = []

    @staticmethod
    def error(message: str) -> None:
        """Record an error line."""
        Log.errors.append(message)


class PythonData:
    """Custom data: time, end_time, value and dynamic fields by name."""

    def __init__(self) -> None:
        """An empty data point."""
        self.symbol: Symbol | None = None
        self.time = self.end_time = datetime.min
        self.value = 0.0
        self.fields: dict[str, Any] = {}

    def __setitem__(self, name: str, value: Any) -> None:
        self.fields[name] = value

    def __getitem__(self, name: str) -> Any:
        return self.fields[name]


@dataclass
class SubscriptionDataSource:
    """Where get_source says the data is."""

    source: str
    transport_medium: str
    format: str


@dataclass
class Insight:
    """A price insight as the alpha model emits it."""

    symbol: Symbol
    period: timedelta
    direction: int
    weight: float | None
    tag: str = ""

    @staticmethod
    def price(symbol: Symbol, period: timedelta, direction: int, **kwargs: Any) -> Insight:
        """Insight.price(symbol, period, direction, weight=..., tag=...)."""
        return Insight(symbol, period, direction, kwargs.get("weight"), kwargs.get("tag", ""))


class Model:
    """Framework models the double only records (alpha base, PCM, execution, risk)."""

    def __init__(self, *args: Any) -> None:
        self.args = args


@dataclass
class Security:
    """A subscribed security with its last price."""

    symbol: Symbol
    type: str
    price: float = 0.0
    symbol_properties: Any = field(default_factory=lambda: _names(lot_size=1.0))


@dataclass
class Holding:
    """A position."""

    quantity: float = 0.0

    @property
    def invested(self) -> bool:
        """Whether the position is not flat."""
        return self.quantity != 0


@dataclass
class Order:
    """An order as the broker keeps it."""

    id: int
    symbol: Symbol
    quantity: float
    type: str
    tag: str
    limit_price: float = 0.0
    stop_price: float = 0.0
    filled: float = 0.0
    status: str = "submitted"


@dataclass
class OrderEvent:
    """A fill."""

    order_id: int
    symbol: Symbol
    status: str
    fill_quantity: float
    fill_price: float


class OrderTicket:
    """A handle on one broker order: read, update the quantity, cancel."""

    def __init__(self, broker: Broker, order: Order) -> None:
        self.broker, self.order = broker, order
        self.order_id = order.id

    quantity = property(lambda self: self.order.quantity)
    quantity_filled = property(lambda self: self.order.filled)
    tag = property(lambda self: self.order.tag)
    order_type = property(lambda self: self.order.type)
    status = property(lambda self: self.order.status)

    def get(self, name: str) -> float:
        """ticket.get(OrderField.X)."""
        return float(getattr(self.order, name))

    def update_quantity(self, quantity: float, tag: str | None = None) -> None:
        """Change the order's total quantity (open orders only)."""
        if self.order.status in ("submitted", "partial"):
            self.order.quantity = quantity

    def cancel(self, tag: str | None = None) -> None:
        """Cancel if still open."""
        if self.order.status in ("submitted", "partial"):
            self.order.status = "canceled"


class Broker:
    """Orders, holdings and cash; outlives an algorithm instance (a restart keeps it)."""

    def __init__(self) -> None:
        self.orders: list[Order] = []
        self.holdings: dict[Symbol, Holding] = {}
        self.cash = 0.0
        self.prices: dict[Symbol, float] = {}
        self.algorithm: QCAlgorithm | None = None
        self.sync_market = False  # like a LEAN backtest: market orders fill inside the call

    def submit(self, symbol: Symbol, quantity: float, kind: str, tag: str, **prices: Any) -> Any:
        """Accept an order and return its ticket."""
        order = Order(len(self.orders) + 1, symbol, quantity, kind, tag, **prices)
        self.orders.append(order)
        if kind == "market" and self.sync_market and symbol in self.prices:
            price = self.prices[symbol]
            self._fill(order, price, Bar(price, price, price, price))
        return OrderTicket(self, order)

    def open_orders(self) -> list[Order]:
        """Orders not filled or cancelled."""
        return [order for order in self.orders if order.status in ("submitted", "partial")]

    def fill(self, bars: dict[Symbol, Bar]) -> None:
        """Fill open orders against this step's bars, telling the algorithm after each fill."""
        for order in list(self.open_orders()):
            bar = bars.get(order.symbol)
            if bar is None or order.status not in ("submitted", "partial"):
                continue  # cancelled by an earlier fill's event handler in this step
            price = fill_price(order, bar)
            if price is not None:
                self._fill(order, price, bar)

    def _fill(self, order: Order, price: float, bar: Bar) -> None:
        """Fill up to the bar's max_fill at `price`; update holdings and cash; raise the event."""
        remaining = order.quantity - order.filled
        quantity = math.copysign(min(abs(remaining), bar.max_fill), remaining)
        order.filled += quantity
        order.status = "filled" if order.filled == order.quantity else "partial"
        self.holdings.setdefault(order.symbol, Holding()).quantity += quantity
        self.cash -= quantity * price
        assert self.algorithm is not None
        event = OrderEvent(order.id, order.symbol, order.status, quantity, price)
        self.algorithm.on_order_event(event)

    def total_value(self) -> float:
        """Cash plus holdings at the last prices."""
        held = sum(h.quantity * self.prices.get(s, 0.0) for s, h in self.holdings.items())
        return self.cash + held


@dataclass(frozen=True)
class Bar:
    """One step's prices for one symbol; `max_fill` caps each order's fill in this bar."""

    open: float
    high: float
    low: float
    close: float
    max_fill: float = math.inf


def fill_price(order: Order, bar: Bar) -> float | None:
    """Where an order fills in this bar (the open if the bar gaps through it), or None."""
    buy = order.quantity > 0
    if order.type == "market":
        return bar.open
    if order.type == "stop_market":
        level = order.stop_price
        if (bar.open >= level) if buy else (bar.open <= level):
            return bar.open
        return level if ((bar.high >= level) if buy else (bar.low <= level)) else None
    level = order.limit_price
    if (bar.open <= level) if buy else (bar.open >= level):
        return bar.open
    return level if ((bar.low <= level) if buy else (bar.high >= level)) else None


class Portfolio:
    """algorithm.portfolio: holdings by symbol and the total value."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker

    def __getitem__(self, symbol: Symbol) -> Holding:
        return self.broker.holdings.setdefault(symbol, Holding())

    @property
    def total_portfolio_value(self) -> float:
        """Cash plus holdings at the last prices."""
        return self.broker.total_value()


class Transactions:
    """algorithm.transactions: open orders and their tickets."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker

    def get_open_orders(self) -> list[Order]:
        """Open orders."""
        return self.broker.open_orders()

    def get_order_ticket(self, order_id: int) -> OrderTicket:
        """A ticket for an existing order."""
        return OrderTicket(self.broker, self.broker.orders[order_id - 1])


class QCAlgorithm:
    """The QCAlgorithm members the algorithms call; the replay sets broker, parameters, mode."""

    broker: Broker
    parameters: dict[str, str]
    live_mode = False
    object_store: Any = None

    def get_parameter(self, name: str, default: Any = None) -> Any:
        """The parameter parsed like its default's type, or the default when unset."""
        text = self.parameters.get(name)
        if text is None or default is None or isinstance(default, str):
            return default if text is None else text
        return type(default)(text)

    def _setup(self) -> None:
        """Fields a fresh instance needs before initialize."""
        self.securities: dict[Symbol, Security] = {}
        self.subscriptions: list[tuple[type, Symbol]] = []
        self.alpha: Any = None
        self.portfolio = Portfolio(self.broker)
        self.transactions = Transactions(self.broker)
        self.insights = _names(cancel=lambda symbols: None)
        self.messages: list[str] = []
        self.time = datetime.min

    def set_cash(self, cash: float) -> None:
        """Starting cash (ignored after a restart: the broker keeps its cash)."""
        if not self.broker.orders:
            self.broker.cash = float(cash)

    def _add(self, ticker: str, kind: str) -> Security:
        security = Security(Symbol(ticker), kind)
        self.securities[security.symbol] = security
        return security

    def add_crypto(self, ticker: str, resolution: Any = None, market: Any = None) -> Security:
        return self._add(ticker, "crypto")

    def add_equity(self, ticker: str, resolution: Any = None, market: Any = None) -> Security:
        return self._add(ticker, "equity")

    def add_data(self, cls: type, underlying: Symbol, *args: Any) -> Security:
        security = Security(Symbol(f"{underlying.value}.{cls.__name__}", underlying), "base")
        self.securities[security.symbol] = security
        self.subscriptions.append((cls, security.symbol))
        return security

    def set_alpha(self, alpha: Any) -> None:
        self.alpha = alpha

    def market_order(self, symbol: Symbol, quantity: float, tag: str = "") -> OrderTicket:
        return self.broker.submit(symbol, quantity, "market", tag)

    def limit_order(self, symbol: Symbol, quantity: float, price: float, tag: str = "") -> Any:
        return self.broker.submit(symbol, quantity, "limit", tag, limit_price=price)

    def stop_market_order(
        self, symbol: Symbol, quantity: float, price: float, tag: str = ""
    ) -> Any:
        return self.broker.submit(symbol, quantity, "stop_market", tag, stop_price=price)

    def debug(self, message: str) -> None:
        self.messages.append(message)

    def __getattr__(self, name: str) -> Any:
        """set_* / add_risk_management and the event handlers an algorithm may not define."""
        if name.startswith(("set_", "add_risk", "on_")):
            return lambda *args, **kwargs: None
        raise AttributeError(name)


def install(monkeypatch: pytest.MonkeyPatch) -> None:
    """Put this module in place of AlgorithmImports / QuantConnect and clear recorded logs."""
    names = {k: v for k, v in globals().items() if not k.startswith("_")}
    algorithm_imports = types.ModuleType("AlgorithmImports")
    algorithm_imports.__dict__.update(names)
    for name in ("AlphaModel", "ImmediateExecutionModel", "MaximumDrawdownPercentPortfolio"):
        setattr(algorithm_imports, name, Model)
    algorithm_imports.InsightWeightingPortfolioConstructionModel = Model  # type: ignore[attr-defined]
    logging = types.ModuleType("QuantConnect.Logging")
    logging.Log = Log  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "AlgorithmImports", algorithm_imports)
    monkeypatch.setitem(sys.modules, "QuantConnect", types.ModuleType("QuantConnect"))
    monkeypatch.setitem(sys.modules, "QuantConnect.Logging", logging)
    Log.errors.clear()


def load(monkeypatch: pytest.MonkeyPatch, path: Path, name: str) -> types.ModuleType:
    """Import a LEAN source file under `name` (after install)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module
