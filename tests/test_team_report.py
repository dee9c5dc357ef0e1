"""`salesreport team` end to end: JSON ids, "not yet", ramp cohorts, before/after, XLSX."""

from __future__ import annotations

import json
import os

import pytest
from openpyxl import load_workbook

from .test_outputs import SAMPLE, run_cli

TEAM_IDS = ["ttfa_days", "tt_first_call_days", "tt_first_meeting_days", "tt_first_demo_days", "ttfd_days", "tt50q_days", "tt80q_days", "tt100q_days", "quota_attainment", "win_rate", "conv_lead_to_qualified", "conv_qualified_to_signed"]


def test_team_json_has_the_issue_ids_and_competitor_win_rates():
    proc = run_cli("team", "--data", str(SAMPLE), "--month", "2026-10", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["report"] == "team"
    assert not set(TEAM_IDS) - set(doc["metrics"])
    competitors = {k: v for k, v in doc["metrics"].items() if k.startswith("win_rate_vs_")}
    assert competitors and all(v["basis"] > 0 and v["label"] for v in competitors.values())
    sdr = next(r for r in doc["by_rep"].values() if r["role"] == "SDR")
    assert sdr["metrics"]["ttfd_days"]["value"] is None  # an SDR never signs: "not yet", never a number
    assert "ramp_cohorts" in doc["sections"] and "teams" in doc["sections"]
    m = doc["metrics"]  # the sample's ramp is plausible: days, not years, and in milestone order
    assert 0 <= m["ttfa_days"]["value"] < 30
    assert m["ttfa_days"]["value"] <= m["tt_first_demo_days"]["value"] <= m["ttfd_days"]["value"] < 365
    assert m["tt50q_days"]["value"] <= m["tt80q_days"]["value"] <= m["tt100q_days"]["value"]
    assert any("monthly_quota" in w for w in doc["warnings"])  # SDRs have no quota


def test_team_table_shows_not_yet_and_the_comparison():
    proc = run_cli("team", "--data", str(SAMPLE), "--month", "2026-10", "--compare-at", "2026-06-01")
    assert proc.returncode == 0, proc.stderr
    assert "not yet" in proc.stdout
    assert "Before and after 2026-06-01" in proc.stdout
    assert max(len(line) for line in proc.stdout.splitlines()) <= 80


def test_team_html_shows_not_yet_for_unreached_milestones():
    proc = run_cli("team", "--data", str(SAMPLE), "--month", "2026-10", "--format", "html")
    assert proc.returncode == 0, proc.stderr
    assert ">not yet<" in proc.stdout and "Ramp by hire quarter" in proc.stdout


def test_compare_at_after_the_period_is_refused():
    proc = run_cli("team", "--data", str(SAMPLE), "--month", "2026-10", "--compare-at", "2026-12-01")
    assert proc.returncode == 1 and "--compare-at" in proc.stderr


def test_team_workbook(tmp_path):
    book = tmp_path / "team.xlsx"
    proc = run_cli("team", "--data", str(SAMPLE), "--month", "2026-10", "--compare-at", "2026-06-01",
                   "--out", str(book))
    assert proc.returncode == 0, proc.stderr
    wb = load_workbook(book)
    assert wb.sheetnames[:2] == ["Team", "Team by rep"]
    assert "Ramp by hire quarter" in wb.sheetnames and "Before and after" in wb.sheetnames


def test_a_team_without_an_employed_rep_with_quota_has_null_attainment_never_nan():
    """Team A's only quota-carrying rep left in May: its October quota attainment is undefined (null in
    JSON, which has no NaN)."""
    from typer.testing import CliRunner

    from salesreport.cli import app

    result = CliRunner().invoke(app, ["team", "--data", "sample_data", "--month", "2026-10", "--format", "json"])
    assert result.exit_code == 0
    doc = json.loads(result.stdout, parse_constant=lambda c: pytest.fail(f"{c} in the JSON"))
    team_a = next(row for row in doc["sections"]["teams"]["rows"] if row[0] == "Team A")
    assert team_a[5] is None


def test_per_team_values_carry_their_units_in_every_format(tmp_path):
    """No raw fractions (0.969333…): quota attainment and win rate are percentages, days have one decimal."""
    args = ["team", "--data", str(SAMPLE), "--month", "2026-10"]
    md = run_cli(*args, "--format", "md").stdout
    assert "| Team B | 2 | 30.0 | 104.0 | 372.0 | 96.9% | 15.2% |" in md
    html = run_cli(*args, "--format", "html").stdout
    assert "96.9%" in html and "0.9693" not in html
    table = run_cli(*args, env={**os.environ, "COLUMNS": "100"}).stdout
    assert "96.9%" in table and "0.969" not in table
    book = tmp_path / "team.xlsx"
    assert run_cli(*args, "--out", str(book)).returncode == 0
    sheet = next(ws for ws in load_workbook(book).worksheets if ws.title.lower().startswith("per team"))
    formats = {cell.value: cell.number_format for row in sheet.iter_rows() for cell in row
               if isinstance(cell.value, float)}
    assert formats[0.9693333333333334] == "0.0%"
