"""BracketSignals: trade one strategy's exported signal_orders as entry + stop/target brackets."""

# LEAN projects import their API with `from AlgorithmImports import *`:
# ruff: noqa: F403, F405

from __future__ import annotations

import math

from algorithm_setup import wire_signals
from AlgorithmImports import *
from signal_data import (
    ORDERS_ROOT,
    SignalOrderData,
    optional_price,
)

# Order tags are "<signal_id>:<role>"; an entry's tag also carries its bracket prices
# ("<signal_id>:entry:<stop_loss>:<take_profit>", an absent leg as an empty field, e.g.
# "<signal_id>:entry::<take_profit>") so a restarted algorithm can bracket its fills.
ENTRY, STOP, TARGET, EXIT = "entry", "stop", "target", "exit"


def entry_tag(signal_id: str, stop_loss: float | None, take_profit: float | None) -> str:
    """The tag of an entry order: its signal_id plus the bracket prices to place on fills."""
    return f"{signal_id}:{ENTRY}:{_tag_price(stop_loss)}:{_tag_price(take_profit)}"


def _tag_price(price: float | None) -> str:
    """A bracket price as written in an entry tag: empty when the leg is absent."""
    return "" if price is None else repr(price)


def parse_tag(tag: str) -> tuple[str, str, list[float | None]]:
    """Split an order tag into signal_id, role and prices; role "" for tags not written here.

    An entry tag's prices are [stop_loss, take_profit], None for an absent leg.
    """
    parts = (tag or "").split(":")
    if len(parts) == 2 and parts[1] in (STOP, TARGET, EXIT):
        return parts[0], parts[1], []
    if len(parts) == 4 and parts[1] == ENTRY:
        try:
            prices = [float(text) if text else None for text in parts[2:]]
        except ValueError:
            return "", "", []
        if all(price is None or (math.isfinite(price) and price > 0) for price in prices):
            return parts[0], ENTRY, prices
    return "", "", []


class BracketSignalsAlgorithm(QCAlgorithm):
    """Signal rows -> entry orders; entry fills -> one-cancels-other stop/target brackets."""

    def initialize(self) -> None:
        """Wire parameters, subscriptions and the bracket book; no order logic here."""
        wire_signals(self, SignalOrderData, ORDERS_ROOT)
        self.book = BracketBook(
            self,
            self.get_parameter("position_size", 0.1),
            self.get_parameter("max_open_positions", 10),
        )

    def on_warmup_finished(self) -> None:
        """Rebuild bracket state from open orders (live: loaded from the brokerage by now)."""
        self.book.rebuild()

    def on_data(self, slice: Slice) -> None:
        """Act on the signal rows that became available in this slice."""
        self.book.rebuild()  # no-op once done; guards an engine that skips on_warmup_finished
        for signal_symbol, row in slice.get(SignalOrderData).items():
            self.book.on_signal(signal_symbol.underlying, row)

    def on_order_event(self, order_event: OrderEvent) -> None:
        """Bracket entry fills and cancel the other side when a stop or target fills."""
        self.book.on_order_event(order_event)


class SymbolBracket:
    """One symbol's trade: the entry ticket, the stop and target tickets and filled amounts."""

    def __init__(
        self, symbol: Symbol, signal_id: str, sign: int, stop: float | None, target: float | None
    ):
        """A trade of `sign` (+1 buy, -1 sell) bracketed at `stop` and `target` (None: no leg)."""
        self.symbol, self.signal_id, self.sign = symbol, signal_id, sign
        self.stop_price, self.target_price = stop, target
        self.entry: OrderTicket | None = None
        self.stop: OrderTicket | None = None
        self.target: OrderTicket | None = None
        self.filled = 0.0  # entry quantity filled so far (absolute)
        self.closed = 0.0  # quantity closed by the stop or the target so far (absolute)

    def tickets(self) -> list[OrderTicket]:
        """The open tickets of this trade."""
        return [ticket for ticket in (self.entry, self.stop, self.target) if ticket is not None]

    def on_entry_fill(self, algorithm: QCAlgorithm, fill_quantity: float, done: bool) -> None:
        """Bracket everything filled so far: place the legs that exist, or resize them."""
        self.filled += abs(fill_quantity)
        open_quantity = self.filled - self.closed
        quantity = -self.sign * open_quantity
        if self.stop_price is not None:
            if self.stop is None:
                self.stop = algorithm.stop_market_order(
                    self.symbol, quantity, self.stop_price, tag=f"{self.signal_id}:{STOP}"
                )
            else:
                self._resize(self.stop, open_quantity)
        if self.target_price is not None:
            if self.target is None:
                self.target = algorithm.limit_order(
                    self.symbol, quantity, self.target_price, tag=f"{self.signal_id}:{TARGET}"
                )
            else:
                self._resize(self.target, open_quantity)
        if done:
            self.entry = None

    def on_exit_fill(self, order_id: int, fill_quantity: float, done: bool) -> bool:
        """Count a stop/target fill; cancel or shrink the other leg, if any. True when ended."""
        self.closed += abs(fill_quantity)
        open_quantity = self.filled - self.closed
        stop_filled = self.stop is not None and self.stop.order_id == order_id
        other = self.target if stop_filled else self.stop
        if not done and open_quantity > 0:
            if other is not None:
                self._resize(other, open_quantity)
            return False
        for ticket in (other, self.entry):
            if ticket is not None:
                ticket.cancel(f"{self.signal_id}:oco")
        return True

    def _resize(self, ticket: OrderTicket, open_quantity: float) -> None:
        """Make a bracket order close `open_quantity` beyond what it already filled."""
        total = abs(ticket.quantity_filled) + open_quantity
        ticket.update_quantity(-self.sign * total)

    def cancel_all(self, tag: str) -> None:
        """Cancel the entry and both brackets."""
        for ticket in self.tickets():
            ticket.cancel(tag)


