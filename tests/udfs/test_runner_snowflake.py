"""Snowflake runner, without Snowflake: the shipped function against DuckDB, the rest recorded.

Snowpark's local testing mode returns wrong results for `group_by().apply_in_pandas`, so
the UDTF path is proven in two halves: (1) the exact function the runner hands to
`apply_in_pandas`, pickled and unpickled as Snowpark ships it, is run here over every
partition the way a UDTF delivers them (upper-case columns, rows in any order) and compared
with the DuckDB runner's table; (2) the SQL the runner generates and the calls it makes are
checked against a recording fake `Session` that implements only what the runner uses. What
stays unproven -- Snowflake's own execution -- is written down in docs/engines.md.
"""

from __future__ import annotations

from pathlib import Path

import cloudpickle
import duckdb
import numpy as np
import pandas as pd
import pytest
from snowflake.snowpark.types import (
    DoubleType,
    StringType,
    StructField,
    StructType,
    TimestampTimeZone,
    TimestampType,
)
from support.bars import KEY_COLUMNS, engine_rows

from udfs import output_columns
from udfs.runners import snowflake as runner
from udfs.runners.duckdb import run_features as run_duckdb
from udfs.runners.partition import FeaturePlan

pytestmark = pytest.mark.snowflake

SOURCE = "intermediate.int_bars_resampled"
TARGET = "features.udf_features"
NTZ = TimestampType(TimestampTimeZone.NTZ)
SOURCE_SCHEMA = StructType(
    [
        StructField("SYMBOL", StringType()),
        StructField("TIMEFRAME", StringType()),
        StructField("TS", NTZ),
        *(StructField(c, DoubleType()) for c in ("OPEN", "HIGH", "LOW", "CLOSE", "VOLUME")),
        StructField("AVAILABLE_AT", NTZ),
        StructField("BAR_COUNT", DoubleType()),
    ]
)


class FakeFrame:
    """The part of a Snowpark DataFrame the runner uses; every call is recorded."""

    def __init__(self, session: FakeSession, name: str, schema: StructType) -> None:
        """A frame called `name` with `schema`."""
        self.session, self.name, self.schema = session, name, schema

    def select(self, *columns: str) -> FakeFrame:
        """Record the projection."""
        self.session.calls.append(("select", self.name, list(columns)))
        return self

    def group_by(self, *columns: str) -> FakeFrame:
        """Record the grouping."""
        self.session.calls.append(("group_by", list(columns)))
        return self

    def apply_in_pandas(self, func, output_schema: StructType, **kwargs) -> FakeFrame:
        """Record the function and the UDTF options."""
        self.session.calls.append(("apply_in_pandas", output_schema, kwargs))
        self.session.shipped = cloudpickle.dumps(func)  # what Snowpark uploads
        return FakeFrame(self.session, "udtf_result", output_schema)

    def create_or_replace_temp_view(self, name: str) -> None:
        """Record the view."""
        self.session.calls.append(("temp_view", self.name, name))

    def count(self) -> int:
        """Record the count and answer the configured row count."""
        self.session.calls.append(("count", self.name))
        return self.session.rows


class FakeResult:
    """What `session.sql(...)` returns."""

    def __init__(self, session: FakeSession, text: str) -> None:
        """A statement not yet run."""
        self.session, self.text = session, text

    def collect(self) -> list:
        """Record the statement as run."""
        self.session.calls.append(("sql", self.text))
        return []


class FakeSession:
    """A recording stand-in for `snowflake.snowpark.Session`, limited to what the runner uses."""

    def __init__(self, schema: StructType = SOURCE_SCHEMA, rows: int = 0) -> None:
        """Tables answer `schema`; counts answer `rows`."""
        self.schema, self.rows = schema, rows
        self.calls: list[tuple] = []
        self.shipped: bytes | None = None

    def table(self, name: str) -> FakeFrame:
        """Record the table lookup."""
        self.calls.append(("table", name))
        return FakeFrame(self, name, self.schema)

    def sql(self, text: str) -> FakeResult:
        """A statement, recorded when collected."""
        return FakeResult(self, text)


def test_the_runner_issues_the_udtf_and_an_atomic_swap_in_order():
    session = FakeSession(rows=1234)
    assert runner.run_features(session) == 1234
    staging = '"FEATURES"."UDF_FEATURES__SIGNALYARD_STAGING"'
    result = '"FEATURES"."UDF_FEATURES__SIGNALYARD_RESULT"'
    kinds = [call[0] for call in session.calls]
    assert kinds == [
        "table", "select", "group_by", "apply_in_pandas", "sql", "sql", "temp_view",
        "sql", "sql", "sql", "sql", "table", "count",
    ]  # fmt: skip
    assert session.calls[0] == ("table", '"INTERMEDIATE"."INT_BARS_RESAMPLED"')
    read = ["SYMBOL", "TIMEFRAME", "TS", "AVAILABLE_AT", "OPEN", "HIGH", "LOW", "CLOSE", "VOLUME"]
    assert session.calls[1][2] == [f'"{c}"' for c in read]
    assert session.calls[2] == ("group_by", ['"SYMBOL"', '"TIMEFRAME"'])
    _, schema, options = session.calls[3]
    assert options["input_names"] == read
    assert options["packages"] == ["numpy", "pandas", "numba"]
    assert schema.names == [
        "SYMBOL",
        "TIMEFRAME",
        "TS",
        "AVAILABLE_AT",
        *map(str.upper, output_columns()),
    ]
    statements = [call[1] for call in session.calls if call[0] == "sql"]
    assert statements[0] == 'create schema if not exists "FEATURES"'
    assert statements[1].startswith(f"create or replace table {staging} as select ")
    assert session.calls[6] == ("temp_view", "udtf_result", result)
    assert statements[2].startswith(f"insert into {staging} (")
    assert statements[3:] == [
        f'create table if not exists "FEATURES"."UDF_FEATURES" like {staging}',
        f'alter table "FEATURES"."UDF_FEATURES" swap with {staging}',
        f"drop table if exists {staging}",
    ]
    assert session.calls[-2:] == [
        ("table", '"FEATURES"."UDF_FEATURES"'),
        ("count", '"FEATURES"."UDF_FEATURES"'),
    ]


