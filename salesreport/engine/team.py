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
from ..model import Period, Unit
from ..periods import cohort_start_for, end_instant, start_instant
from .formulas import revenue_of, signed_between
from .funnel import Facts, signer
from .registry import ratio

QUOTA_SHARES = {"tt50q_days": 0.5, "tt80q_days": 0.8, "tt100q_days": 1.0}
ACTION_MILESTONES = {"ttfa_days": None, "tt_first_call_days": "call", "tt_first_meeting_days": "meeting"}
# every milestone id, in the order of a rep's ramp; an unreached one is shown as "not yet"
MILESTONE_IDS = (*ACTION_MILESTONES, "tt_first_demo_days", "ttfd_days", *QUOTA_SHARES)


def _days_from_hire(first: pd.Series, hire: pd.Series) -> pd.Series:
    """Calendar days from the hire date to each rep's first event on or after it."""
    return (first.reindex(hire.index) - hire).dt.days.astype("float64")


def _first_on_or_after_hire(owners: np.ndarray, when: np.ndarray, hire: pd.Series) -> pd.Series:
    events = pd.DataFrame({"owner": owners, "day": pd.to_datetime(when).normalize()})
    events = events[events["owner"].isin(hire.index)]
    events = events[events["day"].to_numpy() >= hire.reindex(events["owner"]).to_numpy()]
    return events.groupby("owner")["day"].min()


def milestones(f: Facts, until: np.datetime64) -> pd.DataFrame:
    """Days from hire to first action, call, meeting, demo run and signed deal; to 50/80/100 % of quota."""
    reps = f.reps.set_index("name")
    hire = reps["hire_date"].dropna().dt.normalize()
    out = pd.DataFrame(index=reps.index)
    a = f.actions[f.actions["day"].to_numpy() < until]
    for metric_id, kind in ACTION_MILESTONES.items():
        chosen = a if kind is None else a[a["action"] == kind]
        first = _first_on_or_after_hire(chosen["owner"].to_numpy(), chosen["day"].to_numpy(), hire)
        out[metric_id] = _days_from_hire(first, hire)
    demo = f.first_entry["demo_run"] < until
    first = _first_on_or_after_hire(f.first_owner["demo_run"][demo], f.first_entry["demo_run"][demo], hire)
    out["tt_first_demo_days"] = _days_from_hire(first, hire)
    signed = f.deals["signed_at"].to_numpy() < until
    first = _first_on_or_after_hire(signer(f)[signed], f.deals["signed_at"].to_numpy()[signed], hire)
    out["ttfd_days"] = _days_from_hire(first, hire)
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
    signed = f.deals["signed_at"].to_numpy() < until
    frame = pd.DataFrame({
        "owner": signer(f)[signed],
        "month_end": (pd.to_datetime(f.deals["signed_at"].to_numpy()[signed]).to_period("M").to_timestamp("M")),
        "revenue": np.nan_to_num(f.deals["amount"].to_numpy()[signed]),
    })
    return frame.groupby(["owner", "month_end"])["revenue"].sum().rename("revenue")


def quota_attainment(f: Facts, month_start: date, month_end: date, until: np.datetime64) -> pd.DataFrame:
    """Signed revenue / monthly quota for the month, and year to date / (quota × months employed this year)."""
    reps = f.reps.set_index("name")
    quota = reps["monthly_quota"].where(reps["monthly_quota"] > 0)
    monthly = monthly_revenue(f, until).reset_index()
    month = pd.Timestamp(month_end)
    year_start = pd.Timestamp(date(month_end.year, 1, 1))
    this_month = monthly[monthly["month_end"] == month].groupby("owner")["revenue"].sum()
    ytd = monthly[(monthly["month_end"] >= year_start) & (monthly["month_end"] <= month)]
    first_month = reps["hire_date"].dt.to_period("M").dt.to_timestamp().where(
        lambda h: h > year_start, year_start).fillna(year_start)
    months = ((month.year - first_month.dt.year) * 12 + month.month - first_month.dt.month + 1).clip(lower=0)
    out = pd.DataFrame(index=reps.index)
    out["revenue"] = this_month.reindex(reps.index).fillna(0)
    out["quota"] = quota
    out["quota_attainment"] = out["revenue"] / quota
    out["revenue_ytd"] = ytd.groupby("owner")["revenue"].sum().reindex(reps.index).fillna(0)
    out["quota_ytd"] = quota * months.where(months > 0)
    out["quota_attainment_ytd"] = out["revenue_ytd"] / out["quota_ytd"]
    return out


