"""Build a Report: run the metric groups a report needs for each period, attach targets and status."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from datetime import date

import pandas as pd

from ..config import Config
from ..engine.deals import SHEET_MARKS, deal_list
from ..engine.deals import deal_ids as deals_of_figures
from ..engine.formulas import GROUPS, Ctx, lost_reasons
from ..engine.funnel import Facts, active_reps
from ..engine.registry import (
    RATIO_GROUP,
    REGISTRY,
    Metric,
    derive_ratios,
    metrics_for,
    status_of,
    target_of,
    with_parts,
)
from ..model import DealList, MetricValue, Period, PeriodReport, RepBlock, Report, Section, Unit
from ..periods import (
    cohort_start_for,
    end_instant,
    previous,
    series,
    start_instant,
    year_label,
    year_start,
)

Progress = Callable[[], None]


def compute_period(
    report: str, facts: Facts, config: Config, period: Period, since: date | None
) -> tuple[dict, pd.DataFrame, Ctx]:
    """Raw values of a report's metrics for one period: (team values, per-rep frame, context)."""
    ctx = Ctx(facts=facts, config=config, period=period, cohort_start=cohort_start_for(period, config, since))
    metrics = metrics_for(report)
    team: dict = {}
    frames = []
    for group in dict.fromkeys(m.group for m in with_parts(metrics) if m.group != RATIO_GROUP):
        values, reps = GROUPS[group](ctx)
        team.update(values)
        frames.append(reps)
    per_rep = pd.concat([f for f in frames if len(f.columns)], axis=1) if frames else pd.DataFrame()
    derive_ratios(metrics, team, per_rep)
    return team, per_rep, ctx


def build_report(
    report: str,
    facts: Facts,
    config: Config,
    period: Period,
    *,
    periods: int = 1,
    since: date | None = None,
    reps: Iterable[str] = (),
    progress: Progress | None = None,
    deal_ids: bool = False,
    deal_list: bool = False,
) -> Report:
    """The report for `period` and the `periods - 1` before it; each value beside its previous period's. With
    `deal_ids`, each figure of `period` that counts deals lists them (the first DEAL_IDS_CAP); with `deal_list`,
    the report holds the deals behind the period's figures (the workbook's Deals sheet, the mail's top deals)."""
    wanted = list(reps)
    chosen = series(period, periods, config)
    cache: dict[str, tuple] = {}

    shown = {p.label for p in chosen}

    def raw(p: Period):
        if p.label not in cache:
            cache[p.label] = compute_period(report, facts, config, p, since)
            if p.label not in shown:  # only its values are read: its tables go now
                cache[p.label][2].close()
            if progress:
                progress()
        return cache[p.label]

    metrics = metrics_for(report)
    out = Report(name=report, timezone=config.timezone, currency=config.currency or facts.currency, periods=[],
                 warnings=list(facts.warnings), year_start=year_start(period.end, config),
                 year_label=year_label(period.end, config))
    for p in chosen:
        prev_team, prev_rep, _ = raw(previous(p, config))  # first: its tables go before this period's are made
        team, per_rep, ctx = raw(p)
        values = {m.id: metric_value(m, team[m.id], prev_team[m.id], config, team_level=True) for m in metrics}
        for metric_id, ids in ctx.details.items():
            if metric_id in values:
                values[metric_id] = MetricValue(**{**values[metric_id].__dict__, "deal_ids": ids})
        if deal_ids and p is chosen[-1]:
            for metric_id, listed in deals_of_figures(ctx, set(values) - set(ctx.details)).items():
                values[metric_id] = MetricValue(**{**values[metric_id].__dict__, "deal_ids": listed.ids,
                                                   "deal_ids_truncated": listed.truncated})
        if deal_list and p is chosen[-1]:
            out.deals = deals_behind(ctx)
        out.periods.append(PeriodReport(
            period=p, metrics=values,
            by_rep=rep_blocks(metrics, per_rep, prev_rep, facts, config, p, wanted),
        ))
        if p is chosen[-1]:
            out.warnings.extend(dict.fromkeys(ctx.warnings))
        ctx.close()
    if report in ("monthly", "quarterly"):
        out.sections["lost_reasons"] = lost_reasons_section(facts, chosen[-1])
    if wanted:
        known = set(out.current.by_rep)
        missing = [r for r in wanted if r not in known]
        if missing:
            out.warnings.append(f"No figures for rep(s) {', '.join(missing)} in this period (check the name).")
    return out


def deals_behind(ctx: Ctx) -> DealList:
    """The period's deal list as plain values: dates as dates, missing as None."""
    frame, total = deal_list(ctx)
    marks = [title for title, _ in SHEET_MARKS if title in frame.columns]
    for column in ("Created", "Last sales action"):  # dates, not midnight timestamps (a column at a time)
        frame[column] = pd.to_datetime(frame[column]).dt.date
    rows = frame.astype(object).where(frame.notna(), None).to_numpy().tolist()
    return DealList(columns=list(frame.columns), marks=marks, rows=rows, total=total)


