"""A rep is judged only on what their role owns, and by one load target per role in every report."""

from __future__ import annotations

from salesreport.config import parse_config
from salesreport.model import Status

from .conftest import make_data
from .test_funnel_rules import deal, entry, monthly

REPS = [{"name": "Anna", "role": "SDR", "hire_date": "2025-01-01"},
        {"name": "Boris", "role": "AE", "hire_date": "2025-01-01"}]


def _data(data_dir):
    # Anna works D1 and D2 and hands D1 over; Boris runs the demo of D1, and works and demos D3 himself
    deals = [deal("D1", "2026-03-02", "demo_run", owner="Boris"), deal("D2", "2026-03-02"),
             deal("D3", "2026-03-03", "demo_run", owner="Boris")]
    history = [entry("D1", "work_started", "2026-03-02"), entry("D1", "demo_run", "2026-03-10", "Boris"),
               entry("D2", "work_started", "2026-03-02"),
               entry("D3", "work_started", "2026-03-03", "Boris"), entry("D3", "demo_run", "2026-03-12", "Boris")]
    return make_data(data_dir, deals, history, None, REPS)


def test_demo_conversion_judges_the_ae_not_the_sdr(data_dir):
    by_rep = monthly(_data(data_dir)).by_rep
    anna, boris = by_rep["Anna"].metrics["conv_demo"], by_rep["Boris"].metrics["conv_demo"]
    assert anna.value == 0.0 and anna.status is None  # 0 of 2: demos run are the AE's, so no red for her
    assert boris.value == 2 / 1 and boris.status is Status.GOOD  # ≥ 10 %


def test_a_reps_load_has_the_target_of_their_role(data_dir):
    folder = _data(data_dir)
    by_rep = monthly(folder).by_rep
    anna, boris = by_rep["Anna"].metrics["active_deals_per_rep"], by_rep["Boris"].metrics["active_deals_per_rep"]
    assert (anna.value, anna.target, anna.target_max, anna.status) == (1, 150, 200, Status.BAD)
    assert (boris.value, boris.target, boris.target_max, boris.status) == (2, 75, 125, Status.BAD)
    # the role's pipeline target, as [targets] sets it, is the one load target of the role
    config = parse_config({"targets": {"outreach_sdr": [1, 3], "outreach_ae": [2, 4]}})
    by_rep = monthly(folder, config=config).by_rep
    assert by_rep["Anna"].metrics["active_deals_per_rep"].status is Status.GOOD
    assert (by_rep["Boris"].metrics["active_deals_per_rep"].target, by_rep["Boris"].metrics[
        "active_deals_per_rep"].status) == (2, Status.GOOD)
