"""Team & enablement figures (SPEC §5): ramp milestones, quota, win rates, conversions — vectorised.

Every function answers as of an instant `until` (exclusive end of the period's last day) and returns a
DataFrame indexed by rep name. A milestone not reached yet is NaN (shown as "not yet"), never a number.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import numpy as np
import pandas as pd

from ..config import Config
from ..errors import ConfigError
from ..model import RANKED_STAGES, Period, Unit
from ..periods import (
    cohort_start_for,
    end_instant,
    months_into_year,
    start_instant,
    working_days,
    working_days_between,
    year_start,
)
from ..periods import month as calendar_month
from .formulas import closed_sql, sql_instant, within
from .funnel import Facts
from .registry import ratio

QUOTA_SHARES = {"tt50q_days": 0.5, "tt80q_days": 0.8, "tt100q_days": 1.0}
ACTION_MILESTONES = {"ttfa_days": None, "tt_first_call_days": "call", "tt_first_meeting_days": "meeting"}
# every milestone id, in the order of a rep's ramp; an unreached one is shown as "not yet"
MILESTONE_IDS = (*ACTION_MILESTONES, "tt_first_demo_days", "ttfd_days", *QUOTA_SHARES)


def _days_from_hire(first: pd.Series, hire: pd.Series) -> pd.Series:
    """Calendar days from the hire date to each rep's first event on or after it."""
    return (first.reindex(hire.index) - hire).dt.days.astype("float64")


def _first_on_or_after_hire(f: Facts, events: str, hire: pd.Series, kinds: dict[str, str | None] | None = None
                            ) -> pd.DataFrame:
    """Per rep with a hire date: the first day of `events` (SQL of owner, day, and what `kinds` reads) on or
    after it — for each of `kinds` (name → SQL condition on an event; None: every event), in one scan. The
    hire date is a midnight: an event on or after it is one whose day is."""
    kinds = kinds or {"first": None}
    f.con.register("rep_hire", pd.DataFrame({"owner": pd.Series(hire.index, dtype=object),
                                             "hire": hire.to_numpy()}))
    firsts = ", ".join(f"date_trunc('day', min(e.day){'' if where is None else f' FILTER ({where})'})"
                       for where in kinds.values())
    rows = f.con.sql(f"SELECT e.owner, {firsts} FROM ({events}) e JOIN rep_hire h USING (owner) "
                     "WHERE e.day >= h.hire GROUP BY e.owner").fetchall()
    return pd.DataFrame({name: pd.Series([row[i + 1] for row in rows], dtype="datetime64[ns]")
                         for i, name in enumerate(kinds)}).set_axis(pd.Index([row[0] for row in rows], dtype=object))


def milestones(f: Facts, until: np.datetime64) -> pd.DataFrame:
    """Days from hire to first action, call, meeting, demo run and signed deal; to 50/80/100 % of quota."""
    reps = f.reps.set_index("name")
    hire = reps["hire_date"].dropna().dt.normalize()
    out = pd.DataFrame(index=reps.index)
    # the first action, call and meeting in one scan of the actions
    first = _first_on_or_after_hire(
        f, f"SELECT owner::VARCHAR AS owner, action, day FROM {f.acts} WHERE day < {sql_instant(until)}", hire,
        {metric_id: None if kind is None else f"e.action = '{kind}'" for metric_id, kind in ACTION_MILESTONES.items()})
    for metric_id in ACTION_MILESTONES:
        out[metric_id] = _days_from_hire(first[metric_id], hire)
    demo = RANKED_STAGES.index("demo_run")
    first = _first_on_or_after_hire(f, f"SELECT o{demo} AS owner, t{demo} AS day FROM deal WHERE t{demo} < "
                                       f"{sql_instant(until)}", hire)
    out["tt_first_demo_days"] = _days_from_hire(first["first"], hire)
    first = _first_on_or_after_hire(f, f"SELECT signer AS owner, signed_at AS day FROM deal WHERE signed_at < "
                                       f"{sql_instant(until)}", hire)
    out["ttfd_days"] = _days_from_hire(first["first"], hire)
    monthly = monthly_revenue(f, until)
    quota = reps["monthly_quota"].where(reps["monthly_quota"] > 0)
    for metric_id, share in QUOTA_SHARES.items():
        m = monthly.reset_index()
        m = m[m["owner"].isin(quota.dropna().index)]
        m = m[m["revenue"].to_numpy() >= share * quota.reindex(m["owner"]).to_numpy()]
        m = m[m["month_end"].to_numpy() >= hire.reindex(m["owner"]).to_numpy()]
        first = m.groupby("owner")["month_end"].min()
        out[metric_id] = _days_from_hire(first, hire)
    today = pd.Timestamp(until) - pd.Timedelta(days=1)
    out["days_since_hire"] = (today - hire).dt.days.reindex(out.index).astype("float64")
    return out


