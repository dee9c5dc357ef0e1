"""CRM presets: hand-made export files with known canonical rows, and the real exports in ../shared/datasets."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from salesreport.config import parse_config
from salesreport.errors import ConfigError, InputError
from salesreport.model import STAGES
from salesreport.sources.canonical import NO_STAGE, load_dataset

ASSETS = Path(__file__).parent / "assets"
DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
LATAM_STAGES = {"work_started": ["Interes"], "demo_run": ["Diseño Propuesta"],
                "offer_sent": ["Presentación Propuesta"], "qualified": ["Negociación", "Firmas"]}


def sf_config(**extra):
    return parse_config({"preset": "salesforce", "report": {"timezone": "America/Mexico_City"},
                         "funnel": {"stages": LATAM_STAGES}, **extra})


def test_salesforce_export_folder_becomes_canonical_rows():
    ds = load_dataset(str(ASSETS / "salesforce-latin1"), sf_config())
    deals = ds.deals.set_index("deal_id")
    assert list(deals.index) == ["0060000000000A1", "0060000000000A2", "0060000000000A3"]  # IsDeleted=1 dropped
    assert deals.loc["0060000000000A1", "owner"] == "Ana Núñez"  # ISO-8859-1 decoded, names from User.csv
    assert deals.loc["0060000000000A1", "amount"] == pytest.approx(1820 / 18.2)  # MXN → corporate USD
    assert deals.loc["0060000000000A2", "amount"] == pytest.approx(500)
    assert pd.isna(deals.loc["0060000000000A3", "amount"])
    assert list(deals["status"]) == ["won", "open", "lost"]
    # CreatedDate is UTC: 2023-03-01 23:30 UTC is 17:30 on the 1st in Mexico City
    assert deals.loc["0060000000000A2", "created_at"] == pd.Timestamp("2023-03-01 17:30")
    # CloseDate is a date: closed deals close on it, open ones expect it
    assert deals.loc["0060000000000A1", "closed_at"] == pd.Timestamp("2023-05-11")
    assert deals.loc["0060000000000A2", "expected_close_date"] == pd.Timestamp("2023-07-01")
    # history: only rows whose stage differs from the opportunity's previous row are stage entries
    h = ds.history
    assert len(h) == 7
    assert list(h.loc[h["deal_id"] == "0060000000000A1", "entered_at"]) == [
        pd.Timestamp("2023-02-07 14:47:49"), pd.Timestamp("2023-03-01 06:00"), pd.Timestamp("2023-05-11 09:00")]
    a = ds.activities.set_index("activity_id")
    assert dict(a["action"]) == {"00T000000000001": "call", "00T000000000002": "email", "00T000000000003": "meeting",
                                 "00T000000000004": "", "00U000000000001": "meeting"}
    assert not a.loc["00T000000000003", "done"]
    assert a.loc["00T000000000002", "occurred_at"] == pd.Timestamp("2023-02-09 10:05")  # CompletedDateTime, UTC
    assert a.loc["00T000000000001", "deal_id"] == "0060000000000A1" and a.loc["00T000000000002", "deal_id"] == ""
    assert any('"Seguimiento"' in w for w in ds.warnings)  # listed once as not counted
    assert set(ds.reps["name"]) == {"Ana Núñez", "Luis Peña"}


def test_salesforce_report_export_with_footer_and_us_dates():
    config = sf_config(input={"dayfirst": False})
    ds = load_dataset(str(ASSETS / "salesforce-report-export.csv"), config)
    assert list(ds.deals["deal_id"]) == ["0060000000000B1", "0060000000000B2"]  # the footer rows are gone
    assert list(ds.deals["owner"]) == ["Ana Núñez", "Luis Peña"]
    assert ds.deals.loc[0, "created_at"] == pd.Timestamp("2023-02-06 18:00")  # 02/07/2023 00:00 UTC
    with pytest.raises(InputError, match=r'dates like "02/07/2023".*\[input\] dayfirst'):
        load_dataset(str(ASSETS / "salesforce-report-export.csv"), sf_config())


def test_unknown_preset_is_refused():
    with pytest.raises(ConfigError, match="salesforce"):
        parse_config({"preset": "sugarcrm"})


needs_datasets = pytest.mark.skipif(not DATASETS.is_dir(), reason="the shared data sets are not beside this clone")


@needs_datasets
def test_real_latam_export_stage_entries_and_converted_amounts():
    folder = DATASETS / "salesforce-data-export-latam"
    ds = load_dataset(str(folder), sf_config())
    assert len(ds.deals) == 512
    assert len(ds.history) == 1331  # of 2,809 history rows; the rest are amount / date edits
    assert len(ds.activities) == 507 + 24
    assert ds.deals["deal_id"].is_unique
    # independent: Amount / ConversionRate of the record's currency, read with pandas alone
    opp = pd.read_csv(folder / "Opportunity.csv", encoding="latin-1")
    rates = pd.read_csv(folder / "CurrencyType.csv").set_index("IsoCode")["ConversionRate"]
    expected = (opp["Amount"] / opp["CurrencyIsoCode"].map(rates)).sum()
    assert ds.deals["amount"].sum() == pytest.approx(expected, rel=1e-9)
    assert (ds.deals["stage"] == "Negociación").sum() == 61  # decoded text, not mojibake


@needs_datasets
@pytest.mark.parametrize("path", [
    "salesforce-dev-org-sample",
    "salesforce-sample-export-variants/elastic-dbt_duckdb/opportunity.bulk-api-style.csv",
    "salesforce-sample-export-variants/earthfink1982-salesforce-in-powerbi",
])
def test_salesforce_demo_data_in_every_export_shape(path):
    ds = load_dataset(str(DATASETS / path), parse_config({"preset": "salesforce", "input": {"dayfirst": False}}))
    raw = pd.read_csv(DATASETS / path if path.endswith(".csv") else DATASETS / path / "Opportunity.csv", dtype=str)
    assert len(ds.deals) == len(raw) >= 31
    raw.columns = [c.lower() for c in raw.columns]
    won = raw["iswon"].str.lower().isin(["1", "true"])
    closed = raw["isclosed"].str.lower().isin(["1", "true"])
    assert (ds.deals["status"] == "won").sum() == won.sum()
    assert (ds.deals["status"] == "lost").sum() == (closed & ~won).sum()


def test_mixed_currencies_without_rates_are_refused(tmp_path):
    for f in (ASSETS / "salesforce-latin1").glob("*.csv"):
        if f.name != "CurrencyType.csv":
            (tmp_path / f.name).write_bytes(f.read_bytes())
    with pytest.raises(InputError, match=r"several currencies \(MXN, USD\).*CurrencyType.csv"):
        load_dataset(str(tmp_path), sf_config())


def test_preset_on_the_command_line(tmp_path):
    (tmp_path / "salesreport.toml").write_text(
        '[report]\ntimezone = "UTC"\n[funnel.stages]\nwork_started = ["Interes"]\n'
        'demo_run = ["Diseño Propuesta"]\nqualified = ["Negociación"]\n', encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "salesreport", "monthly", "--preset", "salesforce", "--data",
                           str(ASSETS / "salesforce-latin1"), "--month", "2023-05", "--format", "json"],
                          capture_output=True, text=True, cwd=tmp_path, check=False)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["metrics"]["deals_signed"]["value"] == 1
    assert doc["metrics"]["revenue_month"]["value"] == pytest.approx(100.0)


def test_hubspot_internal_names_export_and_the_monthly_report(tmp_path):
    (tmp_path / "deals.csv").write_text(
        "hs_object_id,dealname,dealstage,amount,createdate,closedate,hubspot_owner_id,pipeline,"
        "hs_v2_date_entered_appointmentscheduled,hs_v2_date_entered_contractsent,hs_v2_date_entered_closedwon\n"
        "11,A,closedwon,1000,2026-03-01 09:00,2026-03-20 10:00,Eva,default,2026-03-02 09:00,2026-03-10 09:00,"
        "2026-03-20 10:00\n"
        "12,B,appointmentscheduled,500,2026-03-05 09:00,2026-04-30,Eva,default,2026-03-06 09:00,,\n",
        encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "salesreport", "monthly", "--preset", "hubspot", "--data",
                           str(tmp_path / "deals.csv"), "--month", "2026-03", "--format", "json"],
                          capture_output=True, text=True, cwd=tmp_path, check=False)
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads(proc.stdout)["metrics"]
    assert metrics["deals_signed"]["value"] == 1 and metrics["revenue_month"]["value"] == 1000
    assert metrics["demo_appointed"]["value"] == 2  # the 2026 cohort


def test_hubspot_export_without_a_stage_column_names_it(tmp_path):
    (tmp_path / "export.csv").write_text("Record ID,Deal Name,Create Date\n1,A,2026-03-01\n", encoding="utf-8")
    with pytest.raises(InputError, match=r'export.csv: this HubSpot deals export has no column "Deal Stage"'):
        load_dataset(str(tmp_path / "export.csv"), parse_config({"preset": "hubspot"}))


def test_pipedrive_says_its_history_is_an_approximation_and_needs_rates_for_two_currencies():
    with pytest.raises(InputError, match=r'"Deal - Value".*EUR \(2 deals\), USD \(1 deals\)'):
        load_dataset(str(ASSETS / "pipedrive"), parse_config({"preset": "pipedrive"}))
    ds = load_dataset(str(ASSETS / "pipedrive" / "deals-export.csv"),
                      parse_config({"preset": "pipedrive", "plan": {"currency": "EUR", "rates": {"USD": 0.9}}}))
    assert any("Pipedrive's deals export has no stage history" in w and "approximations" in w for w in ds.warnings)
    assert len(ds.activities) == 5  # the activities export beside the deals file, recognised by its headers


def test_amocrm_cp1251_semicolon_export_runs_the_monthly_report_and_says_what_is_approximate(tmp_path):
    export = ASSETS / "amocrm" / "amocrm_export_leads_2026-02-28.csv"
    assert b";" in export.read_bytes().split(b"\r\n")[0] and "Бюджет".encode("cp1251") in export.read_bytes()
    proc = subprocess.run([sys.executable, "-m", "salesreport", "monthly", "--preset", "amocrm", "--data", str(export),
                           "--month", "2026-02", "--format", "json"],
                          capture_output=True, text=True, cwd=tmp_path, check=False)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["metrics"]["deals_signed"]["value"] == 1
    assert doc["metrics"]["revenue_month"]["value"] == 150000
    assert any("No stage_history table" in w and "approximations" in w for w in doc["warnings"])


def test_bitrix24_stage_nothing_places_is_a_warning_with_the_line_to_add(tmp_path):
    (tmp_path / "deals.csv").write_text(
        "ID;Название сделки;Стадия сделки;Сумма;Валюта;Ответственный;Дата создания\n"
        "1;A;Переговоры;1 000,00;RUB;Анна;01.03.2026 10:00:00\n2;B;Переговоры;;RUB;Анна;02.03.2026 10:00:00\n"
        "3;C;C4:WON;500;RUB;Анна;03.03.2026 10:00:00\n", encoding="utf-8")
    # nothing in this export says where "Переговоры" stands (no status, probability, order or history, and
    # no word of it is known): the report runs, its deals off the funnel, and the warning gives the line to add
    ds = load_dataset(str(tmp_path / "deals.csv"), parse_config({"preset": "bitrix24"}))
    message = next(w for w in ds.warnings if "not on the funnel" in w)
    assert 'column "Стадия сделки"' in message and '"Переговоры" (2 deals)' in message
    assert '[funnel.stages]\nwork_started = ["Переговоры"]' in message
    assert list(ds.deals["stage_idx"]) == [NO_STAGE, NO_STAGE, STAGES.index("signed")]
    ds = load_dataset(str(tmp_path / "deals.csv"),
                      parse_config({"preset": "bitrix24", "funnel": {"stages": {"replied_positive": ["Переговоры"]}}}))
    assert list(ds.deals["amount"].fillna(-1)) == [1000.0, -1, 500.0]
    assert ds.deals.loc[2, "stage_idx"] == STAGES.index("signed")  # C4:WON: the won stage of funnel 4


def test_a_crm_xlsx_export_reads_like_its_csv_with_serial_dates(tmp_path):
    from openpyxl import Workbook

    csv_deals = pd.read_csv(ASSETS / "pipedrive" / "deals-export.csv", dtype=str, keep_default_na=False,
                            encoding="utf-8-sig")
    wb = Workbook()
    ws = wb.active
    ws.title = "Deals"
    ws.append(list(csv_deals.columns))
    for row in csv_deals.itertuples(index=False):
        cells = list(row)
        cells[11] = (pd.Timestamp(cells[11]) - pd.Timestamp("1899-12-30")) / pd.Timedelta(days=1)  # Deal created
        ws.append(cells)
    wb.save(tmp_path / "pipedrive-deals.xlsx")
    config = parse_config({"preset": "pipedrive", "plan": {"currency": "EUR", "rates": {"USD": 0.9}}})
    from_xlsx = load_dataset(str(tmp_path / "pipedrive-deals.xlsx"), config)
    from_csv = load_dataset(str(ASSETS / "pipedrive" / "deals-export.csv"), config)
    assert from_xlsx.sources["deals"] == "pipedrive-deals.xlsx [Deals]"
    columns = ["deal_id", "owner", "amount", "created_at", "stage", "status", "signed_at", "lost_at"]
    pd.testing.assert_frame_equal(from_xlsx.deals[columns], from_csv.deals[columns])
    pd.testing.assert_frame_equal(from_xlsx.history, from_csv.history)
