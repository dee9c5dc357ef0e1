"""Sales velocity (SPEC §10) on a small hand-computed set."""

from __future__ import annotations

import pytest

from salesreport.config import parse_config
from salesreport.periods import month
from salesreport.report.build import build_report

from .conftest import facts_for, make_data
from .test_funnel_rules import deal, entry

WON = {"status": "won", "stage": "signed"}


def velocity(folder, **raw):
    config = parse_config(raw)
    return build_report("monthly", facts_for(folder, config), config, month(2026, 3)).current.metrics["sales_velocity"]


def test_open_late_deals_times_win_rate_times_deal_size_over_the_cycle(data_dir):
    deals = [deal("S1", "2026-01-01", signed_at="2026-02-01", amount="1000", **WON),  # cycle 31 days
             deal("S2", "2026-02-01", signed_at="2026-03-03", amount="3000", **WON),  # cycle 30 days
             deal("L1", "2026-01-15", "Lost", status="lost", lost_at="2026-03-10"),
             deal("Q1", "2026-03-01", "qualified"), deal("O1", "2026-03-02", "offer_sent"),
             deal("R1", "2026-03-02", "demo_run"),  # open, but before qualified
             deal("Q2", "2026-04-02", "qualified")]  # created after March: not open at its end
    history = [entry("Q1", "qualified", "2026-03-05"), entry("O1", "offer_sent", "2026-03-20"),
               entry("R1", "demo_run", "2026-03-02"), entry("Q2", "qualified", "2026-04-02")]
    make_data(data_dir, deals, history)
    # 2 open deals × 2 of 3 closed won × 2000 a signed deal / 30.5 days
    assert velocity(data_dir).value == pytest.approx(2 * (2 / 3) * 2000 / 30.5)
    # a window of 30 days (2–31 March) holds S2 and L1 only: 2 × 1/2 × 3000 / 30
    assert velocity(data_dir, forecast={"history_days": 30}).value == pytest.approx(2 * 0.5 * 3000 / 30)
    # nothing signed in the last 10 days: no deal size, no cycle, no velocity (never 0)
    assert velocity(data_dir, forecast={"history_days": 10}).value is None
