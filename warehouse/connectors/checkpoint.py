"""Connector checkpoints: which time spans of a symbol have landed, one object per symbol.

A checkpoint lives at `state/connectors/<vendor>/<dataset>/<symbol>.json` in the lake and
is rewritten (atomically, through the store) after every landed page. It records the
spans whose bars have all landed, as half-open UTC intervals: a span ends right after
the last landed bar, never later, so a re-run asks again for anything after that bar
(nothing is skipped) and never for a bar that landed (nothing is fetched twice).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from warehouse.object_store import ObjectStore, validate_key

STATE_PREFIX = "state/connectors"

Span = tuple[datetime, datetime]


def key_part(text: str) -> str:
    """A name safe as one object-key segment or file name (`/`, `:`, spaces -> `-`)."""
    safe = re.sub(r"[^A-Za-z0-9._=^-]", "-", text)
    if not safe.strip(".-"):
        raise ValueError(f"cannot name an object after {text!r}")
    return safe


def checkpoint_key(vendor: str, dataset: str, symbol: str) -> str:
    """Where the checkpoint of one (vendor, dataset, symbol) lives."""
    return validate_key(f"{STATE_PREFIX}/{vendor}/{dataset}/{key_part(symbol)}.json")


def merge(spans: list[Span]) -> tuple[Span, ...]:
    """Sorted spans with overlapping or touching ones joined."""
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


@dataclass(frozen=True)
class Checkpoint:
    """The landed spans of one symbol, the last landed bar, and running totals."""

    vendor: str
    dataset: str
    symbol: str
    covered: tuple[Span, ...] = ()
    last_bar: datetime | None = None
    pages: int = 0
    bars: int = 0

    def gaps(self, start: datetime, end: datetime) -> list[Span]:
        """The parts of [start, end) not yet covered, oldest first."""
        gaps: list[Span] = []
        cursor = start
        for span_start, span_end in self.covered:
            if span_end <= cursor:
                continue
            if span_start >= end:
                break
            if span_start > cursor:
                gaps.append((cursor, span_start))
            cursor = max(cursor, span_end)
        if cursor < end:
            gaps.append((cursor, end))
        return gaps

    def overlaps(self, start: datetime, end: datetime) -> bool:
        """Whether any landed span intersects [start, end)."""
        return any(s < end and e > start for s, e in self.covered)

    def landed(self, start: datetime, end: datetime, last_bar: datetime, bars: int) -> Checkpoint:
        """This checkpoint after a page covering [start, end) landed `bars` bars."""
        newest = last_bar if self.last_bar is None else max(self.last_bar, last_bar)
        return replace(
            self,
            covered=merge([*self.covered, (start, end)]),
            last_bar=newest,
            pages=self.pages + 1,
            bars=self.bars + bars,
        )

    def to_json(self) -> str:
        """Serialize with ISO timestamps."""
        payload = {
            "vendor": self.vendor,
            "dataset": self.dataset,
            "symbol": self.symbol,
            "covered": [[s.isoformat(), e.isoformat()] for s, e in self.covered],
            "last_bar": self.last_bar.isoformat() if self.last_bar else None,
            "pages": self.pages,
            "bars": self.bars,
        }
        return json.dumps(payload, indent=1)

    @classmethod
    def from_json(cls, text: str, key: str) -> Checkpoint:
        """Parse what `to_json` wrote; errors name the object."""
        try:
            payload = json.loads(text)
            covered = tuple((_instant(s), _instant(e)) for s, e in payload.get("covered", []))
            last = payload.get("last_bar")
            return cls(
                vendor=payload["vendor"],
                dataset=payload["dataset"],
                symbol=payload["symbol"],
                covered=merge(list(covered)),
                last_bar=_instant(last) if last else None,
                pages=int(payload.get("pages", 0)),
                bars=int(payload.get("bars", 0)),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{key}: unreadable connector checkpoint: {exc}") from exc


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no time zone")
    return moment.astimezone(UTC)


def read_checkpoint(store: ObjectStore, vendor: str, dataset: str, symbol: str) -> Checkpoint:
    """The stored checkpoint, or an empty one when this symbol never landed."""
    key = checkpoint_key(vendor, dataset, symbol)
    if not store.exists(key):
        return Checkpoint(vendor, dataset, symbol)
    return Checkpoint.from_json(store.get_bytes(key).decode(), key)


def write_checkpoint(store: ObjectStore, checkpoint: Checkpoint) -> None:
    """Store the checkpoint (one atomic put: readers see the old one or the new one)."""
    key = checkpoint_key(checkpoint.vendor, checkpoint.dataset, checkpoint.symbol)
    store.put_bytes(key, checkpoint.to_json().encode())
