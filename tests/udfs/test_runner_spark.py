"""Spark runner on a local[2] session: applyInPandas with the registered UDFs, NULL warm-ups."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from support.bars import engine_rows, minute_rows
from support.compare import assert_partition_is_compute_features

from udfs import output_columns
from udfs.runners.spark import feature_frame, run_features

# pyspark 4.3 warns that it does not fully support pandas 3; these tests check the results.
pytestmark = [
    pytest.mark.spark,
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),  # pyspark's own astype
]

SOURCE = "intermediate.int_bars_resampled"
TARGET = "features.udf_features"


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    """The engine test bars."""
    return engine_rows()


@pytest.fixture(scope="module")
def source(spark, rows):
    """The bars as the Spark table intermediate.int_bars_resampled."""
    spark.sql("create database if not exists intermediate")
    spark.createDataFrame(rows).write.mode("overwrite").saveAsTable(SOURCE)
    return SOURCE


def test_features_equal_compute_features_with_null_warmups(spark, source, rows):
    assert run_features(spark, source, TARGET) == len(rows)
    table = spark.table(TARGET)
    assert [(f.name, f.dataType.simpleString()) for f in table.schema.fields] == [
        ("symbol", "string"),
        ("timeframe", "string"),
        ("ts", "timestamp"),
        ("available_at", "timestamp"),
        *((column, "double") for column in output_columns()),
    ]
    nans = table.where(" or ".join(f"isnan({c})" for c in output_columns())).count()
    assert nans == 0
    got = table.orderBy("symbol", "timeframe", "ts").toPandas()
    for (symbol, timeframe), part in got.groupby(["symbol", "timeframe"]):
        assert_partition_is_compute_features(part, rows, symbol, timeframe)
        source_part = rows[(rows["symbol"] == symbol) & (rows["timeframe"] == timeframe)]
        known = source_part.sort_values("ts")["available_at"].cummax().to_numpy()
        np.testing.assert_array_equal(part["available_at"].to_numpy(), known)
    short = got[got["symbol"] == "SOLUSD"]
    assert short["macd"].isna().all() and short["rsi_14"].notna().any()


def test_a_feature_registered_at_run_time_reaches_the_executors(spark, range_pct_feature):
    bars = minute_rows("BTCUSD", 120, seed=1)
    got = feature_frame(spark.createDataFrame(bars), ["range_pct"]).orderBy("ts").toPandas()
    want = ((bars["high"] - bars["low"]) / bars["close"]).to_numpy()
    np.testing.assert_allclose(got["range_pct"].to_numpy(), want, rtol=1e-15)
    assert list(got.columns) == ["symbol", "timeframe", "ts", "available_at", "range_pct"]


def test_a_failing_group_names_its_partition(spark):
    bars = minute_rows("BTCUSD", 60, seed=1)
    bars = pd.concat([bars, bars.iloc[[5]]], ignore_index=True)
    with pytest.raises(Exception, match="partition symbol='BTCUSD' timeframe='1m'.*ascending"):
        feature_frame(spark.createDataFrame(bars)).collect()


def test_missing_columns_and_local_time_sessions_are_refused(spark):
    bars = spark.createDataFrame(minute_rows("BTCUSD", 10, seed=1)).drop("close")
    with pytest.raises(ValueError, match=r"frame is missing columns \['close'\]"):
        feature_frame(bars)
    spark.conf.set("spark.sql.session.timeZone", "America/New_York")
    try:
        with pytest.raises(ValueError, match="set it to 'UTC'"):
            feature_frame(spark.createDataFrame(minute_rows("BTCUSD", 10, seed=1)))
    finally:
        spark.conf.set("spark.sql.session.timeZone", "UTC")


def test_source_and_target_must_differ(spark):
    with pytest.raises(ValueError, match="same table"):
        run_features(spark, SOURCE, SOURCE)
