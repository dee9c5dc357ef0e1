"""Vectorised formulas: each group computes its metrics for one period, for the team and per rep.

A group returns (team, per_rep): team maps metric id → value; per_rep is a DataFrame indexed by rep
name with one column per metric id. Values are plain floats/ints or None (undefined, e.g. a ratio
with a zero denominator).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

from ..config import Config
from ..model import ACTION_TYPES, RANKED_STAGES, STAGE_RANK, STAGES, Period
from ..periods import end_instant, start_instant, working_days
from .funnel import (
    NEW_IDX,
    RANK_OF_STAGE,
    SIGNED_IDX,
    Facts,
    active_reps,
    pick,
)
from .registry import ratio

Team = dict[str, float | int | None]
STALE_DAYS = 90
THIN_HISTORY = 10
# metric id → ranked stage: a cohort count `id` and, but for signed, a period flow count `id_period`
FUNNEL_COUNTS = {
    "worked": "work_started", "replied": "replied", "replied_positive": "replied_positive",
    "demo_appointed": "demo_appointed", "demo_run": "demo_run", "offer_sent": "offer_sent", "signed": "signed",
}
SDR_RANKS = (1, 4)  # work_started..demo_appointed
AE_RANKS = (5, 7)  # demo_run..offer_sent


@dataclass
class Ctx:
    """One period's question to the facts, with a cache shared by the groups."""

    facts: Facts
    config: Config
    period: Period
    cohort_start: date
    warnings: list[str] = field(default_factory=list)
    details: dict = field(default_factory=dict)  # extras a metric carries, e.g. metric 16's deal ids
    _cache: dict = field(default_factory=dict)

    @property
    def start(self) -> np.datetime64:
        return start_instant(self.period.start)

    @property
    def until(self) -> np.datetime64:
        return end_instant(self.period.end)

    @property
    def year_start(self) -> np.datetime64:
        """The start of the (fiscal) year of the period end: where year-to-date figures start."""
        from ..periods import year_start

        return start_instant(year_start(self.period.end, self.config))

    def active_reps(self, role: str) -> pd.Series:
        """Names of reps of a role active in the period: hired by its last day, not left before its first."""
        r = self.facts.reps
        return r.loc[(r["role"] == role) & active_reps(r, self.start, self.until), "name"]

    def close(self) -> None:
        """Drop the tables this period made (its state table: 68 MB at 1M deals); asked again, they are remade."""
        name = self._cache.pop("state_table", None)
        if name is not None:
            self.facts.con.sql(f"DROP TABLE {name}")


# --- funnel counts and conversions ---------------------------------------------------------------

def funnel(ctx: Ctx) -> tuple[Team, pd.DataFrame]:
    ids = list(FUNNEL_COUNTS)
    ranks = [STAGE_RANK[FUNNEL_COUNTS[i]] for i in ids]
    until, start = sql_instant(ctx.until), sql_instant(ctx.start)
    cohort = f"t1 >= {sql_instant(start_instant(ctx.cohort_start))} AND t1 < {until}"
    # one row per deal and counted stage: its first entry t and that entry's owner o
    steps = ", ".join(f"({i})" for i in range(len(ids)))
    rows = ctx.facts.con.sql(f"""
        SELECT i, o, grouping(o) = 1 AS team, count(*) FILTER (cohort) AS reached,
               count(*) FILTER (t >= {start}) AS in_period
        FROM (SELECT s.i, {pick('s.i', [f't{r}' for r in ranks])} AS t, {pick('s.i', [f'o{r}' for r in ranks])} AS o,
                     {cohort} AS cohort
              FROM deal CROSS JOIN (VALUES {steps}) AS s(i))
        WHERE t < {until}
        GROUP BY GROUPING SETS ((i, o), (i))""").fetchall()
    team: Team = {}
    for metric_id in ids:
        team[metric_id] = 0
        if metric_id != "signed":
            team[f"{metric_id}_period"] = 0
    per_rep: dict[str, dict] = {key: {} for key in team}
    for i, owner, is_team, reached, in_period in rows:
        counts = {ids[i]: reached, f"{ids[i]}_period": in_period}
        for key, value in counts.items():
            if key not in team or not value:
                continue
            if is_team:
                team[key] = int(value)
            else:
                per_rep[key][owner] = float(value)
    return team, _rep_frame(per_rep)


