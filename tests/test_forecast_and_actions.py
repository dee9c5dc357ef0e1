"""The forecast's worked example (SPEC §5), the run-rate method, and sales actions per working day."""

from __future__ import annotations

from datetime import date

import pytest

from salesreport.config import parse_config
from salesreport.periods import day, month, week
from salesreport.report.build import build_report

from .conftest import facts_for, make_data
from .test_funnel_rules import deal, entry

M = 1_000_000


def closed_history():
    """Eight deals closed between Feb 2025 and Mar 2026: demo_run stays 200 days, later stays 30 days.

    Reached qualified: 8, of which 2 signed → conv_to_signed(qualified) = 25 %.
    Reached offer_sent: 4, of which 2 signed → conv_to_signed(offer_sent) = 50 %.
    """
    deals, history = [], []
    for i, start in enumerate(["2025-06-01", "2025-07-01"]):
        d = f"S{i}"
        q, o, s = (["2025-12-18", "2026-01-17", "2026-02-16"], ["2026-01-17", "2026-02-16", "2026-03-18"])[i]
        deals.append(deal(d, start, "signed", status="won", signed_at=s, amount=str(M)))
        history += [entry(d, "demo_run", start), entry(d, "qualified", q), entry(d, "offer_sent", o),
                    entry(d, "signed", s)]
    for i in range(2):
        d = f"LO{i}"
        deals.append(deal(d, "2025-06-01", "Lost", status="lost", lost_at="2026-02-16", amount="5"))
        history += [entry(d, "demo_run", "2025-06-01"), entry(d, "qualified", "2025-12-18"),
                    entry(d, "offer_sent", "2026-01-17"), entry(d, "Lost", "2026-02-16")]
    for i in range(4):
        d = f"LQ{i}"
        deals.append(deal(d, "2025-06-01", "Lost", status="lost", lost_at="2026-01-17", amount="5"))
        history += [entry(d, "demo_run", "2025-06-01"), entry(d, "qualified", "2025-12-18"),
                    entry(d, "Lost", "2026-01-17")]
    return deals, history


def test_forecast_worked_example_gives_3_25_million(data_dir):
    deals, history = closed_history()
    # open at the end of July 2026 (5 months left): qualified deals worth 1.0 M, an offer worth 2.0 M,
    # and a 5 M deal at demo_run whose remaining cycle (200 + 30 + 30 days) ends after 31 December
    deals += [deal("Q1", "2026-07-01", "qualified", amount="600000"),
              deal("Q2", "2026-07-10", "qualified", amount="400000"),
              deal("O1", "2026-07-05", "offer_sent", amount="2000000"),
              deal("R1", "2026-06-01", "demo_run", amount="5000000"),
              deal("N1", "2026-07-02", "offer_sent")]  # no amount: adds nothing, counted
    history += [entry("Q1", "qualified", "2026-07-01"), entry("Q2", "qualified", "2026-07-10"),
                entry("O1", "offer_sent", "2026-07-05"), entry("R1", "demo_run", "2026-06-01"),
                entry("N1", "offer_sent", "2026-07-02")]
    make_data(data_dir, deals, history)
    config = parse_config({"plan": {"annual": 6.5 * M}})
    report = build_report("monthly", facts_for(data_dir, config), config, month(2026, 7))
    pr = report.current
    assert pr.metrics["revenue_ytd"].value == 2 * M
    assert pr.metrics["stage_days_demo_run"].value == 200
    assert pr.metrics["revenue_forecast"].value == pytest.approx(3.25 * M)
    assert pr.metrics["forecast_deals_without_amount"].value == 1
    assert pr.metrics["pipeline_sufficiency"].value == pytest.approx(0.5)
    assert pr.metrics["pipeline_sufficiency"].status.value == "bad"
    assert any("thin history" in w for w in report.warnings)


