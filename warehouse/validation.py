"""Typing and validating one raw file inside DuckDB; every error names the file, row and column.

The file's rows are staged once (streamed; DuckDB spills to disk under its
memory_limit), then each rule is one aggregate over the staged rows. The first
rule that fails raises `ValidationError` naming the first offending row; nothing
is read into Python memory. "row N" is the file's line for CSV and JSON lines
(the CSV header is line 1) and the 1-based row for Parquet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import duckdb

from warehouse.columns import SYMBOL
from warehouse.datasets import Dataset
from warehouse.formats import Scan, delimiter_hint

PRICE_COLUMNS = ("open", "high", "low", "close")
STAGED = "_signalyard_staged"
DETAIL = "_signalyard_staged_detail"
ROW = "_row"
TYPED = "__typed__"  # prefix of the typed copy of each column
OFFSET = "__has_offset__"  # prefix of a timestamp column's "has a UTC offset" flag
BROKEN = "__broken__"  # the flag of a row that breaks any rule
# A file may carry timestamps up to this far past its receipt (clock skew), no further.
FUTURE_TOLERANCE = timedelta(minutes=5)
_OFFSET = r"(Z|z|[+-]\d\d(:?\d\d)?)$"


class ValidationError(ValueError):
    """A raw file that breaks its dataset's contract."""


@dataclass(frozen=True)
class StagedFile:
    """A validated file staged in a temp table: typed select, rows and what was noticed."""

    typed_sql: str
    columns: tuple[str, ...]
    rows: int
    extra_columns: tuple[str, ...]
    warnings: tuple[str, ...]
    identical_duplicates: int


@dataclass(frozen=True)
class _Rule:
    column: str
    why: str
    condition: str


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _typed(column: str, kind: str, source_type: str) -> str:
    """SQL typing the staged raw value of `column` as the dataset's `kind` (NULL if invalid)."""
    raw = _q(column)
    text = source_type == "VARCHAR"
    value = f"nullif(trim({raw}), '')" if text else raw
    if kind == "text":
        return f"nullif(trim(cast({raw} as varchar)), '')"
    if kind in ("double", "bigint"):
        return f"try_cast({value} as {kind})"
    if kind == "timestamp":
        if text or source_type.startswith("TIMESTAMP WITH"):
            return f"cast(try_cast({value} as timestamptz) as timestamp)"
        return f"try_cast({value} as timestamp)"
    if kind == "date":
        if text:
            return f"cast(try_cast({value} as timestamptz) as date)"
        return f"try_cast({value} as date)"
    raise ValueError(f"unknown column kind {kind!r} for column {column!r}")


def _blank(column: str, source_type: str) -> str:
    if source_type == "VARCHAR":
        return f"({_q(column)} is null or trim({_q(column)}) = '')"
    return f"({_q(column)} is null)"


