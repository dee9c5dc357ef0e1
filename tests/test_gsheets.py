"""Google Sheets push and read, end to end: the CLI's real gspread/google-auth HTTPS traffic against the emulator."""

from __future__ import annotations

import csv
import json
import os
import pty
import re
import subprocess
import sys
from datetime import date

import pytest

from salesreport.errors import ConfigError
from salesreport.google import spreadsheet_key

from .sheets_emulator import SPREADSHEETS_SCOPE, serial
from .sheets_fixtures import ACCOUNT, KEY

WEEK = ("--week", "2026-W46")
INJECTION = '=IMPORTXML("http://x","//a")'


def push(google, *extra, report="weekly", period=WEEK, env=None):
    return google.run(report, "--data", str(google.data), *period, "--to", f"gsheet:{KEY}",
                      "--credentials", str(google.key_file), *extra, env=env)


def snapshot(book, title=None):
    """Everything a user sees of the sheets (ids aside): order, properties, cells, column widths."""
    def one(s):
        props = {k: v for k, v in s.properties.items() if k != "sheetId"}
        return {"properties": props, "cells": {f"{r},{c}": v for (r, c), v in sorted(s.cells.items())},
                "columns": dict(sorted(s.columns.items())), "rows": dict(sorted(s.rows.items()))}
    sheets = [s for s in book.sheets if title is None or s.title == title]
    return json.dumps([one(s) for s in sheets], sort_keys=True)


def by_id(sheet):
    """metric id → {column header: CellData} of a pushed trend sheet."""
    header = {c: sheet.cells[(3, c)]["userEnteredValue"]["stringValue"] for (r, c) in sheet.cells if r == 3}
    id_col = next(c for c, h in header.items() if h == "Id")
    out = {}
    for (r, c), cell in sheet.cells.items():
        if c == id_col and r > 3:
            out[cell["userEnteredValue"]["stringValue"]] = {
                header[cc]: sheet.cells.get((r, cc), {}) for cc in header}
    return out


def test_push_writes_values_formats_and_leaves_other_worksheets_alone(google):
    book = google.emulator.add_spreadsheet(KEY, sheets=("Notes", "Weekly", "Pipeline notes"), share_with=[ACCOUNT])
    notes = book.sheets[0]
    notes.cells[(1, 1)] = {"userEnteredValue": {"stringValue": "our own notes"}}
    notes.cells[(2, 2)] = {"userEnteredValue": {"formulaValue": "=Weekly!C4"}}
    before = snapshot(book, "Notes") + snapshot(book, "Pipeline notes")

    proc = push(google)
    assert proc.returncode == 0, proc.stderr
    assert f"Updated Weekly, Weekly by rep in https://docs.google.com/spreadsheets/d/{KEY}" in proc.stderr
    assert [s.title for s in book.sheets] == ["Notes", "Weekly", "Pipeline notes", "Weekly by rep"]
    assert snapshot(book, "Notes") + snapshot(book, "Pipeline notes") == before

    doc = json.loads(google.run("weekly", "--data", str(google.data), *WEEK, "--periods", "8",
                                "--format", "json").stdout)
    weekly = book.sheet("Weekly")
    props = weekly.properties
    assert props["gridProperties"]["frozenRowCount"] == 3 and props["gridProperties"]["frozenColumnCount"] == 2
    assert not props.get("hidden")
    rows = by_id(weekly)
    assert set(rows) == set(doc["metrics"])
    for metric_id, mv in doc["metrics"].items():
        cell = rows[metric_id]["2026-W46"]
        expected = mv["value"]
        assert cell.get("userEnteredValue", {}).get("numberValue") == expected, metric_id
    oldest = doc["periods"][0]
    for metric_id, mv in oldest["metrics"].items():
        assert rows[metric_id][oldest["period"]["label"]].get("userEnteredValue", {}).get("numberValue") == mv["value"]
    expected_formats = {"count": {"type": "NUMBER", "pattern": "#,##0"}, "ratio": {"type": "PERCENT", "pattern": "0.0%"},
                        "money": {"type": "CURRENCY", "pattern": '#,##0 "EUR"'}, "days": {"type": "NUMBER", "pattern": "0.0"},
                        "per_day": {"type": "NUMBER", "pattern": "0.0"}}
    units = {mv["unit"] for mv in doc["metrics"].values()}
    assert {"count", "ratio", "per_day"} <= units
    for metric_id, mv in doc["metrics"].items():
        assert rows[metric_id]["2026-W46"]["userEnteredFormat"]["numberFormat"] == expected_formats[mv["unit"]]
    coloured = {mv["status"]: rows[i]["2026-W46"]["userEnteredFormat"]["backgroundColor"]
                for i, mv in doc["metrics"].items() if mv["status"] in ("good", "bad")}
    assert coloured["good"] == pytest.approx({"red": 0xC6 / 255, "green": 0xEF / 255, "blue": 0xCE / 255})
    assert coloured["bad"] == pytest.approx({"red": 0xFF / 255, "green": 0xC7 / 255, "blue": 0xCE / 255})
    assert weekly.cells[(3, 1)]["userEnteredFormat"]["textFormat"]["bold"] is True
    # CRM and report text went in as RAW values only, never USER_ENTERED
    writes = [e for e in google.emulator.log if "values" in e["path"] and e["method"] in ("PUT", "POST")]
    assert writes and all('"valueInputOption": "RAW"' in e["body"] or e["query"].get("valueInputOption") == ["RAW"]
                          for e in writes)