def test_expected_close_date_this_year_includes_a_deal_whatever_its_cycle(data_dir):
    deals, history = closed_history()
    deals.append(deal("R1", "2026-06-01", "demo_run", amount="4000000", expected_close_date="2026-06-30"))
    history.append(entry("R1", "demo_run", "2026-06-01"))
    make_data(data_dir, deals, history)
    config = parse_config({})
    pr = build_report("monthly", facts_for(data_dir, config), config, month(2026, 7)).current
    # overdue expected date still counts; conv_to_signed(demo_run) = 2 signed / 8 closed
    assert pr.metrics["revenue_forecast"].value == pytest.approx(2 * M + 4 * M * 0.25)


def test_run_rate_forecast(data_dir):
    deals, history = closed_history()
    deals.append(deal("O2", "2026-03-01", "offer_sent", amount="10"))
    history.append(entry("O2", "offer_sent", "2026-03-01"))
    make_data(data_dir, deals, history)
    config = parse_config({"forecast": {"method": "run-rate", "stage": "offer_sent"}})
    pr = build_report("monthly", facts_for(data_dir, config), config, month(2026, 3)).current
    # 1 open deal at offer_sent × average deal size 1 M × 50 % × 365 / cycle 260 days (1 Jul 2025 → 18 Mar)
    assert pr.metrics["sales_cycle_days"].value == 260
    assert pr.metrics["revenue_forecast"].value == pytest.approx(1 * M * 0.5 * 365 / 260)


def activity(owner, at, kind="call", done="true"):
    return {"owner": owner, "type": kind, "occurred_at": at, "deal_id": "", "done": done}


def test_actions_per_day_use_working_days_holidays_and_active_reps(data_dir):
    reps = [{"name": "Anna", "role": "SDR", "hire_date": "2025-01-01", "left_at": ""},
            {"name": "Boris", "role": "SDR", "hire_date": "2026-03-06", "left_at": ""},  # hired Friday
            {"name": "Dana", "role": "SDR", "hire_date": "2025-01-01", "left_at": "2026-03-01"},  # gone
            {"name": "Eve", "role": "SDR", "hire_date": "2026-03-09", "left_at": ""},  # hired next week
            {"name": "Carl", "role": "AE", "hire_date": "2025-01-01", "left_at": ""}]
    acts = ([activity("Anna", f"2026-03-0{d} 10:00") for d in (2, 3, 4) for _ in range(10)]
            + [activity("Boris", "2026-03-06 11:00")] * 6
            + [activity("Anna", "2026-03-07 10:00")] * 4  # Saturday: still an action
            + [activity("Anna", "2026-03-05 10:00", done="false")] * 50  # not done
            + [activity("Anna", "2026-03-05 10:00", kind="note")] * 50  # not an action
            + [activity("Carl", "2026-03-04 10:00", kind="meeting")] * 8)
    make_data(data_dir, [deal("D1", "2026-01-01")], [entry("D1", "work_started", "2026-01-01")], acts, reps)
    config = parse_config({"report": {"holidays": ["2026-03-02"]}})
    pr = build_report("weekly", facts_for(data_dir, config), config, week(2026, 10)).current
    # 4 working days (Mon 2 March is a holiday); active SDRs: Anna, Boris → (30 + 6 + 4) / (2 × 4)
    assert pr.metrics["sales_actions"].value == 48
    assert pr.metrics["actions_per_day_sdr"].value == 5.0
    assert pr.metrics["actions_per_day_ae"].value == 2.0
    assert pr.metrics["actions_per_day_sdr"].status.value == "bad"
    assert pr.by_rep["Anna"].metrics["actions_per_day_sdr"].value == 34 / 4
    assert "actions_per_day_ae" not in pr.by_rep["Anna"].metrics
    assert "Dana" not in pr.by_rep and "Eve" not in pr.by_rep


