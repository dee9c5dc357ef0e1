"""Funnel facts: first entries (reached = skipped stages count), open-at, stage-at, stage stays.

Everything here is computed once per data set with whole-table numpy/pandas operations; the
metric code then asks period questions ("reached X by T", "open at T") as boolean masks.
Timestamps are naive wall-clock times in the report's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..config import Config
from ..model import LOST_CODE, RANKED_STAGES, STAGE_RANK, STAGES
from ..sources.canonical import NO_STAGE, Dataset

# rank of each STAGES index; LOST_CODE rows are not funnel stages
_RANK_OF_IDX = np.array([STAGE_RANK[s] for s in STAGES], dtype=np.int8)
SIGNED_IDX = STAGES.index("signed")
WORK_STARTED_IDX = STAGES.index("work_started")
NEW_IDX = STAGES.index("new")
SAMPLE_IDS = 5


@dataclass
class Facts:
    """Per-deal funnel facts. Row i of every array is deal i of `deals`."""

    deals: pd.DataFrame  # deal_id, owner, amount, created_at, signed_at, lost_at, expected_close_date, status…
    first_entry: dict[str, np.ndarray]  # ranked stage → datetime64[ns] per deal (NaT: never reached)
    first_owner: dict[str, np.ndarray]  # ranked stage → owner of that first entry (object)
    entries: pd.DataFrame  # stage entries: pos, entered_at, stage_idx, rank, owner (sorted by pos, time)
    stays: pd.DataFrame  # stage stays that end: stage_idx, ended_at, days
    actions: pd.DataFrame  # done sales actions: owner, action, day, deal_pos
    reps: pd.DataFrame  # name, role, hire_date, left_at, monthly_quota, team
    warnings: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.deals)

    def role_of(self, owners: pd.Index | pd.Series) -> pd.Series:
        roles = self.reps.set_index("name")["role"] if len(self.reps) else pd.Series(dtype=object)
        return pd.Series(owners, index=owners).map(roles).fillna("unknown")


def _rank(stage_idx: np.ndarray) -> np.ndarray:
    return np.where(stage_idx >= 0, _RANK_OF_IDX[np.clip(stage_idx, 0, None)], -1)


def build_facts(ds: Dataset, config: Config) -> Facts:
    """Turn a parsed Dataset into Facts, deriving status, close dates and history as SPEC §2 says."""
    warnings = list(ds.warnings)
    deals = ds.deals.copy()
    no_created = deals["created_at"].isna()
    if no_created.any():
        ids = ", ".join(deals.loc[no_created, "deal_id"].head(SAMPLE_IDS))
        warnings.append(
            f"{int(no_created.sum())} deal(s) have no created_at and are left out of every dated figure "
            f"(e.g. {ids}). Fill in the creation date in the deals export."
        )
        deals = deals[~no_created].reset_index(drop=True)
    n = len(deals)
    deal_index = pd.Index(deals["deal_id"])

    status = deals["status"].to_numpy(dtype=object).copy()
    stage_idx = deals["stage_idx"].to_numpy()
    unset = status == ""
    status[unset & (stage_idx == SIGNED_IDX)] = "won"
    status[unset & (stage_idx == LOST_CODE)] = "lost"
    status[(status == "") & deals["signed_at"].notna().to_numpy()] = "won"
    status[(status == "") & deals["lost_at"].notna().to_numpy()] = "lost"
    status[status == ""] = "open"
    won, lost = status == "won", status == "lost"
    deals["status"] = status
    signed_at = deals["signed_at"].where(won).fillna(deals["closed_at"].where(won))
    lost_at = deals["lost_at"].where(lost).fillna(deals["closed_at"].where(lost))

    # --- stage history: given rows, else rows derived from the deal (SPEC §2)
    rows = []
    has_history = np.zeros(n, dtype=bool)
    if ds.history is not None and len(ds.history):
        h = ds.history
        pos = deal_index.get_indexer(h["deal_id"])
        orphan = pos < 0
        if orphan.any():
            ids = ", ".join(h.loc[orphan, "deal_id"].drop_duplicates().head(SAMPLE_IDS))
            warnings.append(
                f"{int(orphan.sum())} stage-history row(s) name deals not in the deals table and are ignored "
                f"(e.g. {ids})."
            )
        h = h[~orphan]
        pos = pos[~orphan].astype(np.int64)
        has_history[pos] = True
        owner = h["owner"].to_numpy(dtype=object)
        owner = np.where(owner == "", deals["owner"].to_numpy(dtype=object)[pos], owner)
        rows.append(pd.DataFrame({"pos": pos, "entered_at": h["entered_at"].to_numpy(),
                                  "stage_idx": h["stage_idx"].to_numpy(), "owner": owner}))
    else:
        warnings.append(
            "No stage_history table: each deal's history is derived from its row (current stage at "
            "created_at, signed at signed_at), so conversions, stage days and the sales cycle are "
            "approximations. Export the stage history for exact figures."
        )
    derive = ~has_history
    if derive.any():
        idx = np.where(derive)[0]
        cur = stage_idx[idx]
        # SPEC §2: the current stage at created_at; a won or lost deal: work_started at created_at
        first_stage = np.where(won[idx] | lost[idx] | (cur < 0) | (cur == SIGNED_IDX), WORK_STARTED_IDX, cur)
        first_stage = np.where((cur == NO_STAGE) & ~won[idx] & ~lost[idx], NEW_IDX, first_stage)
        rows.append(pd.DataFrame({"pos": idx, "entered_at": deals["created_at"].to_numpy()[idx],
                                  "stage_idx": first_stage.astype(np.int8),
                                  "owner": deals["owner"].to_numpy(dtype=object)[idx]}))
    events = pd.concat(rows, ignore_index=True)

    # signed_at / lost_at from history when the deal row lacks them
    hist_signed = events[events["stage_idx"] == SIGNED_IDX].groupby("pos")["entered_at"].min()
    hist_lost = events[events["stage_idx"] == LOST_CODE].groupby("pos")["entered_at"].max()
    signed_at = _fill_from(signed_at, hist_signed, won)
    lost_at = _fill_from(lost_at, hist_lost, lost)
    undated_won = won & signed_at.isna().to_numpy()
    if undated_won.any():
        ids = ", ".join(deals.loc[undated_won, "deal_id"].head(SAMPLE_IDS))
        warnings.append(
            f"{int(undated_won.sum())} won deal(s) have no signed date and count in no revenue (e.g. {ids}). "
            "Fill in signed_at (or closed_at)."
        )
    undated_lost = lost & lost_at.isna().to_numpy()
    if undated_lost.any():
        last_seen = events.groupby("pos")["entered_at"].max().reindex(np.arange(n))
        lost_at = lost_at.where(~undated_lost, last_seen.to_numpy())
        ids = ", ".join(deals.loc[undated_lost, "deal_id"].head(SAMPLE_IDS))
        warnings.append(
            f"{int(undated_lost.sum())} lost deal(s) have no lost date; their last stage change is taken "
            f"instead (e.g. {ids}). Fill in lost_at (or closed_at)."
        )
    deals["signed_at"] = signed_at.to_numpy()
    deals["lost_at"] = lost_at.to_numpy()

    # a signed deal whose history lacks the signed entry gets one at signed_at
    need_signed = won & deals["signed_at"].notna().to_numpy()
    need_signed &= ~np.isin(np.arange(n), hist_signed.index.to_numpy())
    # a lost deal whose history lacks the lost entry gets one at lost_at (it ends the last stay)
    need_lost = lost & deals["lost_at"].notna().to_numpy()
    need_lost &= ~np.isin(np.arange(n), hist_lost.index.to_numpy())
    extra = []
    for mask, code, column in ((need_signed, SIGNED_IDX, "signed_at"), (need_lost, LOST_CODE, "lost_at")):
        idx = np.where(mask)[0]
        if len(idx):
            extra.append(pd.DataFrame({"pos": idx, "entered_at": deals[column].to_numpy()[idx],
                                       "stage_idx": np.full(len(idx), code, dtype=np.int8),
                                       "owner": deals["owner"].to_numpy(dtype=object)[idx]}))
    events = pd.concat([events, *extra], ignore_index=True)
    events["stage_idx"] = events["stage_idx"].astype(np.int8)
    events["rank"] = _rank(events["stage_idx"].to_numpy())
    # lost sorts after a stage entered at the same instant; stage ties sort by rank
    events["_order"] = np.where(events["rank"] < 0, 99, events["rank"])
    events = _stable_sort(events, ["pos", "entered_at", "_order"])
    # rows repeating the current stage (amount or date edits) are not stage changes
    same_deal = events["pos"].eq(events["pos"].shift())
    repeat = same_deal & events["stage_idx"].eq(events["stage_idx"].shift())
    events = events[~repeat].reset_index(drop=True)

    stays = _stays(events, deals)
    # who a lost deal belongs to: the owner of its (latest) lost entry, else the deal's owner
    lost_rows = events[events["stage_idx"] == LOST_CODE].drop_duplicates("pos", keep="last")
    lost_owner = deals["owner"].to_numpy(dtype=object).copy()
    lost_owner[lost_rows["pos"].to_numpy()] = lost_rows["owner"].to_numpy(dtype=object)
    deals["lost_owner"] = lost_owner
    entries = events[events["rank"] >= 0].drop(columns="_order").reset_index(drop=True)
    first_entry, first_owner = _first_entries(entries, n)
    backwards = _backward_moves(entries)
    if backwards:
        warnings.append(
            f"{backwards} deal(s) have a stage history that moves backwards; 'reached' keeps their furthest stage."
        )

    actions = _actions(ds, deal_index)
    reps = ds.reps if ds.reps is not None else pd.DataFrame(
        {"name": pd.Series(dtype=object), "role": pd.Series(dtype=object), "team": pd.Series(dtype=object),
         "hire_date": pd.Series(dtype="datetime64[ns]"), "left_at": pd.Series(dtype="datetime64[ns]"),
         "monthly_quota": pd.Series(dtype="float64"), "email": pd.Series(dtype=object)}
    )
    owners = {*pd.unique(deals["owner"]), *pd.unique(entries["owner"]), *pd.unique(actions["owner"])}
    owners.discard("")
    unknown = sorted(owners - set(reps["name"]))
    if unknown and ds.reps is not None:
        warnings.append(
            f"Owner(s) not in the reps table, reported under role \"unknown\": {', '.join(unknown[:10])}"
            f"{' …' if len(unknown) > 10 else ''}. Add them to reps.csv with their role."
        )
    elif ds.reps is None:
        warnings.append("No reps table: every rep's role is \"unknown\", so the SDR and AE figures are empty.")
    return Facts(deals=deals, first_entry=first_entry, first_owner=first_owner, entries=entries,
                 stays=stays, actions=actions, reps=reps, warnings=warnings)


def _stable_sort(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """frame.sort_values(keys, kind="stable"), by numpy's lexsort on the raw integers (several times faster
    on millions of rows); timestamps here are never NaT."""
    columns = [frame[k].to_numpy() for k in reversed(keys)]
    columns = [c.view("i8") if c.dtype.kind == "M" else c for c in columns]
    return frame.take(np.lexsort(columns)).reset_index(drop=True)


def _fill_from(current: pd.Series, by_pos: pd.Series, where: np.ndarray) -> pd.Series:
    fill = by_pos.reindex(np.arange(len(current))).to_numpy()
    out = current.to_numpy().copy()
    take = where & pd.isna(out) & ~pd.isna(fill)
    out[take] = fill[take]
    return pd.Series(out, index=current.index, dtype="datetime64[ns]")


def _first_entries(entries: pd.DataFrame, n: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """First entry into each ranked stage: the earliest entry of it or of any later-ranked stage."""
    by_time = _stable_sort(entries, ["entered_at", "rank"])
    pos = by_time["pos"].to_numpy()
    times = by_time["entered_at"].to_numpy()
    ranks = by_time["rank"].to_numpy()
    owners = by_time["owner"].to_numpy(dtype=object)
    first_entry, first_owner = {}, {}
    for stage in RANKED_STAGES:
        mask = ranks >= STAGE_RANK[stage]
        p = pos[mask]
        uniq, first = np.unique(p, return_index=True)
        t = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
        o = np.full(n, "", dtype=object)
        t[uniq] = times[mask][first]
        o[uniq] = owners[mask][first]
        first_entry[stage] = t
        first_owner[stage] = o
    return first_entry, first_owner


def _stays(events: pd.DataFrame, deals: pd.DataFrame) -> pd.DataFrame:
    """Each stay in a funnel stage that ended (by the next stage change or by being lost)."""
    nxt_same = events["pos"].shift(-1).eq(events["pos"])
    ended_at = events["entered_at"].shift(-1).where(nxt_same)
    stay = (events["rank"] >= 0) & (events["stage_idx"] != SIGNED_IDX) & ended_at.notna()
    start = events.loc[stay, "entered_at"].dt.normalize()
    end = ended_at[stay]
    return pd.DataFrame({
        "stage_idx": events.loc[stay, "stage_idx"].to_numpy(),
        "ended_at": end.to_numpy(),
        "days": (end.dt.normalize() - start).dt.days.to_numpy(),
    })


def _backward_moves(entries: pd.DataFrame) -> int:
    prev_rank = entries["rank"].shift()
    back = entries["pos"].eq(entries["pos"].shift()) & (entries["rank"] < prev_rank)
    return int(entries.loc[back, "pos"].nunique())


def _actions(ds: Dataset, deal_index: pd.Index) -> pd.DataFrame:
    """Done sales actions with the position of their deal (NaN: no deal, or one not in the deals table)."""
    if ds.actions is None:
        return pd.DataFrame({"owner": pd.Series(dtype=object), "action": pd.Series(dtype=object),
                             "day": pd.Series(dtype="datetime64[ns]"), "deal_pos": pd.Series(dtype="float64")})
    a = ds.actions
    # resolve each distinct deal id once: millions of actions name far fewer deals
    codes = a["deal_id"].cat.codes.to_numpy()
    by_category = deal_index.get_indexer(a["deal_id"].cat.categories).astype("float64")
    positions = np.full(len(codes), -1.0)
    known = codes >= 0
    positions[known] = by_category[codes[known]]
    return pd.DataFrame({
        "owner": a["owner"],
        "action": a["action"],
        "day": a["day"].to_numpy(),
        "deal_pos": np.where(positions < 0, np.nan, positions),
    })


# --- period questions ----------------------------------------------------------------------------

def reached_by(facts: Facts, stage: str, until: np.datetime64) -> np.ndarray:
    """Deals that reached `stage` (or any later-ranked stage) before the instant `until`."""
    return facts.first_entry[stage] < until


def first_entry_within(facts: Facts, stage: str, start: np.datetime64, until: np.datetime64) -> np.ndarray:
    t = facts.first_entry[stage]
    return (t >= start) & (t < until)


def open_at(facts: Facts, until: np.datetime64) -> np.ndarray:
    """Deals created before `until` and neither signed nor lost before it."""
    d = facts.deals
    created = d["created_at"].to_numpy() < until
    signed = d["signed_at"].to_numpy() < until
    lost = d["lost_at"].to_numpy() < until
    return created & ~signed & ~lost


@dataclass
class StateAt:
    """Each deal's stage, owner and last stage-change time as of an instant."""

    stage_idx: np.ndarray  # int8; NEW_IDX when no entry yet
    owner: np.ndarray  # object
    last_change: np.ndarray  # datetime64[ns]: last stage entry, else created_at