def within(column: str, start: np.datetime64, until: np.datetime64) -> str:
    """SQL: `column` falls in the half-open window [start, until) (NULL where the column is NULL)."""
    return f"({column} >= {sql_instant(start)} AND {column} < {sql_instant(until)})"


def closed_sql(start: np.datetime64, until: np.datetime64) -> str:
    """SQL: every deal with won (signed in [start, until)) and lost (lost in it, and not won)."""
    won = f"coalesce({within('signed_at', start, until)}, false)"
    lost = f"coalesce({within('lost_at', start, until)}, false)"
    return f"SELECT *, {lost} AND NOT won AS lost FROM (SELECT *, {won} AS won FROM deal)"


def sql_instant(instant: np.datetime64) -> str:
    """An instant as a SQL timestamp literal."""
    return f"TIMESTAMP '{pd.Timestamp(instant).isoformat(sep=' ')}'"


def _rep_frame(columns: dict[str, dict]) -> pd.DataFrame:
    """Per-rep columns (rep → value, for the reps that have one) as one frame: reps in sorted order, 0 where a
    rep has no value in a column."""
    series = {key: pd.Series(values, dtype="float64", index=pd.Index(sorted(values), dtype=object))
              for key, values in columns.items()}
    return pd.DataFrame(series).fillna(0)


# --- revenue -------------------------------------------------------------------------------------

def _year_earlier(d: date) -> date:
    try:
        return d.replace(year=d.year - 1)
    except ValueError:  # 29 February
        return d.replace(year=d.year - 1, day=28)


def revenue(ctx: Ctx) -> tuple[Team, pd.DataFrame]:
    from ..periods import months_into_year, previous, year_start

    cfg, p = ctx.config, ctx.period
    prev = previous(p, cfg)
    prev_year_end = _year_earlier(p.end)
    windows = {
        "period": (ctx.start, ctx.until), "ytd": (ctx.year_start, ctx.until),
        "prev": (start_instant(prev.start), end_instant(prev.end)),
        "ytd_prev": (start_instant(year_start(prev_year_end, cfg)), end_instant(prev_year_end)),
        "year_ago": (start_instant(_year_earlier(p.start)), end_instant(prev_year_end)),  # the same period
    }
    picks = ", ".join(
        f"count(*) FILTER {within('signed_at', a, b)}, "
        f"coalesce(fsum(amount) FILTER {within('signed_at', a, b)}, 0)"
        for a, b in windows.values())
    (counts_and_sums), = ctx.facts.con.sql(f"SELECT {picks} FROM deal").fetchall()
    signed = dict(zip(windows, counts_and_sums[0::2]))
    value_of = dict(zip(windows, map(float, counts_and_sums[1::2])))
    value, revenue_ytd = value_of["period"], value_of["ytd"]
    plan = cfg.revenue_plan
    # the plan to date: Σ [plan] monthly for the (fiscal) year's first month..M, else the annual plan × months
    # begun / 12
    months = months_into_year(p.end, cfg)
    plan_to_date = sum(cfg.plan_monthly[:months]) if cfg.plan_monthly else (
        plan * months / 12 if plan is not None else None)
    # a quarter's plan: Σ [plan] monthly for its months, else the annual plan / 4
    first = months_into_year(p.start, cfg) - 1
    plan_quarter = sum(cfg.plan_monthly[first:first + 3]) if cfg.plan_monthly else (
        plan / 4 if plan is not None else None)
    growth, year_on_year = ratio(value, value_of["prev"]), ratio(value, value_of["year_ago"])
    team: Team = {
        "revenue_month": value,
        "signed_value": value,
        "revenue_ytd": revenue_ytd,
        "signed_value_ytd": revenue_ytd,
        "revenue_ytd_prev_year": value_of["ytd_prev"],
        "revenue_quarter": value,
        "revenue_mom_growth": None if growth is None else growth - 1,
        "revenue_qoq_growth": None if growth is None else growth - 1,
        "revenue_quarter_prev_year": value_of["year_ago"],
        "revenue_yoy_growth": None if year_on_year is None else year_on_year - 1,
        "revenue_wow_growth": None if growth is None else growth - 1,
        "revenue_plan_quarter": plan_quarter,
        "revenue_plan": plan,
        "revenue_plan_to_date": plan_to_date,
        "revenue_ytd_vs_plan_to_date": ratio(revenue_ytd, plan_to_date),
        "deals_signed": int(signed["period"]),
        "deals_signed_ytd": int(signed["ytd"]),
    }
    rows = ctx.facts.con.sql(
        f"SELECT signer, coalesce(fsum(amount), 0), count(*) FROM deal WHERE {within('signed_at', ctx.start, ctx.until)} "
        "GROUP BY signer").fetchall()
    reps = _rep_frame({"revenue_month": {o: v for o, v, _ in rows}, "deals_signed": {o: n for o, _, n in rows}})
    reps["signed_value"] = reps["revenue_quarter"] = reps["revenue_month"]
    return team, reps


