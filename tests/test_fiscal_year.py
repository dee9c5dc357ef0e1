"""A fiscal year ([report] fiscal_year_start, SPEC §10): year to date, the cohort window, the plan to date,
the year's forecast and quota to date all run from its first month, across a calendar year's end."""

from __future__ import annotations

from datetime import date

import pytest

from salesreport.config import parse_config
from salesreport.errors import ConfigError
from salesreport.periods import month, months_into_year, year_end, year_label, year_start
from salesreport.report.build import build_report
from salesreport.report.team import build_team_report

from .conftest import facts_for, make_data
from .test_funnel_rules import deal, entry

FEBRUARY = {"report": {"fiscal_year_start": 2}}
WON = {"status": "won", "stage": "signed"}


def test_the_fiscal_year_of_a_day():
    config = parse_config(FEBRUARY)
    assert year_start(date(2026, 1, 31), config) == date(2025, 2, 1)
    assert year_start(date(2026, 2, 1), config) == date(2026, 2, 1)
    assert year_end(date(2025, 12, 15), config) == date(2026, 1, 31)
    assert (months_into_year(date(2026, 2, 10), config), months_into_year(date(2026, 1, 10), config)) == (1, 12)
    # labelled by the calendar year it ends in; a calendar year by itself
    assert year_label(date(2026, 3, 1), config) == "FY2027"
    assert year_label(date(2026, 3, 1), parse_config({})) == "2026"
    assert year_start(date(2026, 3, 1), parse_config({})) == date(2026, 1, 1)


@pytest.mark.parametrize("value", [0, 13, 2.5, "2", True])
def test_fiscal_year_start_is_a_month_number(value):
    with pytest.raises(ConfigError, match=r"\[report\] fiscal_year_start must be the month"):
        parse_config({"report": {"fiscal_year_start": value}})


@pytest.fixture
def signed(data_dir):
    """Deals signed on both sides of 1 February, created long before every window (their first entry into
    work_started is their creation), and two deals first worked in March 2025 and in January 2026."""
    deals = [deal("A", "2024-06-01", signed_at="2025-01-20", amount="100", **WON),  # FY2025
             deal("B", "2024-06-01", signed_at="2025-02-10", amount="200", **WON),  # FY2026 …
             deal("C", "2024-06-01", signed_at="2025-12-15", amount="300", **WON),
             deal("D", "2024-06-01", signed_at="2026-01-20", amount="400", **WON),  # … to here
             deal("E", "2024-06-01", signed_at="2026-02-05", amount="500", **WON),  # FY2027
             deal("W1", "2025-03-01"), deal("W2", "2026-01-10")]
    history = [entry("W1", "work_started", "2025-03-01"), entry("W2", "work_started", "2026-01-10")]
    reps = [{"name": "Anna", "role": "AE", "hire_date": "2020-01-01", "monthly_quota": "100"}]
    return make_data(data_dir, deals, history, reps=reps)


def figures(folder, config, ym):
    return {k: v.value for k, v in build_report("monthly", facts_for(folder, config), config,
                                                 month(*ym)).current.metrics.items()}


def test_year_to_date_plan_and_cohort_of_the_last_fiscal_month(signed):
    config = parse_config({**FEBRUARY, "plan": {"monthly": [100] * 11 + [1000]}})  # February … January
    m = figures(signed, config, (2026, 1))
    assert m["revenue_month"] == 400
    assert (m["revenue_ytd"], m["deals_signed_ytd"]) == (900, 3)  # B, C, D: 1 Feb 2025 – 31 Jan 2026
    assert m["revenue_ytd_prev_year"] == 100  # A: 1 Feb 2024 – 31 Jan 2025
    assert m["revenue_plan_to_date"] == 2100  # all twelve fiscal months
    assert m["revenue_ytd_vs_plan_to_date"] == pytest.approx(900 / 2100)
    assert m["worked"] == 2  # W1 (March 2025) and W2 are in the fiscal cohort window
    # the calendar year: January alone
    calendar = figures(signed, parse_config({"plan": {"monthly": [100] * 11 + [1000]}}), (2026, 1))
    assert (calendar["revenue_ytd"], calendar["revenue_ytd_prev_year"], calendar["worked"]) == (400, 100, 1)
    assert calendar["revenue_plan_to_date"] == 100


def test_the_first_fiscal_month_starts_a_new_year(signed):
    m = figures(signed, parse_config({**FEBRUARY, "plan": {"annual": 1200}}), (2026, 2))
    assert (m["revenue_ytd"], m["deals_signed_ytd"]) == (500, 1)  # E alone
    assert m["revenue_ytd_prev_year"] == 200  # B: 1–28 February 2025
    assert m["revenue_plan_to_date"] == 100  # annual × 1 / 12
    assert m["worked"] == 0  # W1 and W2 belong to the year before


def test_the_forecast_counts_deals_expected_by_the_fiscal_year_end(data_dir):
    make_data(data_dir, [deal("N", "2025-11-01", "qualified", expected_close_date="2026-01-20")],
              [entry("N", "qualified", "2025-11-01")])
    fiscal = figures(data_dir, parse_config(FEBRUARY), (2025, 12))
    calendar = figures(data_dir, parse_config({}), (2025, 12))
    assert (fiscal["forecast_deals_without_amount"], calendar["forecast_deals_without_amount"]) == (1, 0)


def test_quota_to_date_counts_the_fiscal_months(signed):
    config = parse_config(FEBRUARY)
    report = build_team_report(facts_for(signed, config), config, month(2026, 1))
    anna = report.current.by_rep["Anna"].metrics
    assert anna["quota_attainment_ytd"].value == pytest.approx(900 / 1200)  # 12 months of 100
    calendar = build_team_report(facts_for(signed, parse_config({})), parse_config({}), month(2026, 1))
    assert calendar.current.by_rep["Anna"].metrics["quota_attainment_ytd"].value == pytest.approx(400 / 100)