def test_a_second_push_gives_the_same_sheets(google):
    book = google.emulator.add_spreadsheet(KEY, sheets=("Notes",), share_with=[ACCOUNT])
    assert push(google).returncode == 0
    first = snapshot(book)
    proc = push(google)
    assert proc.returncode == 0, proc.stderr
    assert snapshot(book) == first
    assert [s.title for s in book.sheets] == ["Notes", "Weekly", "Weekly by rep"]


def test_a_quarterly_push_has_the_quarters_and_its_lost_reasons(google):
    book = google.emulator.add_spreadsheet(KEY, sheets=("Notes",), share_with=[ACCOUNT])
    proc = push(google, "--periods", "4", report="quarterly", period=("--quarter", "2026-Q3"))
    assert proc.returncode == 0, proc.stderr
    assert [s.title for s in book.sheets] == ["Notes", "Quarterly", "Quarterly by rep", "Quarterly · Lost reasons"]
    doc = json.loads(google.run("quarterly", "--data", str(google.data), "--quarter", "2026-Q3", "--periods", "4",
                                "--format", "json").stdout)
    rows = by_id(book.sheet("Quarterly"))
    assert set(rows) == set(doc["metrics"]) and "revenue_quarter" in rows
    for metric_id in ("revenue_quarter", "revenue_qoq_growth", "revenue_plan_quarter", "lost_deals"):
        cell = rows[metric_id]["2026-Q3"].get("userEnteredValue", {}).get("numberValue")
        assert cell == doc["metrics"][metric_id]["value"], metric_id
    assert rows["revenue_quarter"]["2025-Q4"].get("userEnteredValue", {}).get("numberValue") == \
        doc["periods"][0]["metrics"]["revenue_quarter"]["value"]


