"""The landing manifest: one JSON object per landed file, the source of truth of `raw/`."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime

from warehouse.object_store import ObjectStore

MANIFEST_PREFIX = "manifest"


@dataclass(frozen=True)
class ManifestEntry:
    """What landed: where, its content hash and size, rows and columns, and when."""

    vendor: str
    dataset: str
    key: str
    sha256: str
    size: int
    rows: int | None
    columns: tuple[str, ...]
    received_at: datetime
    original_name: str
    read_error: str | None = None

    def to_json(self) -> str:
        """Serialize with ISO timestamps."""
        payload = asdict(self)
        payload["received_at"] = self.received_at.isoformat()
        payload["columns"] = list(self.columns)
        return json.dumps(payload, sort_keys=True, indent=1)

    @classmethod
    def from_json(cls, text: str) -> ManifestEntry:
        """Parse what `to_json` wrote."""
        payload = json.loads(text)
        payload["received_at"] = datetime.fromisoformat(payload["received_at"])
        payload["columns"] = tuple(payload["columns"])
        return cls(**payload)


def entry_key(vendor: str, dataset: str, sha256: str) -> str:
    """Where the manifest entry for a content hash lives (one object per entry)."""
    return f"{MANIFEST_PREFIX}/{vendor}/{dataset}/{sha256}.json"


def write_entry(store: ObjectStore, entry: ManifestEntry) -> None:
    """Record a landed file; the store's atomic put makes the record all-or-nothing."""
    store.put_bytes(entry_key(entry.vendor, entry.dataset, entry.sha256), entry.to_json().encode())


def find_entry(store: ObjectStore, vendor: str, dataset: str, sha256: str) -> ManifestEntry | None:
    """The entry for this content, if it landed before."""
    key = entry_key(vendor, dataset, sha256)
    if not store.exists(key):
        return None
    return ManifestEntry.from_json(store.get_bytes(key).decode())


def read_manifest(store: ObjectStore) -> list[ManifestEntry]:
    """Every entry, oldest first (received_at, then key)."""
    entries = [
        ManifestEntry.from_json(store.get_bytes(key).decode())
        for key in store.list(MANIFEST_PREFIX)
        if key.endswith(".json")
    ]
    return sorted(entries, key=lambda e: (e.received_at, e.key))
