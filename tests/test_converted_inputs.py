"""Faster inputs (issue: past one machine): `convert` writes the canonical tables as Parquet files or a DuckDB
database once, and --data reads either; the figures equal those of the input it was converted from. Parquet
written by other tools is typed as the CSV fast path types its text, and a cell it cannot type is named by
file, row and column."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import salesreport
from salesreport.config import parse_config
from salesreport.conversion import convert
from salesreport.errors import ConfigError, InputError
from salesreport.periods import month
from salesreport.report.build import build_report
from salesreport.report.team import build_team_report
from salesreport.sources.canonical import load_dataset

from .cli_run import run
from .conftest import facts_for, make_data, write_csv
from .test_funnel_rules import deal, entry
from .test_presets import ASSETS, sf_config

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
REPORTS = [("monthly", {"month": "2026-10", "periods": 2}), ("quarterly", {"quarter": "2026-Q3"}),
           ("weekly", {"week": "2026-W46", "periods": 3}), ("daily", {"date": "2026-11-18"}),
           ("team", {"month": "2026-10"})]


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("converted")
    for out in ("parquet", "sample.duckdb"):
        proc = run("convert", "--data", str(SAMPLE), "--out", str(folder / out), cwd=folder)
        assert proc.returncode == 0, proc.stderr
        assert "Wrote 3,000 deals, 7,965 stage changes" in proc.stderr
    return folder


@pytest.mark.parametrize("out", ["parquet", "sample.duckdb"])
@pytest.mark.parametrize("name, options", REPORTS)
def test_every_report_on_converted_data_equals_the_csv_one(converted, out, name, options):
    config = SAMPLE / "salesreport.toml"
    expected = getattr(salesreport, name)(data=SAMPLE, config=config, **options).to_dict()
    got = getattr(salesreport, name)(data=converted / out, config=config, **options).to_dict()
    assert got == expected


def test_the_converted_tables_are_canonical_and_convert_again_unchanged(converted, tmp_path):
    files = converted / "parquet"
    assert sorted(p.name for p in files.iterdir()) == [
        "activities.parquet", "deals.parquet", "reps.parquet", "stage_history.parquet"]
    deals = pq.read_table(files / "deals.parquet")
    created = deals.schema.field("created_at").type
    assert pa.types.is_timestamp(created) and created.tz is None  # wall-clock times of the report's zone
    assert deals.schema.field("amount").type == pa.float64()
    assert deals.schema.metadata[b"salesreport_timezone"] == b"Europe/Berlin"
    assert set(deals.column("stage").to_pylist()) <= {"new", "work_started", "replied", "replied_negative",
                                                      "replied_positive", "demo_appointed", "demo_run", "qualified",
                                                      "offer_sent", "signed", "lost", ""}
    again = tmp_path / "again"
    salesreport.convert(data=files, out=again, config=SAMPLE / "salesreport.toml")
    for table in ("deals", "stage_history", "activities", "reps"):
        assert pq.read_table(again / f"{table}.parquet").equals(pq.read_table(files / f"{table}.parquet")), table
    with duckdb.connect(str(converted / "sample.duckdb"), read_only=True) as db:
        assert db.sql("SELECT count(*) FROM deals").fetchall() == [(3000,)]


def test_a_preset_export_converts_once_and_reads_the_same(tmp_path):
    config = sf_config()
    out = tmp_path / "salesforce"
    counts = convert(str(ASSETS / "salesforce-latin1"), out, config)
    assert counts["deals"] == 3
    period = month(2023, 5)
    original = build_report("monthly", facts_for(ASSETS / "salesforce-latin1", config), config, period)
    again = build_report("monthly", facts_for(out, config), config, period)  # no preset or mapping applies
    assert again.periods == original.periods and again.sections == original.sections
    team = [build_team_report(facts_for(path, config), config, period) for path in (ASSETS / "salesforce-latin1", out)]
    assert team[0].periods == team[1].periods


def test_parquet_from_another_tool_is_typed_like_its_csv(tmp_path):
    """Instants (TIMESTAMPTZ) become wall-clock times in the report's zone, integer amounts and ids are taken
    as they are, text cells are typed as the CSV's: the figures equal those of the same data as CSV."""
    config = parse_config({"report": {"timezone": "Europe/Berlin"}})
    csv_folder = make_data(tmp_path / "csv", [
        deal("A", "2026-03-01", amount="100", status="won", stage="signed", signed_at="2026-03-31T22:30:00Z"),
        deal("B", "2026-03-02", amount="250")],
        [entry("B", "work_started", "2026-03-31T21:30:00Z"), entry("B", "replied", "2026-04-02 10:00")])
    parquet = tmp_path / "parquet"
    parquet.mkdir()
    utc = UTC
    pq.write_table(pa.table({
        "deal_id": ["A", "B"], "owner": ["Anna", "Anna"], "amount": pa.array([100, 250], pa.int64()),
        "created_at": pa.array([datetime(2026, 3, 1), datetime(2026, 3, 2)], pa.timestamp("s")),
        "stage": ["signed", "work_started"], "status": ["won", ""],
        "signed_at": pa.array([datetime(2026, 3, 31, 22, 30, tzinfo=utc), None], pa.timestamp("us", tz="UTC")),
        "lost_at": pa.array([None, None], pa.timestamp("us"))}), parquet / "deals.parquet")
    pq.write_table(pa.table({
        "deal_id": ["B", "B"], "stage": ["work_started", "replied"], "owner": ["Anna", "Anna"],
        "entered_at": ["2026-03-31T21:30:00Z", "2026-04-02 10:00"]}), parquet / "stage_history.parquet")
    for folder in (csv_folder, parquet):
        write_csv(folder / "reps.csv", [{"name": "Anna", "role": "AE"}]) if folder == csv_folder else \
            pq.write_table(pa.table({"name": ["Anna"], "role": ["AE"]}), folder / "reps.parquet")
    reports = [build_report("monthly", facts_for(folder, config), config, month(2026, 4)) for folder in
               (csv_folder, parquet)]
    m = {k: v.value for k, v in reports[1].current.metrics.items()}
    assert (m["revenue_month"], m["deals_signed"]) == (100, 1)  # 22:30 UTC on 31 March is 1 April in Berlin
    assert m["replied"] == 2  # A by signing (skipped stages count), B on 2 April
    assert reports[1].periods == reports[0].periods


