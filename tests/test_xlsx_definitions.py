"""The workbook speaks to its reader: Definitions without jargon or "none", and Data quality without deals that
merely came after the period (they are findings only for `check`, as of today)."""

from __future__ import annotations

import json

import openpyxl

from .test_outputs import SAMPLE, run_cli


def test_definitions_and_data_quality_of_a_past_period(tmp_path):
    book = tmp_path / "october.xlsx"
    proc = run_cli("monthly", "--data", str(SAMPLE), "--month", "2026-10", "--out", str(book))
    assert proc.returncode == 0, proc.stderr
    wb = openpyxl.load_workbook(book)
    definitions = [[c.value for c in row] for row in wb["Definitions"].iter_rows()]
    assert "SPEC" not in definitions[0][0] and "Metric id" in definitions[2]
    direction = definitions[2].index("Direction")
    assert "none" not in {row[direction] for row in definitions[3:]}
    assert "—" in {row[direction] for row in definitions[3:]}  # figures without a direction
    quality = " ".join(str(c.value) for row in wb["Data quality"].iter_rows() for c in row if c.value)
    assert "created after" not in quality  # November's deals are no finding of October
    check = json.loads(run_cli("check", "--data", str(SAMPLE), "--format", "json").stdout)
    assert all(f["code"] != "created_in_future" for f in check["findings"])  # none is after today
