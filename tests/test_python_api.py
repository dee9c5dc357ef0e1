"""The Python API beside the CLI: `salesreport.weekly(...)` returns the Report the command renders, with
to_dict (the JSON contract), to_pandas (tidy) and write; `salesreport.load` gives the canonical tables."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

import salesreport
from salesreport.errors import InputError, UsageError
from salesreport.model import ACTION_TYPES, STAGES

from .cli_run import run

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"


@pytest.mark.parametrize("function, option, period", [
    ("weekly", "--week", "2026-W46"), ("monthly", "--month", "2026-10"), ("quarterly", "--quarter", "2026-Q3"),
    ("daily", "--date", "2026-11-18"), ("team", "--month", "2026-10"),
])
def test_a_report_from_python_is_the_commands_json(function, option, period, tmp_path):
    keyword = {"--week": "week", "--month": "month", "--quarter": "quarter", "--date": "date"}[option]
    report = getattr(salesreport, function)(data=SAMPLE, **{keyword: period})
    assert isinstance(report, salesreport.Report)
    proc = run(function, "--data", str(SAMPLE), option, period, "--format", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(json.dumps(report.to_dict())) == json.loads(proc.stdout)


def test_to_pandas_is_tidy_and_write_takes_the_suffix(tmp_path):
    report = salesreport.monthly(str(SAMPLE), "2026-10", periods=3, reps=["Elena Berg"], deals=True)
    frame = report.to_pandas()
    assert list(frame.columns[:7]) == ["report", "period", "period_start", "period_end", "rep", "role", "metric"]
    assert not frame.duplicated(["period", "rep", "metric"]).any()  # one row per metric × period × rep
    assert set(frame["period"]) == {"2026-08", "2026-09", "2026-10"} and set(frame["rep"]) == {"", "Elena Berg"}
    team = frame[(frame["rep"] == "") & (frame["period"] == "2026-10")].set_index("metric")["value"]
    assert team["revenue_month"] == report.to_dict()["metrics"]["revenue_month"]["value"]
    assert report.to_dict()["metrics"]["lost_deals"]["deal_ids"]  # deals=True lists them

    written = report.write(tmp_path / "october.xlsx")
    workbook = openpyxl.load_workbook(written)
    assert {"Monthly", "Deals"} <= set(workbook.sheetnames)
    assert report.write(tmp_path / "october.md").read_text(encoding="utf-8").startswith("# Monthly report 2026-10")
    assert report.write(tmp_path / "october.txt").read_text(encoding="utf-8").startswith("Monthly report · 2026-10")
    assert "<table" in report._repr_html_()
    with pytest.raises(UsageError, match="say which format"):
        report.write(tmp_path / "october.pdf")
    assert not (tmp_path / "october.pdf").exists()


def test_load_gives_the_canonical_tables():
    tables = salesreport.load(data=SAMPLE)
    with (SAMPLE / "deals.csv").open(encoding="utf-8") as fh:
        assert len(tables.deals) == sum(1 for _ in fh) - 1
    assert set(tables.deals["stage"]) <= {*STAGES, "lost", ""}  # the config's stage names, mapped
    assert set(tables.deals["status"]) <= {"won", "lost", "open"}
    assert set(tables.stage_history["stage"]) <= {*STAGES, "lost"}
    assert set(tables.activities["type"]) <= set(ACTION_TYPES) and tables.activities["done"].all()
    assert list(tables.reps["name"])[:1] == ["Elena Berg"]


def test_errors_are_exceptions_a_caller_can_catch(tmp_path):
    with pytest.raises(InputError, match="no such file or folder"):
        salesreport.weekly(data=tmp_path / "missing")
    with pytest.raises(UsageError, match="not an ISO week"):
        salesreport.weekly(data=SAMPLE, week="46")
    with pytest.raises(UsageError, match="since"):
        salesreport.monthly(data=SAMPLE, since="January")


def test_importing_the_package_loads_no_engine():
    code = "import sys, salesreport; print(sorted(m for m in ('pandas', 'duckdb', 'salesreport.api') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
