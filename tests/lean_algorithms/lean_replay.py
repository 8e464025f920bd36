"""The replay clock of the LEAN test double: steps a price path, fills, delivers signal rows."""

from __future__ import annotations

import math
import types
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from lean_double import (
    Bar,
    Broker,
    Insight,
    PythonData,
    QCAlgorithm,
    SubscriptionTransportMedium,
    Symbol,
    _names,
)

LoadAlgorithm = Callable[[str], types.ModuleType]


class Slice:
    """The signal rows of one step, by data class."""

    def __init__(self, rows: list[PythonData]) -> None:
        self.rows = rows

    def get(self, cls: type) -> dict[Symbol, PythonData]:
        """slice.get(DataClass): {signal symbol: row}."""
        return {row.symbol: row for row in self.rows if isinstance(row, cls)}  # type: ignore[misc]


@dataclass
class FolderObjectStore:
    """algorithm.object_store over a folder (LEAN's local `storage/`)."""

    root: Path

    def read(self, key: str) -> str:
        """The text stored under `key`."""
        return (self.root / key).read_text(encoding="utf-8")


class Replay:
    """Runs one algorithm class over `path` ({time: {ticker: Bar}}); `restart()` swaps instances."""

    def __init__(
        self,
        algorithm_class: type,
        parameters: dict[str, str],
        path: dict[datetime, dict[str, Bar]],
        object_store: FolderObjectStore | None = None,
    ) -> None:
        self.algorithm_class, self.parameters, self.path = algorithm_class, parameters, path
        self.object_store = object_store
        self.broker = Broker()
        self.now: datetime | None = None
        self.delivered: list[tuple[datetime, PythonData]] = []
        self.insights: list[tuple[datetime, Insight]] = []
        self.holdings: dict[datetime, dict[str, float]] = {}
        self.start()

    def start(self) -> None:
        """A fresh algorithm instance on the same broker: initialize, warm-up end, read signals."""
        algorithm: QCAlgorithm = self.algorithm_class()
        algorithm.broker, algorithm.parameters = self.broker, self.parameters
        algorithm.live_mode = self.object_store is not None
        algorithm.object_store = self.object_store
        algorithm._setup()
        self.broker.algorithm = self.algorithm = algorithm
        algorithm.initialize()
        for symbol, security in algorithm.securities.items():
            security.price = self.broker.prices.get(symbol, 0.0)  # a restart sees last prices
        if algorithm.alpha is not None:
            changes = _names(added_securities=list(algorithm.securities.values()))
            changes.removed_securities = []
            algorithm.alpha.on_securities_changed(algorithm, changes)
        algorithm.on_warmup_finished()
        rows = [row for cls, symbol in algorithm.subscriptions for row in self._read(cls, symbol)]
        # A restarted instance sees only rows it has not been given yet (live data moves on).
        self.pending = [row for row in rows if self.now is None or row.end_time > self.now]
        self.pending.sort(key=lambda row: row.end_time)

    restart = start

    def _read(self, cls: type, symbol: Symbol) -> list[PythonData]:
        """Every row the class's reader makes of the file its get_source names."""
        config, live = _names(symbol=symbol), self.algorithm.live_mode
        reader = cls()
        source = reader.get_source(config, datetime.min, live)
        if source.transport_medium == SubscriptionTransportMedium.OBJECT_STORE:
            assert self.object_store is not None, "live source without an object store"
            text = self.object_store.read(source.source)
        else:
            assert source.transport_medium == SubscriptionTransportMedium.LOCAL_FILE
            text = Path(source.source).read_text(encoding="utf-8")
        rows = [reader.reader(config, line, datetime.min, live) for line in text.splitlines()]
        return [row for row in rows if row is not None]

    def run(self, until: datetime | None = None) -> None:
        """Step the clock through the path (after `now`, up to `until`)."""
        for time in sorted(self.path):
            if (self.now is not None and time <= self.now) or (until and time > until):
                continue
            self.step(time)

    def step(self, time: datetime) -> None:
        """Fill open orders against this bar, mark prices, deliver the rows now available."""
        algorithm, bars = self.algorithm, {Symbol(k): v for k, v in self.path[time].items()}
        algorithm.time = self.now = time
        self.broker.fill(bars)
        for symbol, bar in bars.items():
            self.broker.prices[symbol] = bar.close
            if symbol in algorithm.securities:
                algorithm.securities[symbol].price = bar.close
        due = [row for row in self.pending if row.end_time <= time]
        self.pending = self.pending[len(due) :]
        if due:
            self.delivered.extend((time, row) for row in due)
            algorithm.on_data(Slice(due))
            if algorithm.alpha is not None:
                self._framework(algorithm.alpha.update(algorithm, Slice(due)))
        self.holdings[time] = {
            s.value: h.quantity for s, h in self.broker.holdings.items() if h.quantity
        }

    def _framework(self, insights: list[Insight]) -> None:
        """A stand-in portfolio model: target = direction x weight of portfolio value, at market."""
        algorithm = self.algorithm
        for insight in insights:
            self.insights.append((self.now, insight))  # type: ignore[arg-type]
            price = algorithm.securities[insight.symbol].price
            target = insight.direction * (insight.weight or 0.0)
            quantity = math.trunc(target * algorithm.portfolio.total_portfolio_value / price)
            pending = sum(
                o.quantity - o.filled
                for o in self.broker.open_orders()
                if o.symbol == insight.symbol
            )
            delta = quantity - algorithm.portfolio[insight.symbol].quantity - pending
            if delta:
                algorithm.market_order(insight.symbol, delta, tag=insight.tag)

    def orders(self) -> list[tuple[str, str, float, float, str, str]]:
        """Every order: (symbol, type, quantity, price, tag, status)."""
        return [
            (o.symbol.value, o.type, o.quantity, o.stop_price or o.limit_price, o.tag, o.status)
            for o in self.broker.orders
        ]


def bars(times: list[datetime], ticker: str, *prices: Any) -> dict[datetime, dict[str, Bar]]:
    """A path for one ticker: a Bar or a flat price per time."""
    path: dict[datetime, dict[str, Bar]] = {}
    for time, price in zip(times, prices, strict=True):
        bar = price if isinstance(price, Bar) else Bar(price, price, price, price)
        path[time] = {ticker: bar}
    return path


def write_table(root: Path, table: str, strategy_id: str, files: dict[str, str]) -> None:
    """Write a universe.csv and signal files under root/custom/<table>/<strategy_id>/."""
    folder = root / "custom" / table / strategy_id
    for relative, text in files.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(text, encoding="utf-8")
