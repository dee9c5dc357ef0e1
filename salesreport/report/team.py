"""The team & enablement report: per-rep ramp, quota, win rates; ramp cohorts; before/after a date."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from ..config import Config
from ..engine.formulas import revenue_of, signed_between
from ..engine.funnel import Facts
from ..engine.registry import metric_def, metrics_for, ratio
from ..engine.team import MILESTONE_IDS, conversions, median_of, milestones, team_figures, win_rates
from ..errors import ConfigError
from ..model import MetricValue, Period, PeriodReport, Report, Section, Unit
from ..periods import end_instant, previous, start_instant
from .build import metric_value, rep_blocks


def build_team_report(
    facts: Facts, config: Config, period: Period, *, since: date | None = None, reps=(),
    compare_at: date | None = None,
) -> Report:
    team, per_rep, competitors = team_figures(facts, config, period, since)
    prev_team, prev_rep, prev_comp = team_figures(facts, config, previous(period, config), since)
    metrics = metrics_for("team")
    values = {m.id: metric_value(m, team.get(m.id), prev_team.get(m.id), config, team_level=True) for m in metrics}
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
    r = facts.reps
    notes = []
    no_hire = list(r.loc[r["hire_date"].isna(), "name"])
    if no_hire:
        notes.append(f"No hire_date for {', '.join(no_hire)}: their ramp figures are empty. Add it to reps.csv.")
    no_quota = list(r.loc[~(r["monthly_quota"] > 0), "name"])
    if no_quota:
        notes.append(f"No monthly_quota (or 0) for {', '.join(no_quota)}: no quota figures for them.")
    return notes


def teams(per_rep: pd.DataFrame, facts: Facts) -> Section:
    """Per team of the reps table: reps, median ramp days, quota attainment (Σ/Σ) and win rate."""
    reps = facts.reps.set_index("name")
    frame = per_rep.reindex(reps.index).assign(team=reps["team"].replace("", "(no team)").fillna("(no team)"))
    rows = []
    for name, g in frame.groupby("team"):
        with_quota = g["quota"].notna()
        rows.append([name, len(g), median_of(g["ttfa_days"]), median_of(g["ttfd_days"]), median_of(g["tt100q_days"]),
                     ratio(g.loc[with_quota, "revenue"].sum(), g.loc[with_quota, "quota"].sum()),
                     ratio(g["won"].fillna(0).sum(), g["closed"].fillna(0).sum())])
    return Section(title="Per team", columns=["Team", "Reps", "Days to first action (median)",
                                              "Days to first deal (median)", "Days to 100 % quota (median)",
                                              "Quota attainment", "Win rate"], rows=rows)


def ramp_cohorts(per_rep: pd.DataFrame, facts: Facts) -> Section:
    """Reps grouped by hire quarter: median days to each milestone, and how many reached it."""
    reps = facts.reps.dropna(subset=["hire_date"]).set_index("name")
    quarter = reps["hire_date"].dt.to_period("Q").astype(str)
    frame = per_rep.reindex(reps.index)[list(MILESTONE_IDS)].assign(quarter=quarter)
    columns = ["Hired", "Reps"] + [metric_def(m).title for m in MILESTONE_IDS]
    rows = []
    for q, group in frame.groupby("quarter"):
        row: list = [q, len(group)]
        for m in MILESTONE_IDS:
            reached = group[m].dropna()
            row.append(f"{reached.median():.0f} ({len(reached)}/{len(group)})" if len(reached) else
                       f"not yet (0/{len(group)})")
        rows.append(row)
    return Section(title="Ramp by hire quarter: median days (reached / reps)", columns=columns, rows=rows)


def compare(facts: Facts, config: Config, period: Period, at: date) -> Section:
    """Each team figure over the same number of days before and after `at` (up to the period end)."""
    if not period.start - timedelta(days=3650) <= at <= period.end:
        raise ConfigError(f"--compare-at {at} must fall on or before the report's last day ({period.end}).")
    length = (period.end - at).days + 1
    windows = {"before": (at - timedelta(days=length), at - timedelta(days=1)),
               "after": (at, period.end)}
    figures: dict[str, dict] = {}
    ms = milestones(facts, end_instant(period.end))
    hired = facts.reps.set_index("name")["hire_date"]
    for name, (first, last) in windows.items():
        start, until = start_instant(first), end_instant(last)
        wins, _ = win_rates(facts, start, until)
        conv = conversions(facts, start, until)
        in_window = hired[(hired >= pd.Timestamp(first)) & (hired <= pd.Timestamp(last))].index
        in_range = signed_between(facts, start, until)
        a = facts.actions
        figures[name] = {
            "Window": f"{first} – {last}",
            "Deals signed": int(in_range.sum()),
            "Revenue": revenue_of(facts, in_range),
            "Sales actions": int(((a["day"] >= start) & (a["day"] < until)).sum()),
            "Win rate": ratio(wins["won"].sum(), wins["closed"].sum()),
            "Lead → qualified": conv.at["__team__", "conv_lead_to_qualified"],
            "Qualified → signed": conv.at["__team__", "conv_qualified_to_signed"],
            "Reps hired": len(in_window),
            **{f"{metric_def(m).title} (median, reps hired)": median_of(ms.loc[ms.index.isin(in_window), m])
               for m in ("ttfa_days", "ttfd_days", "tt50q_days")},
        }
    units = {"Deals signed": Unit.COUNT, "Revenue": Unit.MONEY, "Sales actions": Unit.COUNT,
             "Win rate": Unit.RATIO, "Lead → qualified": Unit.RATIO, "Qualified → signed": Unit.RATIO,
             "Reps hired": Unit.COUNT}
    rows = []
    for key in figures["before"]:
        before, after = figures["before"][key], figures["after"][key]
        change = (after - before if isinstance(before, (int, float)) and isinstance(after, (int, float))
                  and not pd.isna(before) and not pd.isna(after) else None)
        rows.append([key, _plain(before), _plain(after), _plain(change)])
    return Section(title=f"Before and after {at} ({length} days each)",
                   columns=["Figure", "Before", "After", "Change"], rows=rows,
                   units=[units.get(row[0], Unit.DAYS if "Days" in row[0] else None) for row in rows])


def _plain(value):
    if value is None or isinstance(value, str):
        return value
    if pd.isna(value):
        return None
    return float(value)

