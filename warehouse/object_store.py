"""Object stores: the lake behind one small interface (local folder by default)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any, Protocol


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

    def exists(self, key: str) -> bool:
        """Whether an object exists at `key`."""
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

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