# --- sales actions -------------------------------------------------------------------------------

def actions(ctx: Ctx) -> tuple[Team, pd.DataFrame]:
    f = ctx.facts
    rows = f.con.sql(f"SELECT owner::VARCHAR, action::VARCHAR, count(*) FROM {f.acts} "
                     f"WHERE {within('day', ctx.start, ctx.until)} GROUP BY 1, 2").fetchall()
    frame = pd.DataFrame(rows, columns=["owner", "action", "n"])
    counts = frame.set_index(["owner", "action"])["n"].astype("int64").sort_index().unstack(fill_value=0)
    team: Team = {"sales_actions": sum(n for *_, n in rows)}
    reps = pd.DataFrame(index=counts.index)
    reps["sales_actions"] = counts.sum(axis=1)
    for t in ACTION_TYPES:
        team[f"sales_actions_{t}"] = sum(n for _, a, n in rows if a == t)
        reps[f"sales_actions_{t}"] = counts.get(t, 0)
    days = working_days(ctx.period, ctx.config)
    roles = ctx.facts.role_of(reps.index)
    for role, metric_id in (("SDR", "actions_per_day_sdr"), ("AE", "actions_per_day_ae")):
        of_role = roles.index[roles == role]
        done = int(reps.loc[reps.index.isin(of_role), "sales_actions"].sum())
        team[metric_id] = ratio(done, len(ctx.active_reps(role)) * days)
        reps[metric_id] = reps["sales_actions"] / days if days else np.nan
    return team, reps


# --- pipeline as of the period end ---------------------------------------------------------------

def _before_days(ctx: Ctx, days: int) -> np.datetime64:
    """Exclusive bound: a time before it is on or before (period's last day − days)."""
    return end_instant(ctx.period.end - timedelta(days=days))


def _flags(until: str) -> str:
    """SQL over deal: open, signed and qualified as of the instant `until` (a SQL timestamp)."""
    return (f"created_at < {until} AND NOT coalesce(signed_at < {until}, false) "
            f"AND NOT coalesce(lost_at < {until}, false) AS open, coalesce(signed_at < {until}, false) AS signed, "
            f"coalesce(t6 < {until}, false) AS qualified")


# metric 16: open or signed deals that reached qualified, with an empty or zero amount
ZERO_AMOUNT = "(open OR signed) AND qualified AND coalesce(amount = 0, NOT credit)"  # a credit note is no gap


