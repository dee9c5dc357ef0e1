"""Lost deals, their value and the Lost reasons table (SPEC §10), on a small hand-computed set."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from salesreport.cli import app
from salesreport.config import parse_config
from salesreport.periods import month
from salesreport.report.build import build_report

from .conftest import facts_for, make_data
from .test_funnel_rules import deal, entry

LOST = {"status": "lost", "stage": "Lost"}


def lost_set(data_dir):
    deals = [deal("B1", "2026-01-05", lost_at="2026-03-03", amount="100", lost_reason="Нет бюджета", **LOST),
             deal("B2", "2026-01-06", lost_at="2026-03-20", amount="50", lost_reason=" Нет бюджета ", **LOST),
             deal("N1", "2026-01-07", lost_at="2026-03-21", amount="30", lost_reason="", **LOST),
             deal("P1", "2026-01-08", lost_at="2026-03-31", lost_reason="Price", **LOST),  # no amount: adds 0
             deal("F1", "2026-01-09", lost_at="2026-02-27", amount="999", lost_reason="Price", **LOST),  # February
             deal("W1", "2026-01-10", "signed", status="won", signed_at="2026-03-10", amount="500")]
    history = [entry("B1", "work_started", "2026-01-05"), entry("B1", "qualified", "2026-02-01"),
               entry("B1", "Lost", "2026-03-03"),
               entry("B2", "work_started", "2026-01-06"), entry("B2", "Lost", "2026-03-20"),
               entry("N1", "demo_run", "2026-01-07"), entry("N1", "Lost", "2026-03-21"),
               entry("P1", "work_started", "2026-01-08"), entry("P1", "Lost", "2026-03-31"),
               entry("F1", "work_started", "2026-01-09"), entry("F1", "Lost", "2026-02-27"),
               entry("W1", "signed", "2026-03-10")]
    return make_data(data_dir, deals, history)


def test_lost_deals_value_and_reasons_of_the_month(data_dir):
    config = parse_config({})
    report = build_report("monthly", facts_for(lost_set(data_dir), config), config, month(2026, 3))
    m = report.current.metrics
    assert (m["lost_deals"].value, m["lost_value"].value) == (4, 180)
    section = report.sections["lost_reasons"]
    assert section.columns == ["Reason", "Deals", "Value", "Share of lost", "Lost at"]
    # most deals first, then by reason ("" before "Price"); each stage lost at is the furthest one reached,
    # ties in the funnel's order
    assert section.rows == [["Нет бюджета", 2, 150.0, 0.5, "work_started 1, qualified 1"],
                            ["(none)", 1, 30.0, 0.25, "demo_run 1"],
                            ["Price", 1, 0.0, 0.25, "work_started 1"]]


def test_the_json_and_the_terminal_carry_the_lost_reasons(data_dir):
    lost_set(data_dir)
    run = CliRunner().invoke(app, ["monthly", "--data", str(data_dir), "--month", "2026-03", "--format", "json"])
    assert run.exit_code == 0, run.output
    section = json.loads(run.stdout)["sections"]["lost_reasons"]
    assert section["rows"][0] == ["Нет бюджета", 2, 150.0, 0.5, "work_started 1, qualified 1"]
    shown = CliRunner().invoke(app, ["monthly", "--data", str(data_dir), "--month", "2026-03"])
    assert "Lost reasons, 2026-03" in shown.stdout and "Нет бюджета" in shown.stdout


def test_amocrm_and_bitrix24_exports_bring_their_loss_reasons(tmp_path):
    from salesreport.sources.canonical import load_dataset

    amo = tmp_path / "amo"
    amo.mkdir()
    (amo / "leads.csv").write_text(
        "ID,Название сделки,Бюджет,Этап сделки,Дата создания,Ответственный,Причина отказа\n"
        "1,Сделка 1,1000,Закрыто и не реализовано,01.03.2026 10:00,Анна,Дорого\n"
        "2,Сделка 2,2000,Первичный контакт,02.03.2026 10:00,Анна,\n", encoding="utf-8")
    deals = load_dataset(str(amo), parse_config({"preset": "amocrm"})).deals
    assert list(deals["lost_reason"]) == ["Дорого", ""]
    bitrix = tmp_path / "bitrix"
    bitrix.mkdir()
    (bitrix / "deals.csv").write_text(
        "ID,Название,Стадия сделки,Сумма,Дата создания,Ответственный,Причина провала\n"
        "7,Сделка,Сделка провалена,500,03.03.2026 09:00:00,Борис,Выбрали конкурента\n", encoding="utf-8")
    deals = load_dataset(str(bitrix), parse_config({"preset": "bitrix24"})).deals
    assert list(deals["lost_reason"]) == ["Выбрали конкурента"]


def test_a_month_without_lost_deals_has_an_empty_table(data_dir):
    make_data(data_dir, [deal("D1", "2026-03-02")])
    run = CliRunner().invoke(app, ["monthly", "--data", str(data_dir), "--month", "2026-03", "--format", "json"])
    assert run.exit_code == 0, run.output
    doc = json.loads(run.stdout)
    assert doc["sections"]["lost_reasons"]["rows"] == [] and doc["metrics"]["lost_deals"]["value"] == 0
    for output in ("md", "csv", "html"):
        assert CliRunner().invoke(app, ["monthly", "--data", str(data_dir), "--month", "2026-03",
                                        "--format", output]).exit_code == 0
    shown = CliRunner().invoke(app, ["monthly", "--data", str(data_dir), "--month", "2026-03"])
    assert shown.exit_code == 0 and "Lost reasons, 2026-03" in shown.stdout