def test_daily_report_sits_beside_the_previous_working_day(data_dir):
    acts = [activity("Anna", "2026-03-06 10:00")] * 3 + [activity("Anna", "2026-03-09 10:00", "email")] * 5
    make_data(data_dir, [deal("D1", "2026-01-01")], [entry("D1", "work_started", "2026-03-09")], acts)
    config = parse_config({})
    pr = build_report("daily", facts_for(data_dir, config), config, day(date(2026, 3, 9))).current  # Monday
    mv = pr.metrics["sales_actions"]
    assert (mv.value, mv.previous) == (5, 3)  # previous working day: Friday 6 March
    assert pr.metrics["sales_actions_email"].value == 5
    assert pr.by_rep["Anna"].metrics["worked_period"].value == 1
    assert pr.by_rep["Anna"].metrics["conv_demo_appointed"].value == 0.0


def test_revenue_figures_growth_prev_year_plan_to_date_and_signer(data_dir):
    won = {"status": "won", "stage": "signed"}
    deals = [deal("A", "2025-01-01", signed_at="2025-02-20", amount="300", **won),
             deal("B", "2025-01-01", signed_at="2025-03-10", amount="999", **won),  # after 1 Mar 2025: not in prev YTD
             deal("C", "2026-01-01", signed_at="2026-01-15", amount="400", **won),
             deal("D", "2026-01-01", signed_at="2026-02-03", amount="500", **won),
             deal("E", "2026-01-01", signed_at="2026-02-25", amount="", **won)]  # no amount: counts, adds 0
    history = [entry("D", "signed", "2026-02-03", owner="Carl")]
    make_data(data_dir, deals, history)
    config = parse_config({"plan": {"monthly": [100, 200] + [300] * 10}})
    pr = build_report("monthly", facts_for(data_dir, config), config, month(2026, 2)).current
    m = {k: v.value for k, v in pr.metrics.items()}
    assert m["revenue_month"] == 500 and m["deals_signed"] == 2
    assert m["revenue_mom_growth"] == pytest.approx(500 / 400 - 1)
    assert m["revenue_ytd"] == 900 and m["deals_signed_ytd"] == 3
    assert m["revenue_ytd_prev_year"] == 300
    assert m["revenue_plan"] == 3300
    assert m["revenue_ytd_vs_plan_to_date"] == pytest.approx(900 / 300)
    assert m["average_deal_size"] == 250
    # D's first entry into work_started is its signed entry (SPEC §3: X or any later stage): 0 days;
    # E has no history: work_started at created_at (1 Jan) → 25 Feb = 55 days
    assert m["sales_cycle_days"] == pytest.approx((0 + 55) / 2)
    # revenue belongs to the owner of the signed entry (Carl), else the deal's owner (Anna)
    assert pr.by_rep["Carl"].metrics["revenue_month"].value == 500
    assert pr.by_rep["Anna"].metrics["revenue_month"].value == 0


def test_ytd_vs_plan_to_date_uses_the_linear_plan_when_only_an_annual_plan_is_given(data_dir):
    """The same plan to date as "Plan to date" shows (annual × M / 12), with a status: it is the figure a head
    of sales is judged on."""
    won = {"status": "won", "stage": "signed"}
    make_data(data_dir, [deal("C", "2026-01-01", signed_at="2026-01-15", amount="400", **won),
                         deal("D", "2026-01-01", signed_at="2026-02-03", amount="500", **won)])
    config = parse_config({"plan": {"annual": 6000}})
    m = build_report("monthly", facts_for(data_dir, config), config, month(2026, 2)).current.metrics
    assert m["revenue_plan_to_date"].value == 1000  # 6000 × 2 / 12
    assert m["revenue_ytd_vs_plan_to_date"].value == pytest.approx(0.9)
    assert m["revenue_ytd_vs_plan_to_date"].target == 1.0
    assert m["revenue_ytd_vs_plan_to_date"].status.value == "warn"  # within 20 % below the plan
