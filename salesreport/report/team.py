"""The team & enablement report: per-rep ramp, quota, win rates; ramp cohorts; before/after a date."""

from __future__ import annotations

from datetime import date

import pandas as pd

from ..config import Config
from ..engine.funnel import Facts
from ..engine.registry import metric_def, metrics_for
from ..engine.team import (
    BEFORE_AFTER_MEDIANS,
    BEFORE_AFTER_UNITS,
    MILESTONE_IDS,
    before_after,
    per_team,
    ramp_by_hire_quarter,
    team_figures,
)
from ..model import MetricValue, Period, PeriodReport, Report, Section, Unit
from ..periods import previous
from ..text import listed
from .build import metric_value, rep_blocks


def build_team_report(
    facts: Facts, config: Config, period: Period, *, since: date | None = None, reps=(),
    compare_at: date | None = None,
) -> Report:
    team, per_rep, competitors = team_figures(facts, config, period, since)
    prev_team, prev_rep, prev_comp = team_figures(facts, config, previous(period, config), since)
    metrics = metrics_for("team")
    values = {m.id: metric_value(m, team[m.id], prev_team[m.id], config, team_level=True) for m in metrics}
    for metric_id, (share, count, name) in sorted(competitors.items()):
        m = metric_def(metric_id, name)
        prev = prev_comp.get(metric_id, (None,))[0]
        mv = metric_value(m, share, prev, config, team_level=True)
        values[metric_id] = MetricValue(**{**mv.__dict__, "basis": count, "label": name})
    values = dict(sorted(values.items(), key=lambda kv: metric_def(kv[0], kv[1].label).number))
    by_rep = rep_blocks(metrics, per_rep, prev_rep, facts, config, period, list(reps))
    out = Report(name="team", timezone=config.timezone, currency=config.currency,
                 periods=[PeriodReport(period=period, metrics=values, by_rep=by_rep)],
                 warnings=list(facts.warnings) + _missing_inputs(facts))
    out.sections["teams"] = teams(per_rep, facts)
    out.sections["ramp_cohorts"] = ramp_cohorts(per_rep, facts)
    if compare_at is not None:
        out.sections["compare"] = compare(facts, config, period, compare_at)
    return out


def _missing_inputs(facts: Facts) -> list[str]:
    """What the reps table lacks for the team figures: hire dates (ramp) and quotas. A long list names the
    first reps and counts the rest (16,000 reps would make a warning of 200 KB)."""
    r = facts.reps
    notes = []
    no_hire = list(r.loc[r["hire_date"].isna(), "name"])
    if no_hire:
        notes.append(f"No hire_date for {listed(no_hire, 20)}: their ramp figures are empty. Add it to reps.csv.")
    no_quota = list(r.loc[~(r["monthly_quota"] > 0), "name"])
    if no_quota:
        notes.append(f"No monthly_quota (or 0) for {listed(no_quota, 20)}: no quota figures for them.")
    return notes


def teams(per_rep: pd.DataFrame, facts: Facts) -> Section:
    """Per team of the reps table: reps, median ramp days, quota attainment (Σ/Σ) and win rate."""
    frame = per_team(per_rep, facts)
    return Section(title="Per team", columns=["Team", "Reps", "Days to first action (median)",
                                              "Days to first deal (median)", "Days to 100 % quota (median)",
                                              "Quota attainment", "Win rate"],
                   rows=[[name, *(None if pd.isna(v) else v for v in row)]  # undefined: null, never NaN
                         for name, row in zip(frame.index, frame.values.tolist(), strict=True)],
                   column_units=[None, Unit.COUNT, Unit.DAYS, Unit.DAYS, Unit.DAYS, Unit.RATIO, Unit.RATIO])


def ramp_cohorts(per_rep: pd.DataFrame, facts: Facts) -> Section:
    """Reps grouped by hire quarter: median days to each milestone, and how many reached it."""
    rows = []
    for quarter, group in ramp_by_hire_quarter(per_rep, facts).items():
        row: list = [quarter, group["reps"]]
        for m in MILESTONE_IDS:
            median, reached = group[m]
            row.append(f"{median:.0f} ({reached}/{group['reps']})" if reached else f"not yet (0/{group['reps']})")
        rows.append(row)
    return Section(title="Ramp by hire quarter: median days (reached / reps)",
                   columns=["Hired", "Reps"] + [metric_def(m).title for m in MILESTONE_IDS], rows=rows)


def compare(facts: Facts, config: Config, period: Period, at: date) -> Section:
    """Each team figure over the same number of days before and after `at` (up to the period end)."""
    length, figures = before_after(facts, period, at)
    titles = {m: f"{metric_def(m).title} (median, reps hired)" for m in BEFORE_AFTER_MEDIANS}
    rows = []
    for key in figures["before"]:
        before, after = figures["before"][key], figures["after"][key]
        change = (after - before if isinstance(before, (int, float)) and isinstance(after, (int, float))
                  and not pd.isna(before) and not pd.isna(after) else None)
        rows.append([titles.get(key, key), _plain(before), _plain(after), _plain(change)])
    units = [BEFORE_AFTER_UNITS.get(key, Unit.DAYS if key in titles else None) for key in figures["before"]]
    return Section(title=f"Before and after {at} ({length} days each)",
                   columns=["Figure", "Before", "After", "Change"], rows=rows, units=units)


def _plain(value):
    if value is None or isinstance(value, str):
        return value
    if pd.isna(value):
        return None
    return float(value)
