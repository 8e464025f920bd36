"""Reading raw vendor files (CSV, JSON lines, Parquet; gzip too) as text columns."""

from __future__ import annotations

import gzip
import io
from pathlib import PurePosixPath

import pandas as pd
import pyarrow.parquet as pq


class RawFileError(ValueError):
    """A raw file that cannot be read; the message names the file."""


def file_format(name: str) -> str:
    """`csv`, `jsonl` or `parquet` from a file name (a `.gz` suffix is looked through)."""
    suffixes = [s.lower() for s in PurePosixPath(name).suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    ext = suffixes[-1] if suffixes else ""
    formats = {".csv": "csv", ".txt": "csv", ".jsonl": "jsonl", ".json": "jsonl"}
    formats[".parquet"] = "parquet"
    if ext not in formats:
        raise RawFileError(f"{name}: unsupported file type {ext or '(none)'!r}")
    return formats[ext]


def read_raw(data: bytes, name: str) -> pd.DataFrame:
    """Parse a raw file's bytes into a DataFrame of strings, naming `name` in errors."""
    fmt = file_format(name)
    try:
        if name.lower().endswith(".gz"):
            data = gzip.decompress(data)
        if fmt == "parquet":
            frame = pq.read_table(io.BytesIO(data)).to_pandas()
            return frame.astype("string")
        if not data.strip():
            raise RawFileError(f"{name}: file is empty")
        if fmt == "csv":
            return pd.read_csv(io.BytesIO(data), dtype="string", keep_default_na=False)
        return pd.read_json(io.BytesIO(data), lines=True, dtype=False).astype("string")
    except RawFileError:
        raise
    except (OSError, EOFError, ValueError, UnicodeDecodeError) as exc:
        raise RawFileError(f"{name}: cannot read {fmt}: {exc}") from exc
