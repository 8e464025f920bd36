"""The connector contract: a vendor's bars as pages of the dataset's columns, requests paced."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol, TypeVar

import pandas as pd

from warehouse.columns import SYMBOL, TS
from warehouse.datasets import get_dataset

log = logging.getLogger(__name__)

T = TypeVar("T")

# Vendor error bodies can be whole HTML pages; messages keep their start.
MAX_REASON = 300

# The datasets a price connector can fill, with the length of one bar.
BAR_LENGTHS = {"bars_1m": timedelta(minutes=1), "bars_1d": timedelta(days=1)}


class ConnectorError(RuntimeError):
    """A vendor request that failed for good; the message names vendor, symbol and window."""


class Connector(Protocol):
    """A vendor's bars for one dataset, fetched page by page in ascending time.

    `fetch` yields DataFrames in the dataset's columns (symbol, ts as UTC bar open,
    open, high, low, close, volume; bars_1d may add adj_close). Pages come in ascending
    time, and together they hold every bar the vendor has in [start, end): a page may
    overlap the one before, but no bar between two pages may be left out. The backfill
    relies on that to resume after the last landed bar without skipping any.
    """

    vendor: str
    dataset: str

    def lake_symbol(self, symbol: str) -> str:
        """The symbol as the lake names it (e.g. ccxt's `BTC/USDT` -> `BTCUSDT`)."""
        ...

    def fetch(self, symbol: str, start: datetime, end: datetime) -> Iterator[pd.DataFrame]:
        """Pages of bars opening in [start, end), oldest first."""
        ...


def bar_length(dataset: str) -> timedelta:
    """The length of one bar of a bars dataset; a ValueError for any other dataset."""
    get_dataset(dataset)
    if dataset not in BAR_LENGTHS:
        raise ValueError(
            f"connectors fetch price bars only: dataset {dataset!r} is not one of "
            f"{', '.join(sorted(BAR_LENGTHS))}"
        )
    return BAR_LENGTHS[dataset]


def bar_columns(dataset: str) -> list[str]:
    """Required then optional columns of a bars dataset, in file order."""
    return list(get_dataset(dataset).all_columns())


def utc(moment: datetime | pd.Timestamp | str) -> datetime:
    """A timezone-aware UTC datetime; naive input is read as UTC."""
    stamp = pd.Timestamp(moment)
    stamp = stamp.tz_localize(UTC) if stamp.tzinfo is None else stamp.tz_convert(UTC)
    return stamp.to_pydatetime()


def windows(start: datetime, end: datetime, step: timedelta) -> Iterator[tuple[datetime, datetime]]:
    """[start, end) cut into request windows whose boundaries fall on multiples of `step`.

    Boundaries are aligned to UTC midnights (for steps of whole days) so the same day is
    always asked for with the same window, whatever the run's start.
    """
    origin = datetime(1970, 1, 1, tzinfo=UTC)
    cursor = start
    while cursor < end:
        steps = (cursor - origin) // step
        boundary = origin + (steps + 1) * step
        yield cursor, min(boundary, end)
        cursor = min(boundary, end)


def bars_frame(
    symbol: str,
    ts: pd.Series | pd.DatetimeIndex | list[datetime],
    values: dict[str, object],
    dataset: str,
) -> pd.DataFrame:
    """A page in the dataset's columns from bar opens (UTC) and OHLCV(+adj_close) values."""
    columns = bar_columns(dataset)
    stamps = pd.DatetimeIndex(pd.to_datetime(ts, utc=True))
    frame = pd.DataFrame({SYMBOL: symbol, TS: stamps})
    for column in columns[2:]:
        if column in values:
            frame[column] = pd.Series(values[column], dtype="float64").to_numpy()
    return frame


@dataclass
class Pacer:
    """Spaces requests `min_interval` seconds apart and retries transient errors with backoff.

    `clock` and `sleep` are injectable so tests neither wait nor depend on timing.
    """

    min_interval: float = 0.0
    retries: int = 4
    backoff: float = 1.0
    max_backoff: float = 60.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _last: float | None = field(default=None, init=False, repr=False)

    def wait(self) -> None:
        """Sleep until `min_interval` has passed since the previous request started."""
        if self._last is not None and self.min_interval > 0:
            remaining = self.min_interval - (self.clock() - self._last)
            if remaining > 0:
                self.sleep(remaining)
        self._last = self.clock()

    def call(
        self,
        request: Callable[[], T],
        *,
        transient: Callable[[BaseException], bool],
        what: str,
        redact: Callable[[str], str] = str,
    ) -> T:
        """Run `request` paced; retry transient failures, raise ConnectorError otherwise."""
        for attempt in range(self.retries + 1):
            self.wait()
            try:
                return request()
            except Exception as exc:
                reason = redact(f"{type(exc).__name__}: {exc}")[:MAX_REASON]
                if not transient(exc):
                    raise ConnectorError(f"{what}: {reason}") from exc
                if attempt == self.retries:
                    raise ConnectorError(
                        f"{what}: still failing after {self.retries + 1} attempts: {reason}"
                    ) from exc
                delay = min(self.max_backoff, self.backoff * 2**attempt)
                log.warning(
                    "%s: transient %s, retry %d of %d in %.1fs",
                    what,
                    type(exc).__name__,
                    attempt + 1,
                    self.retries,
                    delay,
                )
                self.sleep(delay)
        raise AssertionError("unreachable: the loop returns or raises")
