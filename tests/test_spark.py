"""The same reports on Spark ([engine] backend = "pyspark"): PySpark in local mode reads the converted sample
data itself, runs the engine's SQL (transpiled from DuckDB's dialect by sqlglot) and gives the monthly (with
--deals and the Deals sheet's list), weekly, daily and team JSON of the DuckDB run, figure for figure (the
quarterly report is the monthly set over other dates). Without Java or PySpark these tests skip and say why;
CI installs both (the README's test command)."""

from __future__ import annotations

import importlib.util
import math
import shutil
from pathlib import Path

import pytest

import salesreport
from salesreport.config import parse_config
from salesreport.errors import ConfigError, InputError
from salesreport.spark import translate

from .cli_run import run

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
CONFIG = SAMPLE / "salesreport.toml"
MISSING = ("no Java on this machine (install openjdk-17-jre-headless)" if shutil.which("java") is None else
           "PySpark or sqlglot is not installed (pip install -e '.[spark]')"
           if not (importlib.util.find_spec("pyspark") and importlib.util.find_spec("sqlglot")) else None)
needs_spark = pytest.mark.skipif(MISSING is not None, reason=f"Spark cannot run here: {MISSING}")
pytestmark = pytest.mark.xdist_group("spark")  # one worker, one Spark session
REPORTS = [("monthly", {"month": "2026-10", "deals": True}), ("weekly", {"week": "2026-W46"}),
           ("daily", {"date": "2026-11-18"}),
           ("team", {"month": "2026-10"}), ("monthly", {"month": "2026-10", "pipeline": "Upsell"})]


def same(a, b, where="") -> list[str]:
    """Where two JSON documents differ; floats agree to 1e-9 (Spark adds in another order than DuckDB)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return [f"{where}: keys {sorted(set(a) ^ set(b))}"]
        return [d for k in a for d in same(a[k], b[k], f"{where}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: {len(a)} against {len(b)} items"]
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in same(x, y, f"{where}[{i}]")]
    if isinstance(a, float) or isinstance(b, float):
        ok = a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    else:
        ok = a == b
    return [] if ok else [f"{where}: {a!r} against {b!r}"]


def test_the_engine_sql_reads_as_spark_sql():
    sql = translate("SELECT owner::facts_owner_3 AS o, coalesce(fsum(amount) FILTER (won), 0), "
                    "count(*) FILTER (t1 < TIMESTAMP '2026-10-01 00:00:00') FROM deal GROUP BY ALL")
    assert "CAST(owner AS STRING)" in sql and "SUM(amount) FILTER(WHERE won)" in sql
    assert "FSUM" not in sql.upper() and "facts_owner" not in sql


def test_spark_needs_a_place_to_read_from():
    with pytest.raises(ConfigError, match=r"reads its tables from --data .* or from \[engine\] database"):
        from salesreport.sources.spark import load_spark_dataset

        load_spark_dataset(None, parse_config({"engine": {"backend": "pyspark"}}))


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("spark") / "sample"
    salesreport.convert(data=SAMPLE, out=folder, config=CONFIG)
    return folder


@needs_spark
@pytest.mark.parametrize("name, options", REPORTS)
def test_a_report_on_spark_equals_the_duckdb_one(converted, name, options):
    duck = getattr(salesreport, name)(data=converted, config=CONFIG, **options)
    spark = getattr(salesreport, name)(data=converted, config=CONFIG, engine="pyspark", **options)
    assert duck.to_dict()["metrics"] and not same(duck.to_dict(), spark.to_dict())
    if name != "team":  # the deals behind the figures (the workbook's Deals sheet), and with --deals their ids
        assert spark.deals.rows == duck.deals.rows and spark.deals.total == duck.deals.total > 0


@needs_spark
def test_a_value_spark_cannot_type_is_named_not_a_traceback(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / "text-times"
    folder.mkdir()
    pq.write_table(pa.table({"deal_id": ["A", "B"], "owner": ["Anna", "Anna"], "stage": ["work_started"] * 2,
                             "created_at": ["2026-03-01", "the first of March"]}), folder / "deals.parquet")
    with pytest.raises(InputError, match='deals.parquet, column "created_at": "the first of March" is not a date'):
        salesreport.weekly(data=folder, week="2026-W46", engine="pyspark")


@needs_spark
def test_a_stage_spark_cannot_place_is_named(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / "odd"
    folder.mkdir()
    pq.write_table(pa.table({"deal_id": ["A", "B"], "owner": ["Anna", "Anna"], "stage": ["work_started", "Qualifizierung"],
                             "created_at": pa.array([None, None], pa.timestamp("us"))}), folder / "deals.parquet")
    with pytest.raises(InputError, match='deals.parquet, column "stage": Qualifizierung is not known'):
        salesreport.weekly(data=folder, week="2026-W46", engine="pyspark")


def test_the_command_line_takes_the_engine(tmp_path):
    """--engine reaches the engine: Spark without a place to read from says what to give (before starting)."""
    (tmp_path / "salesreport.toml").write_text("", encoding="utf-8")
    proc = run("daily", "--config", str(tmp_path / "salesreport.toml"), "--engine", "pyspark", cwd=tmp_path)
    assert proc.returncode == 1 and "reads its tables from --data" in proc.stderr and "Traceback" not in proc.stderr
    assert run("daily", "--engine", "spark", cwd=tmp_path).returncode == 2


def test_local_spark_gets_the_memory_the_config_allows():
    from salesreport.spark import _jvm_size

    assert [_jvm_size(s) for s in ("4GB", "512MB", "2.5GiB", "100KB")] == ["4096m", "512m", "2560m", "256m"]
