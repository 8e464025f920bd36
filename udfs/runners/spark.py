"""Spark runner: `groupBy(symbol, timeframe).applyInPandas` with the registered feature UDFs.

Each (symbol, timeframe) group reaches one Python worker as a pandas frame; the function it
runs is `udfs.runners.partition.group_function(plan)`, the same per-partition code every
runner uses, shipped with the plan (cloudpickle) so features registered at run time in the
driver are computed too. Executors need this project's packages importable (install it on
the cluster, or `spark.sparkContext.addPyFile` a zip of `udfs` and `warehouse`) and
`PYSPARK_PYTHON` pointing at that interpreter.

The target is written with `saveAsTable(mode="overwrite")`: atomic on table formats with
transactions (Delta, Iceberg), a replace-in-place on plain Parquet tables.
"""

from __future__ import annotations

import logging

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import DoubleType, StructField, StructType, TimestampType

from udfs.runners.partition import KEY_COLUMNS, FeaturePlan, group_function
from warehouse.columns import SYMBOL, TIMEFRAME

# Spark type of each declared output dtype.
SPARK_TYPES = {"double": DoubleType()}
_log = logging.getLogger(__name__)


def output_schema(source: StructType, plan: FeaturePlan) -> StructType:
    """Key columns typed as in the source, then one column per feature output."""
    fields = {field.name: field for field in source.fields}
    keys = [StructField(name, fields[name].dataType, True) for name in KEY_COLUMNS]
    features = [StructField(name, SPARK_TYPES[dtype], True) for name, dtype in plan.dtypes.items()]
    return StructType(keys + features)


def _check(frame: DataFrame, plan: FeaturePlan, what: str) -> None:
    """Raise ValueError on missing columns, or local-time timestamps outside UTC sessions."""
    received = list(frame.columns)
    expected = list(plan.read_columns)
    missing = [column for column in expected if column not in received]
    if missing:
        raise ValueError(
            f"{what} is missing columns {missing}; received columns {received}; "
            f"expected columns {expected}"
        )
    zone = frame.sparkSession.conf.get("spark.sql.session.timeZone")
    local = [f.name for f in frame.schema.fields if isinstance(f.dataType, TimestampType)]
    if local and zone not in ("UTC", "Etc/UTC", "GMT", "Z", "+00:00"):
        # pandas sees TIMESTAMP values as session-local wall clock: DST would repeat hours.
        raise ValueError(
            f"{what} has TIMESTAMP columns {local} but spark.sql.session.timeZone is {zone!r}; "
            "set it to 'UTC' (or use TIMESTAMP_NTZ columns)"
        )


def feature_frame(
    frame: DataFrame, names: list[str] | None = None, what: str = "frame"
) -> DataFrame:
    """The features of every (symbol, timeframe) group of `frame`, as a lazy DataFrame."""
    plan = FeaturePlan.resolve(names)
    _check(frame, plan, what)
    rows = frame.select(*plan.read_columns)
    return rows.groupBy(SYMBOL, TIMEFRAME).applyInPandas(
        group_function(plan), schema=output_schema(rows.schema, plan)
    )


def run_features(
    spark: SparkSession,
    source: str = "intermediate.int_bars_resampled",
    target: str = "features.udf_features",
    names: list[str] | None = None,
) -> int:
    """Replace the table `target` with the features of every partition in `source`; row count.

    Same columns as the DuckDB runner: symbol, timeframe, ts, available_at (running max of
    the source's over the partition), one DOUBLE per requested feature, NULL where undefined.
    """
    if source.split(".") == target.split("."):
        raise ValueError(f"source and target are the same table: {source}")
    features = feature_frame(spark.table(source), names, what=source)
    database, _, _ = target.rpartition(".")
    if database:
        spark.sql(f"create database if not exists `{database.replace('`', '``')}`")
    features.write.mode("overwrite").saveAsTable(target)
    rows = spark.table(target).count()
    _log.info("udf features written", extra={"target": target, "rows": rows})
    return rows
