"""A local Spark session for tests: local[2], no UI, loopback only, venv Python workers."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pyspark.sql import SparkSession

SPARK_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "2",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.catalogImplementation": "in-memory",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.driver.memory": "1g",
    "spark.python.worker.reuse": "true",
}


def start_session(workdir: Path) -> SparkSession:
    """A `local[2]` session whose tables live under `workdir`; the caller stops it."""
    # Executors start Python workers with this interpreter, i.e. the venv and its packages.
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    builder = SparkSession.builder.master("local[2]").appName("signalyard-tests")
    for key, value in {
        **SPARK_CONF,
        "spark.sql.warehouse.dir": str(workdir / "warehouse"),
        "spark.local.dir": str(workdir / "local"),
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={workdir / 'derby'}",
    }.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session
