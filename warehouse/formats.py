"""Reading raw vendor files (CSV, JSON lines, Parquet; gzip too) with DuckDB, streamed.

A file is never read into Python memory whole: `scan_sql` gives a DuckDB table
expression over the local file, which the loader queries; errors name the file
and, where the reader knows it, the line and column.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import duckdb

from warehouse.engines.duckdb import connect

_FORMATS = {".csv": "csv", ".txt": "csv", ".jsonl": "jsonl", ".json": "jsonl"}
_FORMATS[".parquet"] = "parquet"
_DELIMITER_HINTS = (";", "\t", "|")
_CHUNK = 1 << 20
JSON_COLUMN = "json"  # the single column of a JSON-lines scan (one object per row)


class RawFileError(ValueError):
    """A raw file that cannot be read; the message names the file."""


# DuckDB errors that mean "this file is unreadable" (anything else is a bug and propagates).
READ_ERRORS = (duckdb.IOException, duckdb.InvalidInputException, duckdb.ConversionException)


@dataclass(frozen=True)
class Scan:
    """A DuckDB table expression over one local raw file, and the columns it has."""

    name: str
    format: str
    sql: str
    columns: tuple[str, ...]

    def column_sql(self, column: str) -> str:
        """The SQL expression reading `column` (JSON lines extract it as text)."""
        quoted = '"' + column.replace('"', '""') + '"'
        if self.format == "jsonl":
            path = "$." + quoted.replace("'", "''")
            return f"json_extract_string({JSON_COLUMN}, '{path}')"
        return quoted


def file_format(name: str) -> str:
    """`csv`, `jsonl` or `parquet` from a file name (a `.gz` suffix is looked through)."""
    suffixes = [s.lower() for s in PurePosixPath(name).suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    ext = suffixes[-1] if suffixes else ""
    if ext not in _FORMATS:
        raise RawFileError(f"{name}: unsupported file type {ext or '(none)'!r}")
    return _FORMATS[ext]


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _open_text_bytes(path: Path, name: str):
    return gzip.open(path, "rb") if name.lower().endswith(".gz") else open(path, "rb")


def _csv_header(path: Path, name: str) -> list[str]:
    """The header row of a CSV file (gzip looked through), read without the rest."""
    try:
        with _open_text_bytes(path, name) as handle:
            first = handle.readline(1 << 20)
    except (OSError, EOFError, zlib.error) as exc:
        raise RawFileError(f"{name}: cannot read csv: {exc}") from exc
    if not first.strip():
        raise RawFileError(f"{name}: file is empty")
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RawFileError(
            f"{name}: row 1 (header), byte {exc.start}: not UTF-8 ({first[exc.start : exc.end]!r})"
        ) from exc
    header = next(csv.reader(io.StringIO(text)))
    columns = [column.strip() for column in header]
    blank = [i + 1 for i, column in enumerate(columns) if not column]
    if blank:
        raise RawFileError(f"{name}: row 1 (header): column(s) {blank} have no name")
    duplicates = sorted({c for c in columns if columns.count(c) > 1})
    if duplicates:
        raise RawFileError(f"{name}: row 1 (header): duplicate column name(s) {duplicates}")
    return columns


def delimiter_hint(columns: tuple[str, ...] | list[str]) -> str:
    """A hint when a one-column header looks delimited by something other than a comma."""
    if len(columns) != 1:
        return ""
    for delimiter in _DELIMITER_HINTS:
        if delimiter in columns[0]:
            return f"; the header looks {delimiter!r}-delimited, expected ','"
    return ""


def _first_non_utf8(path: Path, name: str, columns: tuple[str, ...]) -> str | None:
    """Where the first non-UTF-8 bytes are ('row N, column C, byte B: ...'), or None."""
    offset = 0
    with _open_text_bytes(path, name) as handle:
        for line, raw in enumerate(handle, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                field = raw[: exc.start].count(b",")
                column = columns[field] if field < len(columns) else f"#{field + 1}"
                bad = raw[exc.start : exc.start + 4]
                return f"row {line}, column {column!r}, byte {offset + exc.start}: {bad!r}"
            offset += len(raw)
    return None


def _lines_before_eof(path: Path) -> int:
    """How many complete lines a broken gzip file yields before its stream fails."""
    lines = 0
    try:
        with gzip.open(path, "rb") as handle:
            for _ in handle:
                lines += 1
    except (OSError, EOFError, zlib.error):
        pass
    return lines


def _describe(conn: duckdb.DuckDBPyConnection, sql: str) -> tuple[str, ...]:
    return tuple(row[0] for row in conn.execute(f"describe select * from {sql}").fetchall())


def scan_file(path: Path, name: str, conn: duckdb.DuckDBPyConnection | None = None) -> Scan:
    """A `Scan` of a local raw file named `name`; RawFileError if its header cannot be read."""
    fmt = file_format(name)
    if path.stat().st_size == 0:
        raise RawFileError(f"{name}: file is empty")
    source = _literal(str(path))
    if fmt == "csv":
        columns = tuple(_csv_header(path, name))
        types = "{" + ", ".join(f"{_literal(c)}: 'VARCHAR'" for c in columns) + "}"
        sql = (
            f"read_csv({source}, header = true, auto_detect = false, columns = {types}, "
            "delim = ',', quote = '\"', escape = '\"', strict_mode = true, "
            "compression = 'auto')"
        )
        return Scan(name, fmt, sql, columns)
    own = conn is None
    conn = conn or connect(":memory:")
    try:
        if fmt == "parquet":
            sql = f"read_parquet({source})"
            columns = _describe(conn, sql)
        else:
            sql = f"read_json_objects({source}, format = 'newline_delimited', compression = 'auto')"
            keys = conn.execute(
                f"select distinct unnest(json_keys({JSON_COLUMN})) as k from {sql}"
            ).fetchall()
            if not keys:
                raise RawFileError(f"{name}: file is empty")
            first = conn.execute(f"select json_keys({JSON_COLUMN}) from {sql} limit 1").fetchall()
            ordered = list(first[0][0]) if first else []
            columns = tuple(ordered + sorted(k for (k,) in keys if k not in ordered))
    except READ_ERRORS as exc:
        bad = _first_bad_json_line(path, name) if fmt == "jsonl" else None
        detail = bad or f"cannot read {fmt}: {_first_line(exc).replace(str(path), name)}"
        raise RawFileError(f"{name}: {detail}") from exc
    finally:
        if own:
            conn.close()
    return Scan(name, fmt, sql, columns)


def _first_line(exc: BaseException) -> str:
    """DuckDB's error without its multi-line advice."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    keep = [line for line in lines if not line.lower().startswith(("possible", "*"))]
    return " | ".join(keep[:3])


