"""The canonical tables on Spark ([engine] backend = "pyspark"): Spark reads them itself — Parquet files at
--data (a folder `convert` wrote, or the same layout on HDFS or S3), or the tables of [engine] database — and
the same tables the DuckDB sources make (DEALS, HISTORY, the done sales actions) become Spark views, checked
as far as canonical tables need (warehouse.py): ids present and unique, stage names and status words known,
negative amounts. Only the reps (a few hundred rows) and the answers to the checks come into this process."""

from __future__ import annotations

from pathlib import Path

from ..config import Config
from ..errors import ConfigError, InputError
from ..model import SCHEMA
from ..spark import SparkConnection, session
from ..text import safe_line
from .canonical import Dataset, _finish_reps
from .warehouse import finish_actions, finish_deals, finish_history, keep_pipeline

TABLES = ("deals", "stage_history", "activities", "reps")
_TIME = "timestamp_ntz"


def load_spark_dataset(data: str | None, config: Config, pipeline: str | None = None) -> Dataset:
    """The canonical tables of `data` (Parquet files) or of [engine] database, as a Dataset on Spark."""
    if data is None and config.database is None:
        raise ConfigError('[engine] backend = "pyspark" reads its tables from --data (a folder of Parquet files) or '
                          "from [engine] database; give one of them.")
    spark = session(config)
    frames, names = _read(spark, data, config)
    if "deals" not in frames:
        raise InputError(f"{names.get('deals', data)}: no deals table. Write the canonical tables there with "
                         "salesreport convert (deals.parquet, stage_history.parquet, …).")
    con = SparkConnection(spark)
    ds = Dataset(con=con, sources=names)
    _deals(spark, frames["deals"], names["deals"])
    finish_deals(con, names["deals"], config, ds.warnings)
    if "stage_history" in frames:
        _history(spark, frames["stage_history"], names["stage_history"])
        finish_history(con, names["stage_history"], config)
        ds.has_history = True
    if "activities" in frames:
        _activities(spark, frames["activities"], names["activities"])
        ds.actions = finish_actions(con, names["activities"], ds.warnings)
    if "reps" in frames:  # a few hundred rows: typed by Spark, checked as any reps table
        columns = _columns(spark, frames["reps"], "reps_src", "reps", names["reps"])
        ds.reps = _finish_reps(spark.sql(f"SELECT {columns} FROM reps_src").toPandas(), names["reps"], ds.warnings)
    if pipeline is not None:
        keep_pipeline(con, pipeline, ds.has_history, ds.actions is not None)
    return ds


def _read(spark, data: str | None, config: Config) -> tuple[dict, dict[str, str]]:
    """The canonical tables Spark finds: at `data` (Parquet files named as the tables) or in [engine] database."""
    from pyspark.errors import AnalysisException

    frames, names = {}, {}
    if data is not None:
        local = "://" not in data
        if local and not Path(data).is_dir():
            raise InputError(f"{data}: no such folder. With [engine] backend = \"pyspark\", --data is a folder of "
                             "the canonical tables as Parquet files (salesreport convert writes one).")
        for table in TABLES:
            path = f"{data.rstrip('/')}/{table}.parquet"
            if local and not Path(path).exists():
                continue
            try:
                frames[table] = spark.read.parquet(path)
            except AnalysisException:  # a remote path that is not there: the table is absent
                frames.pop(table, None)
            else:
                names[table] = f"{table}.parquet"
        return frames, names
    if config.database is None:
        raise ConfigError('[engine] backend = "pyspark" reads its tables from --data (a folder of Parquet files) or '
                          "from [engine] database; give one of them.")
    for table in TABLES:
        qualified = f"{config.database}.{table}"
        if spark.catalog.tableExists(qualified):
            frames[table], names[table] = spark.table(qualified), qualified
    return frames, names


_TYPES = {"datetime": _TIME, "amount": "DOUBLE", "bool": "BOOLEAN"}


def _columns(spark, frame, view: str, table: str, source: str) -> str:
    """SQL selecting every canonical column of `table` from `frame` (as view `view`): text trimmed ('' for
    none), times as wall-clock times, amounts as doubles; a column the table lacks is empty. A cell that is
    no time, number or flag stops the run, naming the column and the value (not Spark's cast error)."""
    frame.createOrReplaceTempView(view)
    present = {c.lower(): c for c in frame.columns}
    cells, typed = [], []
    for column, (_, kind) in SCHEMA[table].items():
        name = present.get(column)
        if name is None:
            cells.append(f"CAST(NULL AS {_TYPES[kind]}) AS {column}" if kind in _TYPES else f"'' AS {column}")
        elif kind in _TYPES:
            cells.append(f"try_cast(`{name}` AS {_TYPES[kind]}) AS {column}")
            typed.append((column, name, kind))
        else:
            cells.append(f"coalesce(trim(CAST(`{name}` AS STRING)), '') AS {column}")
    if typed:
        bad = ", ".join(f"min_by(CAST(`{name}` AS STRING), 0) FILTER (WHERE `{name}` IS NOT NULL AND "
                        f"try_cast(`{name}` AS {_TYPES[kind]}) IS NULL)" for _, name, kind in typed)
        (values,) = [tuple(row) for row in spark.sql(f"SELECT {bad} FROM {view}").collect()]
        for (column, _, kind), value in zip(typed, values, strict=True):
            if value is not None:
                what = {"datetime": "a date and time", "amount": "a number", "bool": "true or false"}[kind]
                raise InputError(f'{source}, column "{column}": "{safe_line(value, 60)}" is not {what}. Write the '
                                 f"column as {what} (salesreport convert does), or fix the value.")
    return ", ".join(cells)


def _numbered(spark, frame, name: str) -> None:
    """`frame` as view `name` with pos, each row's place in it (the order the files hold the rows in)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    frame.withColumn("pos", F.row_number().over(Window.orderBy(F.monotonically_increasing_id())) - 1
                     ).createOrReplaceTempView(name)


def _deals(spark, frame, source: str) -> None:
    _numbered(spark, frame, "deals_src")
    columns = _columns(spark, frame, "deals_raw", "deals", source)
    spark.sql(f"SELECT pos, {columns} FROM deals_src").createOrReplaceTempView("deals_typed")


def _history(spark, frame, source: str) -> None:
    _numbered(spark, frame, "history_src")
    columns = _columns(spark, frame, "history_raw", "stage_history", source)
    spark.sql(f"SELECT pos AS seq, {columns} FROM history_src").createOrReplaceTempView("history_typed")


def _activities(spark, frame, source: str) -> None:
    columns = _columns(spark, frame, "activities_src", "activities", source)
    spark.sql(f"SELECT {columns} FROM activities_src").createOrReplaceTempView("activities_typed")
