"""Yahoo Finance bars through yfinance: daily bars with adjusted close, recent 1-minute bars.

yfinance (1.7) asks Yahoo's v8 chart API through a curl_cffi session; pass `session` to
use another (a curl_cffi or requests Session). Daily bars come with `auto_adjust=False`,
so `close` is the traded close and `adj_close` Yahoo's "Adj Close" (splits and
dividends); their `ts` is the session date at 00:00 UTC. Yahoo serves 1-minute bars
for the last 30 days only, at most 8 days per request: this connector asks one UTC day
per request and refuses a 1-minute start older than 30 days.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd

from warehouse.connectors.base import ConnectorError, Pacer, bar_length, bars_frame, windows

VENDOR = "yahoo"
MINUTE_HISTORY = timedelta(days=30)
_TRANSIENT_NAMES = {"Timeout", "ConnectTimeout", "ReadTimeout", "ChunkedEncodingError"}


def _now() -> datetime:
    return datetime.now(UTC)


def _transient(exc: BaseException) -> bool:
    """Rate limits, network failures and Yahoo's HTML "will be right back" pages."""
    from yfinance.exceptions import YFDataException, YFRateLimitError

    if isinstance(exc, (YFRateLimitError, OSError, json.JSONDecodeError)):
        return True
    if isinstance(exc, YFDataException) and "CURRENTLY DOWN" in str(exc):
        return True
    return type(exc).__name__ in _TRANSIENT_NAMES


@dataclass
class YahooConnector:
    """Bars from Yahoo Finance (vendor `yahoo`); symbols are Yahoo's (AAPL, BRK-B, ^GSPC)."""

    dataset: str = "bars_1d"
    session: Any = field(default=None, repr=False)
    window_days: int | None = None
    timeout: float = 30.0
    pacer: Pacer = field(default_factory=lambda: Pacer(min_interval=0.5))
    now: Callable[[], datetime] = _now
    vendor: str = field(default=VENDOR, init=False)

    def __post_init__(self) -> None:
        """Check the dataset is one of the bars datasets."""
        bar_length(self.dataset)

    def lake_symbol(self, symbol: str) -> str:
        """Yahoo's symbol, upper-cased (the lake keeps it as Yahoo spells it)."""
        return symbol.strip().upper()

    def fetch(self, symbol: str, start: datetime, end: datetime) -> Iterator[pd.DataFrame]:
        """One page per request window: a day of 1-minute bars, or `window_days` of daily."""
        import yfinance

        intraday = self.dataset == "bars_1m"
        oldest = self.now() - MINUTE_HISTORY
        if intraday and start < oldest:
            raise ConnectorError(
                f"yahoo {symbol}: Yahoo serves 1-minute bars for the last 30 days only; "
                f"start {start.isoformat()} is before {oldest:%Y-%m-%d %H:%M}Z "
                f"(use another vendor, or bars_1d, for older history)"
            )
        ticker = yfinance.Ticker(symbol, session=self.session)
        step = timedelta(days=self.window_days or (1 if intraday else 365))
        for window_start, window_end in windows(start, end, step):
            what = (
                f"yahoo {symbol} {self.dataset} "
                f"[{window_start.isoformat()}, {window_end.isoformat()})"
            )
            history = self.pacer.call(
                lambda s=window_start, e=window_end: self._history(ticker, s, e),
                transient=_transient,
                what=what,
            )
            if not history.empty:
                yield self._page(history, symbol)

    def _history(self, ticker: Any, start: datetime, end: datetime) -> pd.DataFrame:
        """One chart request; Yahoo's "no data in this window" is an empty frame."""
        import yfinance
        from yfinance.exceptions import YFPricesMissingError

        if self.dataset == "bars_1m":
            bounds: tuple[date | datetime, date | datetime] = (start, end)
            interval = "1m"
        else:
            # Session dates: the window's first day, and the day after its last instant.
            bounds = (start.date(), (end - timedelta(microseconds=1)).date() + timedelta(days=1))
            interval = "1d"
        hidden = yfinance.config.debug.hide_exceptions
        yfinance.config.debug.hide_exceptions = False  # errors must surface, not log and vanish
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # yfinance's own pandas deprecation noise
                return ticker.history(
                    start=bounds[0],
                    end=bounds[1],
                    interval=interval,
                    auto_adjust=False,
                    actions=False,
                    prepost=False,
                    repair=False,
                    timeout=self.timeout,
                )
        except YFPricesMissingError as exc:
            if exc.yahoo_reason is None:
                return pd.DataFrame()
            raise
        finally:
            yfinance.config.debug.hide_exceptions = hidden

    def _page(self, history: pd.DataFrame, symbol: str) -> pd.DataFrame:
        """yfinance's frame (exchange-local index) in the dataset's columns, UTC."""
        index = pd.DatetimeIndex(history.index)
        if self.dataset == "bars_1d":
            ts = pd.to_datetime(index.tz_localize(None).normalize()).tz_localize(UTC)
        else:
            ts = index.tz_convert(UTC)
        values = {
            "open": history["Open"],
            "high": history["High"],
            "low": history["Low"],
            "close": history["Close"],
            "volume": history["Volume"],
        }
        if self.dataset == "bars_1d":
            values["adj_close"] = history["Adj Close"]
        return bars_frame(self.lake_symbol(symbol), ts, values, self.dataset)
