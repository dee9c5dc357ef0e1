"""Salesforce: Data Export / Data Loader / Bulk API object files, or a report's "Export details" CSV."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...errors import InputError
from .common import (
    Preset,
    PresetReader,
    Tables,
    date_only,
    fold,
    frame,
    stage_changes,
    text,
    truthy,
)

SF_LABELS = {  # report "Export details" labels → API names
    "opportunity id": "Id", "opportunity name": "Name", "stage": "StageName", "close date": "CloseDate",
    "opportunity owner": "OwnerName", "created date": "CreatedDate", "won": "IsWon", "closed": "IsClosed",
    "account name": "AccountName", "currency": "CurrencyIsoCode", "loss reason": "LossReason__c",
    "probability (%)": "Probability",
}
SF_NAMES = ["Id", "IsDeleted", "AccountId", "Name", "StageName", "Amount", "CloseDate", "IsClosed", "IsWon",
            "CurrencyIsoCode", "OwnerId", "CreatedDate", "OpportunityId", "Subject", "ActivityDate", "Status",
            "Type", "WhatId", "ActivityDateTime", "CompletedDateTime", "TaskSubtype", "IsoCode", "ConversionRate",
            "IsCorporate", "FirstName", "LastName", "Email", "LossReason__c", "Loss_Reason__c", "Reason__c",
            "IsActive", "UserRoleId", "Title", "Probability", "StageSortOrder"]
ACTIVITY_WORDS = {
    "email": ("email", "e-mail", "correo", "mail", "email de lista", "list email"),
    "call": ("call", "llamada", "llamar", "llamado", "phone", "telefono", "ligacao"),
    "meeting": ("meeting", "reunion", "junta", "visita", "visit", "presentacion", "demo", "cita"),
}


def _api_case(df: pd.DataFrame) -> pd.DataFrame:
    """Headers as Salesforce API names whatever their case (Bulk API tools write them upper-case)."""
    by_lower = {n.lower(): n for n in SF_NAMES}
    renamed = {c: SF_LABELS.get(c.lower(), by_lower.get(c.lower(), c)) for c in df.columns}
    return df.rename(columns=renamed)


def _activity_kind(types: pd.Series, subjects: pd.Series) -> pd.Series:
    """The Type if filled, else the subject's leading word: "Email: …" → email, "Llamada …" → call,
    "Reunión …" → meeting; another word ("Seguimiento") is kept, so it can be mapped in [activity_types]."""
    lead = subjects.str.split(r"[:\-\[]", n=1, regex=True).str[0].str.strip()
    folded = fold(lead)
    kind = lead.str.split(" ", n=1).str[0].fillna("")
    for action, words in ACTIVITY_WORDS.items():
        hit = folded.isin(words) | folded.str.split(" ", n=1).str[0].isin(words)
        kind = kind.where(~hit, action)
    return types.where(types != "", kind)


def _salesforce(raw: Tables, read: PresetReader, warnings: list[str]) -> Tables:
    opp = _api_case(raw["opportunity"])
    if "Id" not in opp or "StageName" not in opp:
        raise InputError(
            "Salesforce preset: the opportunities file needs the columns Id and StageName (found: "
            f"{', '.join(list(opp.columns)[:12])}). Export the Opportunity object with the Data Export Service "
            "or Data Loader, or a report with Opportunity ID and Stage."
        )
    opp = opp[~truthy(text(opp, "IsDeleted"))]
    users = _users(raw.get("user"))
    owner = text(opp, "OwnerName") if "OwnerName" in opp else text(opp, "OwnerId")
    if users is not None:
        owner = owner.map(users).fillna(owner)
    elif "OwnerName" not in opp and owner.str.match(r"^005[A-Za-z0-9]{12}").any():
        warnings.append("Salesforce: owners are shown as user ids (005…); put User.csv from the same export "
                        "beside Opportunity.csv to see names.")
    closed, won = truthy(text(opp, "IsClosed")), truthy(text(opp, "IsWon"))
    has_flags = "IsClosed" in opp or "IsWon" in opp
    status = np.where(won, "won", np.where(closed, "lost", "open")) if has_flags else ""
    if "IsClosed" in opp and "IsWon" not in opp:  # a report with "Closed" only: the stage tells won from lost
        status = np.where(closed, "", "open")
    close_date = date_only(text(opp, "CloseDate"))
    amount = _converted_amounts(opp, raw.get("currencytype"))
    deals = frame({
        "deal_id": text(opp, "Id"), "company": text(opp, "AccountName") if "AccountName" in opp else text(opp, "AccountId"),
        "owner": owner, "amount": amount, "created_at": read.utc(opp, "CreatedDate", "opportunity"),
        "stage": text(opp, "StageName"), "status": status,
        "closed_at": close_date.where(closed | won, "") if has_flags else "",
        "expected_close_date": close_date.where(~(closed | won), "") if has_flags else close_date,
        "lost_reason": next((text(opp, c) for c in ("LossReason__c", "Loss_Reason__c", "Reason__c") if c in opp),
                            pd.Series("", index=opp.index)),
        "currency": text(opp, "CurrencyIsoCode"),
        # where the org's own stages stand: how unknown stage names are placed on the funnel
        "probability": text(opp, "Probability"), "stage_order": text(opp, "StageSortOrder"),
    })
    codes = sorted(set(deals["currency"]) - {""})
    if len(codes) > 1 and raw.get("currencytype") is None and not read.rates:
        raise InputError(
            f"Opportunity amounts are in several currencies ({', '.join(codes)}) and there is no CurrencyType.csv "
            "to convert them. Put CurrencyType.csv from the same Salesforce export beside Opportunity.csv, or "
            "give [plan] currency and rates in salesreport.toml."
        )
    if raw.get("currencytype") is not None:  # converted into the corporate currency already
        rates = _api_case(raw["currencytype"])
        corporate = text(rates, "IsoCode")[truthy(text(rates, "IsCorporate"))]
        deals["currency"] = corporate.iloc[0] if len(corporate) == 1 else ""
    tables: Tables = {"deals": deals}  # the export's row labels: [columns.deals] reads by them
    if raw.get("opportunityhistory") is not None:
        tables["stage_history"] = _stage_entries(_api_case(raw["opportunityhistory"]), read)
    activities = [_tasks(_api_case(raw[r]), users, read, r) for r in ("task", "event") if raw.get(r) is not None]
    if activities:
        tables["activities"] = pd.concat(activities, ignore_index=True)
    if raw.get("user") is not None and users is not None:
        u = _api_case(raw["user"])
        tables["reps"] = pd.DataFrame({"name": text(u, "Id").map(users), "email": text(u, "Email"),
                                       "left_at": ""}).loc[lambda d: d["name"].isin(set(owner))]
    return tables


def _users(df: pd.DataFrame | None) -> dict[str, str] | None:
    if df is None:
        return None
    u = _api_case(df)
    name = text(u, "Name") if "Name" in u else (text(u, "FirstName") + " " + text(u, "LastName")).str.strip()
    return dict(zip(text(u, "Id"), name.where(name != "", text(u, "Id")), strict=True))


def _converted_amounts(opp: pd.DataFrame, rates_df: pd.DataFrame | None) -> pd.Series:
    """Amounts in the corporate currency, as Salesforce reports show them: amount / ConversionRate."""
    amount = text(opp, "Amount")
    if "CurrencyIsoCode" not in opp or rates_df is None:
        return amount
    rates = _api_case(rates_df)
    table = dict(zip(text(rates, "IsoCode"), pd.to_numeric(text(rates, "ConversionRate"), errors="coerce"),
                     strict=True))
    code = text(opp, "CurrencyIsoCode")
    missing = sorted(set(code[(code != "") & ~code.isin(table)]))
    if missing:
        raise InputError(f"CurrencyType.csv has no conversion rate for {', '.join(missing)}, used by opportunities. "
                         "Export CurrencyType again with the opportunities.")
    value = pd.to_numeric(amount, errors="coerce") / code.map(table).astype(float)
    return pd.Series(np.where(value.isna(), "", value.round(6).astype(str)), index=opp.index)


def _stage_entries(hist: pd.DataFrame, read: PresetReader) -> pd.DataFrame:
    """OpportunityHistory: a stage entry is a row whose StageName differs from the opportunity's row before."""
    hist = hist[~truthy(text(hist, "IsDeleted"))]
    h = frame({"deal_id": text(hist, "OpportunityId"), "stage": text(hist, "StageName"),
               "entered_at": read.utc(hist, "CreatedDate", "opportunityhistory")})
    return stage_changes(h, h["entered_at"]).reset_index(drop=True)  # ISO text in UTC sorts as time


