"""The registry owns the wiring: each compute group yields exactly the ids declared for it, and every
ratio is derived from the parts it declares, so a renamed key fails here instead of leaving a blank figure."""

from __future__ import annotations

from pathlib import Path

import pytest

from salesreport.api import load_facts
from salesreport.engine.formulas import GROUPS, Ctx
from salesreport.engine.registry import METRICS, RATIO_GROUP, REGISTRY, group_ids, ratio
from salesreport.engine.team import team_figures
from salesreport.periods import cohort_start_for, parse_day, parse_month, parse_week
from salesreport.report.build import build_report

SAMPLE = str(Path(__file__).resolve().parents[1] / "sample_data")


@pytest.fixture(scope="module")
def sample():
    return load_facts(SAMPLE, None)


def test_every_metric_names_a_known_group():
    known = set(GROUPS) | {"team", RATIO_GROUP}
    assert not [m.id for m in METRICS if m.group not in known]


def test_ratios_and_only_ratios_live_in_the_ratio_group():
    for m in METRICS:
        assert (m.group == RATIO_GROUP) == (m.ratio_of is not None), m.id
        if m.ratio_of is not None:
            assert all(part in REGISTRY for part in m.ratio_of)


@pytest.mark.parametrize("group", sorted(GROUPS))
@pytest.mark.parametrize("period", [("month", "2026-10"), ("week", "2026-W46"), ("day", "2026-11-18")])
def test_each_group_yields_exactly_its_declared_ids(sample, group, period):
    config, facts = sample
    parse = {"month": parse_month, "week": parse_week, "day": parse_day}[period[0]]
    p = parse(period[1], config)
    ctx = Ctx(facts=facts, config=config, period=p, cohort_start=cohort_start_for(p, config, None))
    team, per_rep = GROUPS[group](ctx)
    assert set(team) == group_ids(group)
    assert set(per_rep.columns) == {m.id for m in METRICS if m.group == group and m.per_rep}


def test_team_group_yields_exactly_its_declared_ids(sample):
    config, facts = sample
    team, per_rep, _competitors = team_figures(facts, config, parse_month("2026-10", config), None)
    assert set(team) == group_ids("team")
    assert {m.id for m in METRICS if m.group == "team" and m.per_rep} <= set(per_rep.columns)


@pytest.mark.parametrize("report, period", [("monthly", "2026-10"), ("weekly", "2026-W46"), ("daily", "2026-11-18")])
def test_every_ratio_equals_its_parts(sample, report, period):
    config, facts = sample
    parse = {"monthly": parse_month, "weekly": parse_week, "daily": parse_day}[report]
    r = build_report(report, facts, config, parse(period, config))
    team_ratios = [m for m in METRICS if m.ratio_of and report in m.reports]
    assert team_ratios
    parts = r.current.metrics
    for m in team_ratios:
        num, den = m.ratio_of
        if num in parts and den in parts:  # daily's conv_demo_appointed rests on counts daily does not show
            assert parts[m.id].value == pytest.approx(ratio(parts[num].value, parts[den].value))
    for block in r.current.by_rep.values():
        for metric_id, mv in block.metrics.items():
            m = REGISTRY[metric_id]
            if m.ratio_of and all(p in block.metrics for p in m.ratio_of):
                num, den = (block.metrics[p].value for p in m.ratio_of)
                assert mv.value == pytest.approx(ratio(num, den)), (block.name, metric_id)
