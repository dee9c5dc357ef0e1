"""Bitrix24: the deals CSV export (semicolon, Russian labels, one row per product row) — no stage history."""

from __future__ import annotations

from .common import Preset, PresetReader, Tables, frame, text

DEAL_COLUMNS = {
    "deal_id": ("ID",),
    "stage": ("Стадия сделки", "Стадия", "Deal stage", "Stage", "STAGE_ID"),
    "created_at": ("Дата создания", "Created", "Date created", "DATE_CREATE"),
}


def _bitrix24(raw: Tables, read: PresetReader, warnings: list[str]) -> Tables:
    deals = raw["deals"]
    read.require(deals, "deals", DEAL_COLUMNS, "Bitrix24 deals export")
    ids = text(deals, *DEAL_COLUMNS["deal_id"])
    repeated = ids.duplicated() & (ids != "")
    if repeated.any():  # one row per product row: the deal's own fields repeat, its sum is the deal's
        warnings.append(f"Bitrix24: {int(repeated.sum())} product row(s) repeat a deal already listed and are "
                        "read once per deal.")
    expected = text(deals, "Предполагаемая дата закрытия", "Expected close date", "CLOSEDATE")
    closed = text(deals, "Дата закрытия", "Closed", "Date closed")
    if closed.ne("").any() and closed.str.upper().isin(["Y", "N", ""]).all():  # the REST dump's CLOSED flag: CLOSEDATE dates the close
        closed_at = expected.where(closed.str.upper() == "Y", "")
    else:  # a closed deal's closing date: its own column when exported, else the expected one (Bitrix24 sets
        closed_at = closed.where(closed != "", expected)  # it to the day the deal closed)
    stage = text(deals, *DEAL_COLUMNS["stage"]).str.replace(r"^C\d+:", "", regex=True)  # STAGE_ID of a funnel
    out = frame({
        "deal_id": ids, "company": text(deals, "Компания", "Компания: Название компании", "Company"),
        "owner": text(deals, "Ответственный", "Responsible", "ASSIGNED_BY_NAME"),
        "amount": text(deals, "Сумма", "Amount", "Opportunity", "OPPORTUNITY"),
        "currency": text(deals, "Валюта", "Currency", "CURRENCY_ID"),
        "created_at": text(deals, *DEAL_COLUMNS["created_at"]), "stage": stage,
        "closed_at": closed_at,
        "expected_close_date": expected,
        "pipeline": text(deals, "Воронка", "Направление", "Pipeline", "CATEGORY_ID"),
        "lost_reason": text(deals, "Причина провала", "Причина отказа", "Loss reason", "Lost reason"),
    })
    return {"deals": out[~repeated.to_numpy()]}


BITRIX24 = Preset(
    name="bitrix24",
    title="Bitrix24 (deals CSV export: ID, Стадия сделки, Сумма, Валюта, Ответственный, Дата создания …)",
    files={"deals": ("deals", "deal", "сделки")},
    headers={"deals": (frozenset({"стадия сделки", "сумма"}), frozenset({"стадия сделки", "дата создания"}),
                       frozenset({"stage_id", "opportunity"}))},
    main="deals",
    table_roles={"deals": ("deals",)},
    build=_bitrix24,
    stage_names={  # the default funnel, by name (Russian, English) and by STAGE_ID
        "new": ("Новая", "New", "NEW"),
        "work_started": ("Подготовка документов", "Preparing documents", "PREPARATION"),
        "offer_sent": ("Счёт на предоплату", "Счет на предоплату", "Prepayment invoice", "PREPAYMENT_INVOICE",
                       "В работе", "In progress", "EXECUTING", "Финальный счёт", "Финальный счет", "Final invoice",
                       "FINAL_INVOICE"),
        "signed": ("Сделка успешна", "Deal won", "WON"),
    },
    lost_names=("Сделка провалена", "Анализ причины провала", "Deal lost", "Analyze failure", "LOSE", "APOLOGY"),
)
