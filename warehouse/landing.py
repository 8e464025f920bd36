"""Landing: copy vendor files unchanged into `raw/` and record them, idempotently."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from warehouse.datasets import get_dataset
from warehouse.formats import RawFileError, read_raw
from warehouse.manifest import ManifestEntry, find_entry, write_entry
from warehouse.object_store import ObjectStore, validate_key


@dataclass(frozen=True)
class LandingResult:
    """The outcome for one file: landed anew, or already there with the same content."""

    entry: ManifestEntry
    landed: bool


def _raw_key(
    store: ObjectStore, vendor: str, dataset: str, name: str, digest: str, day: str
) -> str:
    """`raw/<vendor>/<dataset>/<ingest_date>/<name>`; a changed file gets a versioned name."""
    key = validate_key(f"raw/{vendor}/{dataset}/{day}/{name}")
    if not store.exists(key) or hashlib.sha256(store.get_bytes(key)).hexdigest() == digest:
        return key
    path = PurePosixPath(name)
    suffix = "".join(path.suffixes)
    stem = path.name[: len(path.name) - len(suffix)] if suffix else path.name
    return validate_key(f"raw/{vendor}/{dataset}/{day}/{stem}__{digest[:12]}{suffix}")


def land_bytes(
    store: ObjectStore,
    data: bytes,
    name: str,
    *,
    vendor: str,
    dataset: str,
    received_at: datetime | None = None,
) -> LandingResult:
    """Land one file's bytes; landing the same bytes again is a no-op that says so."""
    get_dataset(dataset)
    for part in (vendor, dataset, name):
        validate_key(part)
    digest = hashlib.sha256(data).hexdigest()
    existing = find_entry(store, vendor, dataset, digest)
    if existing is not None:
        return LandingResult(existing, landed=False)
    received = (received_at or datetime.now(UTC)).astimezone(UTC)
    try:
        frame = read_raw(data, name)
        rows, columns, error = len(frame), tuple(frame.columns), None
    except RawFileError as exc:
        rows, columns, error = None, (), str(exc)
    key = _raw_key(store, vendor, dataset, name, digest, received.date().isoformat())
    if not store.exists(key):
        store.put_bytes(key, data)
    entry = ManifestEntry(
        vendor=vendor,
        dataset=dataset,
        key=key,
        sha256=digest,
        size=len(data),
        rows=rows,
        columns=columns,
        received_at=received,
        original_name=name,
        read_error=error,
    )
    write_entry(store, entry)
    return LandingResult(entry, landed=True)


def land_path(
    store: ObjectStore,
    path: Path,
    *,
    vendor: str,
    dataset: str,
    received_at: datetime | None = None,
) -> list[LandingResult]:
    """Land a file, or every file in a folder (sorted, hidden files skipped)."""
    if not path.exists():
        raise FileNotFoundError(f"nothing to land at {path}")
    files = (
        [path]
        if path.is_file()
        else sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
    )
    return [
        land_bytes(
            store, f.read_bytes(), f.name, vendor=vendor, dataset=dataset, received_at=received_at
        )
        for f in files
    ]
