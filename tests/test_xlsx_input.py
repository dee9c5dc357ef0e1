"""A workbook with one sheet per table reads the same as the CSV folder."""

from __future__ import annotations

import csv
import json

from openpyxl import Workbook

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