def stage(
    conn: duckdb.DuckDBPyConnection, scan: Scan, dataset: Dataset, received_at: datetime
) -> StagedFile:
    """Stage `scan`'s typed rows in a temp table and check them; errors name row and column.

    The fast path parses the file once, storing typed values and one "broken" flag per
    row; only a failing file is staged again with row numbers and raw text to explain
    exactly which row and column break which rule.
    """
    name = scan.name
    received = list(scan.columns)
    missing = [c for c in dataset.columns if c not in received]
    if missing:
        raise ValidationError(
            f"{name}: missing column(s) {missing}; received {received}; "
            f"expected {list(dataset.columns)}{delimiter_hint(received)}"
        )
    known = {c: k for c, k in dataset.all_columns().items() if c in received}
    extra = tuple(c for c in received if c not in dataset.all_columns())
    source = ", ".join(f"{scan.column_sql(c)} as {_q(c)}" for c in known)
    raw = f"select {source} from {scan.sql}"
    types = dict(conn.execute(f"select column_name, column_type from (describe {raw})").fetchall())
    casts = ", ".join(f"{_typed(c, k, types[c])} as {_q(TYPED + c)}" for c, k in known.items())
    typed = {c: _q(TYPED + c) for c in known}
    rules = _rules(dataset, known, typed, types, received_at)
    broken = " or ".join(f"coalesce({rule.condition}, false)" for rule in rules)
    stamps = [c for c, k in known.items() if k == "timestamp" and types[c] == "VARCHAR"]
    offsets = "".join(
        f", regexp_matches(trim({_q(c)}), '{_OFFSET}') as {_q(OFFSET + c)}" for c in stamps
    )
    outputs = ", ".join(f"{typed[c]} as {_q(c)}" for c in known)
    conn.execute(
        f"create or replace temp table {STAGED} as select {outputs}, ({broken}) as {_q(BROKEN)}"
        f"{offsets} from (select *, {casts} from ({raw}))"
    )
    counts = ", ".join(
        f"count(*) filter (where not {_q(OFFSET + c)}), count(*) filter (where {_q(OFFSET + c)})"
        for c in stamps
    )
    totals = conn.execute(
        f"select count(*), count(*) filter (where {_q(BROKEN)}){', ' + counts if counts else ''} "
        f"from {STAGED}"
    ).fetchall()[0]
    rows, bad = int(totals[0]), int(totals[1])
    offset_counts = dict(zip(stamps, zip(totals[2::2], totals[3::2], strict=True), strict=True))
    mixed = [c for c, (naive, aware) in offset_counts.items() if naive and aware]
    if bad or mixed:
        _explain(conn, scan, known, types, rules, stamps)
    identical = _duplicates(conn, dataset, list(known))
    if identical < 0:
        _explain(conn, scan, known, types, rules, stamps, dataset=dataset)
    warnings = [
        f"column {c!r}: {naive} timestamp(s) without offset read as UTC"
        for c, (naive, _) in offset_counts.items()
        if naive
    ]
    if extra:
        warnings.append(f"schema drift: extra column(s) {list(extra)} were not loaded")
    if identical:
        warnings.append(f"{identical} identical duplicate row(s) loaded once")
    columns = ", ".join(_q(c) for c in known)
    key = ", ".join(_q(c) for c in dataset.key)
    dedupe = f" qualify row_number() over (partition by {key}) = 1" if identical else ""
    typed_sql = f"select {columns} from {STAGED}{dedupe}"
    return StagedFile(typed_sql, tuple(known), rows - identical, extra, tuple(warnings), identical)


def _duplicates(conn: duckdb.DuckDBPyConnection, dataset: Dataset, columns: list[str]) -> int:
    """Extra identical copies of keys in the staged rows, or -1 if a key has two versions."""
    key = ", ".join(_q(c) for c in dataset.key)
    values = ", ".join(_q(c) for c in columns if c not in dataset.key) or "1"
    (repeated,) = conn.execute(
        f"select count(*) from (select 1 from {STAGED} group by {key} having count(*) > 1)"
    ).fetchall()[0]
    if not repeated:
        return 0
    extra, conflicting = conn.execute(
        f"select coalesce(sum(n - 1), 0), count(*) filter (where versions > 1) from ("
        f"select count(*) as n, count(distinct hash({values})) as versions from {STAGED} "
        f"group by {key} having count(*) > 1)"
    ).fetchall()[0]
    return -1 if conflicting else int(extra)


def _explain(
    conn: duckdb.DuckDBPyConnection,
    scan: Scan,
    known: dict[str, str],
    types: dict[str, str],
    rules: list[_Rule],
    stamps: list[str],
    dataset: Dataset | None = None,
) -> None:
    """Stage the file again with row numbers and raw text, and raise naming the first bad row."""
    row = "file_row_number + 1" if scan.format == "parquet" else "row_number() over ()"
    if scan.format == "csv":
        row += " + 1"
    source = scan.sql
    if scan.format == "parquet":
        source = source[:-1] + ", file_row_number = true)"
    selected = ", ".join(f"{scan.column_sql(c)} as {_q(c)}" for c in known)
    casts = ", ".join(f"{_typed(c, k, types[c])} as {_q(TYPED + c)}" for c, k in known.items())
    conn.execute(
        f"create or replace temp table {DETAIL} as select *, {casts} from "
        f"(select {row} as {ROW}, {selected} from {source})"
    )
    try:
        _check(conn, scan.name, rules)
        _mixed_offsets(conn, scan.name, stamps)
        if dataset is not None:
            _check_duplicates(conn, scan.name, dataset, {c: _q(TYPED + c) for c in known})
    finally:
        conn.execute(f"drop table if exists {DETAIL}")
    raise AssertionError(f"{scan.name}: a staged row broke a rule that no row breaks in detail")


