"""XLSX workbooks read back with openpyxl: values equal the JSON run, formats, fills, charts, safety."""

from __future__ import annotations

import json
import resource
import signal
import subprocess
import sys

import pytest
from openpyxl import load_workbook

from .test_outputs import SAMPLE, run_cli


@pytest.fixture(scope="module")
def monthly(tmp_path_factory):
    folder = tmp_path_factory.mktemp("xlsx")
    book = folder / "monthly.xlsx"
    args = ["monthly", "--data", str(SAMPLE), "--month", "2026-10"]
    proc = run_cli(*args, "--out", str(book))
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(run_cli(*args, "--periods", "12", "--format", "json").stdout)
    return load_workbook(book), doc


def _rows_by_id(ws):
    header = [c.value for c in ws[3]]
    id_col = header.index("Id")
    return header, {row[id_col].value: row for row in ws.iter_rows(min_row=4) if row[id_col].value}


def test_trend_sheet_values_equal_the_json_report(monthly):
    wb, doc = monthly
    assert wb.sheetnames[:3] == ["Monthly", "Monthly by rep", "Charts"]
    assert {"Definitions", "Data quality"} <= set(wb.sheetnames)
    ws = wb["Monthly"]
    header, rows = _rows_by_id(ws)
    labels = [p["period"]["label"] for p in doc["periods"]] + [doc["period"]["label"]]
    assert header[2:14] == labels  # 12 months by default, newest rightmost
    assert header[14:] == ["Target", "Status", "Id"]
    assert set(rows) == set(doc["metrics"])
    for metric_id, m in doc["metrics"].items():
        newest = rows[metric_id][13].value
        assert newest == pytest.approx(m["value"]) if m["value"] is not None else newest is None, metric_id
        oldest = rows[metric_id][2].value
        expected = doc["periods"][0]["metrics"][metric_id]["value"]
        assert oldest == pytest.approx(expected) if expected is not None else oldest is None, metric_id
    assert "2026-10" in ws["A1"].value and "Europe/Berlin" in ws["A1"].value and "generated" in ws["A1"].value
    assert ws.freeze_panes == "C4"


def test_number_formats_and_status_fills(monthly):
    wb, doc = monthly
    _, rows = _rows_by_id(wb["Monthly"])
    assert rows["deals_signed"][13].number_format == "#,##0"
    assert rows["conv_reply"][13].number_format == "0.0%"
    assert rows["revenue_month"][13].number_format == '#,##0 "EUR"'
    assert rows["sales_cycle_days"][13].number_format == "0.0"
    assert rows["stage_days_new"][13].value is None  # null (no stay in "new" ended): an empty cell, never 0
    assert doc["metrics"]["conv_reply"]["status"] == "good"
    assert rows["conv_reply"][13].fill.start_color.rgb.endswith("C6EFCE")
    assert doc["metrics"]["stale_share"]["status"] == "bad"
    assert rows["stale_share"][13].fill.start_color.rgb.endswith("FFC7CE")
    assert rows["stale_share"][15].value == "bad"


def test_per_rep_sheet_groups_reps_by_role(monthly):
    wb, doc = monthly
    ws = wb["Monthly by rep"]
    names = [(r[0].value, r[1].value) for r in ws.iter_rows(min_row=4) if r[0].value]
    assert [n for n, _ in names] == list(doc["by_rep"])
    roles = [role for _, role in names]
    assert roles == sorted(roles, key=["SDR", "AE", "other", "unknown"].index)


def test_definitions_and_data_quality_sheets(monthly):
    wb, doc = monthly
    ids = {r[1].value for r in wb["Definitions"].iter_rows(min_row=4)}
    assert set(doc["metrics"]) <= ids
    dq = [[c.value for c in r] for r in wb["Data quality"].iter_rows(min_row=4)]
    zero = doc["metrics"]["zero_amount_after_qualified"]
    listed = next(r for r in dq if "reached qualified" in (r[1] or ""))
    assert listed[2] == zero["value"] and listed[3].split(", ") == zero["deal_ids"]


def test_charts_point_at_the_right_ranges(monthly, tmp_path):
    wb, _ = monthly
    charts = wb["Charts"]._charts
    assert len(charts) == 2
    refs = [s.val.numRef.f for c in charts for s in c.series]
    _, rows = _rows_by_id(wb["Monthly"])
    ytd, plan = rows["revenue_ytd"][0].row, rows["revenue_plan_to_date"][0].row
    assert f"'Monthly'!$C${ytd}:$N${ytd}" in refs and f"'Monthly'!$C${plan}:$N${plan}" in refs
    assert "'Chart data'!$B$2:$B$8" in refs
    data = wb["Chart data"]
    assert [data.cell(r, 1).value for r in range(2, 9)] == [
        "Deals worked", "Replied", "Positive replies", "Demos appointed", "Demos run", "Offers sent", "Signed"]
    weekly = tmp_path / "weekly.xlsx"
    assert run_cli("weekly", "--data", str(SAMPLE), "--week", "2026-W46", "--out", str(weekly)).returncode == 0
    wbw = load_workbook(weekly)
    assert len(wbw["Weekly"][3]) == 2 + 8 + 3  # 8 weeks by default
    titles = [c.title.tx.rich.p[0].r[0].t for c in wbw["Charts"]._charts]
    assert "Sales actions per day per rep vs target" in titles
    per_day = wbw["Chart data"]
    targets = {per_day.cell(r, 6).value for r in range(2, per_day.max_row + 1) if per_day.cell(r, 4).value}
    assert targets == {30, 15}


def test_crm_text_is_never_a_formula(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "deals.csv").write_text(
        'deal_id,owner,created_at,stage\nD1,"=HYPERLINK(""http://x"",""y"")",2026-03-02,work_started\n')
    book = tmp_path / "w.xlsx"
    proc = run_cli("weekly", "--data", str(data), "--week", "2026-W10", "--out", str(book), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    ws = load_workbook(book)["Weekly by rep"]
    cell = ws["A4"]
    assert cell.value == '=HYPERLINK("http://x","y")'
    assert cell.data_type == "s"


def test_xlsx_needs_out(tmp_path):
    proc = run_cli("weekly", "--data", str(SAMPLE), "--week", "2026-W46", "--format", "xlsx")
    assert proc.returncode == 1 and "--out" in proc.stderr


def _limit_file_size():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))


def test_an_interrupted_write_leaves_the_old_workbook_intact(tmp_path):
    book = tmp_path / "weekly.xlsx"
    book.write_bytes(b"previous workbook")
    # the disk "fills up" after 20 kB: the real write fails part-way
    proc = subprocess.run([sys.executable, "-m", "salesreport", "weekly", "--data", str(SAMPLE), "--week",
                           "2026-W46", "--out", str(book)], capture_output=True, text=True,
                          preexec_fn=_limit_file_size, check=False)
    assert proc.returncode == 3, proc.stderr
    assert "unchanged" in proc.stderr and "Traceback" not in proc.stderr
    assert book.read_bytes() == b"previous workbook"
    assert [p.name for p in tmp_path.iterdir()] == ["weekly.xlsx"]