def _closed_between(f: Facts, start: np.datetime64, until: np.datetime64) -> tuple[np.ndarray, np.ndarray]:
    signed_at, lost_at = f.deals["signed_at"].to_numpy(), f.deals["lost_at"].to_numpy()
    won = (signed_at >= start) & (signed_at < until)
    lost = (lost_at >= start) & (lost_at < until) & ~won
    return won, lost


def win_rates(f: Facts, start: np.datetime64, until: np.datetime64) -> tuple[pd.DataFrame, dict]:
    """Per rep: won, lost, win_rate among deals closed in [start, until); and per competitor for the team."""
    won, lost = _closed_between(f, start, until)
    per_rep = pd.DataFrame({
        "won": pd.Series(1, index=signer(f)[won]).groupby(level=0).sum(),
        "lost": pd.Series(1, index=f.deals["lost_owner"].to_numpy(dtype=object)[lost]).groupby(level=0).sum(),
    }).fillna(0)
    per_rep["closed"] = per_rep["won"] + per_rep["lost"]
    per_rep["win_rate"] = (per_rep["won"] / per_rep["closed"]).where(per_rep["closed"] > 0)
    competitor = f.deals["competitor"].to_numpy(dtype=object)
    closed = (won | lost) & (competitor != "")
    frame = pd.DataFrame({"competitor": competitor[closed], "won": won[closed]})
    by_competitor = {}
    for name, group in frame.groupby("competitor"):
        by_competitor[f"win_rate_vs_{slug(name)}"] = (float(group["won"].mean()), len(group), name)
    return per_rep, by_competitor


def slug(name: str) -> str:
    """A competitor's name as an id suffix: lower case, words joined by underscores."""
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_") or "unnamed"


def conversions(f: Facts, start: np.datetime64, until: np.datetime64) -> pd.DataFrame:
    """lead → qualified (deals created in the window) and qualified → signed (first qualified in the window),
    each credited to the owner of the stage the conversion starts from."""
    created = f.deals["created_at"].to_numpy()
    leads = (created >= start) & (created < until)
    lead_owner = np.where(f.first_owner["work_started"] == "", f.deals["owner"].to_numpy(dtype=object),
                          f.first_owner["work_started"])
    to_qualified = leads & (f.first_entry["qualified"] < until)
    q = f.first_entry["qualified"]
    qualified = (q >= start) & (q < until)
    to_signed = qualified & (f.first_entry["signed"] < until)
    q_owner = f.first_owner["qualified"]
    counts = pd.DataFrame({
        "leads": pd.Series(1, index=lead_owner[leads]).groupby(level=0).sum(),
        "leads_qualified": pd.Series(1, index=lead_owner[to_qualified]).groupby(level=0).sum(),
        "qualified": pd.Series(1, index=q_owner[qualified]).groupby(level=0).sum(),
        "qualified_signed": pd.Series(1, index=q_owner[to_signed]).groupby(level=0).sum(),
    }).fillna(0)
    counts.loc["__team__"] = [leads.sum(), to_qualified.sum(), qualified.sum(), to_signed.sum()]
    counts["conv_lead_to_qualified"] = (counts["leads_qualified"] / counts["leads"]).where(counts["leads"] > 0)
    counts["conv_qualified_to_signed"] = (
        counts["qualified_signed"] / counts["qualified"]).where(counts["qualified"] > 0)
    return counts


def team_figures(facts: Facts, config: Config, period: Period, since: date | None):
    """The team group: (team values, per-rep frame, competitor figures) for one month. The team values are
    exactly registry.group_ids("team"); the per-rep frame also holds the parts the report's sections use."""
    until, start = end_instant(period.end), start_instant(period.start)
    ms = milestones(facts, until)
    quota = quota_attainment(facts, period.start, period.end, until)
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
            **{m: median_of(ms.loc[ms.index.isin(in_window), m]) for m in BEFORE_AFTER_MEDIANS},
        }
    return length, figures