class BracketBook:
    """All symbols' brackets: places entries, brackets fills, handles exits and restarts."""

    def __init__(self, algorithm: QCAlgorithm, position_size: float, max_open: int) -> None:
        """Size entries at `position_size` of portfolio value; at most `max_open` trades."""
        if not 0 < position_size <= 1:
            raise ValueError(f"parameter 'position_size': {position_size} is not within (0, 1]")
        self.algorithm, self.position_size, self.max_open = algorithm, position_size, max_open
        self.by_symbol: dict[Symbol, SymbolBracket] = {}
        self.rebuilt = False

    def on_signal(self, symbol: Symbol, row: SignalOrderData) -> None:
        """An entry row opens a trade bracketed by its legs; an exit row liquidates and cancels."""
        signal_id = str(row["signal_id"])
        if not bool(row["position_status"]):
            self.exit(symbol, signal_id)
            return
        if symbol in self.by_symbol or self.algorithm.portfolio[symbol].invested:
            self.algorithm.debug(f"{signal_id}: {symbol.value} already has a trade; entry skipped")
            return
        if len(self.by_symbol) >= self.max_open:
            self.algorithm.debug(f"{signal_id}: {self.max_open} trades open; entry skipped")
            return
        sign = 1 if row["direction"] == "buy" else -1
        limit = row["entry_type"] == "limit"
        price = float(row["entry_price"]) if limit else self.algorithm.securities[symbol].price
        quantity = sign * self._quantity(symbol, price)
        if quantity == 0:
            self.algorithm.debug(f"{signal_id}: {symbol.value} sizes to zero; entry skipped")
            return
        stop, target = optional_price(row["stop_loss"]), optional_price(row["take_profit"])
        trade = SymbolBracket(symbol, signal_id, sign, stop, target)
        self.by_symbol[symbol] = trade
        tag = entry_tag(signal_id, stop, target)
        if limit:
            ticket = self.algorithm.limit_order(symbol, quantity, price, tag=tag)
        else:
            ticket = self.algorithm.market_order(symbol, quantity, tag=tag)
        # A backtest fills market orders (and raises their events) before market_order returns.
        if ticket.status != OrderStatus.FILLED:
            trade.entry = ticket

    def _quantity(self, symbol: Symbol, price: float) -> float:
        """Absolute entry quantity: position_size of portfolio value, rounded down to lots."""
        if price <= 0:
            return 0.0
        lot = self.algorithm.securities[symbol].symbol_properties.lot_size or 1.0
        raw = self.position_size * self.algorithm.portfolio.total_portfolio_value / price
        return math.floor(raw / lot + 1e-9) * lot

    def exit(self, symbol: Symbol, signal_id: str) -> None:
        """Cancel the symbol's entry and bracket, then close its position at market."""
        trade = self.by_symbol.pop(symbol, None)
        if trade is not None:
            trade.cancel_all(f"{signal_id}:{EXIT}")
        quantity = self.algorithm.portfolio[symbol].quantity
        if quantity != 0:
            self.algorithm.market_order(symbol, -quantity, tag=f"{signal_id}:{EXIT}")

    def on_order_event(self, order_event: OrderEvent) -> None:
        """Route fills by their order's tag to the trade's entry, stop or target."""
        trade = self.by_symbol.get(order_event.symbol)
        if order_event.fill_quantity == 0 or trade is None:
            return
        order_id, done = order_event.order_id, order_event.status == OrderStatus.FILLED
        ticket = self.algorithm.transactions.get_order_ticket(order_id)
        signal_id, role, _ = parse_tag(ticket.tag)
        if signal_id != trade.signal_id:
            return
        if role == ENTRY:
            trade.on_entry_fill(self.algorithm, order_event.fill_quantity, done)
        elif role in (STOP, TARGET) and trade.on_exit_fill(
            order_id, order_event.fill_quantity, done
        ):
            del self.by_symbol[trade.symbol]

    def rebuild(self) -> None:
        """Restore trades from open orders and their tags, once; never places an order."""
        if self.rebuilt:
            return
        self.rebuilt = True
        transactions = self.algorithm.transactions
        for order in transactions.get_open_orders():
            signal_id, role, prices = parse_tag(order.tag)
            if not role or role == EXIT:
                continue
            ticket = transactions.get_order_ticket(order.id)
            trade = self.by_symbol.get(order.symbol)
            sign = 1 if (order.quantity > 0) == (role == ENTRY) else -1
            if trade is None:
                trade = SymbolBracket(order.symbol, signal_id, sign, None, None)
                self.by_symbol[order.symbol] = trade
            if role == ENTRY:
                trade.entry = ticket
                trade.stop_price, trade.target_price = prices
            elif role == STOP:
                trade.stop = ticket
                trade.stop_price = ticket.get(OrderField.STOP_PRICE)
            else:
                trade.target = ticket
                trade.target_price = ticket.get(OrderField.LIMIT_PRICE)
        for trade in self.by_symbol.values():
            brackets = [t for t in (trade.stop, trade.target) if t is not None]
            trade.closed = sum(abs(t.quantity_filled) for t in brackets)
            unfilled = [abs(t.quantity) - abs(t.quantity_filled) for t in brackets]
            open_quantity = max(unfilled, default=0.0)
            trade.filled = trade.closed + open_quantity
