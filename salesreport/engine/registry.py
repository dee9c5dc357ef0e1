"""Every metric declared once: stable id, SPEC number, title, unit, target, direction, reports."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ..config import Config, closest
from ..errors import ConfigError
from ..model import Direction, Status, Unit
from ..text import safe_line

if TYPE_CHECKING:  # the registry is data: pandas only types the per-rep frame
    import pandas as pd

MONTHLY, QUARTERLY, WEEKLY, DAILY, TEAM = "monthly", "quarterly", "weekly", "daily", "team"
REPORTS = (MONTHLY, QUARTERLY, WEEKLY, DAILY, TEAM)


@dataclass(frozen=True)
class Metric:
    id: str
    number: int
    title: str
    unit: Unit
    formula: str
    reports: frozenset[str]
    group: str  # which compute group produces it (engine.formulas.GROUPS, or "team"); RATIO_GROUP: derived
    direction: Direction = Direction.NONE
    target: float | None = None
    target_max: float | None = None
    warn_at: float | None = None  # explicit warn threshold (else derived from the target)
    per_rep: bool = False
    role: str | None = None  # per-rep figure shown only for reps of this role
    # a rep's figure has a status only when the rep's role owns the step (SDRs are not judged on demos run)
    status_role: str | None = None
    # (role, metric id): a rep of that role is judged against that metric's target (one load target per role)
    role_target: tuple[tuple[str, str], ...] = ()
    team_status: bool = True  # False: the target is per rep, so the team total gets no status
    number_in: tuple[tuple[str, int], ...] = ()  # another SPEC number in another report
    ratio_of: tuple[str, str] | None = None  # (numerator id, denominator id): derived from its parts

    def number_for(self, report: str) -> int:
        return dict(self.number_in).get(report, self.number)


RATIO_GROUP = "ratio"  # metrics computed from two other metrics' values, never by a group


def _m(id, number, title, unit, formula, reports, group, **kw) -> Metric:
    return Metric(id=id, number=number, title=title, unit=unit, formula=formula,
                  reports=frozenset(reports), group=group, **kw)


def _ratio(id, number, title, unit, of: tuple[str, str], reports, formula: str | None = None, **kw) -> Metric:
    """A metric that is one registered metric divided by another (null when the denominator is 0)."""
    formula = formula or f"cohort {of[0]} / cohort {of[1]}"
    return _m(id, number, title, unit, formula, reports, RATIO_GROUP, ratio_of=of, **kw)


C, M, R, D, P = Unit.COUNT, Unit.MONEY, Unit.RATIO, Unit.DAYS, Unit.PER_DAY
MO, QU, WE, DA, TE = {MONTHLY}, {QUARTERLY}, {WEEKLY}, {DAILY}, {TEAM}
UP, DOWN, ABOVE, BELOW, RANGE = Direction.UP, Direction.DOWN, Direction.ABOVE, Direction.BELOW, Direction.RANGE
_STAGE_DAYS = ("new", "work_started", "replied", "replied_negative", "replied_positive",
               "demo_appointed", "demo_run", "qualified", "offer_sent")

METRICS: list[Metric] = [
    # --- monthly: revenue and plan
    _m("revenue_mom_growth", 1, "Revenue growth MoM", R,
       "revenue(M) / revenue(M−1) − 1; revenue = Σ amount of deals signed in the month", MO, "revenue",
       direction=UP, target=0.06),
    _m("revenue_qoq_growth", 1, "Revenue growth QoQ", R,
       "revenue(Q) / revenue(Q−1) − 1; revenue = Σ amount of deals signed in the quarter", QU, "revenue",
       direction=UP),
    _m("revenue_yoy_growth", 1, "Revenue growth YoY", R,
       "revenue(Q) / revenue of the same quarter a year earlier − 1", QU, "revenue", direction=UP),
    _m("revenue_plan", 2, "Annual revenue plan", M, "[plan] annual (or Σ [plan] monthly)", MO, "revenue"),
    _m("revenue_plan_quarter", 2, "Quarter's revenue plan", M,
       "Σ [plan] monthly for the quarter's months, else [plan] annual / 4", QU, "revenue"),
    _m("revenue_month", 3, "Revenue this month", M, "Σ amount of deals signed in M", MO, "revenue", per_rep=True),
    _m("revenue_quarter", 3, "Revenue this quarter", M, "Σ amount of deals signed in the quarter", QU, "revenue",
       per_rep=True),
    _m("revenue_quarter_prev_year", 3, "Revenue same quarter last year", M,
       "Σ amount of deals signed in the same quarter one year earlier", QU, "revenue"),
    _ratio("revenue_quarter_vs_plan", 4, "Quarter vs plan", R, ("revenue_quarter", "revenue_plan_quarter"), QU,
           "revenue_quarter / revenue_plan_quarter", direction=UP, target=1.0),
    _m("revenue_ytd", 3, "Revenue year to date", M, "Σ amount signed from the start of the (fiscal) year to the end of M", MO, "revenue"),
    _m("revenue_ytd_prev_year", 3, "Revenue YTD last year", M,
       "Σ amount signed over the same span one year earlier", MO, "revenue"),
    _m("revenue_plan_to_date", 4, "Plan to date", M,
       "Σ [plan] monthly for the year's first month..M, else [plan] annual × months begun / 12", MO, "revenue"),
    _ratio("revenue_ytd_vs_plan", 4, "Revenue YTD vs plan", R, ("revenue_ytd", "revenue_plan"), MO,
           "revenue_ytd / revenue_plan"),
    _m("revenue_ytd_vs_plan_to_date", 4, "YTD vs plan to date", R,
       "revenue_ytd / plan to date (Σ [plan] monthly for the year's first month..M, else [plan] annual × "
       "months begun / 12)", MO,
       "revenue", direction=UP, target=1.0),
    _m("revenue_forecast", 5, "Revenue forecast (year)", M,
       "stage-weighted: revenue_ytd + Σ amount × conv_to_signed(stage) over open deals expected to sign "
       "this (fiscal) year; run-rate: open deals at [forecast] stage × average_deal_size × conv_to_signed × 365 / "
       "sales_cycle_days", MO, "forecast"),
    _m("forecast_deals_without_amount", 5, "Forecast deals w/o amount", C,
       "open deals expected to sign this (fiscal) year with no amount (they add nothing to the forecast)", MO, "forecast"),
    _m("sales_velocity", 6, "Sales velocity (per day)", M,
       "open deals at qualified..offer_sent at the period end × win rate (signed / closed) × average deal size "
       "(signed) / mean sales cycle days (signed), each over the deals closed in the trailing [forecast] "
       "history_days: money per day", MO, "velocity"),
    _ratio("pipeline_sufficiency", 6, "Pipeline sufficiency", R, ("revenue_forecast", "revenue_plan"), MO,
           "revenue_forecast / revenue_plan",
       direction=UP, target=2.0, warn_at=1.0),
    _m("deals_signed", 7, "Deals signed", C, "deals signed in the month", MO, "revenue", per_rep=True),
    _m("deals_signed_ytd", 7, "Deals signed YTD", C, "deals signed from the start of the (fiscal) year to the end of M", MO, "revenue"),
    _m("lost_deals", 7, "Deals lost", C, "deals lost in the month (their reasons: the Lost reasons table)", MO,
       "lost"),
    _m("lost_value", 7, "Value lost", M, "Σ amount of the deals lost in the month", MO, "lost"),
    _ratio("average_deal_size", 8, "Average deal size", M, ("revenue_month", "deals_signed"), MO,
           "revenue(M) / deals_signed(M)"),
    _ratio("average_deal_size_ytd", 8, "Average deal size YTD", M, ("revenue_ytd", "deals_signed_ytd"), MO,
           "revenue_ytd / deals_signed_ytd"),
    _m("sales_cycle_days", 9, "Sales cycle", D,
       "mean calendar days from first entry into work_started (else created_at) to signed_at, over deals signed in M",
       MO, "cycle"),
    _m("sales_cycle_days_ytd", 9, "Sales cycle YTD", D, "the same over deals signed year to date", MO, "cycle"),
    *[
        _m(f"stage_days_{s}", 9, f"Days in {s.replace('_', ' ')}", D,
           f"mean days of the stays in {s} that ended by the end of the period", MO, "cycle")
        for s in _STAGE_DAYS
    ],
    _ratio("cycle_day_cost", 9, "Cost of a cycle day", M, ("average_deal_size", "sales_cycle_days"), MO,
           "average_deal_size / sales_cycle_days"),
    # --- funnel (cohort counts: first work_started in the cohort window, reached by period end)
    _m("worked", 19, "Deals worked (cohort)", C, "cohort deals that reached work_started (lost ones included)",
       {MONTHLY, WEEKLY}, "funnel", per_rep=True),
    _m("worked_period", 19, "Deals worked, period", C, "deals whose first entry into work_started is in the period",
       {WEEKLY, DAILY}, "funnel", per_rep=True),
    _m("replied", 21, "Replied (cohort)", C, "cohort deals that reached replied", {MONTHLY, WEEKLY}, "funnel",
       per_rep=True),
    _m("replied_period", 21, "Replied, period", C, "first entry into replied in the period", {WEEKLY, DAILY},
       "funnel", per_rep=True),
    _m("replied_positive", 22, "Positive replies (cohort)", C, "cohort deals that reached replied_positive",
       {MONTHLY, WEEKLY}, "funnel", per_rep=True),
    _m("replied_positive_period", 22, "Positive replies, period", C,
       "first entry into replied_positive in the period", {WEEKLY, DAILY}, "funnel", per_rep=True),
    _m("demo_appointed", 24, "Demos appointed (cohort)", C, "cohort deals that reached demo_appointed",
       {MONTHLY, WEEKLY}, "funnel", per_rep=True),
    _m("demo_appointed_period", 24, "Demos appointed, period", C,
       "first entry into demo_appointed in the period", {WEEKLY, DAILY}, "funnel", per_rep=True),
    _m("demo_run", 25, "Demos run (cohort)", C, "cohort deals that reached demo_run", {MONTHLY, WEEKLY}, "funnel",
       per_rep=True),
    _m("demo_run_period", 25, "Demos run, period", C, "first entry into demo_run in the period",
       {WEEKLY, DAILY}, "funnel", per_rep=True),
    _m("offer_sent", 27, "Offers sent (cohort)", C, "cohort deals that reached offer_sent", {MONTHLY, WEEKLY},
       "funnel", per_rep=True),
    _m("offer_sent_period", 27, "Offers sent, period", C, "first entry into offer_sent in the period",
       {WEEKLY, DAILY}, "funnel", per_rep=True),
    _m("signed", 12, "Signed (cohort)", C, "cohort deals that reached signed", {MONTHLY, WEEKLY}, "funnel",
       per_rep=True, number_in=((WEEKLY, 28),)),
    _ratio("conv_reply", 10, "Reply conversion", R, ("replied", "worked"), MO,
       direction=UP, target=0.25),
    _ratio("conv_demo", 11, "Demo conversion", R, ("demo_run", "worked"), {MONTHLY, WEEKLY},
       "cohort demo_run / cohort worked; per rep, a status for AEs only (demos run are theirs)", direction=UP, target=0.10, per_rep=True, status_role="AE", number_in=((WEEKLY, 26),)),
    _ratio("conv_demo_from_positive", 11, "Demo from positive reply", R, ("demo_run", "replied_positive"), MO),
    _ratio("conv_client", 12, "Client conversion", R, ("signed", "worked"), MO,
       direction=UP, target=0.06),
    _ratio("conv_client_from_demo", 12, "Client from demo", R, ("signed", "demo_run"), MO),
    _ratio("conv_positive", 23, "Positive reply conversion", R, ("replied_positive", "worked"), WE,
           "cohort replied_positive / cohort worked; per rep, a status for SDRs only", direction=UP,
           target=0.12, per_rep=True, status_role="SDR"),
    _ratio("conv_offer", 27, "Offer conversion", R, ("offer_sent", "worked"), WE, per_rep=True),
    _ratio("conv_demo_appointed", 29, "Demo appointed conversion", R, ("demo_appointed", "worked"), DA, direction=UP, target=0.12, per_rep=True, role="SDR"),
    # --- sales actions
    _m("sales_actions", 13, "Sales actions", C, "done calls, e-mails, messages and meetings in the period",
       {MONTHLY, WEEKLY, DAILY}, "actions", per_rep=True),
    *[
        _m(f"sales_actions_{t}", 13, f"Sales actions: {t}s", C, f"done {t} activities in the period",
           {MONTHLY, DAILY}, "actions", per_rep=True)
        for t in ("call", "email", "message", "meeting")
    ],
    _m("actions_per_day_sdr", 18, "Actions per SDR per day", P,
       "sales actions by SDRs / (active SDRs × working days); per rep: actions / working days",
       {WEEKLY, DAILY}, "actions",
       direction=UP, target=30, per_rep=True, role="SDR"),
    _m("actions_per_day_ae", 18, "Actions per AE per day", P,
       "sales actions by AEs / (active AEs × working days); per rep: actions / working days",
       {WEEKLY, DAILY}, "actions",
       direction=UP, target=15, per_rep=True, role="AE"),
    # --- pipeline as of the period end
    _m("outreach_sdr", 20, "SDR pipeline (open deals)", C, "open deals at work_started..demo_appointed", WE,
       "pipeline", direction=RANGE, target=150, target_max=200, per_rep=True, role="SDR", team_status=False),
    _m("outreach_ae", 20, "AE pipeline (open deals)", C, "open deals at demo_run..offer_sent", WE, "pipeline",
       direction=RANGE, target=75, target_max=125, per_rep=True, role="AE", team_status=False),
    _m("stuck_share_active", 14, "Stuck active deals", R,
       "open deals at work_started..offer_sent with no stage change in 90 days / all open deals at those stages",
       MO, "pipeline", direction=BELOW, target=0.50),
    _m("active_deals_per_rep", 14, "Active deals per rep", C,
       "SDR: open deals at work_started..demo_appointed; AE: open deals at demo_run..offer_sent; "
       "team: open deals at work_started..offer_sent / active SDRs and AEs; a rep is judged by their role's "
       "pipeline target (outreach_sdr, outreach_ae)",
       MO, "pipeline", direction=RANGE, target=75, target_max=150, per_rep=True,
       role_target=(("SDR", "outreach_sdr"), ("AE", "outreach_ae"))),
    _m("funnel_balance", 15, "Funnel balance", R, "open deals before demo_run / all open deals before signed",
       MO, "pipeline", direction=ABOVE, target=0.70),
    _m("zero_amount_after_qualified", 16, "Qualified w/o amount", C,
       "open or signed deals that reached qualified with an empty or zero amount", MO, "pipeline",
       direction=DOWN, target=0),
    _m("stale_share", 17, "Stale deals", R, "open deals with no stage change in 90 days / all open deals", MO,
       "pipeline", direction=DOWN, target=0.20),
    _m("untouched_deals", 17, "Untouched deals", C,
       "open deals with no sales action in 90 days (null without an activities table)", MO, "pipeline"),
    # --- pipeline movement (SPEC §10): each deal's state at the period's start and end
    *(metric for move, what in (
        ("start", "open at the period start"), ("created", "created in the period"),
        ("reopened", "closed at the start (a lost or signed row, or dates) and in another state at the end"),
        ("won", "won by the end and not at the start"), ("lost", "lost by the end and not at the start"),
        ("end", "open at the period end"))
      for metric in (
        _m(f"pipeline_{move}", 29, f"Pipeline: {move}", C, f"deals {what} (start + created + reopened − won − "
           "lost = end)", {MONTHLY, WEEKLY}, "movement"),
        _m(f"pipeline_{move}_value", 29, f"Pipeline: {move}, value", M, f"Σ amount of the deals {what}",
           {MONTHLY, WEEKLY}, "movement"))),
    _m("pipeline_amount_change", 29, "Pipeline: amounts changed", M,
       "end value − (start + created + reopened − won − lost values): amounts edited while open (0 while one "
       "amount per deal is known)", {MONTHLY, WEEKLY}, "movement"),
    # --- weekly / daily revenue
    _m("signed_value", 28, "Signed value", M, "Σ amount of deals signed in the period", {WEEKLY, DAILY},
       "revenue", per_rep=True),
    _m("signed_value_ytd", 28, "Signed value YTD", M, "Σ amount signed from the start of the (fiscal) year to the period end (= revenue_ytd)",
       WE, "revenue"),
    _m("revenue_wow_growth", 28, "Revenue growth WoW", R, "signed_value(W) / signed_value(W−1) − 1",
       WE, "revenue"),
]

# the quarterly report (SPEC §10) is the monthly metric set over a quarter, but for its own revenue figures
QUARTER_OWN = {"revenue_month": "revenue_quarter", "revenue_mom_growth": "revenue_qoq_growth"}
METRICS = [replace(m, reports=m.reports | QU) if MONTHLY in m.reports and m.id not in QUARTER_OWN else m
           for m in METRICS]

_MILESTONE = "days from hire to the rep's {} (team: median over reps who reached it)"
METRICS += [
    _m("days_since_hire", 30, "Days since hire", D, "days from hire_date to the period end", TE, "team",
       per_rep=True),
    _m("ttfa_days", 30, "Days to first sales action", D, _MILESTONE.format("first done sales action"), TE, "team",
       per_rep=True),
    _m("tt_first_call_days", 30, "Days to first call", D, _MILESTONE.format("first done call"), TE, "team",
       per_rep=True),
    _m("tt_first_meeting_days", 30, "Days to first meeting", D, _MILESTONE.format("first done meeting"), TE,
       "team", per_rep=True),
    _m("tt_first_demo_days", 30, "Days to first demo run", D,
       _MILESTONE.format("first demo_run entry it owned"), TE, "team", per_rep=True),
    _m("ttfd_days", 30, "Days to first signed deal", D, _MILESTONE.format("first signed deal"), TE, "team",
       per_rep=True),
    _m("tt50q_days", 31, "Days to 50 % of quota", D,
       "days from hire to the end of the first month whose signed revenue reached 50 % of monthly_quota", TE,
       "team", per_rep=True),
    _m("tt80q_days", 31, "Days to 80 % of quota", D, "the same for 80 % of monthly_quota", TE, "team",
       per_rep=True),
    _m("tt100q_days", 31, "Days to 100 % of quota", D, "the same for 100 % of monthly_quota", TE, "team",
       per_rep=True),
    _m("quota_attainment", 32, "Quota attainment", R,
       "signed revenue in the month / the month's quota: monthly_quota × the share of the month's working days "
       "the rep was employed (joining and leaving months pro-rated, none after leaving); team: Σ revenue / "
       "Σ quota of the reps employed", TE, "team",
       direction=UP, target=1.0, per_rep=True),
    _m("quota_attainment_ytd", 32, "Quota attainment YTD", R,
       "signed revenue this (fiscal) year / Σ of this year's monthly quotas, each pro-rated as above", TE, "team",
       direction=UP, target=1.0, per_rep=True),
    _m("win_rate", 33, "Win rate", R, "signed / (signed + lost) among deals closed in the period", TE, "team",
       per_rep=True),
    _m("conv_lead_to_qualified", 34, "Lead → qualified", R,
       "deals created in the cohort window that reached qualified / those deals (rep: owner of work_started)",
       TE, "team", per_rep=True),
    _m("conv_qualified_to_signed", 34, "Qualified → signed", R,
       "deals first qualified in the cohort window that reached signed / those deals (rep: owner of qualified)",
       TE, "team", per_rep=True),
]
COMPETITOR_PREFIX = "win_rate_vs_"

REGISTRY: dict[str, Metric] = {}
for _metric in METRICS:
    if _metric.id in REGISTRY:
        raise RuntimeError(f"metric id {_metric.id} is declared twice")
    REGISTRY[_metric.id] = _metric
for _metric in METRICS:
    if _metric.ratio_of is not None and not set(_metric.ratio_of) <= set(REGISTRY):
        raise RuntimeError(f"metric {_metric.id} is a ratio of {_metric.ratio_of}, which are not all declared")


def group_ids(group: str) -> set[str]:
    """The ids a compute group must produce, exactly (a test holds every group to it)."""
    return {m.id for m in METRICS if m.group == group}


def with_parts(metrics: list[Metric]) -> list[Metric]:
    """The metrics and, for each ratio among them, its parts (recursively): what must be computed."""
    out: dict[str, Metric] = {}
    todo = list(metrics)
    while todo:
        m = todo.pop()
        if m.id not in out:
            out[m.id] = m
            todo.extend(REGISTRY[p] for p in m.ratio_of or ())
    return list(out.values())


def derive_ratios(metrics: list[Metric], team: dict, per_rep: pd.DataFrame) -> None:
    """Fill in every ratio metric from its parts' values, for the team and per rep, in dependency order
    (cycle_day_cost rests on average_deal_size); a zero or missing denominator gives None (NaN per rep)."""
    pending = [m for m in with_parts(metrics) if m.ratio_of is not None]
    while pending:
        ready = [m for m in pending if all(part in team for part in m.ratio_of)]
        if not ready:
            raise RuntimeError(f"ratio parts never computed: {[m.id for m in pending]}")
        for m in ready:
            num, den = m.ratio_of
            team[m.id] = ratio(team[num], team[den])
            if m.per_rep and num in per_rep.columns and den in per_rep.columns:
                per_rep[m.id] = (per_rep[num].astype(float) / per_rep[den].astype(float)).where(per_rep[den] > 0)
            pending.remove(m)


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """A ratio with a zero or missing denominator is undefined (None), never 0 or infinity."""
    if numerator is None or denominator is None or denominator == 0 or math.isnan(denominator):
        return None
    return float(numerator) / float(denominator)


def metric_def(metric_id: str, label: str | None = None) -> Metric:
    """A registered metric, or one of the `win_rate_vs_<competitor>` family of the team report."""
    if metric_id in REGISTRY:
        return REGISTRY[metric_id]
    if metric_id.startswith(COMPETITOR_PREFIX):
        name = label or metric_id[len(COMPETITOR_PREFIX):].replace("_", " ")
        return _m(metric_id, 33, f"Win rate vs {name}", R,
                  f"signed / (signed + lost) among deals closed in the period naming {name}", TE, "team")
    raise KeyError(metric_id)


def metrics_for(report: str) -> list[Metric]:
    """The metrics of a report, in SPEC number order (declaration order within a number)."""
    order = {m.id: i for i, m in enumerate(METRICS)}
    return sorted((m for m in METRICS if report in m.reports), key=lambda m: (m.number_for(report), order[m.id]))


def target_of(metric: Metric, overrides: dict[str, float | tuple[float, float]]) -> tuple[float | None, float | None]:
    value = overrides.get(metric.id)
    if value is None:
        return metric.target, metric.target_max
    if isinstance(value, tuple):
        return value
    return value, metric.target_max if metric.direction is Direction.RANGE else None


def status_of(metric: Metric, value: float | None, target: float | None, target_max: float | None) -> Status | None:
    """good / warn / bad against the target; warn is within 20 % of it (or the metric's warn_at)."""
    if value is None or target is None or metric.direction is Direction.NONE:
        return None
    d = metric.direction
    if d is Direction.UP:
        warn = metric.warn_at if metric.warn_at is not None else target * 0.8
        return Status.GOOD if value >= target else Status.WARN if value >= warn else Status.BAD
    if d is Direction.ABOVE:
        return Status.GOOD if value > target else Status.WARN if value > target * 0.8 else Status.BAD
    if d is Direction.DOWN:
        warn = metric.warn_at if metric.warn_at is not None else target * 1.25
        return Status.GOOD if value <= target else Status.WARN if value <= warn else Status.BAD
    if d is Direction.BELOW:
        return Status.GOOD if value < target else Status.WARN if value < target * 1.2 else Status.BAD
    hi = target_max if target_max is not None else target
    if target <= value <= hi:
        return Status.GOOD
    return Status.WARN if target * 0.8 <= value <= hi * 1.2 else Status.BAD


def check_targets(config: Config) -> None:
    """[targets] may name only registered metric ids."""
    unknown = sorted(set(config.targets) - set(REGISTRY))
    if unknown:
        where = str(config.path) if config.path else "config"
        hint = closest(unknown[0], REGISTRY) if len(unknown) == 1 else ""
        raise ConfigError(
            f"{where}: [targets] names unknown metric id(s) {', '.join(safe_line(u, 60) for u in unknown)}{hint}; "
            "see the metric glossary in README.md for the ids."
        )
