"""Presets: a CRM's own export files → the canonical tables (text columns), before the common parsing.

A preset names the files it reads (case-insensitive file names in a folder; a single file is its main
table), the headers that identify its exports (for `init` and guessing), its default stage names, and a
vectorised `build` that returns canonical deals / stage_history / activities / reps as text DataFrames.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import InputError
from .parse import parse_datetimes

Tables = dict[str, pd.DataFrame]


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    files: dict[str, tuple[str, ...]]  # role → file names (stems, lower case) that hold it
    main: str  # the role of a single file given with --data FILE
    table_roles: dict[str, str]  # canonical table → the role whose file it comes from (for messages)
    signature: frozenset[str]  # lower-case headers that identify the main export
    build: Callable[[Tables, PresetReader, list[str]], Tables]
    stage_names: dict[str, tuple[str, ...]] = field(default_factory=dict)
    lost_names: tuple[str, ...] = ()


def _truthy(values: pd.Series) -> pd.Series:
    return values.fillna("").astype(str).str.strip().str.lower().isin(["1", "true", "yes", "y", "x"])


def _text(df: pd.DataFrame, column: str) -> pd.Series:
    return df[column].fillna("").astype(str).str.strip() if column in df else pd.Series("", index=df.index)


class PresetReader:
    """What a build needs besides the tables: file names for messages and the date-order setting."""

    def __init__(self, files: dict[str, str], dayfirst: bool | None, rates: dict[str, float] | None = None):
        self.files, self.dayfirst, self.rates = files, dayfirst, rates or {}

    def utc(self, df: pd.DataFrame, column: str, role: str) -> pd.Series:
        """An export timestamp written in UTC without a zone (Salesforce: GMT) → ISO text with "Z"."""
        if column not in df:
            return pd.Series("", index=df.index)
        moment = parse_datetimes(df[column].fillna("").astype(str), source=self.files.get(role, role),
                                 column=column, tz="UTC", dayfirst=self.dayfirst)
        return moment.dt.strftime("%Y-%m-%dT%H:%M:%SZ").fillna("")


def _date_only(values: pd.Series) -> pd.Series:
    """A date field exported with a midnight time ("2023-05-11 00:00:00", "…T00:00:00.000Z") → the date."""
    text = values.fillna("").astype(str).str.strip()
    return text.str.replace(r"[ T]00:00:00(?:\.0+)?Z?$", "", regex=True)


def _fold(text: pd.Series) -> pd.Series:
    """Lower case without accents: "Reunión" → "reunion"."""
    return text.str.normalize("NFKD").str.encode("ascii", "ignore").str.decode("ascii").str.lower()


# --- Salesforce ------------------------------------------------------------------------------------

SF_LABELS = {  # report "Export details" labels → API names
    "opportunity id": "Id", "opportunity name": "Name", "stage": "StageName", "close date": "CloseDate",
    "opportunity owner": "OwnerName", "created date": "CreatedDate", "won": "IsWon", "closed": "IsClosed",
    "account name": "AccountName", "currency": "CurrencyIsoCode", "loss reason": "LossReason__c",
}
SF_NAMES = ["Id", "IsDeleted", "AccountId", "Name", "StageName", "Amount", "CloseDate", "IsClosed", "IsWon",
            "CurrencyIsoCode", "OwnerId", "CreatedDate", "OpportunityId", "Subject", "ActivityDate", "Status",
            "Type", "WhatId", "ActivityDateTime", "CompletedDateTime", "TaskSubtype", "IsoCode", "ConversionRate",
            "IsCorporate", "FirstName", "LastName", "Email", "LossReason__c", "Loss_Reason__c", "Reason__c",
            "IsActive", "UserRoleId", "Title"]
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
    folded = _fold(lead)
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
    opp = opp[~_truthy(_text(opp, "IsDeleted"))]
    users = _users(raw.get("user"))
    owner = _text(opp, "OwnerName") if "OwnerName" in opp else _text(opp, "OwnerId")
    if users is not None:
        owner = owner.map(users).fillna(owner)
    elif "OwnerName" not in opp and owner.str.match(r"^005[A-Za-z0-9]{12}").any():
        warnings.append("Salesforce: owners are shown as user ids (005…); put User.csv from the same export "
                        "beside Opportunity.csv to see names.")
    closed, won = _truthy(_text(opp, "IsClosed")), _truthy(_text(opp, "IsWon"))
    has_flags = "IsClosed" in opp or "IsWon" in opp
    status = np.where(won, "won", np.where(closed, "lost", "open")) if has_flags else ""
    close_date = _date_only(_text(opp, "CloseDate"))
    amount = _converted_amounts(opp, raw.get("currencytype"))
    deals = pd.DataFrame({
        "deal_id": _text(opp, "Id"), "company": _text(opp, "AccountName") if "AccountName" in opp else _text(opp, "AccountId"),
        "owner": owner, "amount": amount, "created_at": read.utc(opp, "CreatedDate", "opportunity"),
        "stage": _text(opp, "StageName"), "status": status,
        "closed_at": close_date.where(closed | won, "") if has_flags else "",
        "expected_close_date": close_date.where(~(closed | won), "") if has_flags else close_date,
        "lost_reason": next((_text(opp, c) for c in ("LossReason__c", "Loss_Reason__c", "Reason__c") if c in opp),
                            pd.Series("", index=opp.index)),
        "currency": _text(opp, "CurrencyIsoCode"),
    })
    codes = sorted(set(deals["currency"]) - {""})
    if len(codes) > 1 and raw.get("currencytype") is None and not read.rates:
        raise InputError(
            f"Opportunity amounts are in several currencies ({', '.join(codes)}) and there is no CurrencyType.csv "
            "to convert them. Put CurrencyType.csv from the same Salesforce export beside Opportunity.csv, or "
            "give [plan] currency and rates in salesreport.toml."
        )
    if raw.get("currencytype") is not None:
        deals = deals.drop(columns="currency")  # converted into the corporate currency already
    tables: Tables = {"deals": deals.reset_index(drop=True)}
    if raw.get("opportunityhistory") is not None:
        tables["stage_history"] = _stage_entries(_api_case(raw["opportunityhistory"]), read)
    activities = [_tasks(_api_case(raw[r]), users, read, r) for r in ("task", "event") if raw.get(r) is not None]
    if activities:
        tables["activities"] = pd.concat(activities, ignore_index=True)
    if raw.get("user") is not None and users is not None:
        u = _api_case(raw["user"])
        tables["reps"] = pd.DataFrame({"name": _text(u, "Id").map(users), "email": _text(u, "Email"),
                                       "left_at": ""}).loc[lambda d: d["name"].isin(set(owner))]
    return tables


def _users(df: pd.DataFrame | None) -> dict[str, str] | None:
    if df is None:
        return None
    u = _api_case(df)
    name = _text(u, "Name") if "Name" in u else (_text(u, "FirstName") + " " + _text(u, "LastName")).str.strip()
    return dict(zip(_text(u, "Id"), name.where(name != "", _text(u, "Id")), strict=True))


def _converted_amounts(opp: pd.DataFrame, rates_df: pd.DataFrame | None) -> pd.Series:
    """Amounts in the corporate currency, as Salesforce reports show them: amount / ConversionRate."""
    amount = _text(opp, "Amount")
    if "CurrencyIsoCode" not in opp or rates_df is None:
        return amount
    rates = _api_case(rates_df)
    table = dict(zip(_text(rates, "IsoCode"), pd.to_numeric(_text(rates, "ConversionRate"), errors="coerce"),
                     strict=True))
    code = _text(opp, "CurrencyIsoCode")
    missing = sorted(set(code[(code != "") & ~code.isin(table)]))
    if missing:
        raise InputError(f"CurrencyType.csv has no conversion rate for {', '.join(missing)}, used by opportunities. "
                         "Export CurrencyType again with the opportunities.")
    value = pd.to_numeric(amount, errors="coerce") / code.map(table).astype(float)
    return pd.Series(np.where(value.isna(), "", value.round(6).astype(str)), index=opp.index)


def _stage_entries(hist: pd.DataFrame, read: PresetReader) -> pd.DataFrame:
    """OpportunityHistory rows are written on any change of amount, date, probability or stage: keep the
    first row of each opportunity and every row whose stage differs from the row before it."""
    hist = hist[~_truthy(_text(hist, "IsDeleted"))]
    h = pd.DataFrame({"deal_id": _text(hist, "OpportunityId"), "stage": _text(hist, "StageName"),
                      "entered_at": read.utc(hist, "CreatedDate", "opportunityhistory"), "order": range(len(hist))})
    h = h.sort_values(["deal_id", "entered_at", "order"], kind="stable")  # ISO text sorts as time
    changed = (h["stage"] != h.groupby("deal_id")["stage"].shift()) & (h["stage"] != "")
    return h.loc[changed, ["deal_id", "stage", "entered_at"]].reset_index(drop=True)


def _tasks(df: pd.DataFrame, users: dict[str, str] | None, read: PresetReader, role: str) -> pd.DataFrame:
    events = role == "event"
    df = df[~_truthy(_text(df, "IsDeleted"))]
    owner = _text(df, "OwnerId")
    if users is not None:
        owner = owner.map(users).fillna(owner)
    kind = _activity_kind(_text(df, "Type").where(_text(df, "Type") != "", _text(df, "TaskSubtype")),
                          _text(df, "Subject"))
    if events:
        kind = kind.where(kind != "", "meeting")
        when = read.utc(df, "ActivityDateTime", role).where(_text(df, "ActivityDateTime") != "",
                                                         _date_only(_text(df, "ActivityDate")))
        done = pd.Series("true", index=df.index)
    else:
        when = read.utc(df, "CompletedDateTime", role).where(_text(df, "CompletedDateTime") != "",
                                                             _date_only(_text(df, "ActivityDate")))
        when = when.where(when != "", read.utc(df, "CreatedDate", role))
        done = np.where((_text(df, "Status").str.lower() == "completed") | _truthy(_text(df, "IsClosed")),
                        "true", "false")
    what = _text(df, "WhatId")
    return pd.DataFrame({"activity_id": _text(df, "Id"), "owner": owner, "type": kind.where(kind != "", "task"),
                         "occurred_at": when, "deal_id": what.where(what.str.startswith("006"), ""), "done": done})


SALESFORCE = Preset(
    name="salesforce",
    title="Salesforce (Data Export / Data Loader / Bulk API files, or a report's Export details)",
    files={"opportunity": ("opportunity", "opportunities"), "opportunityhistory": ("opportunityhistory",),
           "task": ("task",), "event": ("event",), "user": ("user",), "currencytype": ("currencytype",)},
    main="opportunity",
    table_roles={"deals": "opportunity", "stage_history": "opportunityhistory", "activities": "task",
                 "reps": "user"},
    signature=frozenset({"stagename", "isclosed", "iswon", "closedate"}),
    build=_salesforce,
    stage_names={
        "work_started": ("Prospecting",), "replied_positive": ("Qualification",),
        "demo_appointed": ("Needs Analysis",), "demo_run": ("Value Proposition",),
        "qualified": ("Id. Decision Makers", "Perception Analysis"),
        "offer_sent": ("Proposal/Price Quote", "Negotiation/Review"), "signed": ("Closed Won",),
    },
    lost_names=("Closed Lost",),
)

PRESETS: dict[str, Preset] = {p.name: p for p in (SALESFORCE,)}


def preset_named(name: str) -> Preset:
    try:
        return PRESETS[name.strip().lower()]
    except KeyError:
        from ..errors import ConfigError

        raise ConfigError(f'Unknown preset "{name}"; known presets: {", ".join(PRESETS)} (or none for the '
                          "canonical layout).") from None
