"""Object stores: the lake behind one small interface (local folder by default)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Protocol


class ObjectStore(Protocol):
    """The operations landing and loading need from a lake."""

    url: str

    def put_bytes(self, key: str, data: bytes) -> None:
        """Write `data` at `key` atomically (readers see all of it or nothing)."""

    def get_bytes(self, key: str) -> bytes:
        """Read the whole object at `key`."""

    def exists(self, key: str) -> bool:
        """Whether an object exists at `key`."""

    def list(self, prefix: str) -> Iterator[str]:
        """Keys under `prefix`, sorted."""

    def local_path(self, key: str) -> Path | None:
        """A local file path for `key` when the store is a folder, else None."""


def validate_key(key: str) -> str:
    """Reject absolute keys and `..` segments so no key escapes the lake."""
    parts = PurePosixPath(key).parts
    if not key or key.startswith("/") or ".." in parts or "\\" in key:
        raise ValueError(f"invalid object key {key!r}: keys are relative and may not contain '..'")
    return key


class LocalObjectStore:
    """A lake in a local folder; writes go through a temp file and an atomic rename."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        self.url = str(self.root)

    def _path(self, key: str) -> Path:
        return self.root / validate_key(key)

    def put_bytes(self, key: str, data: bytes) -> None:
        """Write `data` at `key` atomically."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get_bytes(self, key: str) -> bytes:
        """Read the whole object at `key`."""
        return self._path(key).read_bytes()

    def exists(self, key: str) -> bool:
        """Whether an object exists at `key`."""
        return self._path(key).is_file()

    def list(self, prefix: str) -> Iterator[str]:
        """Keys under `prefix` (temp files excluded), sorted."""
        base = self._path(prefix) if prefix else self.root
        if not base.exists():
            return iter(())
        keys = (
            p.relative_to(self.root).as_posix()
            for p in base.rglob("*")
            if p.is_file() and not p.name.endswith(".tmp")
        )
        return iter(sorted(keys))

    def local_path(self, key: str) -> Path | None:
        """The file behind `key`."""
        return self._path(key)


def open_store(url: str) -> ObjectStore:
    """The store for a lake URL: a local path now; `s3://` arrives with the S3 store."""
    if url.startswith("s3://"):
        raise NotImplementedError(
            "s3:// lakes are not supported yet in this build; use a local folder"
        )
    return LocalObjectStore(url)