def state_at(facts: Facts, until: np.datetime64) -> StateAt:
    e = facts.entries
    mask = e["entered_at"].to_numpy() < until
    pos = e["pos"].to_numpy()[mask]
    # entries are sorted by (pos, time): the last row of each pos is the latest entry
    last = np.ones(len(pos), dtype=bool)
    last[:-1] = pos[1:] != pos[:-1]
    p = pos[last]
    stage = np.full(facts.n, NEW_IDX, dtype=np.int8)
    owner = facts.deals["owner"].to_numpy(dtype=object).copy()
    change = facts.deals["created_at"].to_numpy().copy()
    stage[p] = e["stage_idx"].to_numpy()[mask][last]
    owner[p] = e["owner"].to_numpy(dtype=object)[mask][last]
    change[p] = e["entered_at"].to_numpy()[mask][last]
    return StateAt(stage_idx=stage, owner=owner, last_change=change)


def stage_rank(stage_idx: np.ndarray) -> np.ndarray:
    return _rank(stage_idx)


def signer(facts: Facts) -> np.ndarray:
    """Who a signed deal's revenue belongs to: the owner of its signed entry, else the deal's owner."""
    owner = facts.first_owner["signed"]
    return np.where(owner == "", facts.deals["owner"].to_numpy(dtype=object), owner)


def active_reps(reps: pd.DataFrame, start: np.datetime64, until: np.datetime64) -> pd.Series:
    """Reps active in [start, until): hired before `until` (or no hire_date), not left before `start`."""
    hired = reps["hire_date"].isna() | (reps["hire_date"] < until)
    stayed = reps["left_at"].isna() | (reps["left_at"] >= start)
    return hired & stayed
