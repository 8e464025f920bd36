"""Alpaca market data bars through alpaca-py's `StockHistoricalDataClient.get_stock_bars`.

Keys come from `APCA_API_KEY_ID` / `APCA_API_SECRET_KEY` (or the constructor) and are
never logged, shown in a repr or put in an error message. One request window per page
(a UTC day of 1-minute bars, or a year of daily bars); within a window alpaca-py follows
the API's `next_page_token` until the window is complete. Daily bars are stamped at
midnight New York time by Alpaca; their `ts` here is that session date at 00:00 UTC.
alpaca-py itself waits and retries HTTP 429 and 504 answers (3 times, 3 seconds apart);
other 5xx answers and network errors are retried here with backoff.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from warehouse.connectors.base import Pacer, bar_length, bars_frame, windows
from warehouse.secrets import Secret

VENDOR = "alpaca"
KEY_ENV = "APCA_API_KEY_ID"
SECRET_ENV = "APCA_API_SECRET_KEY"
EXCHANGE_TZ = "America/New_York"
_TRANSIENT_STATUS = {429, 500, 502, 503, 504}


def _transient(exc: BaseException) -> bool:
    """Rate limits, 5xx answers and network errors; 4xx (bad keys, bad symbol) are final."""
    from alpaca.common.exceptions import APIError

    if isinstance(exc, APIError):
        return exc.status_code in _TRANSIENT_STATUS
    return isinstance(exc, OSError)


@dataclass
class AlpacaConnector:
    """US stock bars from Alpaca (vendor `alpaca`), IEX feed and raw prices by default."""

    dataset: str = "bars_1m"
    feed: str = "iex"
    adjustment: str = "raw"
    url_override: str | None = None
    window_days: int | None = None
    pacer: Pacer = field(default_factory=lambda: Pacer(min_interval=0.3))
    api_key: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)
    vendor: str = field(default=VENDOR, init=False)
    client: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        """Read the keys (arguments, then the environment) and build the client."""
        from alpaca.data.historical import StockHistoricalDataClient

        bar_length(self.dataset)
        key = self.api_key or os.environ.get(KEY_ENV)
        secret = self.secret_key or os.environ.get(SECRET_ENV)
        if not key or not secret:
            raise ValueError(f"alpaca needs API keys: set {KEY_ENV} and {SECRET_ENV}")
        self._secrets = (Secret(key), Secret(secret))
        self.api_key = self.secret_key = None  # kept only inside the client and _secrets
        self.client = StockHistoricalDataClient(
            api_key=key, secret_key=secret, url_override=self.url_override
        )

    def lake_symbol(self, symbol: str) -> str:
        """Alpaca's symbol, upper-cased."""
        return symbol.strip().upper()

    def redact(self, text: str) -> str:
        """`text` with both keys replaced by ***."""
        for secret in self._secrets:
            text = text.replace(secret.reveal(), "***")
        return text

    def fetch(self, symbol: str, start: datetime, end: datetime) -> Iterator[pd.DataFrame]:
        """One page per window; alpaca-py pages through `next_page_token` inside it."""
        from alpaca.data.enums import Adjustment, DataFeed
        from alpaca.data.requests import StockBarsRequest
        from alpaca.data.timeframe import TimeFrame

        intraday = self.dataset == "bars_1m"
        step = timedelta(days=self.window_days or (1 if intraday else 365))
        symbol = self.lake_symbol(symbol)
        for window_start, window_end in windows(start, end, step):
            request = StockBarsRequest(
                symbol_or_symbols=symbol,
                timeframe=TimeFrame.Minute if intraday else TimeFrame.Day,
                start=window_start,
                end=window_end,
                feed=DataFeed(self.feed),
                adjustment=Adjustment(self.adjustment),
            )
            barset = self.pacer.call(
                lambda r=request: self.client.get_stock_bars(r),
                transient=_transient,
                what=(
                    f"alpaca {symbol} {self.dataset} "
                    f"[{window_start.isoformat()}, {window_end.isoformat()})"
                ),
                redact=self.redact,
            )
            bars = barset.data.get(symbol, [])
            if bars:
                yield self._page(bars, symbol)

    def _page(self, bars: list[Any], symbol: str) -> pd.DataFrame:
        """alpaca-py `Bar` models in the dataset's columns."""
        ts = pd.DatetimeIndex([b.timestamp for b in bars]).tz_convert(UTC)
        if self.dataset == "bars_1d":
            session = ts.tz_convert(EXCHANGE_TZ).tz_localize(None).normalize()
            ts = session.tz_localize(UTC)
        values = {
            name: [getattr(b, name) for b in bars]
            for name in ("open", "high", "low", "close", "volume")
        }
        return bars_frame(symbol, ts, values, self.dataset)
