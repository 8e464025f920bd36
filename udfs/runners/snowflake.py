"""Snowflake runner: Snowpark `group_by(symbol, timeframe).apply_in_pandas` with the feature UDFs.

Snowpark registers `udfs.runners.partition.group_function(plan)` -- the per-partition code
every runner uses, the plan pickled inside -- as a temporary vectorized UDTF partitioned by
(symbol, timeframe), with this project's `udfs` and `warehouse` packages uploaded as imports
and numpy/pandas/numba from Snowflake's Anaconda channel. A UDTF partition arrives in no
particular row order with upper-case column names; the function sorts by ts itself.

The replacement is atomic for readers, built from statements this module generates:

1. `create schema if not exists`, then `create or replace table <target>__SIGNALYARD_STAGING
   as select <keys>, cast(null as double) as <feature>, ... from <source> limit 0` (keys
   typed as in the source);
2. the UDTF result as a temporary view, then `insert into <staging> select ...` with NaN
   turned into NULL (`iff(x = 'NaN'::double, null, x)`, whatever the UDTF handed back);
3. `create table if not exists <target> like <staging>`, `alter table <target> swap with
   <staging>`, `drop table <staging>`.

Snowflake commits each DDL statement by itself, so these are not one transaction; the swap
is the one atomic step readers can observe. Identifiers are upper-cased and quoted, which
is what dbt's unquoted lower-case names resolve to.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from snowflake.snowpark import DataFrame, Session
from snowflake.snowpark.types import DoubleType, StructField, StructType

import udfs
import warehouse
from udfs.runners.partition import KEY_COLUMNS, FeaturePlan, group_function
from warehouse.columns import SYMBOL, TIMEFRAME

# Snowflake type of each declared output dtype (SQL, Snowpark).
SQL_TYPES = {"double": "double"}
SNOWPARK_TYPES = {"double": DoubleType()}
# Resolved by Snowflake's Anaconda channel when the UDTF is created.
DEFAULT_PACKAGES = ("numpy", "pandas", "numba")
STAGING_SUFFIX = "__SIGNALYARD_STAGING"
RESULT_SUFFIX = "__SIGNALYARD_RESULT"
_log = logging.getLogger(__name__)


def identifier(name: str) -> str:
    """A column or table-part name as Snowflake stores an unquoted one: quoted upper case."""
    return '"' + name.upper().replace('"', '""') + '"'


def table_name(name: str, suffix: str = "") -> str:
    """`schema.table` (or `db.schema.table`) quoted part by part, `suffix` on the table."""
    parts = name.split(".")
    parts[-1] += suffix
    return ".".join(identifier(part) for part in parts)


def default_imports() -> list[str]:
    """Package directories the UDTF needs: `udfs` and `warehouse` (for its column names)."""
    return [str(Path(udfs.__file__).parent), str(Path(warehouse.__file__).parent)]


def _unquoted(name: str) -> str:
    """A Snowpark column name without its quotes, upper case."""
    return name.strip('"').upper()


def output_schema(source: StructType, plan: FeaturePlan) -> StructType:
    """Upper-case key columns typed as in the source, then one DOUBLE per feature output."""
    fields = {_unquoted(field.name): field for field in source.fields}
    keys = [StructField(key.upper(), fields[key.upper()].datatype) for key in KEY_COLUMNS]
    features = [StructField(c.upper(), SNOWPARK_TYPES[t]) for c, t in plan.dtypes.items()]
    return StructType(keys + features)


def create_schema_sql(target: str) -> list[str]:
    """`create schema if not exists` for a qualified target (none for a bare name)."""
    parts = target.split(".")
    if len(parts) == 1:
        return []
    return [f"create schema if not exists {'.'.join(identifier(part) for part in parts[:-1])}"]


def create_staging_sql(source: str, target: str, plan: FeaturePlan) -> str:
    """DDL of the empty staging table: keys as in the source, a DOUBLE per feature."""
    keys = ", ".join(identifier(key) for key in KEY_COLUMNS)
    features = "".join(
        f", cast(null as {SQL_TYPES[dtype]}) as {identifier(column)}"
        for column, dtype in plan.dtypes.items()
    )
    return (
        f"create or replace table {table_name(target, STAGING_SUFFIX)} as "
        f"select {keys}{features} from {table_name(source)} limit 0"
    )


def insert_sql(target: str, plan: FeaturePlan) -> str:
    """Copy the UDTF result view into staging, NaN as NULL."""
    keys = [identifier(key) for key in KEY_COLUMNS]
    features = [identifier(column) for column in plan.columns]
    cleaned = [f"iff({c} = 'NaN'::double, null, {c}) as {c}" for c in features]
    return (
        f"insert into {table_name(target, STAGING_SUFFIX)} ({', '.join(keys + features)}) "
        f"select {', '.join(keys + cleaned)} from {table_name(target, RESULT_SUFFIX)}"
    )


def swap_sql(target: str) -> list[str]:
    """Statements that make staging the target (atomically) and drop the old table."""
    staging = table_name(target, STAGING_SUFFIX)
    return [
        f"create table if not exists {table_name(target)} like {staging}",
        f"alter table {table_name(target)} swap with {staging}",
        f"drop table if exists {staging}",
    ]


def _check_source(frame: DataFrame, plan: FeaturePlan, source: str) -> StructType:
    """The source schema; ValueError listing missing, received and expected columns."""
    schema = frame.schema
    received = [_unquoted(field.name) for field in schema.fields]
    expected = [column.upper() for column in plan.read_columns]
    missing = [column for column in expected if column not in received]
    if missing:
        raise ValueError(
            f"{source} is missing columns {missing}; received columns {received}; "
            f"expected columns {expected}"
        )
    return schema


def feature_frame(
    session: Session,
    source: str,
    plan: FeaturePlan,
    *,
    packages: Sequence[str] = DEFAULT_PACKAGES,
    imports: Sequence[Any] | None = None,
) -> DataFrame:
    """The lazy UDTF result: keys and features of every (symbol, timeframe) of `source`."""
    frame = session.table(table_name(source))
    schema = _check_source(frame, plan, source)
    read = [identifier(column) for column in plan.read_columns]
    return (
        frame.select(*read)
        .group_by(identifier(SYMBOL), identifier(TIMEFRAME))
        .apply_in_pandas(
            group_function(plan, upper_case=True),
            output_schema=output_schema(schema, plan),
            input_names=[column.upper() for column in plan.read_columns],
            packages=list(packages),
            imports=list(default_imports() if imports is None else imports),
        )
    )


def run_features(
    session: Session,
    source: str = "intermediate.int_bars_resampled",
    target: str = "features.udf_features",
    names: list[str] | None = None,
    *,
    packages: Sequence[str] = DEFAULT_PACKAGES,
    imports: Sequence[Any] | None = None,
) -> int:
    """Replace `target` with the features of every (symbol, timeframe) in `source`; row count.

    Same columns as the DuckDB runner (upper-case, as Snowflake names unquoted columns):
    SYMBOL, TIMEFRAME, TS, AVAILABLE_AT (running max of the source's), one DOUBLE per feature.
    """
    if table_name(source) == table_name(target):
        raise ValueError(f"source and target are the same table: {source}")
    plan = FeaturePlan.resolve(names)
    features = feature_frame(session, source, plan, packages=packages, imports=imports)
    for statement in [*create_schema_sql(target), create_staging_sql(source, target, plan)]:
        session.sql(statement).collect()
    features.create_or_replace_temp_view(table_name(target, RESULT_SUFFIX))
    session.sql(insert_sql(target, plan)).collect()
    for statement in swap_sql(target):
        session.sql(statement).collect()
    rows = session.table(table_name(target)).count()
    _log.info("udf features written", extra={"target": target, "rows": rows})
    return rows
