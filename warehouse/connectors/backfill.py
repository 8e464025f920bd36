"""Backfill: fetch what a symbol's checkpoint lacks and land each page through `land_bytes`.

Every page becomes one CSV file, `<symbol>_<first bar>_<last bar>.csv`, landed exactly like
a file drop (content-hash idempotent, a manifest entry each). After each landed page the
checkpoint moves to just after the page's last bar, so a crashed or repeated run resumes
there: landed bars are not asked for again and no bar after them is skipped. Only closed
bars land (a bar opening at `t` closes at `t + length`, which must be <= now).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd

from warehouse.columns import SYMBOL, TS
from warehouse.connectors.base import (
    Connector,
    ConnectorError,
    bar_columns,
    bar_length,
    utc,
)
from warehouse.connectors.checkpoint import key_part, read_checkpoint, write_checkpoint
from warehouse.datasets import get_dataset
from warehouse.landing import land_bytes
from warehouse.object_store import ObjectStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PageLanded:
    """One landed page, for progress reporting."""

    symbol: str
    key: str
    bars: int
    first_bar: datetime
    last_bar: datetime
    landed: bool


@dataclass(frozen=True)
class BackfillResult:
    """What one symbol's backfill did: pages and files landed, bars, where it resumed."""

    vendor: str
    dataset: str
    symbol: str
    start: datetime
    end: datetime
    pages: int
    files_landed: int
    files_present: int
    bars: int
    resumed_from: datetime | None
    last_bar: datetime | None
    keys: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields (ISO timestamps)."""
        payload = asdict(self)
        for name in ("start", "end", "resumed_from", "last_bar"):
            value = payload[name]
            payload[name] = value.isoformat() if value is not None else None
        payload["keys"] = list(self.keys)
        return payload


def clean_page(
    page: pd.DataFrame,
    *,
    dataset: str,
    symbol: str,
    since: datetime,
    end: datetime,
    now: datetime,
    where: str,
) -> pd.DataFrame:
    """The page's closed bars opening in [since, end), sorted, one row per bar open."""
    required = list(get_dataset(dataset).columns)
    columns = bar_columns(dataset)
    missing = [c for c in required if c not in page.columns]
    if missing:
        raise ConnectorError(
            f"{where}: page lacks column(s) {missing}; received {list(page.columns)}; "
            f"expected {required}"
        )
    frame = page[[c for c in columns if c in page.columns]].copy()
    if not isinstance(frame[TS].dtype, pd.DatetimeTZDtype):
        raise ConnectorError(f"{where}: column 'ts' must be timezone-aware, got {frame[TS].dtype}")
    frame[TS] = frame[TS].dt.tz_convert(UTC)
    length = bar_length(dataset)
    if length == timedelta(days=1) and not (frame[TS] == frame[TS].dt.normalize()).all():
        raise ConnectorError(f"{where}: daily bars must open at 00:00 UTC (the session date)")
    frame[SYMBOL] = symbol
    numeric = [c for c in columns[2:] if c in frame.columns]
    frame[numeric] = frame[numeric].astype("float64")
    incomplete = frame[required[2:]].isna().any(axis=1)
    if incomplete.any():
        log.warning("%s: dropped %d bar(s) with missing prices", where, int(incomplete.sum()))
        frame = frame[~incomplete]
    keep = (frame[TS] >= since) & (frame[TS] < end) & (frame[TS] + length <= now)
    frame = frame[keep].sort_values(TS, kind="stable")
    return frame.drop_duplicates(TS, keep="last").reset_index(drop=True)


def page_bytes(frame: pd.DataFrame) -> bytes:
    """The CSV bytes of a clean page (ISO UTC timestamps; deterministic for equal pages)."""
    out = frame.copy()
    out[TS] = out[TS].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return out.to_csv(index=False, lineterminator="\n").encode()


def page_name(symbol: str, frame: pd.DataFrame, dataset: str) -> str:
    """`<symbol>_<first>_<last>.csv` (dates for daily bars, minutes for intraday)."""
    fmt = "%Y%m%d" if bar_length(dataset) >= timedelta(days=1) else "%Y%m%dT%H%MZ"
    first, last = frame[TS].iloc[0], frame[TS].iloc[-1]
    return f"{key_part(symbol)}_{first:{fmt}}_{last:{fmt}}.csv"


def backfill(
    connector: Connector,
    store: ObjectStore,
    symbol: str,
    start: datetime | str,
    end: datetime | str | None = None,
    *,
    now: datetime | None = None,
    on_page: Callable[[PageLanded], None] | None = None,
) -> BackfillResult:
    """Land `symbol`'s bars opening in [start, end) that its checkpoint lacks, page by page."""
    length = bar_length(connector.dataset)
    moment = utc(now) if now is not None else datetime.now(UTC)
    first, requested_end = utc(start), utc(end) if end is not None else moment
    if first >= requested_end:
        raise ValueError(f"start {first.isoformat()} is not before end {requested_end.isoformat()}")
    last_wanted = min(requested_end, moment)
    lake_symbol = connector.lake_symbol(symbol)
    checkpoint = read_checkpoint(store, connector.vendor, connector.dataset, lake_symbol)
    gaps = checkpoint.gaps(first, last_wanted) if first < last_wanted else []
    resumed_from = gaps[0][0] if gaps and checkpoint.overlaps(first, last_wanted) else None
    pages = landed = present = bars = 0
    keys: list[str] = []
    where = f"{connector.vendor} {connector.dataset} {lake_symbol}"
    for gap_start, gap_end in gaps:
        cursor = gap_start
        for page in connector.fetch(symbol, gap_start, gap_end):
            frame = clean_page(
                page,
                dataset=connector.dataset,
                symbol=lake_symbol,
                since=cursor,
                end=gap_end,
                now=moment,
                where=where,
            )
            if frame.empty:
                continue
            result = land_bytes(
                store,
                page_bytes(frame),
                page_name(lake_symbol, frame, connector.dataset),
                vendor=connector.vendor,
                dataset=connector.dataset,
            )
            first_bar = frame[TS].iloc[0].to_pydatetime()
            last_bar = frame[TS].iloc[-1].to_pydatetime()
            cursor = last_bar + length
            checkpoint = checkpoint.landed(gap_start, cursor, last_bar, len(frame))
            write_checkpoint(store, checkpoint)
            pages += 1
            bars += len(frame)
            landed += result.landed
            present += not result.landed
            keys.append(result.entry.key)
            log.info(
                "%s: %s %s, %d bar(s) %s .. %s",
                where,
                "landed" if result.landed else "already landed",
                result.entry.key,
                len(frame),
                first_bar.isoformat(),
                last_bar.isoformat(),
            )
            if on_page is not None:
                on_page(
                    PageLanded(
                        lake_symbol,
                        result.entry.key,
                        len(frame),
                        first_bar,
                        last_bar,
                        result.landed,
                    )
                )
    return BackfillResult(
        vendor=connector.vendor,
        dataset=connector.dataset,
        symbol=lake_symbol,
        start=first,
        end=max(first, last_wanted),
        pages=pages,
        files_landed=landed,
        files_present=present,
        bars=bars,
        resumed_from=resumed_from,
        last_bar=checkpoint.last_bar,
        keys=tuple(keys),
    )