def lost_reasons_section(facts: Facts, period: Period) -> Section:
    """Why the period's deals were lost (SPEC §10): per reason, the deals, their value, their share of the
    lost deals and the stages they were lost at (the furthest reached; most deals first)."""
    rows = lost_reasons(facts, start_instant(period.start), end_instant(period.end))
    total = sum(count for _, count, _, _ in rows)
    return Section(
        title=f"Lost reasons, {period.label}", columns=["Reason", "Deals", "Value", "Share of lost", "Lost at"],
        rows=[[reason or "(none)", count, value, count / total,
               ", ".join(f"{stage} {n}" for stage, n in at.items())] for reason, count, value, at in rows],
        column_units=[None, Unit.COUNT, Unit.MONEY, Unit.RATIO, None])


def _clean(value, unit: Unit) -> float | int | None:
    """Plain JSON-ready numbers: counts as int, everything else float; NaN and inf become None."""
    if value is None:
        return None
    value = float(value)
    if not math.isfinite(value):  # math's test of a float: numpy's costs ten times more per call
        return None
    return round(value) if unit is Unit.COUNT else value


def metric_value(metric: Metric, value, previous_value, config: Config, team_level: bool,
                 role: str | None = None) -> MetricValue:
    """A figure with its target and status; a rep's (`role` given) is judged by the target of their role
    (Metric.role_target) and gets no status for a step their role does not own (Metric.status_role)."""
    value, previous_value = _clean(value, metric.unit), _clean(previous_value, metric.unit)
    judged = REGISTRY[dict(metric.role_target)[role]] if role in dict(metric.role_target) else metric
    target, target_max = target_of(judged, config.targets)
    unowned = role is not None and metric.status_role is not None and role != metric.status_role
    status = None if (team_level and not metric.team_status) or unowned else status_of(
        judged, value, target, target_max)
    return MetricValue(id=metric.id, value=value, unit=metric.unit, target=target, target_max=target_max,
                       status=status, previous=previous_value)


LEAD_FIGURES = {"quarter": "revenue_quarter", "month": "revenue_month", "week": "sales_actions", "day": "sales_actions"}  # by period kind


def rep_blocks(
    metrics: list[Metric], per_rep: pd.DataFrame, prev_rep: pd.DataFrame, facts: Facts, config: Config,
    period: Period, wanted: list[str],
) -> dict[str, RepBlock]:
    rep_metrics = [m for m in metrics if m.per_rep]
    if not rep_metrics:
        return {}
    r = facts.reps
    active = active_reps(r, start_instant(period.start), end_instant(period.end))
    ids = [m.id for m in rep_metrics if m.id in per_rep.columns]
    has_figures = per_rep.index[(per_rep[ids].fillna(0) != 0).any(axis=1)] if ids else []
    # a rep of the reps table is shown only in periods they were employed in (a leaver's open deals still
    # count for the team, but no block with a red 0 for them); an owner not in the table is shown by figures
    gone = set(r.loc[~active, "name"])
    names = list(dict.fromkeys([*r.loc[active, "name"], *(n for n in has_figures if n not in gone)]))
    names = [n for n in names if n and (not wanted or n in wanted)]
    roles = facts.role_of(pd.Index(names)).to_dict()
    current, earlier = _rep_values(per_rep, names, rep_metrics), _rep_values(prev_rep, names, rep_metrics)
    # the leaderboard (SPEC §10): by role, then the report's lead figure, highest first; ranked within the role
    lead = LEAD_FIGURES.get(period.kind) if any(m.id == LEAD_FIGURES.get(period.kind) for m in rep_metrics) else None
    score = {n: _number(current[n][lead]) if lead else 0.0 for n in names}
    role_order = {"SDR": 0, "AE": 1, "other": 2, "unknown": 3}
    names.sort(key=lambda n: (role_order.get(roles[n], 9), -score[n], n.lower()))
    ranks: dict[str, int] = {}  # 1 + the reps of the role above: a tie shares the place of the first
    first = 0  # where the role's reps start in `names`
    for i, name in enumerate(names if lead else []):
        if i and roles[names[i - 1]] != roles[name]:
            first = i
        tied = i > first and score[names[i - 1]] == score[name]
        ranks[name] = ranks[names[i - 1]] if tied else i - first + 1
    blocks = {}
    for name in names:
        role = roles[name]
        block = RepBlock(name=name, role=role, rank=ranks.get(name))
        for m in rep_metrics:
            if m.role is not None and m.role != role:
                continue
            block.metrics[m.id] = metric_value(m, current[name][m.id], earlier[name][m.id], config, team_level=False,
                                               role=role)
        blocks[name] = block
    return blocks


def _number(value) -> float:
    """A figure as a float to order by: 0 where it is undefined."""
    return 0.0 if value is None or pd.isna(value) else float(value)


def _rep_values(frame: pd.DataFrame, names: list[str], metrics: list[Metric]) -> dict[str, dict]:
    """Each rep's value of each metric, read in one reindex. A rep with no rows for a count, sum or rate has
    0 of it; a ratio or a day count is undefined. A metric the groups did not produce is an error."""
    ids = [m.id for m in metrics]
    missing = [i for i in ids if i not in frame.columns]
    if missing and frame.index.isin(names).any():
        raise KeyError(f"per-rep figures never computed: {missing}")
    undefined_when_empty = [m.unit in (Unit.RATIO, Unit.DAYS) for m in metrics]
    table = frame.reindex(index=names, columns=ids).to_numpy(dtype=object)
    out = {}
    for name, row in zip(names, table.tolist(), strict=True):
        out[name] = {i: (None if undefined else 0) if v is None or pd.isna(v) else v
                     for i, v, undefined in zip(ids, row, undefined_when_empty, strict=True)}
    return out