def zero_amount_after_qualified(f: Facts, until: np.datetime64) -> list[str]:
    """Metric 16's deals as of `until`: their ids, in the order of the deals table."""
    rows = f.con.sql(f"SELECT deal_id FROM (SELECT pos, deal_id, amount, credit, {_flags(sql_instant(until))} "
                     f"FROM deal) WHERE {ZERO_AMOUNT} ORDER BY pos").fetchall()
    return [deal_id for (deal_id,) in rows]


def latest_before(until: str, ranked: bool) -> str:
    """SQL (a parenthesised relation) of each deal's latest stage-history row — of its ranked rows, when `ranked`
    — before the instant `until` (SQL): pos, stage_idx, owner, entered_at, and the state the row says (won for
    signed, lost, else open). A deal with none has no row. A filter, not an aggregate: the row is before `until`
    and no later row is (FACTS_SQL's later_at, later_ranked_at)."""
    later = "later_ranked_at" if ranked else "later_at"
    state = f"CASE WHEN stage_idx = {SIGNED_IDX} THEN 'won' WHEN rank < 0 THEN 'lost' ELSE 'open' END"
    return (f"(SELECT pos, stage_idx, owner, entered_at, {state} AS state FROM ev WHERE entered_at < {until} "
            f"AND coalesce({later} >= {until}, true){' AND rank >= 0' if ranked else ''})")


STATE_SQL = """
SELECT deal.pos, deal.deal_id, amount, credit, expected_close_date, {flags},
       coalesce(s.stage_idx, {new}) AS stage_idx, coalesce(s.owner, deal.owner) AS owner,
       coalesce(s.entered_at, deal.created_at) AS changed
FROM deal LEFT JOIN {latest} s USING (pos)
"""


def state_table(ctx: Ctx) -> str:
    """The name of a table of every deal as of the period end: open, signed, qualified, the stage, owner and
    time of its last stage entry before the end (else new, its owner, created_at), rank, stale, touched."""
    if "state_table" not in ctx._cache:
        f = ctx.facts
        window_start = start_instant(ctx.period.end - timedelta(days=STALE_DAYS - 1))
        name = "state_" + "".join(ch if ch.isalnum() else "_" for ch in str(ctx.period.end))
        f.con.sql(f"""
            CREATE OR REPLACE TEMP TABLE {name} AS
            SELECT *, {RANK_OF_STAGE} AS rank, changed < {sql_instant(_before_days(ctx, STALE_DAYS))} AS stale,
                   deal_id IN (SELECT deal_id FROM {f.acts} WHERE day >= {sql_instant(window_start)}
                               AND day < {sql_instant(ctx.until)} AND deal_id <> '') AS touched
            FROM ({STATE_SQL.format(latest=latest_before(sql_instant(ctx.until), ranked=True), new=NEW_IDX,
                                    flags=_flags(sql_instant(ctx.until)))})""")
        ctx._cache["state_table"] = name
    return ctx._cache["state_table"]


# the deals each pipeline figure counts, over the state table (state_table): the same predicates count them
# and list them (engine.deals)
ACTIVE = "open AND rank BETWEEN 1 AND 7"  # work_started..offer_sent
PIPELINE_SETS = {
    "active": ACTIVE, "stuck": f"{ACTIVE} AND stale", "open": "open", "stale": "open AND stale",
    "untouched": "open AND NOT touched", "early": "open AND rank < 5", "late": "open AND rank < 8",
    "zero": ZERO_AMOUNT, "sdr": f"open AND rank BETWEEN {SDR_RANKS[0]} AND {SDR_RANKS[1]}",
    "ae": f"open AND rank BETWEEN {AE_RANKS[0]} AND {AE_RANKS[1]}",
}


