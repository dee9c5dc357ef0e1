"""What real exports met on a first run: a time zone that is only a guess, the deals behind a warning, figures
that are unknown rather than zero, the currency the data names, columns without a header."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from .cli_run import report_json, run

ASSETS = Path(__file__).parent / "assets"



def test_init_takes_the_team_time_zone_and_says_when_it_only_guessed(tmp_path):
    proc = run("init", str(ASSETS / "hubspot"), "--timezone", "America/Mexico_City", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "salesreport.toml").read_text(encoding="utf-8")
    assert tomllib.loads(text)["report"]["timezone"] == "America/Mexico_City"
    assert "given to init --timezone" in text and "a guess" not in proc.stderr
    proc = run("init", str(ASSETS / "hubspot"), "--force", cwd=tmp_path, tz="Asia/Tokyo")
    assert proc.returncode == 0, proc.stderr
    assert "Time zone Asia/Tokyo is this machine's, a guess" in proc.stderr and "--timezone" in proc.stderr
    assert "this machine's time zone: a guess" in (tmp_path / "salesreport.toml").read_text(encoding="utf-8")


def test_init_refuses_a_time_zone_that_is_none_as_a_usage_error(tmp_path):
    proc = run("init", str(ASSETS / "hubspot"), "--timezone", "Mars/Olympus", cwd=tmp_path)
    assert proc.returncode == 2
    assert "--timezone 'Mars/Olympus' is not an IANA time zone" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "salesreport.toml").exists()


def test_a_history_that_moves_backwards_names_its_deals(tmp_path):
    (tmp_path / "deals.csv").write_text("deal_id,created_at,stage\nD1,2026-03-01,offer_sent\nD2,2026-03-01,offer_sent\n"
                                        "D3,2026-03-01,qualified\n", encoding="utf-8")
    (tmp_path / "stage_history.csv").write_text(
        "deal_id,stage,entered_at\nD1,offer_sent,2026-03-02\nD1,qualified,2026-03-03\nD1,offer_sent,2026-03-04\n"
        "D2,offer_sent,2026-03-02\nD3,demo_run,2026-03-02\nD3,replied,2026-03-05\nD3,qualified,2026-03-06\n",
        encoding="utf-8")
    proc = run("monthly", "--data", str(tmp_path), "--month", "2026-03", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    warning = next(w for w in json.loads(proc.stdout)["warnings"] if "backwards" in w)
    assert warning.startswith("2 deal(s)") and "(e.g. D1, D3)" in warning
    proc = run("check", "--data", str(tmp_path), "--format", "json", cwd=tmp_path)
    finding = next(f for f in json.loads(proc.stdout)["findings"] if "backwards" in f["message"])
    assert finding["deal_ids"] == ["D1", "D3"]


def test_without_activities_untouched_deals_is_unknown_not_every_open_deal(tmp_path):
    (tmp_path / "deals.csv").write_text("deal_id,created_at,stage\nD1,2026-03-01,work_started\n", encoding="utf-8")
    proc = run("monthly", "--data", str(tmp_path), "--month", "2026-03", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["metrics"]["untouched_deals"]["value"] is None
    (tmp_path / "activities.csv").write_text("owner,type,occurred_at,deal_id\nAnna,call,2026-02-01,D9\n",
                                             encoding="utf-8")
    proc = run("monthly", "--data", str(tmp_path), "--month", "2026-03", "--format", "json", cwd=tmp_path)
    assert json.loads(proc.stdout)["metrics"]["untouched_deals"]["value"] == 1  # now known: nobody touched D1


def test_the_json_currency_is_the_one_the_data_names(tmp_path):
    (tmp_path / "deals.csv").write_text("deal_id,created_at,amount,currency\nD1,2026-03-01,100,EUR\n"
                                        "D2,2026-03-02,200,EUR\n", encoding="utf-8")
    assert report_json("monthly", "--data", str(tmp_path), "--month", "2026-03", cwd=tmp_path)["currency"] == "EUR"
    (tmp_path / "deals.csv").write_text("deal_id,created_at,amount\nD1,2026-03-01,100\n", encoding="utf-8")
    proc = run("monthly", "--data", str(tmp_path), "--month", "2026-03", "--format", "json", cwd=tmp_path)
    assert json.loads(proc.stdout)["currency"] is None  # nothing names one, and no [plan] currency


def test_a_column_without_a_header_is_named_for_what_it_is(tmp_path):
    (tmp_path / "deals.csv").write_text("opportunity,,created\nD1,x,2026-03-01\n", encoding="utf-8")
    proc = run("monthly", "--data", str(tmp_path), "--month", "2026-03", cwd=tmp_path)
    assert proc.returncode == 1
    assert "found: opportunity, column 2 (no header), created" in proc.stderr and "Unnamed" not in proc.stderr


def test_credit_notes_are_listed_and_left_out_of_revenue_unless_kept(tmp_path):
    (tmp_path / "deals.csv").write_text(
        "deal_id,created_at,stage,status,amount,signed_at\nD1,2026-03-01,signed,won,1000,2026-03-05\n"
        "D2,2026-03-02,signed,won,-300,2026-03-06\nD3,2026-03-02,signed,won,(50),2026-03-07\n", encoding="utf-8")
    doc = report_json("monthly", "--data", str(tmp_path), "--month", "2026-03", cwd=tmp_path)
    assert doc["metrics"]["revenue_month"]["value"] == 1000 and doc["metrics"]["deals_signed"]["value"] == 3
    warning = next(w for w in doc["warnings"] if "negative amount" in w)
    assert "2 deal(s)" in warning and "D2 (-300), D3 (-50)" in warning and 'negative_amounts = "keep"' in warning
    proc = run("check", "--data", str(tmp_path), "--format", "json", cwd=tmp_path)
    findings = json.loads(proc.stdout)["findings"]
    assert [f["deal_ids"] for f in findings if "negative amount" in f["message"]] == [["D2", "D3"]]
    assert not any(f["code"] in ("signed_without_amount", "zero_amount_after_qualified") for f in findings)
    (tmp_path / "salesreport.toml").write_text('[input]\nnegative_amounts = "keep"\n', encoding="utf-8")
    proc = run("monthly", "--data", str(tmp_path), "--month", "2026-03", "--format", "json", cwd=tmp_path)
    doc = json.loads(proc.stdout)
    assert doc["metrics"]["revenue_month"]["value"] == 650
    assert not any("negative amount" in w for w in doc["warnings"])


def test_every_bad_cell_of_a_column_is_in_one_message(tmp_path):
    rows = "".join(f"D{i},{'2026-03-01' if i % 2 else f'soon {i}'}\n" for i in range(1, 51))
    (tmp_path / "deals.csv").write_text("deal_id,created_at\n" + rows, encoding="utf-8")
    proc = run("monthly", "--data", str(tmp_path), "--month", "2026-03", cwd=tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    message = " ".join(proc.stderr.split())
    # the first bad cell with the fix, then the next 19 by row and how many more: 25 bad cells in all
    assert 'row 3, column "created_at": "soon 2" is not a date' in message
    assert '24 more cell(s) of this column are like it, in rows 5 ("soon 4"), 7 ("soon 6")' in message
    assert '41 ("soon 40") and 5 more; fix them all' in message


def test_zoho_dates_and_any_other_layout_through_date_format(tmp_path):
    (tmp_path / "deals.csv").write_text("deal_id,created_at\nD1,\"15 Apr, 2021 00:02:00\"\nD2,03-Apr-2021\n",
                                        encoding="utf-8")
    proc = run("monthly", "--data", str(tmp_path), "--month", "2021-04", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (tmp_path / "deals.csv").write_text("deal_id,created_at\nD1,2021|04|15 10:00\nD2,2021|04|16 11:30\n",
                                        encoding="utf-8")
    proc = run("monthly", "--data", str(tmp_path), "--month", "2021-04", cwd=tmp_path)
    assert proc.returncode == 1 and "[input] date_format" in " ".join(proc.stderr.split())
    (tmp_path / "salesreport.toml").write_text('[input]\ndate_format = ["%d.%m.%y", "%Y|%m|%d %H:%M"]\n',
                                               encoding="utf-8")
    proc = run("monthly", "--data", str(tmp_path), "--month", "2021-04", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (tmp_path / "salesreport.toml").write_text('[input]\ndate_format = "day-month"\n', encoding="utf-8")
    proc = run("monthly", "--data", str(tmp_path), "--month", "2021-04", cwd=tmp_path)
    assert proc.returncode == 1 and "date_format must be a strftime pattern" in proc.stderr


def test_a_won_deal_without_a_date_takes_its_last_stage_change_as_a_lost_one_does(tmp_path):
    (tmp_path / "deals.csv").write_text("deal_id,created_at,status,amount\nD1,2026-02-10,won,900\n"
                                        "D2,2026-02-11,lost,100\n", encoding="utf-8")
    (tmp_path / "stage_history.csv").write_text(
        "deal_id,stage,entered_at\nD1,work_started,2026-02-10\nD1,offer_sent,2026-03-12\n"
        "D2,work_started,2026-02-11\nD2,qualified,2026-03-02\n", encoding="utf-8")
    doc = report_json("monthly", "--data", str(tmp_path), "--month", "2026-03", cwd=tmp_path)
    assert doc["metrics"]["deals_signed"]["value"] == 1 and doc["metrics"]["revenue_month"]["value"] == 900
    assert any(w.startswith("1 won deal(s) have no signed date; their last stage change is taken") and "D1" in w
               for w in doc["warnings"])


def test_amocrm_continuation_rows_are_skipped_and_counted(tmp_path):
    (tmp_path / "amocrm_export_leads.csv").write_text(
        "ID;Название сделки;Бюджет;Этап сделки;Дата создания;Ответственный\n"
        "11;Лид 1;1000;Первичный контакт;01.03.2026 10:00:00;Анна\n"
        ";;;;;\n"
        ";Лид 1;;Первичный контакт;;\n"
        "12;Лид 2;500;Первичный контакт;02.03.2026 10:00:00;Анна\n", encoding="utf-8")
    (tmp_path / "salesreport.toml").write_text('preset = "amocrm"\n', encoding="utf-8")
    proc = run("monthly", "--data", str(tmp_path / "amocrm_export_leads.csv"), "--month", "2026-03", "--format",
               "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert any("amoCRM: 1 continuation row(s) without an ID" in w for w in doc["warnings"])
    assert doc["metrics"]["worked"]["value"] == 2


def test_a_zoho_potentials_export_is_recognised(tmp_path):
    (tmp_path / "Potentials_001.csv").write_text(
        "Potential Id,Potential Name,Potential Owner,Stage,Amount,Closing Date,Created Time\n"
        "zcrm_1,Big one,Ann,Closed Won,1500,2021-04-20,\"15 Apr, 2021 00:02:00\"\n"
        "zcrm_2,Small one,Ann,Qualification,200,2021-05-01,\"16 Apr, 2021 09:30:00\"\n", encoding="utf-8")
    proc = run("init", str(tmp_path / "Potentials_001.csv"), "--timezone", "UTC", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert tomllib.loads((tmp_path / "salesreport.toml").read_text(encoding="utf-8"))["preset"] == "zoho"
    assert report_json("monthly", "--month", "2021-04", cwd=tmp_path)["metrics"]["revenue_month"]["value"] == 1500


def test_bitrix24_rest_dump_closed_flag_is_a_flag_not_a_date(tmp_path):
    (tmp_path / "deals.csv").write_text(
        "ID,TITLE,STAGE_ID,OPPORTUNITY,CURRENCY_ID,DATE_CREATE,CLOSEDATE,CLOSED,ASSIGNED_BY_NAME\n"
        "1,A,WON,700,RUB,2026-03-01T10:00:00+03:00,2026-03-15T00:00:00+03:00,Y,Anna\n"
        "2,B,NEW,300,RUB,2026-03-02T10:00:00+03:00,2026-04-30T00:00:00+03:00,N,Anna\n", encoding="utf-8")
    (tmp_path / "salesreport.toml").write_text('preset = "bitrix24"\n[report]\ntimezone = "Europe/Moscow"\n',
                                               encoding="utf-8")
    proc = run("monthly", "--data", str(tmp_path / "deals.csv"), "--month", "2026-03", "--format", "json",
               cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads(proc.stdout)["metrics"]
    assert metrics["deals_signed"]["value"] == 1 and metrics["revenue_month"]["value"] == 700


def test_won_and_closed_flags_give_the_status(tmp_path):
    (tmp_path / "deals.csv").write_text(
        "deal_id,created_at,stage,amount,close,Won,Closed\nD1,2026-03-01,Contract,1000,2026-03-10,TRUE,TRUE\n"
        "D2,2026-03-02,Contract,300,2026-03-11,FALSE,TRUE\nD3,2026-03-03,Contract,200,,FALSE,FALSE\n"
        "D4,2026-03-03,Contract,50,2026-03-12,,\n", encoding="utf-8")
    (tmp_path / "salesreport.toml").write_text('[columns.deals]\nwon = "Won"\nclosed = "Closed"\nclosed_at = "close"\n',
                                               encoding="utf-8")
    from salesreport.config import load_config
    from salesreport.sources.canonical import load_dataset

    ds = load_dataset(str(tmp_path), load_config(tmp_path / "salesreport.toml"))
    assert list(ds.deals["status"]) == ["won", "lost", "open", "open"]  # empty flags: neither won nor closed
    metrics = report_json("monthly", "--data", str(tmp_path), "--month", "2026-03", cwd=tmp_path)["metrics"]
    assert metrics["deals_signed"]["value"] == 1 and metrics["revenue_month"]["value"] == 1000
    (tmp_path / "deals.csv").write_text("deal_id,created_at,Won\nD1,2026-03-01,maybe\n", encoding="utf-8")
    proc = run("monthly", "--data", str(tmp_path), "--month", "2026-03", cwd=tmp_path)
    assert proc.returncode == 1 and '"maybe" is not true or false' in proc.stderr


def test_init_on_a_salesforce_export_without_id_falls_back_to_column_guesses(tmp_path):
    (tmp_path / "Opportunity.csv").write_text(
        "External_Id__c,Name,StageName,Amount,CloseDate,IsClosed,IsWon,DateTimeCreated__c,OwnerId\n"
        "X1,Acme,Prospecting,100,2026-03-10,0,0,2026-03-01 10:00:00,005A\n"
        "X2,Beta,Closed Won,500,2026-03-12,1,1,2026-03-02 10:00:00,005A\n", encoding="utf-8")
    proc = run("init", "Opportunity.csv", "--timezone", "UTC", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "looks like Salesforce's export, but the preset cannot read it" in proc.stderr
    assert "would stop" not in proc.stderr
    doc = tomllib.loads((tmp_path / "salesreport.toml").read_text(encoding="utf-8"))
    assert "preset" not in doc
    assert doc["columns"]["deals"] == {"deal_id": "External_Id__c", "created_at": "DateTimeCreated__c",
                                       "owner": "OwnerId", "amount": "Amount", "stage": "StageName",
                                       "closed_at": "CloseDate", "won": "IsWon", "closed": "IsClosed"}
    assert report_json("monthly", "--month", "2026-03", cwd=tmp_path)["metrics"]["revenue_month"]["value"] == 500


def test_every_preset_honours_columns_deals_over_its_own_reading(tmp_path):
    (tmp_path / "deals.csv").write_text(
        "ID,TITLE,STAGE_ID,OPPORTUNITY,CURRENCY_ID,DATE_CREATE,CLOSEDATE,CLOSED,ASSIGNED_BY_NAME,DATE_MODIFY\n"
        "1,A,WON,700,RUB,2026-03-01T10:00:00+03:00,2026-04-15T00:00:00+03:00,Y,Anna,2026-03-18T12:00:00+03:00\n"
        "2,B,NEW,300,RUB,2026-03-02T10:00:00+03:00,2026-04-30T00:00:00+03:00,N,Anna,2026-03-03T12:00:00+03:00\n",
        encoding="utf-8")
    config = tmp_path / "salesreport.toml"
    base = 'preset = "bitrix24"\n[report]\ntimezone = "Europe/Moscow"\n'
    for extra, march in (("", 0), ('[columns.deals]\nclosed_at = "DATE_MODIFY"\n', 1)):  # the preset: CLOSEDATE
        config.write_text(base + extra, encoding="utf-8")
        proc = run("monthly", "--data", str(tmp_path / "deals.csv"), "--month", "2026-03", "--format", "json",
                   cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["metrics"]["deals_signed"]["value"] == march
    config.write_text(base + '[columns.deals]\nclosed_at = "Closed on"\n', encoding="utf-8")
    proc = run("monthly", "--data", str(tmp_path / "deals.csv"), "--month", "2026-03", cwd=tmp_path)
    assert proc.returncode == 1 and '[columns.deals] closed_at = "Closed on" names no column' in proc.stderr


def test_salesforce_rows_keep_their_place_in_the_export_for_messages(tmp_path):
    (tmp_path / "Opportunity.csv").write_text(
        "Id,IsDeleted,Name,StageName,Amount,CloseDate,IsClosed,IsWon,CreatedDate\n"
        "0061,1,Gone,Prospecting,10,2026-03-10,0,0,2026-03-01 10:00:00\n"
        "0062,0,Kept,Prospecting,ten,2026-03-10,0,0,2026-03-01 10:00:00\n", encoding="utf-8")
    (tmp_path / "salesreport.toml").write_text('preset = "salesforce"\n', encoding="utf-8")
    proc = run("monthly", "--data", str(tmp_path), "--month", "2026-03", cwd=tmp_path)
    assert proc.returncode == 1 and 'row 3, column "Amount": "ten" is not an amount' in proc.stderr


def test_an_export_with_100000_unused_columns_reads_only_what_it_needs(tmp_path):
    header = ["deal_id", "created", "stage"] + [f"x{i}" for i in range(100_000)]
    rows = [",".join(header)] + [",".join([f"D{i}", "2026-03-02", "work_started"] + [""] * 100_000)
                                 for i in range(5)]
    (tmp_path / "deals.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    proc = run("monthly", "--data", str(tmp_path), "--month", "2026-03", cwd=tmp_path)
    # the message names the closest header among all 100,003 and lists the first 30 with how many more
    assert proc.returncode == 1
    message = " ".join(proc.stderr.split())
    assert 'The closest header is "created"' in message and "x26 … and 99973 more)" in message
    (tmp_path / "salesreport.toml").write_text('[columns.deals]\ncreated_at = "created"\n', encoding="utf-8")
    assert report_json("monthly", "--data", str(tmp_path), "--month", "2026-03", cwd=tmp_path)["metrics"]["worked"]["value"] == 5


def as_a_user_without_override(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The CLI as an ordinary user would run it: as root, without the capabilities that bypass permissions."""
    import shutil

    prefix = []
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: permissions cannot be taken away")
        prefix = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]
    return subprocess.run([*prefix, sys.executable, "-m", "salesreport", *args], capture_output=True, text=True,
                          cwd=cwd, check=False)


@pytest.mark.parametrize("mode", [0o000, 0o100, 0o400])
def test_a_data_folder_this_user_may_not_read_is_named(tmp_path, mode):
    data = tmp_path / "data"
    data.mkdir()
    (data / "deals.csv").write_text("deal_id,created_at\nD1,2026-03-02\n", encoding="utf-8")
    data.chmod(mode)
    try:
        proc = as_a_user_without_override("weekly", "--data", str(data), cwd=tmp_path)
    finally:
        data.chmod(0o755)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr and "unexpected" not in proc.stderr
    assert f"{data}: this user may not read the folder (permission denied)" in proc.stderr


def test_a_deals_file_this_user_may_not_read_is_named(tmp_path):
    (tmp_path / "deals.csv").write_text("deal_id,created_at\nD1,2026-03-02\n", encoding="utf-8")
    (tmp_path / "deals.csv").chmod(0o000)
    try:
        proc = as_a_user_without_override("weekly", "--data", str(tmp_path), cwd=tmp_path)
    finally:
        (tmp_path / "deals.csv").chmod(0o644)
    assert proc.returncode == 1 and "unexpected" not in proc.stderr
    assert "deals.csv: cannot be read (Permission denied). Give this user read permission" in proc.stderr