def _tasks(df: pd.DataFrame, users: dict[str, str] | None, read: PresetReader, role: str) -> pd.DataFrame:
    events = role == "event"
    df = df[~truthy(text(df, "IsDeleted"))]
    owner = text(df, "OwnerId")
    if users is not None:
        owner = owner.map(users).fillna(owner)
    kind = _activity_kind(text(df, "Type").where(text(df, "Type") != "", text(df, "TaskSubtype")),
                          text(df, "Subject"))
    if events:
        kind = kind.where(kind != "", "meeting")
        when = read.utc(df, "ActivityDateTime", role).where(text(df, "ActivityDateTime") != "",
                                                         date_only(text(df, "ActivityDate")))
        done = pd.Series("true", index=df.index)
    else:
        when = read.utc(df, "CompletedDateTime", role).where(text(df, "CompletedDateTime") != "",
                                                             date_only(text(df, "ActivityDate")))
        when = when.where(when != "", read.utc(df, "CreatedDate", role))
        done = np.where((text(df, "Status").str.lower() == "completed") | truthy(text(df, "IsClosed")),
                        "true", "false")
    what = text(df, "WhatId")
    return frame({"activity_id": text(df, "Id"), "owner": owner, "type": kind.where(kind != "", "task"),
                         "occurred_at": when, "deal_id": what.where(what.str.startswith("006"), ""), "done": done})


SALESFORCE = Preset(
    name="salesforce",
    title="Salesforce (Data Export / Data Loader / Bulk API files, or a report's Export details)",
    files={"opportunity": ("opportunity", "opportunities"), "opportunityhistory": ("opportunityhistory",),
           "task": ("task",), "event": ("event",), "user": ("user",), "currencytype": ("currencytype",)},
    main="opportunity",
    table_roles={"deals": ("opportunity",), "stage_history": ("opportunityhistory",), "activities": ("task", "event"),
                 "reps": ("user",)},
    headers={"opportunity": (frozenset({"stagename", "isclosed"}), frozenset({"stagename", "closedate"}),
                             frozenset({"opportunity name", "stage", "close date"})),
             "opportunityhistory": (frozenset({"opportunityid", "stagename"}),),
             "currencytype": (frozenset({"isocode", "conversionrate"}),)},
    build=_salesforce,
    stage_names={
        "work_started": ("Prospecting",), "replied_positive": ("Qualification",),
        "demo_appointed": ("Needs Analysis",), "demo_run": ("Value Proposition",),
        "qualified": ("Id. Decision Makers", "Perception Analysis"),
        "offer_sent": ("Proposal/Price Quote", "Negotiation/Review"), "signed": ("Closed Won",),
    },
    lost_names=("Closed Lost",),
)
