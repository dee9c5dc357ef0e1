"""Team & enablement figures on a hand-built team: mid-month hire, a rep who left, quota 0, no activities."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from salesreport.config import Config
from salesreport.engine.team import conversions, milestones, quota_attainment, win_rates
from salesreport.periods import end_instant, start_instant

from .conftest import facts_for, make_data
from .test_funnel_rules import deal, entry

REPS = [
    {"name": "Anna", "role": "SDR", "hire_date": "2026-01-15", "monthly_quota": "1000", "left_at": ""},
    {"name": "Boris", "role": "AE", "hire_date": "2025-12-01", "monthly_quota": "0", "left_at": ""},
    {"name": "Carl", "role": "AE", "hire_date": "2026-02-10", "monthly_quota": "2000", "left_at": "2026-05-01"},
    {"name": "Dora", "role": "SDR", "hire_date": "2026-03-01", "monthly_quota": "", "left_at": ""},
    {"name": "Eli", "role": "AE", "hire_date": "", "monthly_quota": "500", "left_at": ""},
]
ACTS = [
    {"owner": "Anna", "type": "email", "occurred_at": "2026-01-14", "done": "yes"},  # before hire: ignored
    {"owner": "Anna", "type": "email", "occurred_at": "2026-01-20 09:00", "done": "yes"},
    {"owner": "Anna", "type": "call", "occurred_at": "2026-01-25", "done": "yes"},
    {"owner": "Anna", "type": "meeting", "occurred_at": "2026-02-04", "done": "yes"},
    {"owner": "Carl", "type": "call", "occurred_at": "2026-02-11", "done": "no"},  # not done
    {"owner": "Carl", "type": "meeting", "occurred_at": "2026-02-12", "done": "yes"},
]
WON = {"status": "won", "stage": "signed"}


@pytest.fixture
def team(data_dir):
    deals = [deal("D1", "2026-01-20", signed_at="2026-03-05", amount="1200", **WON),
             deal("D2", "2026-01-21", signed_at="2026-02-27", amount="900", **WON),
             deal("D3", "2026-03-01", signed_at="2026-04-10", amount="1000", competitor="Acme CRM", **WON),
             deal("D4", "2026-03-01", "Lost", status="lost", lost_at="2026-04-15", competitor="Acme CRM")]
    history = [entry("D1", "work_started", "2026-01-20"), entry("D1", "demo_run", "2026-02-20", "Carl"),
               entry("D1", "qualified", "2026-02-25", "Carl"), entry("D1", "signed", "2026-03-05", "Carl"),
               entry("D2", "work_started", "2026-01-21"), entry("D2", "signed", "2026-02-27"),
               entry("D3", "work_started", "2026-03-01"), entry("D3", "qualified", "2026-03-20"),
               entry("D3", "signed", "2026-04-10"),
               entry("D4", "work_started", "2026-03-01", "Dora"), entry("D4", "qualified", "2026-03-10", "Carl"),
               entry("D4", "Lost", "2026-04-15", "Carl")]
    make_data(data_dir, deals, history, ACTS, REPS)
    return facts_for(data_dir, Config())


UNTIL = end_instant(date(2026, 4, 30))


def test_ramp_milestones_count_days_from_hire(team):
    m = milestones(team, UNTIL)
    anna, carl = m.loc["Anna"], m.loc["Carl"]
    assert (anna["ttfa_days"], anna["tt_first_call_days"], anna["tt_first_meeting_days"]) == (5, 10, 20)
    assert anna["ttfd_days"] == 43  # D2 signed 27 Feb, hired 15 Jan
    assert (carl["ttfa_days"], carl["tt_first_meeting_days"]) == (2, 2)  # the undone call does not count
    assert np.isnan(carl["tt_first_call_days"])
    assert carl["tt_first_demo_days"] == 10 and carl["ttfd_days"] == 23
    # quota milestones: end of the first month whose revenue reached the share
    assert (anna["tt50q_days"], anna["tt80q_days"], anna["tt100q_days"]) == (44, 44, 105)
    assert carl["tt50q_days"] == 49 and np.isnan(carl["tt80q_days"])
    assert np.isnan(m.loc["Boris", "tt50q_days"])  # quota 0: no quota milestones
    assert np.isnan(m.loc["Dora", "ttfa_days"]) and m.loc["Dora", "days_since_hire"] == 60
    assert np.isnan(m.loc["Eli", "ttfa_days"]) and np.isnan(m.loc["Eli", "days_since_hire"])  # no hire date


def test_milestones_respect_as_of(team):
    m = milestones(team, end_instant(date(2026, 2, 28)))
    assert m.loc["Anna", "ttfd_days"] == 43
    assert np.isnan(m.loc["Carl", "ttfd_days"]) and np.isnan(m.loc["Anna", "tt100q_days"])


def test_quota_attainment_month_and_year_to_date(team):
    """A monthly quota counts in the share of the month's working days the rep was employed (Mon–Fri, no
    holidays): January 2026 has 22, February 20, March 22, April 22, May 21."""
    q = quota_attainment(team, date(2026, 4, 1), date(2026, 4, 30), UNTIL, Config())
    assert q.loc["Anna", "quota_attainment"] == 1.0
    # Anna joined on Thu 15 January: 12 of January's 22 working days, then whole months
    assert q.loc["Anna", "quota_ytd"] == pytest.approx(1000 * (12 / 22 + 3))
    assert q.loc["Anna", "quota_attainment_ytd"] == pytest.approx(1900 / (1000 * (12 / 22 + 3)))
    assert q.loc["Carl", "quota_attainment"] == 0.0
    # Carl joined on Tue 10 February: 14 of its 20 working days, then March and April
    assert q.loc["Carl", "quota_attainment_ytd"] == pytest.approx(1200 / (2000 * (14 / 20 + 2)))
    assert np.isnan(q.loc["Boris", "quota_attainment"])
    # Carl left on Fri 1 May: 1 of May's 21 working days; in June he has no quota at all
    may = quota_attainment(team, date(2026, 5, 1), date(2026, 5, 31), end_instant(date(2026, 5, 31)), Config())
    assert may.loc["Carl", "quota"] == pytest.approx(2000 / 21)
    june = quota_attainment(team, date(2026, 6, 1), date(2026, 6, 30), end_instant(date(2026, 6, 30)), Config())
    assert np.isnan(june.loc["Carl", "quota"]) and np.isnan(june.loc["Carl", "quota_attainment"])
    assert june.loc["Carl", "quota_ytd"] == pytest.approx(2000 * (14 / 20 + 2 + 1 / 21))


def test_win_rates_overall_and_against_a_competitor(team):
    per_rep, by_competitor = win_rates(team, start_instant(date(2026, 4, 1)), UNTIL)
    assert per_rep.loc["Anna", "win_rate"] == 1.0  # D3, signed entry owned by Anna
    assert per_rep.loc["Carl", "win_rate"] == 0.0  # D4, lost entry owned by Carl
    assert by_competitor == {"win_rate_vs_acme_crm": (0.5, 2, "Acme CRM")}


def test_lead_to_qualified_and_qualified_to_signed(team):
    c = conversions(team, start_instant(date(2026, 1, 1)), UNTIL)
    team_row = c.loc["__team__"]
    # D2 went work_started → signed: it reached qualified too (skipped stages count)
    assert (team_row["leads"], team_row["leads_qualified"]) == (4, 4)
    assert team_row["conv_qualified_to_signed"] == pytest.approx(3 / 4)  # D4 was lost
    assert c.loc["Anna", "conv_lead_to_qualified"] == 1.0  # D1, D2, D3 worked by Anna
    assert c.loc["Carl", "conv_qualified_to_signed"] == pytest.approx(1 / 2)  # D1 signed, D4 lost


def test_team_report_before_and_after_a_date_and_per_team(team):
    from salesreport.periods import month
    from salesreport.report.team import build_team_report

    report = build_team_report(team, Config(), month(2026, 4), compare_at=date(2026, 3, 1))
    rows = {r[0]: r[1:] for r in report.sections["compare"].rows}
    # 61 days each: 30 Dec – 28 Feb before, 1 Mar – 30 Apr after
    assert rows["Window"][:2] == ["2025-12-30 – 2026-02-28", "2026-03-01 – 2026-04-30"]
    assert rows["Deals signed"] == [1, 2, 1]  # D2 before; D1, D3 after
    assert rows["Revenue"] == [900, 2200, 1300]
    assert rows["Win rate"] == pytest.approx([1.0, 2 / 3, 2 / 3 - 1])
    assert rows["Reps hired"] == [2, 1, -1]  # Anna, Carl before; Dora after
    # the rep who left (Carl, on 1 May) is still reported for April; the rep without hire date has no ramp
    assert "Carl" in report.current.by_rep
    assert report.current.by_rep["Carl"].metrics["ttfd_days"].value == 23
    assert any("No hire_date for Eli" in w for w in report.warnings)
    (quota,) = [w for w in report.warnings if w.startswith("No monthly_quota")]
    assert quota.startswith("No monthly_quota (or 0) for Boris, Dora:")  # the quota 0 and the empty one
    per_team = report.sections["teams"]
    assert per_team.rows[0][:2] == ["(no team)", 5]


def test_a_long_list_of_reps_without_quota_names_the_first_and_counts_the_rest(data_dir):
    from salesreport.periods import month
    from salesreport.report.team import build_team_report

    reps = [{"name": f"Rep {i:02d}", "role": "SDR", "hire_date": "2026-01-01", "monthly_quota": ""}
            for i in range(1, 26)]
    make_data(data_dir, [deal("D1", "2026-03-02", owner="Rep 01")], [entry("D1", "work_started", "2026-03-02")],
              ACTS, reps)
    report = build_team_report(facts_for(data_dir, Config()), Config(), month(2026, 4))
    (quota,) = [w for w in report.warnings if w.startswith("No monthly_quota")]
    assert quota == ("No monthly_quota (or 0) for " + ", ".join(f"Rep {i:02d}" for i in range(1, 21))
                     + " … and 5 more: no quota figures for them.")