def test_crm_text_that_looks_like_a_formula_is_stored_as_a_string(google):
    with (google.data / "reps.csv").open(encoding="utf-8") as fh:
        reps = list(csv.DictReader(fh))
    old = reps[0]["name"]
    reps[0]["name"] = INJECTION
    _rewrite(google.data / "reps.csv", reps)
    for table, column in (("deals", "owner"), ("stage_history", "owner"), ("activities", "owner")):
        rows = _read(google.data / f"{table}.csv")
        for row in rows:
            row[column] = INJECTION if row[column] == old else row[column]
        if table == "deals":
            for row in rows:
                row["competitor"] = INJECTION
        _rewrite(google.data / f"{table}.csv", rows)
    book = google.emulator.add_spreadsheet(KEY, share_with=[ACCOUNT])
    assert push(google).returncode == 0
    proc = push(google, report="team", period=("--month", "2026-10"))
    assert proc.returncode == 0, proc.stderr
    values = [cell["userEnteredValue"] for s in book.sheets for cell in s.cells.values() if "userEnteredValue" in cell]
    assert {"stringValue": INJECTION} in values  # the rep's name in "Weekly by rep"
    assert any(INJECTION in v.get("stringValue", "") for v in values if v != {"stringValue": INJECTION})  # win rate vs
    assert not any("formulaValue" in v for v in values)


def test_429_twice_then_success(google):
    book = google.emulator.add_spreadsheet(KEY, share_with=[ACCOUNT])
    google.emulator.fail(429, times=2, match=lambda method, path, body: path.endswith("values:batchUpdate"))
    proc = push(google)
    assert proc.returncode == 0, proc.stderr
    attempts = [e for e in google.emulator.log if e["path"].endswith("values:batchUpdate")]
    assert len(attempts) == 3
    assert "Weekly" in [s.title for s in book.sheets]


def test_a_500_during_the_swap_leaves_the_old_worksheet_and_exits_3(google):
    book = google.emulator.add_spreadsheet(KEY, share_with=[ACCOUNT])
    assert push(google).returncode == 0
    before = snapshot(book)
    swap = lambda method, path, body: '"deleteSheet"' in body and '"updateSheetProperties"' in body
    google.emulator.fail(500, times=100, match=swap)
    proc = push(google, env={"COLUMNS": "200"})
    assert proc.returncode == 3
    assert "kept answering 500" in proc.stderr and "left as they were" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert snapshot(book) == before  # the building worksheets were removed again


def test_429_for_ever_gives_up_after_the_configured_retries(google):
    google.emulator.add_spreadsheet(KEY, share_with=[ACCOUNT])
    google.emulator.fail(429, times=100, match=lambda method, path, body: method == "GET")
    proc = push(google)
    assert proc.returncode == 3
    assert "gave up after 3 retries" in proc.stderr
    assert len([e for e in google.emulator.log if e["method"] == "GET" and "spreadsheets" in e["path"]]) == 4


def test_403_names_the_service_account_and_prints_no_secret(google):
    google.emulator.add_spreadsheet(KEY, share_with=[])
    proc = push(google)
    assert proc.returncode == 3
    assert ACCOUNT in proc.stderr and "403" in proc.stderr
    tokens = [t for t in google.emulator.tokens]
    secret_bits = [google.private_key_pem.splitlines()[1], *tokens]
    assert not any(bit in proc.stderr + proc.stdout for bit in secret_bits)


def test_404_says_the_key_is_wrong(google):
    proc = push(google)
    assert proc.returncode == 3
    assert "the key is wrong" in proc.stderr


def test_only_the_spreadsheets_scope_is_requested_and_only_google_hosts_are_contacted(google):
    google.emulator.add_spreadsheet(KEY, share_with=[ACCOUNT])
    assert push(google).returncode == 0
    assert google.emulator.last_scopes == [SPREADSHEETS_SCOPE]
    hosts = {e["host"] for e in google.emulator.log}
    assert hosts <= {"oauth2.googleapis.com", "sheets.googleapis.com", "iamcredentials.googleapis.com"}
    assert all(e["authorization"].startswith("Bearer ya29.test-") for e in google.emulator.log
               if e["host"] == "sheets.googleapis.com")


def test_credentials_from_the_environment_and_missing_credentials(google):
    google.emulator.add_spreadsheet(KEY, share_with=[ACCOUNT])
    args = ("weekly", "--data", str(google.data), *WEEK, "--to", f"gsheet:{KEY}")
    proc = google.run(*args, env={"GOOGLE_APPLICATION_CREDENTIALS": str(google.key_file)})
    assert proc.returncode == 0, proc.stderr
    missing = google.run(*args, env={"HOME": str(google.tmp), "GOOGLE_APPLICATION_CREDENTIALS": ""})
    assert missing.returncode == 1
    assert "--credentials" in missing.stderr and "GOOGLE_APPLICATION_CREDENTIALS" in missing.stderr


