"""HubSpot: the deals export (labels or internal names) with its per-stage "Date entered" columns, and the
activities / calls / emails / meetings exports."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .common import Preset, PresetReader, Tables, find, first_filled, frame, text

DEAL_COLUMNS = {
    "deal_id": ("Record ID", "Deal ID", "hs_object_id"),
    "name": ("Deal Name", "dealname"),
    "stage": ("Deal Stage", "dealstage"),
    "created_at": ("Create Date", "createdate"),
}
_QUOTES = "\"'“”‘’„«»"
# Date entered "Demo booked (Sales Pipeline)" — quotes doubled in the CSV, curly or single after a re-save
ENTERED_LABEL = re.compile(rf"^date entered\s*[{_QUOTES}]+\s*(?P<stage>.+?)\s*\((?P<pipeline>[^()]*)\)\s*[{_QUOTES}]*$",
                           re.IGNORECASE)
ENTERED_NAME = re.compile(r"^hs(?:_v2)?_date_entered_(?P<stage>.+)$", re.IGNORECASE)
NOT_DONE = {"not started", "in progress", "waiting", "deferred", "scheduled", "canceled", "cancelled", "queued",
            "ringing", "no show"}
TYPE_OF_FILE = {"calls": "call", "emails": "email", "meetings": "meeting", "notes": "note", "tasks": "task"}


def _stage_entries(deals: pd.DataFrame, ids: pd.Series) -> pd.DataFrame:
    """One row per filled "Date entered <stage> (<pipeline>)" cell: deal_id, stage, entered_at."""
    stages = {}
    for column in deals.columns:
        label = str(column).strip()
        match = ENTERED_LABEL.match(label) or ENTERED_NAME.match(label)
        if match:
            stages[column] = match["stage"].strip()
    if not stages:
        return pd.DataFrame(columns=["deal_id", "stage", "entered_at"])
    wide = deals[list(stages)].copy()
    wide.columns = range(len(stages))  # repeated labels (one stage in two pipelines) stay apart
    wide["deal_id"] = ids.to_numpy()
    long = wide.melt(id_vars="deal_id", var_name="column", value_name="entered_at")
    long["entered_at"] = long["entered_at"].fillna("").astype(str).str.strip()
    long = long[long["entered_at"] != ""]
    long["stage"] = long["column"].map(dict(enumerate(stages.values())))
    return long[["deal_id", "stage", "entered_at"]].reset_index(drop=True)


def _hubspot(raw: Tables, read: PresetReader, warnings: list[str]) -> Tables:
    deals = raw["deals"]
    read.require(deals, "deals", DEAL_COLUMNS, "HubSpot deals export")
    ids = text(deals, *DEAL_COLUMNS["deal_id"])
    home = find(deals, "Amount in company currency", "amount_in_home_currency")
    close = text(deals, "Close Date", "closedate")
    out = frame({
        "deal_id": ids, "company": text(deals, "Associated Company", "Company name", "Associated Company (Primary)"),
        "owner": text(deals, "Deal owner", "hubspot_owner_id"),
        "amount": text(deals, home) if home else text(deals, "Amount", "amount"),
        "currency": "" if home else text(deals, "Currency", "deal_currency_code"),
        "created_at": text(deals, *DEAL_COLUMNS["created_at"]), "stage": text(deals, *DEAL_COLUMNS["stage"]),
        "closed_at": close, "expected_close_date": close,
        "lost_reason": text(deals, "Closed Lost Reason", "closed_lost_reason"),
        "pipeline": text(deals, "Pipeline", "pipeline"),
        "probability": text(deals, "Deal probability", "hs_deal_stage_probability"),  # places custom stages
    })
    tables: Tables = {"deals": out}
    history = _stage_entries(deals, ids)
    if len(history):
        tables["stage_history"] = history
    else:
        warnings.append('HubSpot: the deals export has no "Date entered <stage>" columns; add them to the export '
                        "view (one per stage) for exact conversions and stage days.")
    activities = [_activities(raw[role], role) for role in ("activities", *TYPE_OF_FILE) if role in raw]
    if activities:
        tables["activities"] = pd.concat(activities, ignore_index=True)
    return tables


def _activities(df: pd.DataFrame, role: str) -> pd.DataFrame:
    kind = text(df, "Activity type", "Engagement type", "Type", "hs_activity_type", "hs_engagement_type")
    if role in TYPE_OF_FILE:
        kind = kind.where(kind != "", TYPE_OF_FILE[role])
    status = first_filled(df, "Call status", "Task status", "Meeting outcome", "Status", "hs_call_status",
                  "hs_task_status", "hs_meeting_outcome")
    status = status.str.lower().str.replace("_", " ", regex=False)
    deal = text(df, "Associated Deal IDs", "Associated Deal ID", "Deal ID", "Associated Deal IDs (Primary)")
    return frame({
        "activity_id": text(df, "Record ID", "Activity ID", "Engagement ID", "hs_object_id"),
        "owner": text(df, "Activity assigned to", "Assigned to", "Activity owner", "HubSpot owner", "Owner",
                      "Call owner", "Meeting owner", "Task owner", "hubspot_owner_id"),
        "type": kind,
        "occurred_at": text(df, "Activity date", "Timestamp", "Call date", "Meeting start time", "Create date",
                            "hs_timestamp", "hs_createdate"),
        "deal_id": deal.str.split(";", n=1).str[0].str.strip(),  # several associated deals: the first
        "done": np.where(status.isin(NOT_DONE), "false", "true"),
    })


HUBSPOT = Preset(
    name="hubspot",
    title='HubSpot (deals export with "Date entered" columns; activities, calls, emails, meetings exports)',
    files={"deals": ("deals", "deal"), "activities": ("activities", "engagements"), "calls": ("calls",),
           "emails": ("emails",), "meetings": ("meetings",)},
    headers={"deals": (frozenset({"deal stage", "deal name"}), frozenset({"dealstage", "dealname"})),
             "activities": (frozenset({"activity type", "activity date"}), frozenset({"engagement type"})),
             "calls": (frozenset({"call title"}), frozenset({"call outcome"})),
             "emails": (frozenset({"email subject", "activity date"}),),
             "meetings": (frozenset({"meeting name"}), frozenset({"meeting outcome"}))},
    main="deals",
    table_roles={"deals": ("deals",), "stage_history": ("deals",), "activities": ("activities", *TYPE_OF_FILE)},
    build=_hubspot,
    stage_names={  # the default sales pipeline: labels and the stage ids an internal-values export holds
        "demo_appointed": ("Appointment Scheduled", "appointmentscheduled"),
        "demo_run": ("Qualified To Buy", "qualifiedtobuy", "Presentation Scheduled", "presentationscheduled"),
        "qualified": ("Decision Maker Bought-In", "decisionmakerboughtin"),
        "offer_sent": ("Contract Sent", "contractsent"),
        "signed": ("Closed Won", "closedwon"),
    },
    lost_names=("Closed Lost", "closedlost"),
    activity_names={"message": ("LinkedIn message", "SMS", "WhatsApp message"),
                    "email": ("Forwarded email", "Email reply")},
)
