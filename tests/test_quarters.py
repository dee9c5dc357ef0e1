"""Quarters (SPEC §10): fiscal quarter labels, `salesreport quarterly` — the monthly metric set over a quarter,
with the quarter's revenue, QoQ growth and plan — hand-computed across a fiscal year that starts in February,
and end to end on the sample data in every output."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from salesreport.config import load_config, parse_config
from salesreport.engine.registry import QUARTER_OWN, metrics_for
from salesreport.errors import UsageError
from salesreport.periods import month, parse_quarter, previous, quarter_of
from salesreport.report.build import build_report

from .cli_run import report_json, run
from .conftest import facts_for, make_data
from .test_funnel_rules import deal, entry

FEBRUARY = {"report": {"fiscal_year_start": 2}}
WON = {"status": "won", "stage": "signed"}
SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"


@pytest.mark.parametrize("text, settings, label, start, end", [
    ("2026-Q3", {}, "2026-Q3", date(2026, 7, 1), date(2026, 9, 30)),
    ("2026q1", {}, "2026-Q1", date(2026, 1, 1), date(2026, 3, 31)),
    ("FY2026-Q4", {}, "2026-Q4", date(2026, 10, 1), date(2026, 12, 31)),  # a calendar fiscal year is the year
    ("FY2027-Q1", FEBRUARY, "FY2027-Q1", date(2026, 2, 1), date(2026, 4, 30)),
    ("fy2027-q4", FEBRUARY, "FY2027-Q4", date(2026, 11, 1), date(2027, 1, 31)),  # across the calendar year
    ("FY2027-Q2", {"report": {"fiscal_year_start": 7}}, "FY2027-Q2", date(2026, 10, 1), date(2026, 12, 31)),
])
def test_quarter_labels(text, settings, label, start, end):
    period = parse_quarter(text, parse_config(settings))
    assert (period.kind, period.label, period.start, period.end) == ("quarter", label, start, end)
    assert quarter_of(end, parse_config(settings)) == period


def test_the_default_and_the_previous_quarter():
    calendar, fiscal = parse_config({}), parse_config(FEBRUARY)
    assert parse_quarter(None, calendar, as_of=date(2026, 12, 2)).label == "2026-Q3"
    assert parse_quarter(None, calendar, as_of=date(2026, 10, 1)).label == "2026-Q3"
    assert parse_quarter(None, calendar, as_of=date(2026, 9, 30)).label == "2026-Q2"
    assert parse_quarter(None, fiscal, as_of=date(2026, 12, 2)).label == "FY2027-Q3"  # August–October
    assert previous(parse_quarter("FY2027-Q1", fiscal), fiscal) == quarter_of(date(2026, 1, 31), fiscal)
    assert previous(parse_quarter("FY2027-Q1", fiscal), fiscal).label == "FY2026-Q4"
    assert previous(parse_quarter("2026-Q1", calendar), calendar).label == "2025-Q4"


@pytest.mark.parametrize("text, settings, message", [
    ("2026-Q5", {}, "is not a quarter; use YYYY-Qn"),
    ("Q3", {}, "is not a quarter"),
    ("2026-Q1", FEBRUARY, "the fiscal year starts in February .* like FY20"),
])
def test_a_bad_quarter_is_a_usage_error(text, settings, message):
    with pytest.raises(UsageError, match=message):
        parse_quarter(text, parse_config(settings))


def test_the_quarterly_set_is_the_monthly_one_with_the_quarter_s_own_revenue():
    monthly = {m.id for m in metrics_for("monthly")}
    quarterly = {m.id for m in metrics_for("quarterly")}
    assert quarterly == (monthly - set(QUARTER_OWN)) | {
        "revenue_quarter", "revenue_qoq_growth", "revenue_plan_quarter", "revenue_quarter_vs_plan",
        "revenue_quarter_prev_year", "revenue_yoy_growth"}


@pytest.fixture
def signed(data_dir):
    """Deals signed on both sides of 1 February (created long before, so first worked then), a deal lost in
    December with a reason in Cyrillic, and two deals first worked in March 2025 and in January 2026."""
    deals = [deal("A", "2024-06-01", signed_at="2025-01-20", amount="100", **WON),  # FY2025
             deal("B", "2024-06-01", signed_at="2025-02-10", amount="200", **WON),  # FY2026-Q1
             deal("F", "2024-06-01", signed_at="2025-09-01", amount="350", **WON),  # FY2026-Q3 (Aug–Oct)
             deal("C", "2024-06-01", signed_at="2025-12-15", amount="300", **WON),  # FY2026-Q4 (Nov–Jan)
             deal("D", "2024-06-01", signed_at="2026-01-20", amount="400", owner="Boris", **WON),  # FY2026-Q4
             deal("E", "2024-06-01", signed_at="2026-02-05", amount="500", **WON),  # FY2027-Q1
             deal("L", "2024-06-01", stage="lost", status="lost", lost_at="2025-12-01", amount="50",
                  lost_reason="Нет бюджета"),
             deal("W1", "2025-03-01"), deal("W2", "2026-01-10")]
    history = [entry("W1", "work_started", "2025-03-01"), entry("W2", "work_started", "2026-01-10")]
    reps = [{"name": "Anna", "role": "AE", "hire_date": "2020-01-01", "monthly_quota": "100"},
            {"name": "Boris", "role": "AE", "hire_date": "2020-01-01", "monthly_quota": "100"}]
    return make_data(data_dir, deals, history, reps=reps)


def quarterly(folder, settings, text):
    config = parse_config(settings)
    return build_report("quarterly", facts_for(folder, config), config, parse_quarter(text, config))


def test_a_fiscal_quarter_across_new_year(signed):
    # FY2026-Q4 is November 2025 – January 2026; its plan is the last three fiscal months'
    report = quarterly(signed, {**FEBRUARY, "plan": {"monthly": [100] * 9 + [200, 300, 400]}}, "FY2026-Q4")
    m = {k: v.value for k, v in report.current.metrics.items()}
    assert (report.current.period.start, report.current.period.end) == (date(2025, 11, 1), date(2026, 1, 31))
    assert (m["revenue_quarter"], m["deals_signed"], m["average_deal_size"]) == (700, 2, 350)  # C, D
    assert m["revenue_qoq_growth"] == pytest.approx(700 / 350 - 1)  # against F in August–October
    assert report.current.metrics["revenue_qoq_growth"].previous is None  # May–July 2025: nothing signed
    assert (m["revenue_quarter_prev_year"], m["revenue_yoy_growth"]) == (100, 6.0)  # A, Nov 2024 – Jan 2025
    assert (m["revenue_plan_quarter"], m["revenue_plan"]) == (900, 1800)
    assert m["revenue_quarter_vs_plan"] == pytest.approx(700 / 900)
    assert (m["revenue_ytd"], m["deals_signed_ytd"]) == (1250, 4)  # B, F, C, D: February 2025 – January 2026
    assert m["revenue_ytd_prev_year"] == 100  # A
    assert m["revenue_plan_to_date"] == 1800  # all twelve fiscal months
    assert m["worked"] == 2  # W1 (March 2025) and W2: the fiscal cohort window
    assert (m["lost_deals"], m["lost_value"]) == (1, 50)
    assert "revenue_month" not in m and "revenue_mom_growth" not in m
    assert report.name == "quarterly" and report.year_label == "FY2026"
    # the leaderboard ranks by the quarter's revenue
    assert [(b.name, b.rank, b.metrics["revenue_quarter"].value) for b in report.current.by_rep.values()] == [
        ("Boris", 1, 400), ("Anna", 2, 300)]
    lost = report.sections["lost_reasons"]
    assert lost.title == "Lost reasons, FY2026-Q4"
    assert [row[:4] for row in lost.rows] == [["Нет бюджета", 1, 50, 1.0]]


def test_a_quarter_with_an_annual_plan_only_gets_a_quarter_of_it(signed):
    m = {k: v.value for k, v in quarterly(signed, {**FEBRUARY, "plan": {"annual": 1200}}, "FY2027-Q1")
         .current.metrics.items()}
    assert (m["revenue_quarter"], m["revenue_plan_quarter"], m["revenue_plan_to_date"]) == (500, 300, 300)
    assert (m["revenue_quarter_prev_year"], m["revenue_yoy_growth"]) == (200, pytest.approx(1.5))  # B, a year before
    assert m["revenue_quarter_vs_plan"] == pytest.approx(500 / 300)
    # without a plan there is no quarter plan, and no ratio to it
    m = {k: v.value for k, v in quarterly(signed, FEBRUARY, "FY2027-Q1").current.metrics.items()}
    assert (m["revenue_plan_quarter"], m["revenue_quarter_vs_plan"]) == (None, None)


def test_a_calendar_quarter(signed):
    m = {k: v.value for k, v in quarterly(signed, {"plan": {"annual": 1200}}, "2026-Q1").current.metrics.items()}
    assert (m["revenue_quarter"], m["revenue_ytd"], m["revenue_plan_quarter"]) == (900, 900, 300)  # D, E
    assert m["worked"] == 1  # W2 alone starts in the calendar year


def test_periods_give_consecutive_quarters(signed):
    config = parse_config(FEBRUARY)
    report = build_report("quarterly", facts_for(signed, config), config, parse_quarter("FY2027-Q1", config),
                          periods=3)
    assert [pr.period.label for pr in report.periods] == ["FY2026-Q3", "FY2026-Q4", "FY2027-Q1"]
    assert [pr.metrics["revenue_quarter"].value for pr in report.periods] == [350, 700, 500]


def test_the_sample_quarter_is_its_three_months(tmp_path):
    """End to end: the JSON of a quarter agrees with the monthly reports of its months wherever a figure adds
    up, and every output format renders it."""
    q = report_json("quarterly", "--data", str(SAMPLE), "--quarter", "2026-Q3", cwd=tmp_path)
    assert q["report"] == "quarterly"
    assert q["period"] == {"label": "2026-Q3", "start": "2026-07-01", "end": "2026-09-30"}
    config = load_config(SAMPLE / "salesreport.toml")
    facts = facts_for(SAMPLE, config)
    months = [build_report("monthly", facts, config, month(2026, m)).current.metrics for m in (7, 8, 9)]
    metrics = q["metrics"]
    for quarter_id, month_id in [("revenue_quarter", "revenue_month"), ("deals_signed", "deals_signed"),
                                 ("lost_deals", "lost_deals"), ("lost_value", "lost_value"),
                                 ("sales_actions", "sales_actions"), ("pipeline_created", "pipeline_created")]:
        assert metrics[quarter_id]["value"] == pytest.approx(sum(m[month_id].value for m in months)), quarter_id
    assert metrics["revenue_ytd"]["value"] == months[-1]["revenue_ytd"].value  # the same day's year to date
    assert metrics["pipeline_start"]["value"] == months[0]["pipeline_start"].value
    assert metrics["pipeline_end"]["value"] == months[-1]["pipeline_end"].value
    assert metrics["revenue_plan_quarter"]["value"] == pytest.approx(metrics["revenue_plan"]["value"] / 4)
    assert q["sections"]["lost_reasons"]["rows"]
    ranks = [block["rank"] for block in q["by_rep"].values()]
    assert 1 in ranks

    out = tmp_path / "quarterly.xlsx"
    proc = run("quarterly", "--data", str(SAMPLE), "--quarter", "2026-Q3", "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    wb = openpyxl.load_workbook(out)
    sheet = wb[wb.sheetnames[0]]
    header = [c.value for c in sheet[next(r for r in range(1, 6) if sheet.cell(r, 1).value == "#")]]
    assert header[2:10] == ["2024-Q4", "2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2",
                           "2026-Q3"]  # 8 quarters by default
    assert "Lost reasons" in wb.sheetnames and "Charts" in wb.sheetnames
    for fmt, expect in [("md", "2026-Q3"), ("csv", "revenue_qoq_growth"), ("html", "Revenue this quarter"),
                        ("table", "Quarter's revenue plan")]:
        proc = run("quarterly", "--data", str(SAMPLE), "--quarter", "2026-Q3", "--format", fmt, cwd=tmp_path)
        assert proc.returncode == 0 and expect in proc.stdout, (fmt, proc.stderr)


def test_a_malformed_quarter_on_the_command_line_exits_2(tmp_path):
    proc = run("quarterly", "--data", str(SAMPLE), "--quarter", "2026-Q7", cwd=tmp_path)
    assert proc.returncode == 2 and "use YYYY-Qn, like" in proc.stderr and "Traceback" not in proc.stderr
    assert "Example: salesreport quarterly" in run("quarterly", "--help", cwd=tmp_path).stdout
    assert json.loads(run("quarterly", "--data", str(SAMPLE), "--quarter", "2026-Q3", "--format", "json",
                          "--periods", "2", cwd=tmp_path).stdout)["periods"][0]["period"]["label"] == "2026-Q2"
