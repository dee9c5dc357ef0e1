"""Pipedrive: the deals list-view export ("Deal - …" columns) and the activities export ("Activity - …")."""

from __future__ import annotations

import pandas as pd

from .common import Preset, PresetReader, Tables, derived_history_warning, find, frame, text

DEAL_COLUMNS = {
    "deal_id": ("Deal - ID",),
    "stage": ("Deal - Stage", "Deal - Stage (pipeline)"),
    "created_at": ("Deal - Deal created", "Deal - Creation date", "Deal - Add time"),
}


def _pipedrive(raw: Tables, read: PresetReader, warnings: list[str]) -> Tables:
    deals = raw["deals"]
    read.require(deals, "deals", DEAL_COLUMNS, "Pipedrive deals export")
    ids = text(deals, *DEAL_COLUMNS["deal_id"])
    stage = text(deals, *DEAL_COLUMNS["stage"])
    created = text(deals, *DEAL_COLUMNS["created_at"])
    status = text(deals, "Deal - Status").str.lower()
    out = frame({
        "deal_id": ids, "company": text(deals, "Deal - Organization"), "owner": text(deals, "Deal - Owner"),
        "amount": text(deals, "Deal - Value"),
        "currency": text(deals, "Deal - Currency of Value", "Deal - Currency"),
        "created_at": created, "stage": stage, "status": status,
        "signed_at": text(deals, "Deal - Won time").where(status == "won", ""),
        "lost_at": text(deals, "Deal - Lost time").where(status == "lost", ""),
        "closed_at": text(deals, "Deal - Deal closed on", "Deal - Closed on"),
        "expected_close_date": text(deals, "Deal - Expected close date"),
        "lost_reason": text(deals, "Deal - Lost reason"), "pipeline": text(deals, "Deal - Pipeline"),
        "probability": text(deals, "Deal - Probability"),  # the stage's, unless set on the deal: places custom stages
    })
    tables: Tables = {"deals": out, "stage_history": _current_stage_entries(deals, out, read)}
    warnings.append(derived_history_warning(
        "Pipedrive", 'each deal is taken as "new" from its creation and in its current stage from "Last stage '
        'change"; Won time / Lost time close it'))
    if "activities" in raw:
        tables["activities"] = _activities(raw["activities"], read)
    return tables


def _current_stage_entries(deals: pd.DataFrame, out: pd.DataFrame, read: PresetReader) -> pd.DataFrame:
    """Pipedrive keeps no stage history in the export: the current stage entered at "Last stage change"
    (else at creation), and "new" at creation when the stage changed later."""
    column = find(deals, "Deal - Last stage change") or "Deal - Last stage change"
    changed = text(deals, column)
    created = read.moments(out["created_at"], find(deals, *DEAL_COLUMNS["created_at"]), "deals")
    moved = read.moments(changed, column, "deals")
    entered = changed.where(changed != "", out["created_at"])
    later = (moved > created).to_numpy()
    has_stage = (out["stage"] != "").to_numpy()
    new = pd.DataFrame({"deal_id": out["deal_id"][later & has_stage], "stage": "new",
                        "entered_at": out["created_at"][later & has_stage]})
    current = pd.DataFrame({"deal_id": out["deal_id"], "stage": out["stage"], "entered_at": entered})[has_stage]
    return pd.concat([new, current], ignore_index=True)


def _activities(df: pd.DataFrame, read: PresetReader) -> pd.DataFrame:
    done = text(df, "Activity - Done")
    due = (text(df, "Activity - Due date") + " " + text(df, "Activity - Due time")).str.strip()
    marked = text(df, "Activity - Marked as done time")
    is_done = done.str.lower().isin(["done", "true", "1", "yes"])
    return frame({
        "activity_id": text(df, "Activity - ID"),
        "owner": text(df, "Activity - Assigned to user", "Activity - Owner", "Activity - User"),
        "type": text(df, "Activity - Type"),
        "occurred_at": marked.where(is_done & (marked != ""), due).rename("Activity - Marked as done time / Due date"),
        "deal_id": text(df, "Activity - Deal ID", "Deal - ID", "Activity - Deal"),
        "done": done,
    })


PIPEDRIVE = Preset(
    name="pipedrive",
    title='Pipedrive (deals and activities list-view exports, "Deal - …" / "Activity - …" columns)',
    files={"deals": ("deals", "deal"), "activities": ("activities", "activity")},
    headers={"deals": (frozenset({"deal - title", "deal - stage"}), frozenset({"deal - id", "deal - stage"})),
             "activities": (frozenset({"activity - type"}), frozenset({"activity - subject"}))},
    main="deals",
    table_roles={"deals": ("deals",), "stage_history": ("deals",), "activities": ("activities",)},
    build=_pipedrive,
    stage_names={  # the default pipelines, current ("Qualified" first) and older ("Lead In" first)
        "new": ("Lead In",), "work_started": ("Qualified",), "replied": ("Contact Made",),
        "demo_appointed": ("Demo Scheduled",), "qualified": ("Needs Defined",),
        "offer_sent": ("Proposal Made", "Negotiations Started"),
    },
    activity_names={"meeting": ("Lunch",)},
)
