"""The deals behind the numbers (SPEC §10): `--deals` lists each deal-counting figure's deals in JSON, the
workbook's Deals sheet marks the deals behind each figure, the HTML and the mail list the largest stuck and
forecast deals. Hand-computed on a small set; every list equals its figure's count on the sample data."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from salesreport.config import Config, load_config
from salesreport.engine.deals import DEAL_IDS_CAP
from salesreport.engine.registry import metrics_for
from salesreport.model import Unit
from salesreport.outputs.html import render_html, render_text
from salesreport.outputs.mail import for_rep
from salesreport.periods import day, month, parse_quarter, parse_week
from salesreport.report.build import build_report

from .cli_run import run
from .conftest import facts_for, make_data
from .test_forecast_and_actions import activity
from .test_funnel_rules import deal, entry

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
NOT_DEALS = {"sales_actions", "sales_actions_call", "sales_actions_email", "sales_actions_message",
             "sales_actions_meeting", "active_deals_per_rep"}  # counts of actions, or a load per rep
SHARES = {"stuck_share_active": "stuck", "stale_share": "stale"}  # list the deals of their numerator


@pytest.fixture
def march(data_dir):
    """March 2026: S signed, L lost, K stuck since October (touched on 20 March), N first worked in March
    and untouched, O signed a year before (behind no figure of March)."""
    deals = [deal("S", "2026-01-10", amount="100", status="won", stage="signed", signed_at="2026-03-10"),
             deal("L", "2026-01-10", amount="50", status="lost", stage="lost", lost_at="2026-03-05"),
             deal("K", "2025-10-01", amount="300", company="=HYPERLINK(\"http://x\")"),
             deal("N", "2026-03-15", owner="Boris"),
             deal("O", "2025-01-01", amount="900", status="won", stage="signed", signed_at="2025-06-01")]
    history = [entry("K", "work_started", "2025-10-01"), entry("N", "work_started", "2026-03-15", owner="Boris"),
               entry("S", "work_started", "2026-01-10"), entry("S", "signed", "2026-03-10"),
               entry("L", "work_started", "2026-01-10"), entry("L", "lost", "2026-03-05")]
    acts = [{**activity("Anna", "2026-03-20 10:00"), "deal_id": "K"}]
    return make_data(data_dir, deals, history, acts)


def test_the_deals_behind_each_figure_of_a_month(march):
    report = build_report("monthly", facts_for(march), Config(), month(2026, 3), deal_ids=True, deal_list=True)
    ids = {k: v.deal_ids for k, v in report.current.metrics.items() if v.deal_ids is not None}
    assert ids["deals_signed"] == ("S",) and ids["lost_deals"] == ("L",)
    assert ids["stuck_share_active"] == ("K",) and ids["stale_share"] == ("K",)
    assert ids["untouched_deals"] == ("N",)  # K had a sales action on 20 March
    assert ids["worked"] == ("S", "L", "N")  # first worked this (calendar) year: the deals table's order
    assert ids["pipeline_start"] == ("S", "L", "K") and ids["pipeline_end"] == ("K", "N")
    assert (ids["pipeline_won"], ids["pipeline_lost"], ids["pipeline_created"]) == (("S",), ("L",), ("N",))
    assert ids["deals_signed_ytd"] == ("S",)

    deals = report.deals
    assert deals.total == 4 and [row[0] for row in deals.rows] == ["K", "S", "L", "N"]  # amount, then none
    row = dict(zip(deals.columns, deals.rows[0], strict=True))
    assert (row["Status"], row["Stage"], row["Amount"], row["Owner"]) == ("open", "work_started", 300, "Anna")
    assert row["Days in stage"] == (date(2026, 3, 31) - date(2025, 10, 1)).days
    assert (row["Created"], row["Last sales action"]) == (date(2025, 10, 1), date(2026, 3, 20))
    marked = {r[0]: [m for m in deals.marks if r[deals.column(m)]] for r in deals.rows}
    # signing in March passes replied..offer_sent in March too: skipped stages count as reached
    assert marked == {"K": ["Stuck", "Stale"], "L": ["Lost"], "N": ["Untouched", "Worked, period"],
                      "S": ["Signed", "Replied, period", "Positive reply, period", "Demo appointed, period",
                            "Demo run, period", "Offer sent, period"]}
    assert dict(zip(deals.columns, deals.rows[1], strict=True))["Status"] == "signed"


def test_the_deals_sheet_is_filterable_and_keeps_crm_text_as_text(march, tmp_path):
    out = tmp_path / "march.xlsx"
    proc = run("monthly", "--data", str(march), "--month", "2026-03", "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    ws = openpyxl.load_workbook(out)["Deals"]
    header = [c.value for c in ws[3]]
    assert header[:9] == ["Deal", "Company", "Owner", "Status", "Stage", "Amount", "Created", "Days in stage",
                          "Last sales action"]
    assert ws.auto_filter.ref == f"A3:{openpyxl.utils.get_column_letter(len(header))}7"
    rows = {r[0]: dict(zip(header, r, strict=True)) for r in ws.iter_rows(min_row=4, values_only=True)}
    assert set(rows) == {"K", "S", "L", "N"}
    assert rows["K"]["Stuck"] == "✓" and rows["K"]["Signed"] is None and rows["S"]["Signed"] == "✓"
    assert rows["K"]["Last sales action"] == datetime(2026, 3, 20)
    company = ws.cell(row=4, column=2)
    assert company.value == '=HYPERLINK("http://x")' and company.data_type == "s"


def test_without_deals_only_metric_16_lists_its_deals(march):
    report = build_report("monthly", facts_for(march), Config(), month(2026, 3))
    assert [k for k, v in report.current.metrics.items() if v.deal_ids is not None] == [
        "zero_amount_after_qualified"]
    assert report.deals is None


@pytest.fixture(scope="module")
def sample():
    config = load_config(SAMPLE / "salesreport.toml")
    return config, facts_for(SAMPLE, config)


@pytest.mark.parametrize("name, period", [
    ("monthly", month(2026, 10)), ("quarterly", "2026-Q3"), ("weekly", "2026-W46"), ("daily", day(date(2026, 11, 18))),
])
def test_every_deal_list_equals_its_figure_on_the_sample_data(sample, name, period):
    config, facts = sample
    if name == "quarterly":
        period = parse_quarter(period, config)
    elif name == "weekly":
        period = parse_week(period, config)
    report = build_report(name, facts, config, period, deal_ids=True, deal_list=True)
    metrics = report.current.metrics
    counting = {m.id for m in metrics_for(name) if m.unit is Unit.COUNT and m.id not in NOT_DEALS}
    listed = {k for k, v in metrics.items() if v.deal_ids is not None}
    assert listed == counting | (SHARES.keys() & set(metrics))
    for metric_id in counting:
        mv = metrics[metric_id]
        assert len(set(mv.deal_ids)) == len(mv.deal_ids), metric_id
        if mv.deal_ids_truncated:
            assert len(mv.deal_ids) == DEAL_IDS_CAP < mv.value, metric_id
        else:
            assert len(mv.deal_ids) == mv.value, metric_id
    if "stuck_share_active" in metrics:  # stuck deals are the stale ones at work_started..offer_sent
        stuck, stale = set(metrics["stuck_share_active"].deal_ids), set(metrics["stale_share"].deal_ids)
        assert stuck and stuck < stale
        rows = report.deals.rows
        assert {r[0] for r in rows if r[report.deals.column("Stuck")]} == stuck
        assert {r[0] for r in rows if r[report.deals.column("Signed")]} == set(metrics["deals_signed"].deal_ids)
    # the marks of the list are the figures' deals (all of them: the sample's list is not cut)
    deals = report.deals
    assert deals.total == len(deals.rows)
    for mark, metric_id in (("Lost", "lost_deals"), ("Worked, period", "worked_period"),
                            ("Demo run, period", "demo_run_period")):
        if metric_id in metrics:
            assert sum(bool(r[deals.column(mark)]) for r in deals.rows) == metrics[metric_id].value


def test_json_lists_with_deals_and_marks_a_cut_list(tmp_path):
    proc = run("monthly", "--data", str(SAMPLE), "--month", "2026-10", "--format", "json", "--deals", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads(proc.stdout)["metrics"]
    assert metrics["worked"]["value"] > DEAL_IDS_CAP  # the cohort of the year: cut at 1,000
    assert len(metrics["worked"]["deal_ids"]) == DEAL_IDS_CAP and metrics["worked"]["deal_ids_truncated"] is True
    assert len(metrics["lost_deals"]["deal_ids"]) == metrics["lost_deals"]["value"]
    assert "deal_ids_truncated" not in metrics["lost_deals"]
    plain = json.loads(run("monthly", "--data", str(SAMPLE), "--month", "2026-10", "--format", "json",
                           cwd=tmp_path).stdout)["metrics"]
    assert "deal_ids" not in plain["lost_deals"] and "deal_ids" in plain["zero_amount_after_qualified"]


def test_the_html_lists_the_largest_stuck_and_forecast_deals_and_links_nothing(sample):
    config, facts = sample
    report = build_report("monthly", facts, config, month(2026, 10), deal_list=True)
    html, text = render_html(report), render_text(report)
    deals = report.deals
    stuck = [r for r in deals.rows if r[deals.column("Stuck")]]
    assert len(stuck) > 10
    assert f"The 10 largest of {len(stuck)} stuck deals" in html and "forecast deals" in html
    assert all(r[0] in html for r in stuck[:10]) and stuck[10][0] not in html.split("stuck deals")[1].split(
        "forecast deals")[0]
    assert f"The 10 largest of {len(stuck)} stuck deals" in text and stuck[0][0] in text
    assert "href" not in html and "src=" not in html  # nothing external
    # a rep's mail lists their own deals
    owner = stuck[0][deals.column("Owner")]
    mine = for_rep(report, owner).deals
    assert mine.rows and {r[deals.column("Owner")] for r in mine.rows} == {owner}
