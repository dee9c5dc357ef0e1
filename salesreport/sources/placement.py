"""Placing a CRM's own stage names on the canonical funnel from what the export says about them.

Evidence comes first, words last. For each stage name no configuration or preset places:
1. its probability (Salesforce Probability, HubSpot "Deal probability", Pipedrive "Deal - Probability"; the
   median over its deals): 100 % and 0 % are the closed won and lost stages unless most of its deals are
   open; any other goes by bands — below 10 % work_started, from 10 % replied_positive, 20 % demo_appointed,
   40 % demo_run, 60 % qualified, 75 % offer_sent — which place Salesforce's own default stages where the
   preset maps them by name (Qualification 10 %, Needs Analysis 20 %, Value Proposition 50 %, Id. Decision
   Makers 60 %, Perception Analysis 70 %, Proposal/Price Quote 75 %, Negotiation/Review 90 %) but for
   Prospecting (10 %), which the preset puts at work_started. It comes before the outcome: in Pipedrive a won
   deal stays in its last open stage, at that stage's probability;
2. else its deals' outcome: a stage where most deals are closed won is `signed`, closed lost is `lost`
   (Salesforce IsWon/IsClosed, a status column);
3. else the CRM's order (Salesforce StageSortOrder), else the order deals move through the stages in the
   stage history (the median step at which deals first enter each stage): the open stages in that order
   are spread evenly over the canonical open stages — unless fewer than SUPPORT deals entered the stage
   and its name's words place it;
4. else the words of the name (STAGE_WORDS), else nothing: the name stays unplaced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .parse import STATUS_WORDS

OPEN_STAGES = ("work_started", "replied", "replied_positive", "demo_appointed", "demo_run", "qualified",
               "offer_sent")
# probability (%) from which a stage is at least this canonical stage (see the module docstring)
PROBABILITY_BANDS = ((75, "offer_sent"), (60, "qualified"), (40, "demo_run"), (20, "demo_appointed"),
                     (10, "replied_positive"), (0, "work_started"))

# words in a stage name → the canonical stage it most likely is (first rule that matches wins)
STAGE_WORDS: list[tuple[str, tuple[str, ...]]] = [
    ("lost", ("lost", "lose", "проигр", "провал", "не реализ", "отказ", "perdid", "verloren", "perdu",
              "disqualif", "unqualif", "rejected", "dead")),
    ("replied_negative", ("not interested", "не интерес", "negative")),
    ("signed", ("won", "signed", "успешн", "подписан", "оплачен", "ganad", "gewonnen", "gagn", "closed - won")),
    ("offer_sent", ("proposal", "offer", "quote", "negotiat", "contract", "предлож", "счёт", "счет", "договор",
                    "propuesta", "negociac", "angebot")),
    ("qualified", ("qualif", "квалиф", "decision", "решени", "bought-in")),
    ("demo_run", ("demo done", "demo held", "demo run", "presentation", "презентац", "демо проведен")),
    ("demo_appointed", ("demo", "meeting", "appointment", "встреч", "демо", "reuni", "cita", "termin")),
    ("replied_positive", ("interes", "engag", "интерес")),
    ("replied", ("contact", "replied", "reply", "respond", "контакт", "ответ")),
    ("work_started", ("prospect", "work", "outreach", "в работе", "первичн", "attempt", "взят")),
    ("new", ("new", "нов", "lead", "incoming", "неразобр")),
]


SUPPORT = 3  # deals in the history below which the words of a name, when they place it, come first
WORDS = "the words of the name"  # the evidence of a placement by STAGE_WORDS


@dataclass(frozen=True)
class Placement:
    """Where a CRM stage name goes: a canonical stage id, "lost", or None (unplaced), and why."""

    name: str
    stage: str | None
    deals: int
    evidence: str


def guess_by_words(name: str, rules: list[tuple[str, tuple[str, ...]]] = STAGE_WORDS) -> str | None:
    """The first rule with a word that starts a word of `name` ("lose" is not in "Closed")."""
    key = name.lower()
    return next((target for target, words in rules
                 if any(re.search(r"(?<!\w)" + re.escape(w), key) for w in words)), None)


def by_probability(percent: float) -> str:
    return next(stage for floor, stage in PROBABILITY_BANDS if percent >= floor)


def place_stages(names: list[str], deals: pd.DataFrame, history: pd.DataFrame | None = None) -> list[Placement]:
    """Place each of `names` (stage names nothing else places) from the evidence in the export.

    `deals` has `stage` (the CRM's name) and may have `status` (as a status cell: won, Closed Lost …),
    `probability` (0–100, or 0–1 for the whole column) and `stage_order` (numbers), as text or typed;
    `history` has deal_id, stage and a sortable entered_at."""
    stage = deals["stage"].fillna("").astype(str).str.strip() if "stage" in deals else pd.Series("", index=deals.index)
    status = (deals["status"].fillna("").astype(str).str.lower().str.strip().map(STATUS_WORDS).fillna("")
              if "status" in deals else pd.Series("", index=deals.index))
    probability = _numbers(deals, "probability")
    if probability.notna().any() and probability.max() <= 1:
        probability = probability * 100  # HubSpot writes 0.2 for 20 %
    # one row per stage name found on the deals: its evidence, computed once for all names
    by_stage = pd.DataFrame({"stage": stage, "won": status == "won", "lost": status == "lost",
                             "open": status == "open", "percent": probability,
                             "order": _numbers(deals, "stage_order")})
    by_stage = by_stage[by_stage["stage"] != ""].groupby("stage").agg(
        deals=("won", "size"), won=("won", "sum"), lost=("lost", "sum"), open=("open", "sum"),
        percent=("percent", "median"), order=("order", "median"))
    steps = _history_steps(history if history is not None else pd.DataFrame())
    open_names = [n for n, row in by_stage.iterrows() if not _closed(row)]  # stage names: a few dozen
    out = []
    for name in names:
        row = by_stage.loc[name] if name in by_stage.index else None
        n = 0 if row is None else int(row["deals"])
        if row is not None and pd.notna(row["percent"]):  # the CRM's own word, also where won deals stay (Pipedrive)
            place = (("signed" if row["percent"] == 100 else "lost") if _closed(row)
                     else by_probability(float(row["percent"])))
            out.append(Placement(name, place, n, f"probability {row['percent']:g} %"))
            continue
        outcome = None if row is None else _outcome(row)
        if outcome is not None:
            word = "won" if outcome == "signed" else "lost"
            out.append(Placement(name, outcome, n, f"{int(row[word])} of {n} deals {word}"))
            continue
        by_order = _spread(name, open_names, by_stage["order"], "the CRM's stage order")
        by_history = _spread(name, [*open_names, *(s for s in steps.index if s not in by_stage.index)],
                             steps["step"], "the order deals enter stages in the history")
        guess = guess_by_words(name)
        if by_order is None and by_history is not None and guess is not None and steps.at[name, "deals"] < SUPPORT:
            by_history = None  # a history of one or two deals says less than the name does
        spread = by_order or by_history
        if spread is not None:
            out.append(Placement(name, spread[0], n, spread[1]))
        else:
            out.append(Placement(name, guess, n, WORDS if guess else "no evidence"))
    return out


def _numbers(df: pd.DataFrame, column: str) -> pd.Series:
    if column not in df:
        return pd.Series(np.nan, index=df.index)
    return pd.to_numeric(df[column], errors="coerce").astype("float64")


def _closed(row: pd.Series) -> bool:
    """Whether a stage (a row of by_stage) is a closed one: by its probability, 100 % / 0 % with at most half
    its deals open; else by its outcome. The open stages alone are spread over the open canonical stages."""
    if pd.notna(row["percent"]):
        return row["percent"] in (0, 100) and row["open"] <= row["deals"] / 2
    return _outcome(row) is not None


def _outcome(row: pd.Series) -> str | None:
    """signed / lost when most of a stage's deals are closed that way."""
    return "signed" if row["won"] > row["deals"] / 2 else "lost" if row["lost"] > row["deals"] / 2 else None


def _spread(name: str, names: list[str], keys: pd.Series, what: str) -> tuple[str, str] | None:
    """The canonical open stage of `name` when the open `names` are spread evenly in the order of `keys`."""
    keys = keys.reindex(list(dict.fromkeys(names))).dropna()
    if name not in keys.index:
        return None
    ranked = list(keys.sort_values(kind="stable").index)
    i = ranked.index(name)
    place = OPEN_STAGES[min(len(OPEN_STAGES) - 1, int((i + 0.5) / len(ranked) * len(OPEN_STAGES)))]
    return place, f"{what}: {i + 1} of {len(ranked)}"


def _history_steps(history: pd.DataFrame) -> pd.DataFrame:
    """Per stage name: the median step (0, 1, 2 …) at which deals first enter it, their entries in time
    order, and how many deals entered it."""
    if not len(history) or not {"deal_id", "stage", "entered_at"} <= set(history.columns):
        return pd.DataFrame({"step": pd.Series(dtype="float64"), "deals": pd.Series(dtype="int64")})
    h = pd.DataFrame({"deal_id": history["deal_id"], "stage": history["stage"].fillna("").astype(str).str.strip(),
                      "when": history["entered_at"], "n": np.arange(len(history))})
    h = h[h["stage"] != ""].sort_values(["deal_id", "when", "n"], kind="stable")
    h = h.drop_duplicates(["deal_id", "stage"])
    h["step"] = h.groupby("deal_id").cumcount()
    return h.groupby("stage")["step"].agg(step="median", deals="size")