def pipeline(ctx: Ctx) -> tuple[Team, pd.DataFrame]:
    """Open deals as of the period end, by the stage and owner of their last stage entry before it."""
    f = ctx.facts
    state = state_table(ctx)
    active, sdr, ae, zero = (PIPELINE_SETS[key] for key in ("active", "sdr", "ae", "zero"))
    counts = ", ".join(f"count(*) FILTER ({PIPELINE_SETS[key]})" for key in (
        "active", "stuck", "open", "stale", "untouched", "early", "late", "zero", "sdr", "ae"))
    (n_active, n_stuck, n_open, n_stale, untouched, early, late, n_zero, n_sdr, n_ae), = f.con.sql(
        f"SELECT {counts} FROM {state}").fetchall()
    n_active_reps = len(ctx.active_reps("SDR")) + len(ctx.active_reps("AE"))
    team: Team = {
        "stuck_share_active": ratio(n_stuck, n_active),
        "stale_share": ratio(n_stale, n_open),
        "untouched_deals": untouched if f.has_actions else None,  # no activities table: unknown
        "funnel_balance": ratio(early, late),
        "zero_amount_after_qualified": n_zero,
        "outreach_sdr": n_sdr,
        "outreach_ae": n_ae,
        "active_deals_per_rep": ratio(n_active, n_active_reps),
    }
    ctx.details["zero_amount_after_qualified"] = tuple(
        deal_id for (deal_id,) in f.con.sql(f"SELECT deal_id FROM {state} WHERE {zero} ORDER BY pos").fetchall())
    rows = f.con.sql(f"SELECT owner, count(*) FILTER ({sdr}), count(*) FILTER ({ae}), count(*) FILTER ({active}) "
                     f"FROM {state} WHERE {active} GROUP BY owner").fetchall()
    reps = _rep_frame({"outreach_sdr": {o: n for o, n, _, _ in rows if n},
                       "outreach_ae": {o: n for o, _, n, _ in rows if n},
                       "_active": {o: n for o, _, _, n in rows if n}})
    roles = f.role_of(reps.index)
    reps["active_deals_per_rep"] = np.where(
        roles == "SDR", reps["outreach_sdr"], np.where(roles == "AE", reps["outreach_ae"], reps["_active"])
    )
    return team, reps.drop(columns="_active")


# --- stage days, sales cycle ---------------------------------------------------------------------

def stage_days(ctx: Ctx) -> dict[int, float]:
    """Mean days per stay for each stage index, over stays that ended by the period end."""
    if "stage_days" not in ctx._cache:
        rows = ctx.facts.con.sql(f"SELECT stage_idx, avg(days) FROM stays WHERE ended_at < {sql_instant(ctx.until)} "
                                 "GROUP BY stage_idx").fetchall()
        ctx._cache["stage_days"] = {int(i): float(v) for i, v in rows}
    return ctx._cache["stage_days"]


def _mean_cycles(ctx: Ctx, windows: list[tuple[np.datetime64, np.datetime64]]) -> list[float | None]:
    """Mean days from work started (else created) to signed, over the deals signed in each window."""
    days = "date_diff('day', coalesce(t1, created_at)::DATE, signed_at::DATE)"
    picks = ", ".join(f"avg({days}) FILTER {within('signed_at', a, b)}" for a, b in windows)
    (values,) = ctx.facts.con.sql(f"SELECT {picks} FROM deal").fetchall()
    return [None if v is None else float(v) for v in values]


def cycle(ctx: Ctx) -> tuple[Team, pd.DataFrame]:
    in_period, ytd = _mean_cycles(ctx, [(ctx.start, ctx.until), (ctx.year_start, ctx.until)])
    days = stage_days(ctx)
    team: Team = {"sales_cycle_days": in_period, "sales_cycle_days_ytd": ytd}
    for i, stage in enumerate(STAGES[:-1]):
        value = days.get(i)
        team[f"stage_days_{stage}"] = None if value is None else float(value)
    return team, pd.DataFrame()


# --- forecast ------------------------------------------------------------------------------------

