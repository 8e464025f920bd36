"""Great Expectations suites, built from each dataset's declaration, over landed batches.

A batch is one landed file as loaded: its rows of `raw.<dataset>` (`_source_file = key`)
as a pandas DataFrame (GX has no DuckDB datasource). Results go to
`meta.expectation_results`, one row per expectation per batch. GX is imported lazily:
it takes seconds, and only validation needs it.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pandas as pd

from warehouse.columns import AVAILABLE_AT, OHLCV, RECEIVED_AT, SOURCE_FILE, VENDOR
from warehouse.datasets import DATASETS, BarClose, Dataset
from warehouse.engines.duckdb import table_exists
from warehouse.validation import FUTURE_TOLERANCE

if TYPE_CHECKING:
    from great_expectations.core.batch_definition import BatchDefinition
    from great_expectations.core.expectation_suite import ExpectationSuite

RESULTS_TABLE = "meta.expectation_results"
PRICE_COLUMNS = tuple(c for c in OHLCV if c != "volume")
# Prices a bar dataset may add beside OHLC; checked when declared (e.g. bars_1d's adj_close).
EXTRA_PRICE_COLUMNS = ("adj_close",)
LINEAGE_COLUMNS = (AVAILABLE_AT, SOURCE_FILE, RECEIVED_AT, VENDOR)
# Lineage that must be filled row by row; `_source_file` and `_vendor` are stamped per file
# by the loader (and a batch is selected by its `_source_file`), so existence suffices.
NOT_NULL_LINEAGE = (AVAILABLE_AT, RECEIVED_AT)
# Derived for validation only: `_received_at` + the loader's clock-skew tolerance.
RECEIVED_LIMIT = "_received_at_plus_tolerance"
# Unexpected values kept per expectation (GX's partial_unexpected_list, capped).
SAMPLE_SIZE = 5
# Every batch is first validated pass/fail only (GX's overhead is per expectation and batch,
# and counting costs more metrics); a failing batch is validated again with counts and samples.
_FAST_FORMAT = {"result_format": "BOOLEAN_ONLY"}
_DETAILED_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": SAMPLE_SIZE}

_RESULTS_DDL = f"""
create schema if not exists meta;
create table if not exists {RESULTS_TABLE} (
    source_file varchar not null, sha256 varchar not null, dataset varchar not null,
    suite varchar not null, position integer not null, expectation_type varchar not null,
    column_names varchar, success boolean not null, element_count bigint,
    unexpected_count bigint, unexpected_sample varchar, observed_value varchar,
    error varchar, validated_at timestamp not null
);
"""


@dataclass(frozen=True)
class BatchId:
    """One landed file: its lake key and content hash (as in `meta.loaded_files`)."""

    source_file: str
    sha256: str


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation's result on one batch, with a few of the values that broke it."""

    expectation_type: str
    columns: tuple[str, ...]
    success: bool
    element_count: int | None
    unexpected_count: int | None
    unexpected_sample: tuple[Any, ...]
    observed_value: Any = None
    error: str | None = None


@dataclass(frozen=True)
class BatchValidation:
    """A batch validated against its dataset's suite."""

    batch: BatchId
    dataset: str
    suite: str
    success: bool
    results: tuple[ExpectationOutcome, ...]

    def failed(self) -> tuple[ExpectationOutcome, ...]:
        """The expectations this batch broke."""
        return tuple(r for r in self.results if not r.success)

    def result(self, expectation_type: str, *columns: str) -> ExpectationOutcome:
        """The outcome of one expectation, found by type and column(s)."""
        for outcome in self.results:
            if outcome.expectation_type == expectation_type and outcome.columns == columns:
                return outcome
        raise KeyError(f"suite {self.suite} has no {expectation_type} on {list(columns)}")


def suite_name(dataset: Dataset) -> str:
    """The suite's name for a dataset."""
    return f"{dataset.name}_landed_batch"


def is_bar_dataset(dataset: Dataset) -> bool:
    """Bars: OHLC prices, and availability at the bar's close."""
    return isinstance(dataset.availability, BarClose) and set(PRICE_COLUMNS) <= set(dataset.columns)


