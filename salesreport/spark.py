"""Apache Spark as the engine's SQL backend ([engine] backend = "pyspark"): a connection with the calls the
engine makes of DuckDB's — sql(...).fetchall() / .df(), execute, register, cursor — whose SQL, written once in
DuckDB's dialect, sqlglot transpiles to Spark's. A temporary table becomes a checkpointed DataFrame under a
temporary view, so nothing but each query's small result comes back into this process.

The session is local (all cores of this machine) or, with [engine] spark_remote = "sc://host:15002", a Spark
Connect cluster. pyspark and sqlglot are the optional extra `salesreport[spark]`; Spark needs Java 17."""

from __future__ import annotations

import os
import re
import tempfile
import warnings
from pathlib import Path
from typing import Any

from . import dialect
from .config import Config, memory_limit_for_duckdb
from .errors import ConfigError, first_line

_SESSION: Any = None


def session(config: Config):
    """The Spark session: Spark Connect at [engine] spark_remote, else local on every core. Times are
    wall-clock times without a zone (TIMESTAMP_NTZ), as the engine's are."""
    global _SESSION
    try:
        # "does not yet fully support pandas >= 3" at each conversion: the ones made here work
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
        from pyspark.errors import PySparkException
        from pyspark.sql import SparkSession
    except ImportError:
        raise ConfigError('[engine] backend = "pyspark" needs PySpark: pip install "salesreport[spark]" (and Java '
                          "17 for a local session).") from None
    if _SESSION is not None and not _stopped(_SESSION):
        return _SESSION
    builder = SparkSession.builder.appName("salesreport")
    # local: every core, few shuffle partitions (a report's tables are small once aggregated), no web UI, no
    # progress bars or INFO lines on stderr (a cron log)
    if config.spark_remote:
        builder = builder.remote(config.spark_remote)
    else:
        log = Path(tempfile.gettempdir()) / "salesreport-spark-log4j2.properties"
        log.write_text("rootLogger.level = error\nrootLogger.appenderRef.stderr.ref = console\n"
                       "appender.console.type = Console\nappender.console.name = console\n"
                       "appender.console.target = SYSTEM_ERR\nappender.console.layout.type = PatternLayout\n"
                       "appender.console.layout.pattern = %m%n\n", encoding="utf-8")
        # one machine: a shuffle partition per core, and no adaptive re-planning (it cost a third of a report's
        # time on the sample: 20 s against 13 s with both)
        builder = (builder.master("local[*]").config("spark.ui.enabled", "false")
                   .config("spark.sql.shuffle.partitions", str(os.cpu_count() or 2))
                   .config("spark.sql.adaptive.enabled", "false")
                   .config("spark.driver.memory", _jvm_size(memory_limit_for_duckdb(config)))
                   .config("spark.ui.showConsoleProgress", "false")
                   .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
                   .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={log}"))
    builder = builder.config("spark.sql.session.timeZone", "UTC").config("spark.sql.timestampType", "TIMESTAMP_NTZ")
    try:
        _SESSION = builder.getOrCreate()
    except (PySparkException, RuntimeError, OSError) as exc:  # no Java, no cluster: the fix, without Spark's trace
        where = f"the Spark Connect server at {config.spark_remote}" if config.spark_remote else "a local Spark"
        raise ConfigError(f"[engine] backend = \"pyspark\": could not start {where} ({first_line(exc)}). A local "
                          "session needs Java 17 (java on the PATH); a remote one, the server running and "
                          "reachable.") from None
    if not config.spark_remote:
        _SESSION.sparkContext.setLogLevel("ERROR")
    return _SESSION


def _jvm_size(size: str) -> str:
    """[engine] memory_limit ("4GB", "512MB", "4GiB") as a JVM size ("4g", "512m"): local Spark's heap."""
    number, unit = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMGT])i?B", size.strip(), re.IGNORECASE).groups()
    megabytes = float(number) * {"K": 1 / 1024, "M": 1, "G": 1024, "T": 1024 ** 2}[unit.upper()]
    return f"{max(256, int(megabytes))}m"


def _stopped(spark) -> bool:
    from pyspark.errors import PySparkException

    try:
        return spark.sparkContext._jsc is None  # a local session that was stopped
    except (PySparkException, AttributeError):  # Spark Connect has no SparkContext
        return False


def translate(sql: str) -> str:
    """One statement of the engine's DuckDB SQL in Spark's dialect."""
    return dialect.translate(sql, "spark")


class Result:
    """A query's result, fetched when asked for."""

    def __init__(self, frame):
        self._frame = frame

    def fetchall(self) -> list[tuple]:
        return [tuple(row) for row in self._frame.collect()]

    def df(self):
        return self._frame.toPandas()


class SparkConnection(dialect.Connection):
    """The DuckDB connection calls the engine makes, on a Spark session."""

    def __init__(self, spark):
        self.spark = spark

    def register(self, name: str, frame) -> None:
        self.spark.createDataFrame(frame).createOrReplaceTempView(name)

    def run(self, statement: dialect.Statement) -> Result | None:
        if statement.kind in ("table", "view"):
            frame = self.spark.sql(translate(statement.select))
            if statement.kind == "table":
                frame = frame.localCheckpoint()  # computed once, as DuckDB's table, whatever reads it later
            frame.createOrReplaceTempView(statement.name)
            return None
        if statement.kind == "empty":
            select = ", ".join(f"CAST(NULL AS {kind}) AS {col}" for col, kind in statement.columns)
            self.spark.sql(translate(f"SELECT {select} FROM (SELECT 1 AS one) AS nothing WHERE false")
                           ).createOrReplaceTempView(statement.name)
            return None
        if statement.kind == "drop":
            self.spark.catalog.dropTempView(statement.name)
            return None
        return Result(self.spark.sql(translate(statement.select)))