def conv_to_signed(ctx: Ctx) -> tuple[np.ndarray, np.ndarray]:
    """Per rank: share signed among deals that reached it and closed in the history window; and the
    number of closed deals behind each share."""
    if "conv_to_signed" in ctx._cache:
        return ctx._cache["conv_to_signed"]
    window_start = start_instant(ctx.period.end - timedelta(days=ctx.config.history_days - 1))
    until = sql_instant(ctx.until)
    picks = ", ".join(f"count(*) FILTER (t{r} < {until} AND (won OR lost)), count(*) FILTER (t{r} < {until} AND won)"
                      for r in range(len(RANKED_STAGES)))
    (counts,) = ctx.facts.con.sql(f"""
        SELECT {picks} FROM ({closed_sql(window_start, ctx.until)})""").fetchall()
    closed_counts, won_counts = counts[0::2], counts[1::2]
    shares = [ratio(won, closed) for won, closed in zip(won_counts, closed_counts)]
    ctx._cache["conv_to_signed"] = (np.array([np.nan if s is None else s for s in shares]),
                                    np.array(closed_counts))
    return ctx._cache["conv_to_signed"]


def _remaining_days(days: dict[int, float]) -> np.ndarray:
    """Mean remaining cycle from each stage index to signed: its own stay plus the later main stages."""
    main = [STAGES.index(s) for s in RANKED_STAGES[:-1]]
    out = np.zeros(len(STAGES))
    for i, stage in enumerate(STAGES[:-1]):
        later = sum(days.get(j, 0.0) for j in main if STAGE_RANK[STAGES[j]] > STAGE_RANK[stage])
        out[i] = days.get(i, 0.0) + later
    return out


def _doubles(values) -> list[str]:
    """SQL DOUBLEs, each exactly the Python float (NULL for NaN)."""
    return ["CAST(NULL AS DOUBLE)" if np.isnan(v) else f"CAST('{float(v)!r}' AS DOUBLE)" for v in values]


# the deals the stage-weighted forecast counts, over forecast_candidates: those that add their weighted amount,
# and those without an amount
FORECAST_SETS = {"contributes": "amount IS NOT NULL AND share IS NOT NULL", "without_amount": "amount IS NULL"}


def forecast_candidates(ctx: Ctx) -> str:
    """SQL (a parenthesised relation) of the open deals at the period end expected to sign this (fiscal) year, each
    with `share`, the conversion to signed of its stage (NULL where no closed deal is behind it)."""
    from ..periods import year_end as end_of_year

    year_end = end_of_year(ctx.period.end, ctx.config)
    remaining = _remaining_days(stage_days(ctx))
    shares, _ = conv_to_signed(ctx)
    candidates = (f"open AND CASE WHEN expected_close_date IS NULL "
                  f"THEN {pick('stage_idx', _doubles(remaining))} <= {(year_end - ctx.period.end).days} "
                  f"ELSE expected_close_date < {sql_instant(end_instant(year_end))} END")
    return f"(SELECT *, {pick('rank', _doubles(shares))} AS share FROM {state_table(ctx)} WHERE {candidates})"


def forecast(ctx: Ctx) -> tuple[Team, pd.DataFrame]:
    f, cfg = ctx.facts, ctx.config
    revenue_team, _ = revenue(ctx)
    shares, closed = conv_to_signed(ctx)
    state = state_table(ctx)
    if cfg.forecast_method == "run-rate":
        cycle_team, _ = cycle(ctx)
        n = STAGE_RANK[cfg.forecast_stage]
        ((count,),) = f.con.sql(f"SELECT count(*) FROM {state} WHERE open AND stage_idx = "
                                f"{STAGES.index(cfg.forecast_stage)}").fetchall()
        share = None if np.isnan(shares[n]) else float(shares[n])
        average_deal_size = ratio(revenue_team["revenue_month"], revenue_team["deals_signed"])
        parts = (average_deal_size, share, cycle_team["sales_cycle_days"])
        value = None if any(v is None for v in parts) or not parts[2] else (
            count * parts[0] * parts[1] * 365 / parts[2])
        _thin_warning(ctx, [n], closed)
        return {"revenue_forecast": value, "forecast_deals_without_amount": None}, pd.DataFrame()
    candidates = forecast_candidates(ctx)
    (weighted, without_amount), = f.con.sql(f"""
        SELECT coalesce(fsum(amount * share) FILTER ({FORECAST_SETS['contributes']}), 0),
               count(*) FILTER ({FORECAST_SETS['without_amount']})
        FROM {candidates}""").fetchall()
    ranks = [rank for (rank,) in f.con.sql(f"SELECT DISTINCT rank FROM {candidates} WHERE amount IS NOT NULL "
                                           "ORDER BY rank").fetchall()]
    _thin_warning(ctx, ranks or [], closed)
    team: Team = {
        "revenue_forecast": revenue_team["revenue_ytd"] + float(weighted),
        "forecast_deals_without_amount": int(without_amount),
    }
    return team, pd.DataFrame()


