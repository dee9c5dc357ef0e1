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
    wb, doc = monthly
    charts = wb["Charts"]._charts
    assert len(charts) == 3  # and the waterfall of the pipeline movement
    refs = [s.val.numRef.f for c in charts for s in c.series]
    # cumulative revenue of the current year only (January to October), against plan and last year
    data = wb["Chart data"]
    assert [data.cell(r, 8).value for r in range(2, 12)] == [f"2026-{m:02d}" for m in range(1, 11)]
    assert data.cell(12, 8).value is None  # 2025's months are not on the line
    assert [data.cell(1, c).value for c in (9, 10, 11)] == ["Revenue this year", "Plan to date", "Revenue last year"]
    assert {"'Chart data'!$I$2:$I$11", "'Chart data'!$J$2:$J$11", "'Chart data'!$K$2:$K$11"} <= set(refs)
    ytd = [data.cell(r, 9).value for r in range(2, 12)]
    assert ytd == sorted(ytd) and ytd[-1] == doc["metrics"]["revenue_ytd"]["value"]
    assert data.cell(11, 11).value == doc["metrics"]["revenue_ytd_prev_year"]["value"]
    assert "'Chart data'!$B$2:$B$8" in refs
    assert [data.cell(r, 1).value for r in range(2, 9)] == [
        "Deals worked", "Replied", "Positive replies", "Demos appointed", "Demos run", "Offers sent", "Signed"]
    weekly = tmp_path / "weekly.xlsx"
    assert run_cli("weekly", "--data", str(SAMPLE), "--week", "2026-W46", "--out", str(weekly)).returncode == 0
    wbw = load_workbook(weekly)
    assert len(wbw["Weekly"][3]) == 2 + 8 + 3  # 8 weeks by default
    chart = next(c for c in wbw["Charts"]._charts if c.title.tx.rich.p[0].r[0].t.startswith("Sales actions"))
    # each role's target is a flat line of its own over that role's reps: 30 for SDRs, 15 for AEs
    per_day = wbw["Chart data"]
    assert [per_day.cell(1, c).value for c in (4, 5, 6, 7)] == ["Rep", "Actions per day", "SDR target", "AE target"]
    rows = [[per_day.cell(r, c).value for c in (4, 6, 7)] for r in range(2, per_day.max_row + 1)
            if per_day.cell(r, 4).value]
    assert [r[1:] for r in rows] == [[30, None]] * 3 + [[None, 15]]
    (line,) = [c for c in chart._charts if type(c).__name__ == "LineChart"]
    assert [s.val.numRef.f for s in line.series] == ["'Chart data'!$F$2:$F$5", "'Chart data'!$G$2:$G$5"]


def test_sheets_print_readably(monthly, tmp_path):
    wb, _ = monthly
    trend = wb["Monthly"]
    header = [c.value for c in trend[3]]
    # the target column is set right under the numbers; the technical id column is not printed
    target = header.index("Target") + 1
    assert trend.cell(4, target).value and trend.cell(4, target).alignment.horizontal == "right"
    assert trend.print_area.endswith(f"${chr(ord('A') + header.index('Id') - 1)}${trend.max_row}")
    # fonts are named (Calibri is missing on most Linux desks, where LibreOffice falls back to a serif face)
    assert {trend.cell(r, 2).font.name for r in range(1, 10) if trend.cell(r, 2).value} == {"Arial"}
    # 24 per-rep figures print at full size in blocks of columns, each page repeating the rep's name
    by_rep = wb["Monthly by rep"]
    assert not by_rep.sheet_properties.pageSetUpPr.fitToPage
    assert by_rep.print_title_cols == "$A:$B" and len(by_rep.col_breaks.brk) >= 1
    # a sheet that fits a page at 70 % or more prints one page wide; long id lists wrap
    quality = wb["Data quality"]
    assert quality.sheet_properties.pageSetUpPr.fitToPage and quality.page_setup.fitToWidth == 1
    ids = [quality.cell(r, 4) for r in range(4, quality.max_row + 1) if quality.cell(r, 4).value]
    assert ids and all(c.alignment.wrap_text for c in ids)


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
