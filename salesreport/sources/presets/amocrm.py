"""amoCRM / Kommo: the leads (deals) export — Russian labels, DD.MM.YYYY HH:MM:SS, "не закрыта" when open,
repeated headers, often semicolon-separated cp1251. It holds no stage history."""

from __future__ import annotations

from .common import Preset, PresetReader, Tables, frame, text

DEAL_COLUMNS = {
    "deal_id": ("ID",),
    "stage": ("Этап сделки", "Статус сделки", "Lead status", "Stage", "Status"),
    "created_at": ("Дата создания сделки", "Дата создания", "Date created", "Created at"),
}
NOT_CLOSED = ["не закрыта", "не закрыто", "not closed", "-"]


def _amocrm(raw: Tables, read: PresetReader, warnings: list[str]) -> Tables:
    deals = raw["deals"]
    read.require(deals, "deals", DEAL_COLUMNS, "amoCRM leads export")
    no_id = text(deals, *DEAL_COLUMNS["deal_id"]) == ""
    blank = deals.fillna("").astype(str).apply(lambda c: c.str.strip() == "").all(axis=1)
    continued = no_id & ~blank
    if continued.any():  # a lead's further contacts or notes: a row without an ID under the lead it continues
        warnings.append(f"amoCRM: {int(continued.sum())} continuation row(s) without an ID (more contacts or notes "
                        "of the lead above) are skipped; each lead is read from its own row.")
    deals = deals[~no_id.to_numpy()]
    closed = text(deals, "Дата закрытия", "Closed at", "Date closed")
    return {"deals": frame({
        "deal_id": text(deals, *DEAL_COLUMNS["deal_id"]),
        "company": text(deals, "Компания", "Company"),
        "owner": text(deals, "Ответственный", "Responsible user", "Responsible"),
        "amount": text(deals, "Бюджет", "Budget", "Sale"),
        "created_at": text(deals, *DEAL_COLUMNS["created_at"]),
        "stage": text(deals, *DEAL_COLUMNS["stage"]),
        "closed_at": closed.where(~closed.str.lower().isin(NOT_CLOSED), ""),
        "pipeline": text(deals, "Воронка", "Pipeline"),
        "lost_reason": text(deals, "Причина отказа", "Loss reason", "Lost reason"),
    })}


AMOCRM = Preset(
    name="amocrm",
    title="amoCRM / Kommo (leads export: ID, Название сделки, Бюджет, Этап сделки, Воронка …)",
    files={"deals": ("leads", "deals", "сделки", "amocrm_export_leads")},
    headers={"deals": (frozenset({"название сделки", "этап сделки"}), frozenset({"бюджет", "этап сделки"}),
                       frozenset({"lead name", "budget", "pipeline"}))},
    main="deals",
    table_roles={"deals": ("deals",)},
    build=_amocrm,
    stage_names={  # the default pipeline (Russian and English accounts)
        "new": ("Неразобранное", "Incoming leads"),
        "work_started": ("Первичный контакт", "Initial contact"),
        "replied_positive": ("Переговоры", "Negotiation"),
        "qualified": ("Принимают решение", "Decision making"),
        "offer_sent": ("Согласование договора", "Contract discussion"),
        "signed": ("Успешно реализовано", "Closed - won", "Closed – won", "Successfully realized"),
    },
    lost_names=("Закрыто и не реализовано", "Closed - lost", "Closed – lost", "Closed and not realized"),
)
