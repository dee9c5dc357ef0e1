"""The deals behind the numbers (SPEC §10): each figure that counts deals as the set of deals it counts, and
the period's list of every deal behind a figure (the workbook's Deals sheet, the mail's top deals).

A set is (relation, predicate) over a relation the figure's own group counts with the same predicate
(formulas.PIPELINE_SETS, FORECAST_SETS, MOVE_SETS; the funnel's first entries over `deal`), so a list and its
count cannot drift apart; a test holds every list to its figure's count on the sample data."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..model import STAGE_RANK, STAGES
from ..periods import start_instant
from .formulas import (
    FORECAST_SETS,
    FUNNEL_COUNTS,
    MOVE_SETS,
    PIPELINE_SETS,
    Ctx,
    forecast_candidates,
    movement_states,
    sql_instant,
    state_table,
    within,
)
from .funnel import pick

DEAL_IDS_CAP = 1000  # ids listed per figure in JSON; beyond, deal_ids_truncated
SHEET_CAP = 50_000  # rows of the Deals list (the largest amounts first)

# figure → the pipeline set whose deals it counts (a share: the deals of its numerator, "which are stuck")
_PIPELINE_FIGURES = {
    "stuck_share_active": "stuck", "stale_share": "stale", "untouched_deals": "untouched",
    "zero_amount_after_qualified": "zero", "outreach_sdr": "sdr", "outreach_ae": "ae",
}


def figure_sets(ctx: Ctx) -> dict[str, tuple[str, str]]:
    """Metric id → (relation, predicate) for every figure that counts deals, in this period: its deals are the
    rows (pos, deal_id) of the relation where the predicate holds."""
    until, start = sql_instant(ctx.until), sql_instant(ctx.start)
    cohort = f"t1 >= {sql_instant(start_instant(ctx.cohort_start))} AND t1 < {until}"
    sets: dict[str, tuple[str, str]] = {}
    for metric_id, stage in FUNNEL_COUNTS.items():
        r = STAGE_RANK[stage]
        sets[metric_id] = ("deal", f"{cohort} AND t{r} < {until}")
        if metric_id != "signed":
            sets[f"{metric_id}_period"] = ("deal", f"t{r} >= {start} AND t{r} < {until}")
    sets["deals_signed"] = ("deal", within("signed_at", ctx.start, ctx.until))
    sets["deals_signed_ytd"] = ("deal", within("signed_at", ctx.year_start, ctx.until))
    sets["lost_deals"] = ("deal", within("lost_at", ctx.start, ctx.until))
    state = state_table(ctx)
    for metric_id, key in _PIPELINE_FIGURES.items():
        if metric_id != "untouched_deals" or ctx.facts.has_actions:  # without activities: unknown, no list
            sets[metric_id] = (state, PIPELINE_SETS[key])
    if ctx.config.forecast_method == "stage-weighted":
        sets["forecast_deals_without_amount"] = (forecast_candidates(ctx), FORECAST_SETS["without_amount"])
    moves = movement_states(ctx)
    for move, predicate in MOVE_SETS.items():
        sets[f"pipeline_{move}"] = (moves, predicate)
    return sets


@dataclass(frozen=True)
class DealIds:
    ids: tuple[str, ...]  # the first DEAL_IDS_CAP, in the deals table's order
    truncated: bool


def deal_ids(ctx: Ctx, wanted: set[str]) -> dict[str, DealIds]:
    """The deals of each wanted figure that counts deals: one query per relation."""
    by_relation: dict[str, list[tuple[str, str]]] = {}
    for metric_id, (relation, predicate) in figure_sets(ctx).items():
        if metric_id in wanted:
            by_relation.setdefault(relation, []).append((metric_id, predicate))
    out: dict[str, DealIds] = {}
    for relation, figures in by_relation.items():  # the counts in one scan, then each list as its first rows
        (counts,) = ctx.facts.con.sql(
            f"SELECT {', '.join(f'count(*) FILTER ({p})' for _, p in figures)} FROM {relation}").fetchall()
        for (metric_id, predicate), count in zip(figures, counts, strict=True):
            ids = tuple(deal_id for (deal_id,) in ctx.facts.con.sql(
                f"SELECT deal_id FROM {relation} WHERE {predicate} ORDER BY pos LIMIT {DEAL_IDS_CAP}").fetchall()
                        ) if count else ()
            out[metric_id] = DealIds(ids, count > len(ids))
    return out


# the Deals list's marks: (column title, figure whose deals it marks); then the forecast's weighted amount
SHEET_MARKS = (
    ("Signed", "deals_signed"), ("Lost", "lost_deals"), ("Stuck", "stuck_share_active"), ("Stale", "stale_share"),
    ("Untouched", "untouched_deals"), ("Qualified w/o amount", "zero_amount_after_qualified"),
    *((f"{title}, period", f"{metric_id}_period") for title, metric_id in (
        ("Worked", "worked"), ("Replied", "replied"), ("Positive reply", "replied_positive"),
        ("Demo appointed", "demo_appointed"), ("Demo run", "demo_run"), ("Offer sent", "offer_sent"))),
)
SHEET_FIELDS = ("Deal", "Company", "Owner", "Status", "Stage", "Amount", "Created", "Days in stage",
                "Last sales action")
FORECAST_COLUMN = "Forecast (weighted)"


def deal_list(ctx: Ctx) -> tuple[pd.DataFrame, int]:
    """Every deal behind a figure of the period (SHEET_MARKS, and the forecast's contributors), the largest
    amounts first (at most SHEET_CAP; and how many there are in all): what the deal is as of the period end —
    id, company, owner of its last stage entry, status, canonical stage, amount, created, days since its
    last stage change (open deals), last sales action — a True in each mark column whose figure counts it,
    and its weighted amount where it adds to the forecast."""
    sets = figure_sets(ctx)
    marks = [(title, sets[metric_id]) for title, metric_id in SHEET_MARKS if metric_id in sets]
    by_relation: dict[str, list[tuple[int, str]]] = {}
    for i, (_, (relation, predicate)) in enumerate(marks):
        by_relation.setdefault(relation, []).append((i, predicate))
    joins = []
    for j, (relation, figures) in enumerate(by_relation.items()):
        flags = ", ".join(f"coalesce({p}, false) AS m{i}" for i, p in figures)
        joins.append(f"LEFT JOIN (SELECT pos, {flags} FROM {relation}) r{j} USING (pos)")
    columns = [f"coalesce(m{i}, false) AS m{i}" for i in range(len(marks))]
    weighted = "NULL::DOUBLE"
    if ctx.config.forecast_method == "stage-weighted":
        joins.append(f"LEFT JOIN (SELECT pos, amount * share AS weighted FROM {forecast_candidates(ctx)} "
                     f"WHERE {FORECAST_SETS['contributes']}) fc USING (pos)")
        weighted = "fc.weighted"
    behind = " OR ".join([*(f"coalesce(m{i}, false)" for i in range(len(marks))), f"{weighted} IS NOT NULL"])
    f, until = ctx.facts, sql_instant(ctx.until)
    last_action = (f"LEFT JOIN (SELECT deal_id, max(day)::DATE AS last_action FROM {f.acts} WHERE day < {until} "
                   "AND deal_id <> '' GROUP BY deal_id) la ON la.deal_id = s.deal_id")
    rows = f.con.sql(f"""
        SELECT s.deal_id, d.company, s.owner::VARCHAR AS owner,
               CASE WHEN s.open THEN 'open' WHEN s.signed THEN 'signed' ELSE 'lost' END AS status,
               {pick('s.stage_idx', [f"'{s}'" for s in STAGES])} AS stage, s.amount, d.created_at::DATE AS created,
               CASE WHEN s.open THEN date_diff('day', s.changed::DATE, DATE '{ctx.period.end}') END AS days,
               la.last_action, {', '.join(columns)}, {weighted} AS weighted, count(*) OVER () AS total
        FROM {state_table(ctx)} s JOIN deal d USING (pos)
             {' '.join(joins)} {last_action}
        WHERE d.created_at < {until} AND ({behind})
        ORDER BY s.amount DESC NULLS LAST, s.pos
        LIMIT {SHEET_CAP}""").df()
    total = int(rows["total"].iloc[0]) if len(rows) else 0
    rows = rows.drop(columns="total")
    rows.columns = [*SHEET_FIELDS, *(title for title, _ in marks), FORECAST_COLUMN]
    return rows, total
