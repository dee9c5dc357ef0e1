"""Zoho CRM: the Deals export or backup file (Deals_001.csv) and its Stage History export."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..parse import parse_amounts
from .common import Preset, PresetReader, Tables, frame, stage_changes, text

DEAL_COLUMNS = {  # Potentials: what Zoho called deals before, in older accounts and backups
    "deal_id": ("Record Id", "Deal Id", "Potential Id", "Id"),
    "stage": ("Stage",),
    "created_at": ("Created Time", "Created Date"),
}


def _zoho(raw: Tables, read: PresetReader, warnings: list[str]) -> Tables:
    deals = raw["deals"]
    read.require(deals, "deals", DEAL_COLUMNS, "Zoho CRM deals export")
    close = text(deals, "Closing Date")
    out = frame({
        "deal_id": text(deals, *DEAL_COLUMNS["deal_id"]), "company": text(deals, "Account Name"),
        "owner": text(deals, "Deal Owner", "Potential Owner"), "amount": _home_amounts(deals, read),
        "currency": "" if text(deals, "Exchange Rate").ne("").any() else text(deals, "Currency"),
        "created_at": text(deals, *DEAL_COLUMNS["created_at"]), "stage": text(deals, *DEAL_COLUMNS["stage"]),
        "closed_at": close, "expected_close_date": close, "lost_reason": text(deals, "Reason For Loss"),
        "pipeline": text(deals, "Pipeline", "Layout"),
    })
    tables: Tables = {"deals": out}
    if "stage_history" in raw:
        h = raw["stage_history"]
        # a Stage History row is written when the stage, amount or closing date changes; the deal entered
        # Stage at the Modified Time of the first row that names it
        entries = frame({
            "deal_id": text(h, "Deal Name.id", "Deal Id", "Deal.id", "Potential Name.id", "Potential Id", "Record Id"),
            "stage": text(h, "Stage"),
            "entered_at": text(h, "Modified Time", "Last Modified Time"),
        })
        when = read.moments(entries["entered_at"], entries.attrs["headers"].get("entered_at", "Modified Time"),
                            "stage_history")
        tables["stage_history"] = stage_changes(entries, when)
    return tables


def _home_amounts(deals: pd.DataFrame, read: PresetReader) -> pd.Series:
    """Amounts in the organisation's home currency: Amount ÷ Exchange Rate, as Zoho's own reports convert."""
    amount = text(deals, "Amount")
    rate_text = text(deals, "Exchange Rate")
    if not rate_text.ne("").any():
        return amount
    rate = pd.to_numeric(rate_text.str.replace(",", ".", regex=False), errors="coerce").replace(0, np.nan)
    value = parse_amounts(amount, source=read.files.get("deals", "deals"), column="Amount") / rate.fillna(1.0)
    return pd.Series(np.where(value.isna(), "", value.round(6).astype(str)), index=deals.index, name="Amount")


ZOHO = Preset(
    name="zoho",
    title="Zoho CRM (Deals export or Data Backup Deals_001.csv, and its Stage History export)",
    files={"deals": ("deals", "deals_001", "potentials", "potentials_001"),
           "stage_history": ("stage_history", "stage history", "stagehistory")},
    headers={"deals": (frozenset({"deal name", "stage", "closing date", "deal owner"}),
                       frozenset({"potential name", "stage", "closing date"})),
             "stage_history": (frozenset({"deal name", "stage", "stage duration (calendar days)"}),
                               frozenset({"deal name.id", "stage", "modified time"}))},
    main="deals",
    table_roles={"deals": ("deals",), "stage_history": ("stage_history",)},
    build=_zoho,
    stage_names={  # the standard Deals stages
        "replied_positive": ("Qualification",), "demo_appointed": ("Needs Analysis",),
        "demo_run": ("Value Proposition",), "qualified": ("Id. Decision Makers", "Identify Decision Makers",
                                                         "Perception Analysis"),
        "offer_sent": ("Proposal/Price Quote", "Negotiation/Review"), "signed": ("Closed Won",),
    },
    lost_names=("Closed Lost", "Closed Lost to Competition"),
)