def monthly_revenue(f: Facts, until: np.datetime64) -> pd.Series:
    """Signed revenue per rep (owner of the signed entry) per calendar month, indexed (owner, month_end)."""
    rows = f.con.sql(f"SELECT signer, last_day(signed_at), fsum(coalesce(amount, 0)) FROM deal "
                     f"WHERE signed_at < {sql_instant(until)} GROUP BY 1, 2").fetchall()
    frame = pd.DataFrame({"owner": pd.Series([o for o, _, _ in rows], dtype=object),
                          "month_end": pd.Series([m for _, m, _ in rows], dtype="datetime64[ns]"),
                          "revenue": pd.Series([float(v) for *_, v in rows], dtype="float64")})
    return frame.set_index(["owner", "month_end"])["revenue"].sort_index()


def employed_share(reps: pd.DataFrame, period: Period, config: Config) -> pd.Series:
    """Per rep (reps indexed by name): the share of the period's working days they were employed, from
    hire_date through left_at (no date: employed throughout). A period without working days counts whole."""
    first, last = np.datetime64(period.start, "D"), np.datetime64(period.end, "D")
    start = np.maximum(reps["hire_date"].to_numpy().astype("datetime64[D]"), first)
    end = np.minimum(reps["left_at"].to_numpy().astype("datetime64[D]"), last)
    start = np.where(np.isnat(start), first, start)  # NaT (no date) compares as neither bound
    end = np.where(np.isnat(end), last, end)
    total = working_days(period, config)
    employed = working_days_between(start, end, config)
    whole = (start == first) & (end == last)
    share = np.where(end < start, 0.0, np.where(whole | (total == 0), 1.0, employed / max(total, 1)))
    return pd.Series(share, index=reps.index, dtype="float64")


def quota_attainment(f: Facts, month_start: date, month_end: date, until: np.datetime64,
                     config: Config) -> pd.DataFrame:
    """Signed revenue / the month's quota, and (fiscal) year to date / the quota of the months employed this
    year. A
    rep's monthly quota counts for a month in the share of its working days they were employed (the months
    of joining and leaving pro-rated, none after leaving); a rep with no share has no quota that month."""
    reps = f.reps.set_index("name")
    quota = reps["monthly_quota"].where(reps["monthly_quota"] > 0)
    monthly = monthly_revenue(f, until).reset_index()
    month = pd.Timestamp(month_end)
    first = year_start(month_end, config)  # of the fiscal year
    this_month = monthly[monthly["month_end"] == month].groupby("owner")["revenue"].sum()
    ytd = monthly[(monthly["month_end"] >= pd.Timestamp(first)) & (monthly["month_end"] <= month)]
    share = employed_share(reps, Period("month", "", month_start, month_end), config)
    share_ytd = sum(employed_share(reps, calendar_month(first.year + (first.month - 1 + i) // 12,
                                                        (first.month - 1 + i) % 12 + 1), config)
                    for i in range(months_into_year(month_end, config)))
    out = pd.DataFrame(index=reps.index)
    out["revenue"] = this_month.reindex(reps.index).fillna(0)
    out["quota"] = (quota * share).where(share > 0)
    out["quota_attainment"] = out["revenue"] / out["quota"]
    out["revenue_ytd"] = ytd.groupby("owner")["revenue"].sum().reindex(reps.index).fillna(0)
    out["quota_ytd"] = (quota * share_ytd).where(share_ytd > 0)
    out["quota_attainment_ytd"] = out["revenue_ytd"] / out["quota_ytd"]
    return out


def _counts(rows) -> pd.Series:
    """(name, count) rows as an int64 Series indexed by name, sorted."""
    return pd.Series([n for _, n in rows], index=pd.Index([o for o, _ in rows], dtype=object),
                     dtype="int64").sort_index()