def _rules(
    dataset: Dataset,
    known: dict[str, str],
    typed: dict[str, str],
    types: dict[str, str],
    received_at: datetime,
) -> list[_Rule]:
    rules = []
    for column, kind in known.items():
        blank = _blank(column, types[column])
        if column in dataset.columns:
            rules.append(_Rule(column, "required value is empty", blank))
        invalid = f"not {blank} and {typed[column]} is null"
        rules.append(_Rule(column, f"not a valid {kind}", invalid))
        if kind == "double":
            rules.append(_Rule(column, "not a finite number", f"not isfinite({typed[column]})"))
    if set(PRICE_COLUMNS) <= set(known):
        for column in PRICE_COLUMNS:
            rules.append(_Rule(column, "price must be positive", f"{typed[column]} <= 0"))
        rules.append(_Rule("high", "high is below low", f"{typed['high']} < {typed['low']}"))
        if "volume" in known:
            rules.append(_Rule("volume", "volume is negative", f"{typed['volume']} < 0"))
    time_column = dataset.availability.time_column
    if time_column in known:
        limit = (received_at + FUTURE_TOLERANCE).replace(tzinfo=None).isoformat(sep=" ")
        rules.append(
            _Rule(
                time_column,
                "timestamp in the future: after the file was received "
                f"({received_at:%Y-%m-%d %H:%M:%S} UTC)",
                f"cast({typed[time_column]} as timestamp) > timestamp '{limit}'",
            )
        )
    if SYMBOL in known:
        rules.append(_Rule(SYMBOL, "symbol is empty", f"{typed[SYMBOL]} is null"))
    return rules


def _check(conn: duckdb.DuckDBPyConnection, name: str, rules: list[_Rule]) -> None:
    """One pass over the staged rows; raise for the first rule (in order) that any row breaks."""
    parts = []
    for rule in rules:
        condition = f"coalesce({rule.condition}, false)"
        parts.append(f"count(*) filter (where {condition}), min({ROW}) filter (where {condition})")
    counts = conn.execute(f"select {', '.join(parts)} from {DETAIL}").fetchall()[0]
    for index, rule in enumerate(rules):
        count, first = counts[2 * index], counts[2 * index + 1]
        if count:
            value = _value_at(conn, rule.column, first)
            raise ValidationError(
                f"{name}: row {first}, column {rule.column!r}: {rule.why} (got {value!r}); "
                f"{count} row(s) affected"
            )


def _value_at(conn: duckdb.DuckDBPyConnection, column: str, row: int) -> Any:
    """The raw value of `column` at file row `row` of the detail stage, for error messages."""
    query = f"select {_q(column)} from {DETAIL} where {ROW} = ?"
    return conn.execute(query, [row]).fetchall()[0][0]


def _mixed_offsets(conn: duckdb.DuckDBPyConnection, name: str, columns: list[str]) -> None:
    """Naive timestamps are UTC by contract; a file mixing naive and offset ones is ambiguous."""
    for column in columns:
        aware = f"regexp_matches(trim({_q(column)}), '{_OFFSET}')"
        naive, offset, first = conn.execute(
            f"select count(*) filter (where not {aware}), count(*) filter (where {aware}), "
            f"min({ROW}) filter (where not {aware}) from {DETAIL} where {_q(column)} is not null"
        ).fetchall()[0]
        if naive and offset:
            value = _value_at(conn, column, first)
            raise ValidationError(
                f"{name}: row {first}, column {column!r}: timestamp without a UTC offset in a "
                f"file whose other timestamps have one (got {value!r}); {naive} row(s) affected"
            )


def _check_duplicates(
    conn: duckdb.DuckDBPyConnection, name: str, dataset: Dataset, typed: dict[str, str]
) -> None:
    """Raise for a key delivered twice with different values, naming both rows."""
    key = [c for c in dataset.key if c in typed]
    values = [c for c in typed if c not in key]
    keys = ", ".join(f"{typed[c]} as {_q(c)}" for c in key)
    row_values = ", ".join(typed[c] for c in values) or "1"
    result = conn.execute(
        f"with k as (select {keys}, {ROW}, hash({row_values}) as h from {DETAIL}), "
        f"g as (select count(*) as n, count(distinct h) as versions, min({ROW}) as first, "
        f"max({ROW}) as last from k group by {', '.join(_q(c) for c in key)} "
        f"having count(*) > 1) "
        f"select coalesce(sum(n - 1), 0), count(*) filter (where versions > 1), "
        f"min(first) filter (where versions > 1), "
        f"arg_min(last, first) filter (where versions > 1) from g"
    ).fetchall()[0]
    _, conflicting, first, last = result
    if conflicting:
        raise ValidationError(
            f"{name}: row {first}, column {key[-1]!r}: duplicate key {list(dataset.key)} with "
            f"different values (also at row {last}); {conflicting} key(s) affected"
        )
