"""A workbook with one sheet per table reads the same as the CSV folder."""

from __future__ import annotations

import csv
import json
from datetime import datetime

import pandas as pd
import pytest
from openpyxl import Workbook

from salesreport.config import parse_config
from salesreport.errors import InputError
from salesreport.sources.canonical import load_dataset

from .test_outputs import SAMPLE, run_cli


def test_workbook_input_equals_csv_input(tmp_path):
    wb = Workbook()
    wb.remove(wb.active)
    for table in ("deals", "stage_history", "activities", "reps"):
        ws = wb.create_sheet(table)
        with (SAMPLE / f"{table}.csv").open(encoding="utf-8") as fh:
            for row in csv.reader(fh):
                ws.append(row)
    book = tmp_path / "crm.xlsx"
    wb.save(book)
    config = str(SAMPLE / "salesreport.toml")
    args = ["weekly", "--week", "2026-W46", "--format", "json", "--config", config]
    from_csv = json.loads(run_cli(*args, "--data", str(SAMPLE)).stdout)
    proc = run_cli(*args, "--data", str(book))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["metrics"] == from_csv["metrics"]


def test_check_exits_1_on_unreadable_input(tmp_path):
    (tmp_path / "deals.csv").write_text("deal_id,created_at\nD1,someday\n")
    proc = run_cli("check", "--data", str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 1
    assert "row 2" in proc.stderr and "Traceback" not in proc.stderr


def test_workbook_dates_as_excel_serials_datetimes_and_text(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.title = "deals"
    ws.append(["deal_id", "created_at", "amount", "status", "closed_at"])
    ws.append(["D1", 46027, 1234.5, "won", 46037.75])  # serials: 2026-01-05, 2026-01-15 18:00
    ws.append(["D2", datetime(2026, 1, 6, 10, 30), "1.234,50 €", "open", None])  # a date cell; text money
    ws.append(["D3", "07.01.2026", 100, "lost", "46040"])  # dd.mm.yyyy text; a serial typed as text
    book = tmp_path / "crm.xlsx"
    wb.save(book)
    ds = load_dataset(str(book), parse_config({}))
    deals = ds.deals.set_index("deal_id")
    assert list(deals["created_at"]) == [pd.Timestamp("2026-01-05"), pd.Timestamp("2026-01-06 10:30"),
                                         pd.Timestamp("2026-01-07")]
    assert deals.loc["D1", "closed_at"] == pd.Timestamp("2026-01-15 18:00")
    assert deals.loc["D3", "closed_at"] == pd.Timestamp("2026-01-18")
    assert list(deals["amount"]) == [1234.5, 1234.5, 100.0]


def test_csv_numbers_are_not_taken_for_serial_dates(tmp_path):
    (tmp_path / "deals.csv").write_text("deal_id,created_at\nD1,46027\n", encoding="utf-8")
    with pytest.raises(InputError, match=r'"46027" is not a date'):
        load_dataset(str(tmp_path), parse_config({}))


def test_check_as_json_lists_the_stopping_error_as_a_finding(tmp_path):
    (tmp_path / "deals.csv").write_text("deal_id,created_at\nD1,someday\n")
    proc = run_cli("check", "--data", str(tmp_path), "--format", "json", cwd=tmp_path)
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert doc["errors"] == 1 and doc["findings"][0]["level"] == "error" and doc["findings"][0]["code"] == "input"
    assert "row 2" in doc["findings"][0]["message"]


def test_a_serial_beyond_the_last_representable_day_is_a_clear_error(tmp_path):
    wb = Workbook()
    wb.active.title = "deals"
    wb.active.append(["deal_id", "created_at"])
    wb.active.append(["D1", 132321])  # year 2262: past what a timestamp holds
    wb.save(tmp_path / "crm.xlsx")
    with pytest.raises(InputError, match=r'crm.xlsx \[deals\], row 2, column "created_at": "132321" is not a date'):
        load_dataset(str(tmp_path / "crm.xlsx"), parse_config({}))