def _gx() -> Any:
    """great_expectations, imported on first use with analytics off and quiet."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    with warnings.catch_warnings():
        # GX imports pyspark when installed, which warns about pandas 3 on import.
        warnings.simplefilter("ignore", FutureWarning)
        import great_expectations as gx
    return gx


def build_suite(dataset: Dataset) -> ExpectationSuite:
    """The suite for a dataset, derived from its declaration alone."""
    gx = _gx()
    gxe = gx.expectations
    required = [*dataset.columns, *LINEAGE_COLUMNS]
    time_column = dataset.availability.time_column
    # No row-count floor: a file that only repeats loaded rows adds none (and passes).
    expectations: list[Any] = [
        # One expectation for all required columns: "at least these columns".
        gxe.ExpectTableColumnsToMatchSet(column_set=required, exact_match=False),
    ]
    expectations += [
        gxe.ExpectColumnValuesToNotBeNull(column=c) for c in (*dataset.columns, *NOT_NULL_LINEAGE)
    ]
    for column, kind in dataset.columns.items():
        if kind == "text":
            expectations.append(gxe.ExpectColumnValueLengthsToBeBetween(column=column, min_value=1))
    if len(dataset.key) == 1:
        expectations.append(gxe.ExpectColumnValuesToBeUnique(column=dataset.key[0]))
    else:
        expectations.append(gxe.ExpectCompoundColumnsToBeUnique(column_list=list(dataset.key)))
    expectations += [
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=AVAILABLE_AT, column_B=time_column, or_equal=True, mostly=1.0
        ),
        # Nothing dated after its file arrived (the loader's rule, with its clock-skew
        # tolerance): a column pair, vectorized (GX maps datetimes row by row in "between").
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=RECEIVED_LIMIT, column_B=time_column, or_equal=True, mostly=1.0
        ),
    ]
    if is_bar_dataset(dataset):
        expectations += _bar_expectations(gxe, dataset)
    return gx.ExpectationSuite(name=suite_name(dataset), expectations=expectations)


def _bar_expectations(gxe: Any, dataset: Dataset) -> list[Any]:
    prices = [*PRICE_COLUMNS, *(c for c in EXTRA_PRICE_COLUMNS if c in dataset.all_columns())]
    out: list[Any] = [
        gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0, strict_min=True) for c in prices
    ]
    for column_a, column_b in (
        ("high", "low"),
        ("high", "open"),
        ("high", "close"),
        ("open", "low"),
        ("close", "low"),
    ):
        out.append(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A=column_a, column_B=column_b, or_equal=True, mostly=1.0
            )
        )
    if "volume" in dataset.columns:
        out.append(gxe.ExpectColumnValuesToBeBetween(column="volume", min_value=0))
    return out


class SuiteRunner:
    """One ephemeral GX context; a dataframe asset and a suite per dataset, built once."""

    def __init__(self) -> None:
        gx = _gx()
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )

        config = DataContextConfig(
            analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False),
            store_backend_defaults=InMemoryStoreBackendDefaults(),
        )
        self._context = gx.get_context(mode="ephemeral", project_config=config)
        self._source = self._context.data_sources.add_pandas("signalyard")
        self._prepared: dict[str, tuple[Dataset, BatchDefinition, ExpectationSuite]] = {}

    def _prepare(self, dataset: Dataset) -> tuple[BatchDefinition, ExpectationSuite]:
        known = self._prepared.get(dataset.name)
        if known is None:
            asset = self._source.add_dataframe_asset(dataset.name)
            definition = asset.add_batch_definition_whole_dataframe("file")
            known = (dataset, definition, build_suite(dataset))
        elif known[0] != dataset:  # the same name declared anew: a new suite, same asset
            known = (dataset, known[1], build_suite(dataset))
        self._prepared[dataset.name] = known
        return known[1], known[2]

    def validate(self, frame: pd.DataFrame, dataset: Dataset, batch: BatchId) -> BatchValidation:
        """Validate one batch's rows against the dataset's suite."""
        definition, suite = self._prepare(dataset)
        frame = frame.assign(**{RECEIVED_LIMIT: _received_limit(frame)})
        gx_batch = definition.get_batch(batch_parameters={"dataframe": frame})
        result = gx_batch.validate(suite, result_format=_FAST_FORMAT)
        if not result.success:
            result = gx_batch.validate(suite, result_format=_DETAILED_FORMAT)
        outcomes = tuple(_outcome(r) for r in result.results)
        return BatchValidation(
            batch=batch,
            dataset=dataset.name,
            suite=suite.name,
            success=all(o.success for o in outcomes),
            results=outcomes,
        )


def _received_limit(frame: pd.DataFrame) -> pd.Series:
    """Each row's `_received_at` plus the tolerance; NaT (the row fails) when unknown."""
    if RECEIVED_AT not in frame.columns:
        return pd.Series(pd.NaT, index=frame.index, dtype="datetime64[us]")
    return pd.to_datetime(frame[RECEIVED_AT]) + FUTURE_TOLERANCE