def test_the_sheets_whole_address_works_as_the_target(google):
    """What a user copies from the browser's address bar, without the gsheet: prefix."""
    book = google.emulator.add_spreadsheet(KEY, share_with=[ACCOUNT])
    proc = google.run("weekly", "--data", str(google.data), *WEEK, "--credentials", str(google.key_file),
                      "--to", f"https://docs.google.com/spreadsheets/d/{KEY}/edit#gid=0")
    assert proc.returncode == 0, proc.stderr
    assert "Weekly" in [s.title for s in book.sheets]


def test_a_target_that_is_not_a_sheet_is_refused(google):
    proc = google.run("weekly", "--data", str(google.data), *WEEK, "--to", "report.xlsx")
    assert proc.returncode == 1 and "gsheet:KEY" in proc.stderr


@pytest.mark.parametrize("target", [
    f"gsheet:{KEY}", f"gsheet:https://docs.google.com/spreadsheets/d/{KEY}/edit#gid=0", KEY,
])
def test_spreadsheet_key_from_key_or_url(target):
    assert spreadsheet_key(target) == KEY


def test_spreadsheet_key_refuses_nonsense():
    with pytest.raises(ConfigError, match="gsheet:KEY"):
        spreadsheet_key("gsheet:not a key")


# --- reading ---------------------------------------------------------------------------------------

DATE_COLUMNS = {"created_at", "signed_at", "lost_at", "closed_at", "entered_at", "hire_date", "left_at",
                "expected_close_date"}


