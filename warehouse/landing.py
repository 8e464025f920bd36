"""Landing: copy vendor files unchanged into `raw/` and record them, idempotently.

Files are streamed (hashed and copied in chunks), so their size is bounded by disk,
not memory. The object is written first and its manifest entry second, each
atomically: a crash between the two leaves an object no manifest entry points at,
which nothing reads, and landing the same bytes again completes it in place.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from warehouse.datasets import get_dataset
from warehouse.formats import RawFileError, inspect_file
from warehouse.manifest import ManifestEntry, find_entry, write_entry
from warehouse.object_store import CHUNK_BYTES, ObjectStore, local_copy, validate_key


@dataclass(frozen=True)
class LandingResult:
    """The outcome for one file: landed anew, or already there with the same content."""

    entry: ManifestEntry
    landed: bool


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _holds(store: ObjectStore, key: str, digest: str, size: int) -> bool:
    """Whether the object at `key` has exactly this content (size first, then the hash)."""
    if store.size(key) != size:
        return False
    with local_copy(store, key) as path:
        return file_sha256(path) == digest


def _raw_key(
    store: ObjectStore, vendor: str, dataset: str, name: str, digest: str, size: int, day: str
) -> str:
    """`raw/<vendor>/<dataset>/<ingest_date>/<name>`; a changed file gets a versioned name."""
    key = validate_key(f"raw/{vendor}/{dataset}/{day}/{name}")
    if not store.exists(key) or _holds(store, key, digest, size):
        return key
    path = PurePosixPath(name)
    suffix = "".join(path.suffixes)
    stem = path.name[: len(path.name) - len(suffix)] if suffix else path.name
    return validate_key(f"raw/{vendor}/{dataset}/{day}/{stem}__{digest[:12]}{suffix}")


def land_file(
    store: ObjectStore,
    path: Path,
    name: str | None = None,
    *,
    vendor: str,
    dataset: str,
    received_at: datetime | None = None,
) -> LandingResult:
    """Land one local file under `name` (default: its own); the same bytes again are a no-op."""
    name = name or path.name
    get_dataset(dataset)
    for part in (vendor, dataset, name):
        validate_key(part)
    digest = file_sha256(path)
    existing = find_entry(store, vendor, dataset, digest)
    if existing is not None:
        return LandingResult(existing, landed=False)
    received = (received_at or datetime.now(UTC)).astimezone(UTC)
    try:
        rows, columns = inspect_file(path, name)
        error = None
    except RawFileError as exc:
        rows, columns, error = None, (), str(exc)
    size = path.stat().st_size
    key = _raw_key(store, vendor, dataset, name, digest, size, received.date().isoformat())
    if not store.exists(key):
        store.put_file(key, path)
    entry = ManifestEntry(
        vendor=vendor,
        dataset=dataset,
        key=key,
        sha256=digest,
        size=size,
        rows=rows,
        columns=columns,
        received_at=received,
        original_name=name,
        read_error=error,
    )
    write_entry(store, entry)
    return LandingResult(entry, landed=True)


def land_bytes(
    store: ObjectStore,
    data: bytes,
    name: str,
    *,
    vendor: str,
    dataset: str,
    received_at: datetime | None = None,
) -> LandingResult:
    """Land one file's bytes (connectors' path); the same bytes again are a no-op."""
    for part in (vendor, dataset, name):
        validate_key(part)
    with tempfile.TemporaryDirectory(prefix="signalyard-land-") as tmp:
        path = Path(tmp) / PurePosixPath(name).name
        path.write_bytes(data)
        return land_file(store, path, name, vendor=vendor, dataset=dataset, received_at=received_at)


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
        land_file(store, f, vendor=vendor, dataset=dataset, received_at=received_at) for f in files
    ]
