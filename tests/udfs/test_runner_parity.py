"""One feature table from DuckDB, PostgreSQL and Spark: equal on the same bars.

Bars: AAPL and MSFT daily 2008-2013 (real), BTCUSD and ETHUSD random-walk minutes at 1m and
5m, a missing close inside ETHUSD 1m, and SOLUSD shorter than MACD's warm-up.

Tolerance: every engine runs the same Python function on the same float64 inputs, so the
values are expected to be bit-identical; the test allows `RTOL` (1e-12) times each column's
largest finite magnitude to absorb a float's trip through an engine's wire format. Keys,
available_at, infinities and the positions of NULLs (warm-ups, NaN propagation) must be
identical. Every registered feature is compared, not only the original three.
"""

from __future__ import annotations

import uuid

import duckdb
import numpy as np
import pandas as pd
import pytest
from support.bars import KEY_COLUMNS, engine_rows
from support.compare import assert_same_features, expected_features
from support.postgres import load_bars

from udfs import output_columns
from udfs.runners.duckdb import run_features as run_duckdb
from udfs.runners.postgres import run_features as run_postgres
from udfs.runners.spark import run_features as run_spark

# pyspark 4.3 warns that it does not fully support pandas 3; these tests check the results.
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.spark,
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),  # pyspark's own astype
]

SOURCE = "intermediate.int_bars_resampled"
TARGET = "features.udf_features"
RTOL = 1e-12
KEYS = ["symbol", "timeframe", "ts"]


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    """The bars every engine gets."""
    return engine_rows()


def ordered(frame: pd.DataFrame) -> pd.DataFrame:
    """The output columns sorted by key, floats as float64 with NaN for NULL."""
    frame = frame[[*KEY_COLUMNS, *output_columns()]].sort_values(KEYS, ignore_index=True)
    for column in output_columns():
        frame[column] = frame[column].to_numpy(dtype=np.float64, na_value=np.nan)
    for column in ["ts", "available_at"]:
        frame[column] = frame[column].to_numpy(dtype="datetime64[us]")
    frame["symbol"] = frame["symbol"].astype(object)
    frame["timeframe"] = frame["timeframe"].astype(object)
    return frame


@pytest.fixture(scope="module")
def duckdb_table(rows) -> pd.DataFrame:
    """The DuckDB runner's table (two worker processes)."""
    conn = duckdb.connect()
    conn.execute("create schema intermediate")
    conn.register("rows", rows)
    conn.execute(f"create table {SOURCE} as select * from rows")
    assert run_duckdb(conn, workers=2) == len(rows)
    table = conn.sql(f"select * from {TARGET}").df()
    conn.close()
    return ordered(table)


@pytest.fixture(scope="module")
def postgres_table(postgres_cluster, rows) -> pd.DataFrame:
    """The PostgreSQL runner's table, on a database of the session's cluster."""
    name = f"parity_{uuid.uuid4().hex[:12]}"
    with postgres_cluster.connect(autocommit=True) as admin:
        admin.execute(f'create database "{name}"')
    try:
        with postgres_cluster.connect(name) as conn:
            load_bars(conn, SOURCE, rows)
            assert run_postgres(conn, workers=2) == len(rows)
            cur = conn.execute(f"select * from {TARGET}")
            table = pd.DataFrame(cur.fetchall(), columns=[c.name for c in cur.description])
    finally:
        with postgres_cluster.connect(autocommit=True) as admin:
            admin.execute(f'drop database "{name}" with (force)')
    return ordered(table)


@pytest.fixture(scope="module")
def spark_table(spark, rows) -> pd.DataFrame:
    """The Spark runner's table (local[2])."""
    spark.sql("create database if not exists parity")
    spark.createDataFrame(rows).write.mode("overwrite").saveAsTable("parity.bars")
    assert run_spark(spark, "parity.bars", "parity.features") == len(rows)
    return ordered(spark.table("parity.features").toPandas())


def assert_same_table(got: pd.DataFrame, want: pd.DataFrame, engine: str) -> None:
    """Keys and available_at identical, NULLs in the same places, values within RTOL."""
    pd.testing.assert_frame_equal(
        got[[*KEYS, "available_at"]], want[[*KEYS, "available_at"]], obj=engine
    )
    assert_same_features(got, want, output_columns(), rtol=RTOL, what=engine)


def test_duckdb_is_compute_features_per_partition(duckdb_table, rows):
    for (symbol, timeframe), part in duckdb_table.groupby(["symbol", "timeframe"]):
        want = expected_features(rows, symbol, timeframe)
        for column in output_columns():
            np.testing.assert_array_equal(part[column].to_numpy(), want[column].to_numpy())


def test_postgres_equals_duckdb(postgres_table, duckdb_table):
    assert_same_table(postgres_table, duckdb_table, "postgres")


def test_spark_equals_duckdb(spark_table, duckdb_table):
    assert_same_table(spark_table, duckdb_table, "spark")


def test_warmups_and_propagated_nans_are_null_on_every_engine(
    duckdb_table, postgres_table, spark_table
):
    for engine, table in [
        ("duckdb", duckdb_table),
        ("postgres", postgres_table),
        ("spark", spark_table),
    ]:
        short = table[table["symbol"] == "SOLUSD"]
        assert short["macd"].isna().all() and short["rsi_14"].notna().sum() == 25 - 14, engine
        eth = table[(table["symbol"] == "ETHUSD") & (table["timeframe"] == "1m")]
        assert eth["rsi_14"].iloc[700:].isna().all() and eth["rsi_14"].iloc[14:700].notna().all()
        daily = table[table["symbol"] == "AAPL"]
        assert daily["macd"].iloc[:33].isna().all() and daily["macd"].iloc[33:].notna().all()
        nulls = int(table[output_columns()].isna().sum().sum())
        assert nulls == int(duckdb_table[output_columns()].isna().sum().sum()), engine