def _thin_warning(ctx: Ctx, ranks, closed: np.ndarray) -> None:
    thin = [f"{RANKED_STAGES[r]} ({closed[r]})" for r in ranks if r >= 0 and closed[r] < THIN_HISTORY]
    if thin:
        ctx.warnings.append(
            f"Forecast: thin history — conversion to signed rests on fewer than {THIN_HISTORY} closed deals "
            f"from {', '.join(thin)} (closed deals in the last {ctx.config.history_days} days)."
        )


def lost(ctx: Ctx) -> tuple[Team, pd.DataFrame]:
    """Deals lost in the period and their amount (SPEC §10)."""
    (count, value), = ctx.facts.con.sql(f"SELECT count(*), coalesce(fsum(amount), 0) FROM deal "
                                        f"WHERE {within('lost_at', ctx.start, ctx.until)}").fetchall()
    return {"lost_deals": int(count), "lost_value": float(value)}, pd.DataFrame()


def lost_reasons(facts: Facts, start: np.datetime64, until: np.datetime64) -> list[tuple[str, int, float, dict]]:
    """Per loss reason of the deals lost in [start, until) (the deals export's lost_reason, "" for none):
    deals, Σ amount, and how many were lost at each canonical stage — the furthest one reached by `until`.
    Most deals first, then by reason; the stages by deals, then in the funnel's order."""
    furthest = "CASE " + " ".join(f"WHEN t{r} < {sql_instant(until)} THEN {r}"
                                  for r in reversed(range(len(RANKED_STAGES)))) + " END"
    # the deals lost per reason and stage counted in SQL: Python sees a row per reason and stage
    rows = facts.con.sql(f"""
        SELECT reason, furthest, count(*) AS n, coalesce(fsum(amount), 0) AS value
        FROM (SELECT trim(coalesce(lost_reason, '')) AS reason, amount, {furthest} AS furthest
              FROM deal WHERE {within('lost_at', start, until)})
        GROUP BY reason, furthest""").fetchall()
    reasons: dict[str, list] = {}
    for reason, rank, n, value in rows:
        reasons.setdefault(reason, []).append((rank, int(n), float(value)))
    out = []
    for reason, stages in reasons.items():
        stages.sort(key=lambda s: (-s[1], len(RANKED_STAGES) if s[0] is None else s[0]))
        out.append((reason, sum(n for _, n, _ in stages), math.fsum(v for _, _, v in stages),
                    {"none" if rank is None else RANKED_STAGES[rank]: n for rank, n, _ in stages}))
    return sorted(out, key=lambda r: (-r[1], r[0]))


MOVES = ("start", "created", "reopened", "won", "lost", "end")
# each move's deals, over movement_states: s and u are a deal's state at the period's start and at its end
MOVE_SETS = {"start": "s = 'open'", "created": "s = 'none' AND u <> 'none'",
             "reopened": "s IN ('won', 'lost') AND u <> s", "won": "u = 'won' AND s <> 'won'",
             "lost": "u = 'lost' AND s <> 'lost'", "end": "u = 'open'"}


