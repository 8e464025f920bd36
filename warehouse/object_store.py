"""Object stores: the lake behind one small interface (local folder by default)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

# Bytes per read/write when streaming files in and out of a store.
CHUNK_BYTES = 8 * 1024 * 1024


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

    def put_file(self, key: str, path: Path) -> None:
        """Stream a local file to `key` atomically, whatever its size."""

    def size(self, key: str) -> int | None:
        """The object's size in bytes, or None when there is no object at `key`."""

    def copy(self, source: str, target: str) -> None:
        """Copy an object inside the store without reading it into memory."""

    def download(self, key: str, path: Path) -> None:
        """Stream the object at `key` into a local file."""


@contextmanager
def local_copy(store: ObjectStore, key: str) -> Iterator[Path]:
    """A local file holding `key`: the file itself in a folder lake, else a streamed temp copy."""
    path = store.local_path(key)
    if path is not None:
        if not path.is_file():
            raise FileNotFoundError(f"no object at {key!r} in {store.url}")
        yield path
        return
    suffix = "".join(PurePosixPath(key).suffixes)
    with tempfile.TemporaryDirectory(prefix="signalyard-") as tmp:
        target = Path(tmp) / f"object{suffix}"
        store.download(key, target)
        yield target


def validate_key(key: str) -> str:
    """Reject absolute keys and `..` segments so no key escapes the lake."""
    parts = PurePosixPath(key).parts
    if not key or key.startswith("/") or ".." in parts or "\\" in key:
        raise ValueError(f"invalid object key {key!r}: keys are relative and may not contain '..'")
    return key


@contextmanager
def _atomic_file(path: Path) -> Iterator[Any]:
    """A binary handle on a temp file beside `path`, flushed, fsynced and renamed onto it when
    the block ends, deleted if it raises: readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class LocalObjectStore:
    """A lake in a local folder; writes go through a temp file and an atomic rename."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        self.url = str(self.root)

    def _path(self, key: str) -> Path:
        return self.root / validate_key(key)

    def put_bytes(self, key: str, data: bytes) -> None:
        """Write `data` at `key` atomically."""
        with _atomic_file(self._path(key)) as handle:
            handle.write(data)

    def put_file(self, key: str, path: Path) -> None:
        """Stream a local file to `key` through a temp file and an atomic rename."""
        with _atomic_file(self._path(key)) as handle, open(path, "rb") as source:
            shutil.copyfileobj(source, handle, CHUNK_BYTES)

    def size(self, key: str) -> int | None:
        """The file's size, or None when absent."""
        path = self._path(key)
        return path.stat().st_size if path.is_file() else None

    def copy(self, source: str, target: str) -> None:
        """Copy a file inside the lake (streamed, atomic at the target)."""
        self.put_file(target, self._path(source))

    def download(self, key: str, path: Path) -> None:
        """Copy the file at `key` to `path` (streamed)."""
        shutil.copyfile(self._path(key), path)

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


class S3ObjectStore:
    """A lake under `s3://bucket/prefix` through boto3 (credentials from the AWS chain).

    S3 writes are atomic per object, so the manifest's all-or-nothing property holds.
    The endpoint, region and credentials come from boto3's standard chain
    (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, profiles, ...); none are logged.
    """

    def __init__(self, url: str, client: Any = None) -> None:
        if not url.startswith("s3://"):
            raise ValueError(f"not an s3:// URL: {url!r}")
        bucket, _, prefix = url[len("s3://") :].partition("/")
        if not bucket:
            raise ValueError(f"no bucket in {url!r}; expected s3://bucket[/prefix]")
        self.url = url
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        if client is None:
            import boto3

            client = boto3.client("s3")
        self.client = client

    def _key(self, key: str) -> str:
        validate_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def put_bytes(self, key: str, data: bytes) -> None:
        """Write `data` at `key` (one PUT: readers see all of it or nothing)."""
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def get_bytes(self, key: str) -> bytes:
        """Read the whole object at `key`."""
        response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        return response["Body"].read()

    def put_file(self, key: str, path: Path) -> None:
        """Upload a local file (multipart when large; the object appears only when complete)."""
        self.client.upload_file(str(path), self.bucket, self._key(key))

    def size(self, key: str) -> int | None:
        """The object's size from a HEAD request, or None when absent."""
        from botocore.exceptions import ClientError

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return int(head["ContentLength"])

    def copy(self, source: str, target: str) -> None:
        """Server-side copy (managed: multipart for large objects)."""
        self.client.copy(
            {"Bucket": self.bucket, "Key": self._key(source)}, self.bucket, self._key(target)
        )

    def download(self, key: str, path: Path) -> None:
        """Stream the object into a local file."""
        self.client.download_file(self.bucket, self._key(key), str(path))

    def exists(self, key: str) -> bool:
        """Whether an object exists at `key`."""
        return self.size(key) is not None

    def list(self, prefix: str) -> Iterator[str]:
        """Keys under `prefix`, sorted, relative to the store's own prefix."""
        full = self._key(prefix) if prefix else self.prefix
        if full and not full.endswith("/"):
            full += "/"
        strip = len(f"{self.prefix}/") if self.prefix else 0
        keys = []
        for page in self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=full
        ):
            keys.extend(item["Key"][strip:] for item in page.get("Contents", []))
        return iter(sorted(keys))

    def local_path(self, key: str) -> Path | None:
        """None: objects in S3 have no local path."""
        return None


def open_store(url: str) -> ObjectStore:
    """The store for a lake URL: `s3://bucket/prefix` or a local folder."""
    if url.startswith("s3://"):
        return S3ObjectStore(url)
    if "://" in url:
        raise ValueError(f"unsupported lake URL {url!r}: use a local path or s3://bucket/prefix")
    return LocalObjectStore(url)