_LINE = re.compile(r"on Line: (\d+)", re.IGNORECASE)


def read_error(exc: Exception, scan: Scan, path: Path) -> RawFileError:
    """A RawFileError naming the file, and the row and column where DuckDB knows them."""
    message = str(exc)
    if "unicode" in message.lower() or "utf-8" in message.lower():
        where = _first_non_utf8(path, scan.name, scan.columns)
        if where:
            return RawFileError(f"{scan.name}: {where}: not UTF-8; the file must be UTF-8 encoded")
    if "gzip" in message.lower():
        lines = _lines_before_eof(path)
        return RawFileError(
            f"{scan.name}: row {lines + 1}: the gzip stream ends early (truncated file?)"
        )
    if scan.format == "jsonl":
        bad = _first_bad_json_line(path, scan.name)
        if bad:
            return RawFileError(f"{scan.name}: {bad}")
    match = _LINE.search(message)
    where = f"row {match.group(1)}: " if match else ""
    detail = _first_line(exc).replace(str(path), scan.name)
    return RawFileError(f"{scan.name}: {where}cannot read {scan.format}: {detail}")


def _first_bad_json_line(path: Path, name: str) -> str | None:
    """'row N: ...' for the first line that is not one JSON object, or None."""
    with _open_text_bytes(path, name) as handle:
        for line, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                value = json.loads(raw)
            except ValueError as exc:
                return f"row {line}: cannot read jsonl: not valid JSON ({exc})"
            if not isinstance(value, dict):
                return f"row {line}: cannot read jsonl: expected one JSON object per line"
    return None


def inspect_file(path: Path, name: str) -> tuple[int, tuple[str, ...]]:
    """Row count and columns of a local raw file (one streamed pass); RawFileError if unreadable."""
    with connect(":memory:") as conn:
        scan = scan_file(path, name, conn)
        try:
            rows = conn.execute(f"select count(*) from {scan.sql}").fetchall()[0][0]
        except READ_ERRORS as exc:
            raise read_error(exc, scan, path) from exc
    return int(rows), scan.columns