def test_generated_sql_keeps_source_key_types_and_turns_nan_into_null():
    plan = FeaturePlan.resolve(["cci", "macd"])
    ddl = runner.create_staging_sql("raw_db.intermediate.bars", "features.out", plan)
    assert ddl == (
        'create or replace table "FEATURES"."OUT__SIGNALYARD_STAGING" as select "SYMBOL", '
        '"TIMEFRAME", "TS", "AVAILABLE_AT", cast(null as double) as "CCI", '
        'cast(null as double) as "MACD" from "RAW_DB"."INTERMEDIATE"."BARS" limit 0'
    )
    insert = runner.insert_sql("features.out", plan)
    assert insert == (
        'insert into "FEATURES"."OUT__SIGNALYARD_STAGING" ("SYMBOL", "TIMEFRAME", "TS", '
        '"AVAILABLE_AT", "CCI", "MACD") select "SYMBOL", "TIMEFRAME", "TS", "AVAILABLE_AT", '
        'iff("CCI" = \'NaN\'::double, null, "CCI") as "CCI", '
        'iff("MACD" = \'NaN\'::double, null, "MACD") as "MACD" '
        'from "FEATURES"."OUT__SIGNALYARD_RESULT"'
    )
    assert runner.create_schema_sql("udf_features") == []


def test_output_schema_maps_source_key_types_and_doubles():
    source = StructType([StructField('"symbol"', StringType(16)), *SOURCE_SCHEMA.fields[1:]])
    schema = runner.output_schema(source, FeaturePlan.resolve(["rsi_14"]))
    assert [(f.name, f.datatype) for f in schema.fields] == [
        ("SYMBOL", StringType(16)),
        ("TIMEFRAME", StringType()),
        ("TS", NTZ),
        ("AVAILABLE_AT", NTZ),
        ("RSI_14", DoubleType()),
    ]


def test_missing_source_columns_are_listed_before_anything_runs():
    schema = StructType([f for f in SOURCE_SCHEMA.fields if f.name != "CLOSE"])
    session = FakeSession(schema)
    with pytest.raises(ValueError, match=r"missing columns \['CLOSE'\]; received columns"):
        runner.run_features(session)
    assert [call[0] for call in session.calls] == ["table"]


def test_the_udtf_imports_the_project_packages():
    udfs_dir, warehouse_dir = map(Path, runner.default_imports())
    assert (udfs_dir / "runners" / "partition.py").is_file() and udfs_dir.name == "udfs"
    assert (warehouse_dir / "columns.py").is_file() and warehouse_dir.name == "warehouse"
    session = FakeSession()
    runner.run_features(session, imports=["@stage/udfs.zip"], packages=["pandas==2.2.3"])
    options = session.calls[3][2]
    assert options["imports"] == ["@stage/udfs.zip"] and options["packages"] == ["pandas==2.2.3"]


def test_the_shipped_function_gives_the_duckdb_table():
    rows = engine_rows()
    session = FakeSession()
    runner.run_features(session)
    compute_group = cloudpickle.loads(session.shipped)
    # As a UDTF partition arrives: upper-case names, rows in no particular order.
    udtf_rows = rows.rename(columns=str.upper).sample(frac=1.0, random_state=3)
    parts = [compute_group(group) for _, group in udtf_rows.groupby(["SYMBOL", "TIMEFRAME"])]
    got = pd.concat(parts, ignore_index=True)
    assert list(got.columns) == [c.upper() for c in [*KEY_COLUMNS, *output_columns()]]

    conn = duckdb.connect()
    conn.execute("create schema intermediate")
    conn.register("rows", rows)
    conn.execute(f"create table {SOURCE} as select * from rows")
    run_duckdb(conn, workers=1)
    want = conn.sql(f"select * from {TARGET} order by symbol, timeframe, ts").df()
    got = got.sort_values(["SYMBOL", "TIMEFRAME", "TS"], ignore_index=True)
    for column in ["symbol", "timeframe", "ts", "available_at"]:
        np.testing.assert_array_equal(got[column.upper()].to_numpy(), want[column].to_numpy())
    for column in output_columns():
        have = got[column.upper()].to_numpy(dtype=np.float64)
        expected = want[column].to_numpy(dtype=np.float64, na_value=np.nan)
        np.testing.assert_array_equal(have, expected)  # NaN exactly where DuckDB has NULL
    assert np.isnan(got.loc[got["SYMBOL"] == "SOLUSD", "MACD"]).all()


def test_source_and_target_must_differ():
    with pytest.raises(ValueError, match="same table"):
        runner.run_features(FakeSession(), SOURCE, SOURCE.upper())
