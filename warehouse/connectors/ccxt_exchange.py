"""Crypto exchange bars through ccxt: `fetch_ohlcv(symbol, timeframe, since, limit)` paged by since.

Any ccxt exchange id works (`binance` by default); the lake's vendor is that id. Symbols
are ccxt's unified ones, `BASE/QUOTE` (e.g. `BTC/USDT`), and land as `BASEQUOTE`
(`BTCUSDT`); a contract's settle suffix is kept after a dash (`BTC/USDT:USDT` ->
`BTCUSDT-USDT`). The exchange is created with `enableRateLimit` (ccxt's own throttle) and
requests are also spaced by the exchange's declared `rateLimit`. ccxt's network errors
(timeouts, 429 rate limits, exchange unavailable) are retried with backoff.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from warehouse.connectors.base import Pacer, bar_length, bars_frame

DEFAULT_EXCHANGE = "binance"
TIMEFRAMES = {"bars_1m": "1m", "bars_1d": "1d"}


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _spot_only() -> dict[str, Any]:
    # Binance-family exchanges load spot, USD-M and COIN-M markets by default (three
    # large requests); price bars need the spot list only. Other exchanges ignore it.
    return {"fetchMarkets": {"types": ["spot"]}}


@dataclass
class CcxtConnector:
    """Bars from one ccxt exchange (vendor = the exchange id)."""

    exchange_id: str = DEFAULT_EXCHANGE
    dataset: str = "bars_1m"
    page_size: int = 1000
    options: dict[str, Any] = field(default_factory=_spot_only)
    pacer: Pacer | None = None
    vendor: str = field(default="", init=False)
    exchange: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        """Create the exchange (rate limit on) and pace requests at its `rateLimit`."""
        import ccxt

        bar_length(self.dataset)
        if self.exchange_id not in ccxt.exchanges:
            raise ValueError(
                f"unknown ccxt exchange id {self.exchange_id!r} (see ccxt.exchanges, e.g. "
                "binance, coinbase, kraken, okx)"
            )
        if self.page_size < 1:
            raise ValueError(f"page_size must be positive, got {self.page_size}")
        self.vendor = self.exchange_id
        self.exchange = getattr(ccxt, self.exchange_id)(
            {"enableRateLimit": True, "options": dict(self.options)}
        )
        if self.pacer is None:
            self.pacer = Pacer(min_interval=self.exchange.rateLimit / 1000)

    def lake_symbol(self, symbol: str) -> str:
        """`BTC/USDT` -> `BTCUSDT`; `BTC/USDT:USDT` -> `BTCUSDT-USDT`."""
        pair, _, settle = symbol.strip().upper().partition(":")
        name = pair.replace("/", "")
        return f"{name}-{settle}" if settle else name

    def fetch(self, symbol: str, start: datetime, end: datetime) -> Iterator[pd.DataFrame]:
        """Pages of up to `page_size` bars, each starting right after the previous one."""
        import ccxt

        assert self.pacer is not None  # set in __post_init__
        timeframe = TIMEFRAMES[self.dataset]
        step = int(bar_length(self.dataset).total_seconds() * 1000)
        since, stop = _ms(start), _ms(end)
        while since < stop:
            rows = self.pacer.call(
                lambda s=since: self.exchange.fetch_ohlcv(symbol, timeframe, s, self.page_size),
                transient=lambda exc: isinstance(exc, ccxt.NetworkError),
                what=f"{self.exchange_id} {symbol} {timeframe} since {_iso(since)}",
            )
            rows = [row for row in rows if row[0] >= since]
            if not rows:
                # Exchanges answer either "the next bars after since" (empty: none yet) or
                # "bars in [since, since + limit)" (empty: a hole); moving one page on is
                # right for both and never skips a bar.
                since += step * self.page_size
                continue
            yield self._page(rows, symbol)
            since = rows[-1][0] + step

    def _page(self, rows: list[list[Any]], symbol: str) -> pd.DataFrame:
        """ccxt's `[ms, open, high, low, close, volume]` rows in the dataset's columns."""
        ts = pd.to_datetime([row[0] for row in rows], unit="ms", utc=True)
        values = {
            name: [row[i] for row in rows]
            for i, name in enumerate(("open", "high", "low", "close", "volume"), start=1)
        }
        return bars_frame(self.lake_symbol(symbol), ts, values, self.dataset)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%MZ")