def test_a_cell_parquet_cannot_type_is_named_by_file_row_and_column(tmp_path):
    parquet = tmp_path / "bad"
    parquet.mkdir()
    pq.write_table(pa.table({"deal_id": ["A", "B"], "created_at": ["2026-03-01", "the first of March"],
                             "amount": ["10", "12"]}), parquet / "deals.parquet")
    with pytest.raises(InputError) as caught:
        load_dataset(str(parquet), parse_config({}))
    message = str(caught.value)
    assert "deals.parquet" in message and "created_at" in message and "the first of March" in message
    assert "row 3" in message or "row 2" in message


def test_a_converted_set_read_in_another_time_zone_is_refused(converted, tmp_path):
    (tmp_path / "salesreport.toml").write_text('[report]\ntimezone = "UTC"\n', encoding="utf-8")
    for out in ("parquet", "sample.duckdb"):
        proc = run("weekly", "--data", str(converted / out), "--config", str(tmp_path / "salesreport.toml"),
                   cwd=tmp_path)
        assert proc.returncode == 1 and "converted as wall-clock times in Europe/Berlin" in proc.stderr
        assert "Traceback" not in proc.stderr
    with pytest.raises(ConfigError):
        salesreport.weekly(data=converted / "parquet", config=tmp_path / "salesreport.toml")


def test_a_database_without_deals_and_an_unwritable_out_say_what_to_do(tmp_path):
    with duckdb.connect(str(tmp_path / "empty.duckdb")) as db:
        db.execute("CREATE TABLE leads AS SELECT 1 AS id")
    proc = run("weekly", "--data", str(tmp_path / "empty.duckdb"), cwd=tmp_path)
    assert proc.returncode == 1 and "no table named deals in this database (found: leads)" in proc.stderr
    proc = run("convert", "--data", str(SAMPLE), "--out", str(tmp_path / "missing" / "x.duckdb"), cwd=tmp_path)
    assert proc.returncode == 3 and "does not exist" in proc.stderr
    assert json.loads(run("weekly", "--data", str(SAMPLE), "--format", "json", "--week", "2026-W46",
                          cwd=tmp_path).stdout)["report"] == "weekly"