def _state_at(until: str, history: str) -> str:
    """SQL over deal: a deal's state at the instant `until` — none (not created yet), won or lost (by its close
    dates), else what its latest stage-history row before then says (a lost or signed row: closed then, and
    reopened later), else open. `history` is that row's state."""
    return (f"CASE WHEN NOT coalesce(created_at < {until}, false) THEN 'none' "
            f"WHEN signed_at < {until} THEN 'won' WHEN lost_at < {until} THEN 'lost' "
            f"ELSE coalesce({history}, 'open') END")


def movement_states(ctx: Ctx) -> str:
    """SQL (a parenthesised relation) of every deal (pos, deal_id) with s and u, its state at the period's start
    and at its end, and a, its amount (empty = 0)."""
    start, until = sql_instant(ctx.start), sql_instant(ctx.until)
    at_start, at_end = latest_before(start, ranked=False), latest_before(until, ranked=False)
    return f"""(
        SELECT pos, deal_id, {_state_at(start, 'hs.state')} AS s, {_state_at(until, 'he.state')} AS u,
               coalesce(amount, 0) AS a
        FROM deal LEFT JOIN {at_start} hs USING (pos) LEFT JOIN {at_end} he USING (pos))"""


def movement(ctx: Ctx) -> tuple[Team, pd.DataFrame]:
    """Pipeline movement (SPEC §10) over every deal, by its state at the period's start and at its end: start
    and end count the open ones; created the deals that did not exist at the start; won and lost those won or
    lost at the end and not at the start; reopened those closed at the start and in another state at the end.
    So start + created + reopened − won − lost = end for every deal, hence exactly for the counts; for the
    values (Σ amount, empty = 0) the remainder is pipeline_amount_change (0 while one amount per deal is
    known)."""
    moves = MOVE_SETS
    picks = ", ".join(f"count(*) FILTER ({w}), coalesce(fsum(a) FILTER ({w}), 0)" for w in moves.values())
    (values,) = ctx.facts.con.sql(f"SELECT {picks} FROM {movement_states(ctx)}").fetchall()
    team: Team = {}
    for i, move in enumerate(moves):
        team[f"pipeline_{move}"], team[f"pipeline_{move}_value"] = int(values[2 * i]), float(values[2 * i + 1])
    v = {move: team[f"pipeline_{move}_value"] for move in moves}
    team["pipeline_amount_change"] = v["end"] - (v["start"] + v["created"] + v["reopened"] - v["won"] - v["lost"])
    return team, pd.DataFrame()


def velocity(ctx: Ctx) -> tuple[Team, pd.DataFrame]:
    """Sales velocity (SPEC §10): the open deals at qualified..offer_sent at the period end × the win rate ×
    the average deal size ÷ the mean sales cycle, the last three over the deals closed in the trailing
    [forecast] history_days; money per day, null where a part is unknown or the cycle is 0 days."""
    window_start = start_instant(ctx.period.end - timedelta(days=ctx.config.history_days - 1))
    state = state_table(ctx)
    (open_late,), = ctx.facts.con.sql(
        f"SELECT count(*) FROM {state} WHERE open AND rank BETWEEN {STAGE_RANK['qualified']} AND "
        f"{STAGE_RANK['offer_sent']}").fetchall()
    (won, closed, value), = ctx.facts.con.sql(
        "SELECT count(*) FILTER (won), count(*) FILTER (won OR lost), coalesce(fsum(amount) FILTER (won), 0) "
        f"FROM ({closed_sql(window_start, ctx.until)})").fetchall()
    (cycle_days,) = _mean_cycles(ctx, [(window_start, ctx.until)])
    parts = (ratio(won, closed), ratio(float(value), won), cycle_days)
    known = all(part is not None for part in parts) and cycle_days != 0
    return {"sales_velocity": open_late * parts[0] * parts[1] / parts[2] if known else None}, pd.DataFrame()


GROUPS = {
    "funnel": funnel,
    "revenue": revenue,
    "actions": actions,
    "pipeline": pipeline,
    "cycle": cycle,
    "forecast": forecast,
    "velocity": velocity,
    "lost": lost,
    "movement": movement,
}