def _outcome(result: Any) -> ExpectationOutcome:
    config = result.expectation_config
    kwargs = config.kwargs
    columns = tuple(kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs)
    columns = columns or tuple(kwargs.get("column_list") or kwargs.get("column_set") or ())
    error = _error(result.exception_info or {})
    details = result.result or {}
    # Row-level expectations list unexpected values; the column-set one, the missing columns.
    mismatched = (details.get("details") or {}).get("mismatched") or {}
    sample = details.get("partial_unexpected_list") or mismatched.get("missing") or []
    return ExpectationOutcome(
        expectation_type=config.type,
        columns=columns,
        success=bool(result.success) and error is None,
        element_count=details.get("element_count"),
        unexpected_count=details.get("unexpected_count"),
        unexpected_sample=tuple(_jsonable(v) for v in sample[:SAMPLE_SIZE]),
        observed_value=_jsonable(details.get("observed_value")),
        error=error,
    )


def _error(info: dict[str, Any]) -> str | None:
    """The exception message GX caught, flat or keyed by the metric that raised it."""
    reports = [info] if "raised_exception" in info else list(info.values())
    messages = [
        str(r.get("exception_message"))
        for r in reports
        if isinstance(r, dict) and r.get("raised_exception")
    ]
    return "; ".join(dict.fromkeys(messages)) or None