def win_rates(f: Facts, start: np.datetime64, until: np.datetime64) -> tuple[pd.DataFrame, dict]:
    """Per rep: won, lost, win_rate among deals closed in [start, until); and per competitor for the team."""
    f.con.sql(f"CREATE OR REPLACE TEMP TABLE closed AS SELECT signer, lost_owner, competitor, won, lost "
              f"FROM ({closed_sql(start, until)}) WHERE won OR lost")
    per_rep = pd.DataFrame({
        "won": _counts(f.con.sql("SELECT signer, count(*) FROM closed WHERE won GROUP BY 1").fetchall()),
        "lost": _counts(f.con.sql("SELECT lost_owner, count(*) FROM closed WHERE lost GROUP BY 1").fetchall()),
    }).fillna(0)
    per_rep["closed"] = per_rep["won"] + per_rep["lost"]
    per_rep["win_rate"] = (per_rep["won"] / per_rep["closed"]).where(per_rep["closed"] > 0)
    rows = f.con.sql("SELECT competitor, count(*) FILTER (won), count(*) FROM closed WHERE competitor <> '' "
                     "GROUP BY 1").fetchall()
    by_competitor = {}
    for name, won, closed in sorted(rows):
        by_competitor[f"win_rate_vs_{slug(name)}"] = (won / closed, closed, name)
    return per_rep, by_competitor


def slug(name: str) -> str:
    """A competitor's name as an id suffix: lower case, words joined by underscores."""
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_") or "unnamed"


def conversions(f: Facts, start: np.datetime64, until: np.datetime64) -> pd.DataFrame:
    """lead → qualified (deals created in the window) and qualified → signed (first qualified in the window),
    each credited to the owner of the stage the conversion starts from."""
    window = f"{{}} >= {sql_instant(start)} AND {{}} < {sql_instant(until)}"
    f.con.sql(f"""
        CREATE OR REPLACE TEMP TABLE conversions AS
        SELECT CASE WHEN coalesce(o1, '') = '' THEN owner ELSE o1 END AS lead_owner, o6 AS q_owner,
               {window.format('created_at', 'created_at')} AS lead, t6 < {sql_instant(until)} AS reached_qualified,
               coalesce({window.format('t6', 't6')}, false) AS qualified, t8 < {sql_instant(until)} AS reached_signed
        FROM deal""")
    series = {}
    for column, owner, condition in (("leads", "lead_owner", "lead"),
                                     ("leads_qualified", "lead_owner", "lead AND reached_qualified"),
                                     ("qualified", "q_owner", "qualified"),
                                     ("qualified_signed", "q_owner", "qualified AND reached_signed")):
        series[column] = _counts(f.con.sql(f"SELECT {owner}, count(*) FROM conversions WHERE {condition} "
                                           "GROUP BY 1").fetchall())
    counts = pd.DataFrame(series).fillna(0)
    totals = [int(s.sum()) for s in series.values()]
    counts.loc["__team__"] = totals
    counts["conv_lead_to_qualified"] = (counts["leads_qualified"] / counts["leads"]).where(counts["leads"] > 0)
    counts["conv_qualified_to_signed"] = (
        counts["qualified_signed"] / counts["qualified"]).where(counts["qualified"] > 0)
    return counts


def team_figures(facts: Facts, config: Config, period: Period, since: date | None):
    """The team group: (team values, per-rep frame, competitor figures) for one month. The team values are
    exactly registry.group_ids("team"); the per-rep frame also holds the parts the report's sections use."""
    until, start = end_instant(period.end), start_instant(period.start)
    ms = milestones(facts, until)
    quota = quota_attainment(facts, period.start, period.end, until, config)
    wins, competitors = win_rates(facts, start, until)
    conv = conversions(facts, start_instant(cohort_start_for(period, config, since)), until)
    per_rep = ms.join(quota, how="outer").join(wins, how="outer").join(conv.drop(index="__team__"), how="outer")
    known = facts.reps["name"]
    team: dict = {m: median_of(ms.loc[ms.index.isin(known), m]) for m in MILESTONE_IDS}
    team["days_since_hire"] = median_of(ms["days_since_hire"])
    with_quota = quota["quota"].notna()
    team["quota_attainment"] = ratio(quota.loc[with_quota, "revenue"].sum(), quota.loc[with_quota, "quota"].sum())
    team["quota_attainment_ytd"] = ratio(quota.loc[with_quota, "revenue_ytd"].sum(),
                                          quota["quota_ytd"].sum())
    team["win_rate"] = ratio(wins["won"].sum(), wins["closed"].sum())
    team["conv_lead_to_qualified"] = conv.at["__team__", "conv_lead_to_qualified"]
    team["conv_qualified_to_signed"] = conv.at["__team__", "conv_qualified_to_signed"]
    return team, per_rep, competitors


def median_of(values: pd.Series) -> float | None:
    values = values.dropna()
    return float(values.median()) if len(values) else None