def _read(path):
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _rewrite(path, rows):
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def upload(book, folder, typed=True):
    """Put each CSV into a worksheet as a person would: amounts as numbers, date-only cells as dates."""
    for table in ("deals", "stage_history", "activities", "reps"):
        with (folder / f"{table}.csv").open(encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        book.sheets.append(type(book.sheets[0])({
            "sheetId": 100 + len(book.sheets), "title": table, "index": len(book.sheets), "sheetType": "GRID",
            "gridProperties": {"rowCount": len(rows) + 5, "columnCount": 26}}))
        sheet = book.sheets[-1]
        header = rows[0]
        for r, row in enumerate(rows, start=1):
            for c, text in enumerate(row, start=1):
                if text == "":
                    continue
                cell = {"userEnteredValue": {"stringValue": text}}
                name = header[c - 1]
                if typed and r > 1 and name in ("amount", "monthly_quota"):
                    cell = {"userEnteredValue": {"numberValue": float(text)}}
                elif typed and r > 1 and name in DATE_COLUMNS and len(text) == 10:
                    cell = {"userEnteredValue": {"numberValue": serial(date.fromisoformat(text))},
                            "userEnteredFormat": {"numberFormat": {"type": "DATE", "pattern": "yyyy-mm-dd"}}}
                sheet.cells[(r, c)] = cell


@pytest.mark.parametrize("report,period", [("weekly", WEEK), ("monthly", ("--month", "2026-10"))])
def test_reading_from_a_sheet_equals_reading_the_csv_files(google, report, period):
    book = google.emulator.add_spreadsheet(KEY, sheets=("README",), share_with=[ACCOUNT])
    upload(book, google.data)
    from_csv = google.run(report, "--data", str(google.data), *period, "--format", "json")
    from_sheet = google.run(report, "--data", f"gsheet:{KEY}", *period, "--format", "json",
                            "--config", str(google.data / "salesreport.toml"),
                            "--credentials", str(google.key_file))
    assert from_csv.returncode == 0 and from_sheet.returncode == 0, from_sheet.stderr
    assert json.loads(from_sheet.stdout) == json.loads(from_csv.stdout)
    reads = [e for e in google.emulator.log if e["path"].endswith("values:batchGet")]
    assert len(reads) == 1  # one request for all four worksheets


def test_a_bad_cell_in_a_worksheet_names_worksheet_row_and_column(google):
    rows = _read(google.data / "activities.csv")
    rows[3]["occurred_at"] = "next Tuesday"
    _rewrite(google.data / "activities.csv", rows)
    book = google.emulator.add_spreadsheet(KEY, share_with=[ACCOUNT])
    upload(book, google.data)
    proc = google.run("weekly", "--data", f"gsheet:{KEY}", *WEEK, "--config", str(google.data / "salesreport.toml"),
                      "--credentials", str(google.key_file), env={"COLUMNS": "300"})
    assert proc.returncode == 1
    assert f'Google Sheet {KEY}, worksheet "activities", row 5, column "occurred_at"' in proc.stderr
    assert "next Tuesday" in proc.stderr and "Traceback" not in proc.stderr


def test_worksheet_names_are_mappable_and_a_missing_deals_worksheet_is_named(google):
    book = google.emulator.add_spreadsheet(KEY, share_with=[ACCOUNT])
    upload(book, google.data)
    book.sheet("deals").properties["title"] = "Deals export"
    config = google.data / "salesreport.toml"
    args = ("weekly", "--data", f"gsheet:{KEY}", *WEEK, "--config", str(config), "--credentials", str(google.key_file))
    missing = google.run(*args, env={"COLUMNS": "300"})
    assert missing.returncode == 1 and 'no worksheet "deals"' in missing.stderr and "Deals export" in missing.stderr
    text = config.read_text().replace("[google]", '[sources.worksheets]\ndeals = "Deals export"\n\n[google]')
    config.write_text(text)
    assert google.run(*args).returncode == 0
    check = google.run("check", "--data", f"gsheet:{KEY}", "--config", str(config), "--credentials",
                       str(google.key_file), "--format", "json")
    assert "findings" in json.loads(check.stdout), check.stderr


def test_authorized_user_credentials_and_sources_spreadsheet_in_config(google):
    book = google.emulator.add_spreadsheet(KEY, share_with=["ops@acme.example"])
    upload(book, google.data)
    google.emulator.refresh_tokens["1//test-refresh-token"] = "ops@acme.example"
    user = google.tmp / "authorized-user.json"
    user.write_text(json.dumps({"type": "authorized_user", "client_id": "123.apps.googleusercontent.com",
                                "client_secret": "test-secret", "refresh_token": "1//test-refresh-token"}))
    config = google.data / "salesreport.toml"
    text = config.read_text().replace("[google]", f'[google]\ncredentials = "{user}"')
    config.write_text(re.sub(r"\[sources\]\n(.+\n)+", f'[sources]\nspreadsheet = "gsheet:{KEY}"\n', text))
    proc = google.run("weekly", *WEEK, "--config", str(config), "--to", f"gsheet:{KEY}")
    assert proc.returncode == 0, proc.stderr
    assert "Weekly" in [s.title for s in book.sheets]
    assert google.emulator.log[0]["host"] == "oauth2.googleapis.com"
    assert "grant_type=refresh_token" in google.emulator.log[0]["body"]


def test_progress_bar_on_a_terminal_only(google):
    google.emulator.add_spreadsheet(KEY, share_with=[ACCOUNT])
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "salesreport", "weekly", "--data", str(google.data), *WEEK, "--to", f"gsheet:{KEY}",
         "--credentials", str(google.key_file)],
        stdin=secondary, stdout=secondary, stderr=secondary, cwd=google.tmp, env={**google.env, "TERM": "xterm"})
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    assert proc.wait(timeout=120) == 0
    os.close(primary)
    assert "Pushing to Google Sheets" in b"".join(chunks).decode("utf-8", "replace")
    quiet = push(google)  # no TTY: one line, no bar
    assert quiet.returncode == 0 and "Pushing" not in quiet.stderr