def _jsonable(value: Any) -> Any:
    """GX result values (numpy scalars, timestamps, tuples) as plain JSON values."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date | np.datetime64):
        return None if pd.isna(value) else pd.Timestamp(value).isoformat()
    value = value.item() if isinstance(value, np.generic) else value
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and math.isinf(value):
        return str(value)  # JSON has no infinity
    return value if isinstance(value, str | int | float | bool) else str(value)


def validate_batch(frame: pd.DataFrame, dataset: Dataset, batch_id: BatchId) -> BatchValidation:
    """Validate one landed batch (a fresh GX context; use `SuiteRunner` for many)."""
    return SuiteRunner().validate(frame, dataset, batch_id)


def ensure_results_table(conn: duckdb.DuckDBPyConnection) -> None:
    """Create `meta.expectation_results` if needed."""
    conn.execute(_RESULTS_DDL)


def record_results(conn: duckdb.DuckDBPyConnection, validations: Iterable[BatchValidation]) -> int:
    """Write results, replacing any earlier rows of the same batches; rows written."""
    latest = {v.batch: v for v in validations}  # a batch given twice: its last validation
    ensure_results_table(conn)
    validated_at = datetime.now(UTC).replace(tzinfo=None)
    rows = [
        (
            v.batch.source_file,
            v.batch.sha256,
            v.dataset,
            v.suite,
            position,
            r.expectation_type,
            ",".join(r.columns),
            r.success,
            r.element_count,
            r.unexpected_count,
            json.dumps(list(r.unexpected_sample)),
            None if r.observed_value is None else json.dumps(r.observed_value),
            r.error,
            validated_at,
        )
        for v in latest.values()
        for position, r in enumerate(v.results)
    ]
    conn.execute("begin transaction")
    try:
        for batch in latest:
            conn.execute(
                f"delete from {RESULTS_TABLE} where source_file = ? and sha256 = ?",
                [batch.source_file, batch.sha256],
            )
        if rows:
            placeholders = ", ".join("?" * len(rows[0]))
            conn.executemany(f"insert into {RESULTS_TABLE} values ({placeholders})", rows)
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise
    return len(rows)


def _pending(conn: duckdb.DuckDBPyConnection, names: list[str]) -> list[tuple[str, str, str]]:
    """(dataset, key, sha256) of loaded files of `names` with no recorded results."""
    if not names or not table_exists(conn, "meta.loaded_files"):
        return []
    return conn.execute(
        f"""
        select f.dataset, f.key, f.sha256 from meta.loaded_files f
        where f.status = 'loaded' and f.dataset in ({", ".join("?" * len(names))})
          and not exists (
              select 1 from {RESULTS_TABLE} r
              where r.source_file = f.key and r.sha256 = f.sha256
          )
        order by f.dataset, f.key
        """,
        names,
    ).fetchall()


# Rows validated together on the fast path (bounds the DataFrame GX sees).
UNION_MAX_ROWS = 2_000_000


def validate_new_batches(
    conn: duckdb.DuckDBPyConnection, datasets: Iterable[Dataset] | None = None
) -> list[BatchValidation]:
    """Validate and record every loaded file that has no results yet, one batch per file.

    Fast path: the new files of a dataset are validated together first (in chunks of at
    most UNION_MAX_ROWS rows). Every expectation of these suites is row-wise, a column
    set, or a uniqueness check, so a pass on the union implies a pass on each file; only
    a failing union is validated file by file, which attributes each failure to its file.
    Recorded counts are per file, so a file that passed on the union gets NULL counts (as
    a file passing the fast per-file check does).
    """
    declared = {d.name: d for d in (DATASETS.values() if datasets is None else datasets)}
    ensure_results_table(conn)
    pending = _pending(conn, sorted(declared))
    if not pending:
        return []
    runner = SuiteRunner()
    validations = []
    for name, chunk in _chunks(conn, pending):
        dataset = declared[name]
        frames = _read_batches(conn, dataset, [key for key, _ in chunk])
        union = runner.validate(
            pd.concat(frames.values(), ignore_index=True) if frames else pd.DataFrame(),
            dataset,
            BatchId("(union)", "-"),
        )
        if union.success:
            passed = tuple(
                replace(o, element_count=None, unexpected_count=None) for o in union.results
            )
            validations += [
                replace(union, batch=BatchId(key, sha256), results=passed) for key, sha256 in chunk
            ]
            continue
        validations += [
            runner.validate(frames.get(key, pd.DataFrame()), dataset, BatchId(key, sha256))
            for key, sha256 in chunk
        ]
    record_results(conn, validations)
    return validations


def _chunks(
    conn: duckdb.DuckDBPyConnection, pending: list[tuple[str, str, str]]
) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """Pending files grouped by dataset, in chunks of at most UNION_MAX_ROWS loaded rows."""
    rows = dict(conn.execute("select key || '|' || sha256, rows from meta.loaded_files").fetchall())
    current: list[tuple[str, str]] = []
    current_name, total = None, 0
    for name, key, sha256 in pending:
        size = int(rows.get(f"{key}|{sha256}") or 0)
        if current and (name != current_name or total + size > UNION_MAX_ROWS):
            yield current_name, current
            current, total = [], 0
        current_name = name
        current.append((key, sha256))
        total += size
    if current:
        yield current_name, current


def _read_batches(
    conn: duckdb.DuckDBPyConnection, dataset: Dataset, keys: list[str]
) -> dict[str, pd.DataFrame]:
    """Each file's rows from the dataset's raw table (none when the table is gone)."""
    if not table_exists(conn, dataset.table):
        return {}
    frame = conn.execute(
        f'select * from {dataset.table} where "{SOURCE_FILE}" in (select unnest(?::varchar[]))',
        [keys],
    ).fetchdf()
    parts = {key: part.reset_index(drop=True) for key, part in frame.groupby(SOURCE_FILE)}
    # A file whose rows all repeated loaded values added none: an empty batch, same columns.
    return {key: parts.get(key, frame.iloc[0:0]) for key in keys}


@dataclass(frozen=True)
class DatasetExpectations:
    """Recorded results of one dataset: batches validated and what failed."""

    dataset: str
    batches: int
    failed_batches: int
    failed_expectations: tuple[dict[str, Any], ...]

    @property
    def passed(self) -> bool:
        """Whether every validated batch met every expectation."""
        return self.failed_batches == 0


def summarize_results(conn: duckdb.DuckDBPyConnection) -> dict[str, DatasetExpectations]:
    """Per dataset, from `meta.expectation_results` (cheap: no GX involved)."""
    if not table_exists(conn, RESULTS_TABLE):
        return {}
    batches = conn.execute(
        f"select dataset, count(distinct (source_file, sha256)), "
        f"count(distinct (source_file, sha256)) filter (where not success) "
        f"from {RESULTS_TABLE} group by dataset order by dataset"
    ).fetchall()
    cursor = conn.execute(
        f"select dataset, expectation_type as expectation, column_names as columns, "
        f"count(*) as batches, sum(unexpected_count)::bigint as unexpected_rows, "
        f"list(source_file order by source_file)[1:3] as example_files, any_value(error) as error "
        f"from {RESULTS_TABLE} where not success "
        f"group by dataset, expectation_type, column_names order by all"
    )
    names = [d[0] for d in cursor.description]
    failed: dict[str, list[dict[str, Any]]] = {}
    for row in cursor.fetchall():
        record = dict(zip(names, row, strict=True))
        failed.setdefault(record.pop("dataset"), []).append(record)
    return {
        name: DatasetExpectations(name, total, bad, tuple(failed.get(name, ())))
        for name, total, bad in batches
    }