def per_team(per_rep: pd.DataFrame, facts: Facts) -> pd.DataFrame:
    """Per team of the reps table ("(no team)" for none): reps, median days to first action, first deal and
    100 % of quota, quota attainment (Σ revenue / Σ quota) and win rate (Σ won / Σ closed)."""
    reps = facts.reps.set_index("name")
    frame = per_rep.reindex(reps.index).assign(team=reps["team"].replace("", "(no team)").fillna("(no team)"))
    rows = {}
    for name, g in frame.groupby("team"):
        with_quota = g["quota"].notna()
        rows[name] = [len(g), median_of(g["ttfa_days"]), median_of(g["ttfd_days"]), median_of(g["tt100q_days"]),
                      ratio(g.loc[with_quota, "revenue"].sum(), g.loc[with_quota, "quota"].sum()),
                      ratio(g["won"].fillna(0).sum(), g["closed"].fillna(0).sum())]
    columns = ["reps", "ttfa_days", "ttfd_days", "tt100q_days", "quota_attainment", "win_rate"]
    return pd.DataFrame.from_dict(rows, orient="index", columns=columns).astype(object)


def ramp_by_hire_quarter(per_rep: pd.DataFrame, facts: Facts) -> dict[str, dict]:
    """Reps by hire quarter ("2026Q1"): {"reps": n, milestone id: (median days or None, reps who reached it)}."""
    reps = facts.reps.dropna(subset=["hire_date"]).set_index("name")
    quarter = reps["hire_date"].dt.to_period("Q").astype(str)
    frame = per_rep.reindex(reps.index)[list(MILESTONE_IDS)].assign(quarter=quarter)
    out: dict[str, dict] = {}
    for q, group in frame.groupby("quarter"):
        figures: dict = {"reps": len(group)}
        for m in MILESTONE_IDS:
            reached = group[m].dropna()
            figures[m] = (float(reached.median()) if len(reached) else None, len(reached))
        out[q] = figures
    return out


BEFORE_AFTER_MEDIANS = ("ttfa_days", "ttfd_days", "tt50q_days")  # medians over the reps hired in a window
BEFORE_AFTER_UNITS = {"Deals signed": Unit.COUNT, "Revenue": Unit.MONEY, "Sales actions": Unit.COUNT,
                      "Win rate": Unit.RATIO, "Lead → qualified": Unit.RATIO, "Qualified → signed": Unit.RATIO,
                      "Reps hired": Unit.COUNT}


def before_after(facts: Facts, period: Period, at: date) -> tuple[int, dict[str, dict]]:
    """The team figures over the same number of days before and after `at` (up to the period end):
    (days per window, {"before"/"after": {figure: value}}); ramp medians are keyed by milestone id."""
    if not period.start - timedelta(days=3650) <= at <= period.end:
        raise ConfigError(f"--compare-at {at} must fall on or before the report's last day ({period.end}).")
    length = (period.end - at).days + 1
    windows = {"before": (at - timedelta(days=length), at - timedelta(days=1)), "after": (at, period.end)}
    ms = milestones(facts, end_instant(period.end))
    hired = facts.reps.set_index("name")["hire_date"]
    figures: dict[str, dict] = {}
    for name, (first, last) in windows.items():
        start, until = start_instant(first), end_instant(last)
        wins, _ = win_rates(facts, start, until)
        conv = conversions(facts, start, until)
        in_window = hired[(hired >= pd.Timestamp(first)) & (hired <= pd.Timestamp(last))].index
        (signed, revenue, actions), = facts.con.sql(
            f"SELECT (SELECT count(*) FROM deal WHERE {within('signed_at', start, until)}), "
            f"(SELECT coalesce(fsum(amount), 0) FROM deal WHERE {within('signed_at', start, until)}), "
            f"(SELECT count(*) FROM {facts.acts} WHERE {within('day', start, until)})"
        ).fetchall()
        figures[name] = {
            "Window": f"{first} – {last}",
            "Deals signed": int(signed),
            "Revenue": float(revenue),
            "Sales actions": int(actions),
            "Win rate": ratio(wins["won"].sum(), wins["closed"].sum()),
            "Lead → qualified": conv.at["__team__", "conv_lead_to_qualified"],
            "Qualified → signed": conv.at["__team__", "conv_qualified_to_signed"],
            "Reps hired": len(in_window),
            **{m: median_of(ms.loc[ms.index.isin(in_window), m]) for m in BEFORE_AFTER_MEDIANS},
        }
    return length, figures
