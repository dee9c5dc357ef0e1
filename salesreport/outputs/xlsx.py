"""XLSX workbook: trend sheet, per-rep sheet, charts, definitions and data quality.

`build_workbook` only lays out what the Report holds; saving is a separate, atomic step (`workbook_bytes`
+ output.write_atomic). CRM text is always stored as a string cell, never as a formula.
"""

from __future__ import annotations

import gc
import io
import re
import sys

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.chart.label import DataLabelList
from openpyxl.chart.legend import LegendEntry
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.worksheet import Worksheet

from ..engine.deals import FORECAST_COLUMN as DEALS_FORECAST
from ..engine.registry import METRICS, metric_def, metrics_for
from ..errors import DeliveryError
from ..model import Direction, MetricValue, Report, Unit
from ..text import listed
from .format import EMPTY, fmt_target
from .grid import (
    HEADER_COLOUR,
    HEADER_ROW,
    MUTED_COLOUR,
    STATUS_COLOURS,
    Grid,
    number_format,
    rep_grid,
    section_grid,
    trend_grid,
)

FILLS = {status: PatternFill("solid", start_color=colour, end_color=colour) for status, colour in STATUS_COLOURS.items()}
HEADER_FILL = PatternFill("solid", start_color=HEADER_COLOUR, end_color=HEADER_COLOUR)
# a font every office suite has (LibreOffice shows Arial as its metric twin): Calibri, openpyxl's default,
# is missing on most Linux desks, where it falls back to a serif face
FONT = "Arial"
PLAIN = Font(name=FONT, size=10)
BOLD = Font(name=FONT, size=10, bold=True)
TITLE = Font(name=FONT, bold=True, size=13)
ROLE_FONTS = {"title": TITLE, "header": BOLD, "muted": Font(name=FONT, size=10, color=MUTED_COLOUR), "": PLAIN,
              "target": PLAIN}
RIGHT = Alignment(horizontal="right")
CENTRE = Alignment(horizontal="center")
IDS_SHOWN = 200  # deal ids listed in one finding's cell; the count says how many there are in all
PAGE_WIDTH = 125  # columns of text a landscape A4 page shows at 100 %
SMALLEST_PRINT = 0.7  # a sheet that would print smaller than this to fit a page's width prints in column blocks
FUNNEL_IDS = ("worked", "replied", "replied_positive", "demo_appointed", "demo_run", "offer_sent", "signed")
CHART_ROWS = 22  # rows between chart anchors on the Charts sheet


def text_cell(ws: Worksheet, row: int, column: int, text: str) -> Cell:
    """A string cell that stays a string: openpyxl would otherwise store "=…" as a formula."""
    cell = ws.cell(row=row, column=column)
    # characters XML 1.0 cannot hold (\x0b, \x1b…) are written as visible escapes, not dropped or fatal
    cell.value = ILLEGAL_CHARACTERS_RE.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    cell.data_type = "s"
    return cell


def write_grid(wb: Workbook, grid: Grid, currency: str | None) -> Worksheet:
    """A sheet laid out as `grid` says: strings stay strings, numbers get their unit's format."""
    ws = wb.create_sheet(grid.name[:31])
    for r, cells in enumerate(grid.rows, start=1):
        for c, g in enumerate(cells, start=1):
            if g.value is None and g.status is None and not g.role:
                continue
            if isinstance(g.value, str):
                cell = text_cell(ws, r, c, g.value)
            else:
                cell = ws.cell(row=r, column=c, value=g.value)
                if g.unit is not None:
                    cell.number_format = number_format(g.unit, currency)
            if g.status in FILLS:
                cell.fill = FILLS[g.status]
            cell.font = ROLE_FONTS.get(g.role, PLAIN)
            if g.role == "target":
                cell.alignment = RIGHT
            if g.role == "header":
                cell.fill = HEADER_FILL
                cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    if grid.header_height:
        ws.row_dimensions[HEADER_ROW].height = grid.header_height
    ws.freeze_panes = ws.cell(row=grid.frozen_rows + 1, column=grid.frozen_columns + 1)
    _widths(ws, grid.widths)
    if grid.printed_columns is not None:
        ws.print_area = f"A1:{get_column_letter(grid.printed_columns)}{max(ws.max_row, 1)}"
    return ws


def _header(ws: Worksheet, labels: list[str]) -> None:
    for column, label in enumerate(labels, start=1):
        cell = text_cell(ws, HEADER_ROW, column, label)
        cell.font = BOLD
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)


def _widths(ws: Worksheet, widths: dict[int, float]) -> None:
    for column, width in widths.items():
        ws.column_dimensions[get_column_letter(column)].width = width


def _definitions(wb: Workbook, report: Report) -> None:
    ws = wb.create_sheet("Definitions")
    ws.cell(row=1, column=1, value="Metric definitions (the metric id is the figure's key in the JSON output)").font = TITLE
    _header(ws, ["#", "Metric id", "Metric", "Formula", "Unit", "Target", "Direction", "Reports"])
    shown = {m.id for m in metrics_for(report.name)}
    ordered = sorted(METRICS, key=lambda m: (m.id not in shown, m.number, METRICS.index(m)))
    for row, m in enumerate(ordered, start=HEADER_ROW + 1):
        mv = report.current.metrics.get(m.id) or MetricValue(id=m.id, value=None, unit=m.unit, target=m.target,
                                                             target_max=m.target_max)
        values = [m.id, m.title, m.formula, m.unit.value, fmt_target(mv, m.direction.value),
                  EMPTY if m.direction is Direction.NONE else m.direction.value, ", ".join(sorted(m.reports))]
        ws.cell(row=row, column=1, value=m.number).font = PLAIN
        for column, text in enumerate(values, start=2):
            text_cell(ws, row, column, text).font = PLAIN
        ws.cell(row=row, column=4).alignment = Alignment(wrap_text=True, vertical="top")
        ws.cell(row=row, column=6).alignment = RIGHT
    ws.freeze_panes = "C4"
    _widths(ws, {1: 5, 2: 28, 3: 28, 4: 64, 5: 9, 6: 12, 7: 10, 8: 22})


MARK = "✓"
DEAL_WIDTHS = {"Deal": 10, "Company": 22, "Owner": 16, "Status": 7, "Stage": 15, "Amount": 12, "Created": 10.5,
               "Days in stage": 7, "Last sales action": 10.5}
MARK_WIDTH = 4.5  # a ✓ column under a header set upright: the whole list prints one page wide


def _deals(wb: Workbook, report: Report) -> None:
    """The Deals sheet (SPEC §10): a row per deal behind a figure of the period, a column per figure marking its
    deals with ✓, an autofilter on the header row — filter Stuck and see the deals."""
    deals = report.deals
    if deals is None:
        return
    ws = wb.create_sheet("Deals")
    shown = f"the {len(deals.rows):,} largest of {deals.total:,}" if deals.total > len(deals.rows) else (
        f"{deals.total:,}")
    ws.cell(row=1, column=1, value=f"Deals behind the figures, {report.current.period.label}: {shown}, the largest "
                                   "amounts first (filter a column's ✓)").font = TITLE
    _header(ws, deals.columns)
    money = number_format(Unit.MONEY, report.currency)
    kinds = []  # per column: how its values are written
    for name in deals.columns:
        kinds.append("mark" if name in deals.marks else "money" if name in ("Amount", DEALS_FORECAST) else
                     "date" if name in ("Created", "Last sales action") else "count" if name == "Days in stage"
                     else "text")
    for r, values in enumerate(deals.rows, start=HEADER_ROW + 1):
        for c, (value, kind) in enumerate(zip(values, kinds, strict=True), start=1):
            if value is None or value is False:
                continue
            if kind == "text":
                text_cell(ws, r, c, str(value))
            elif kind == "mark":
                ws.cell(row=r, column=c, value=MARK).alignment = CENTRE
            else:
                cell = ws.cell(row=r, column=c, value=value)
                cell.number_format = money if kind == "money" else "yyyy-mm-dd" if kind == "date" else "#,##0"
    last = get_column_letter(len(deals.columns))
    ws.auto_filter.ref = f"A{HEADER_ROW}:{last}{HEADER_ROW + max(len(deals.rows), 1)}"
    ws.freeze_panes = ws.cell(row=HEADER_ROW + 1, column=2)
    for c, name in enumerate(deals.columns, start=1):
        if name in deals.marks:
            ws.cell(row=HEADER_ROW, column=c).alignment = Alignment(text_rotation=90, horizontal="center",
                                                                    vertical="bottom", wrap_text=True)
        else:
            ws.cell(row=HEADER_ROW, column=c).alignment = Alignment(horizontal="center", vertical="bottom",
                                                                    wrap_text=True)
    ws.row_dimensions[HEADER_ROW].height = 96
    _widths(ws, {c: MARK_WIDTH if name in deals.marks else DEAL_WIDTHS.get(name, 12)
                 for c, name in enumerate(deals.columns, start=1)})


def _data_quality(wb: Workbook, report: Report) -> None:
    ws = wb.create_sheet("Data quality")
    ws.cell(row=1, column=1, value=f"Data quality as of {report.current.period.end}").font = TITLE
    _header(ws, ["Level", "Finding", "Deals", "Deal ids"])
    findings = report.findings or []
    top, wrapped = Alignment(vertical="top"), Alignment(wrap_text=True, vertical="top")
    if not findings:
        text_cell(ws, HEADER_ROW + 1, 1, "ok").font = PLAIN
        text_cell(ws, HEADER_ROW + 1, 2, "No problems found.").font = PLAIN
    for row, f in enumerate(findings, start=HEADER_ROW + 1):
        cells = [text_cell(ws, row, 1, f.level), text_cell(ws, row, 2, f.message),
                 ws.cell(row=row, column=3, value=len(f.deal_ids) or None),
                 text_cell(ws, row, 4, listed(f.deal_ids, IDS_SHOWN))]
        for cell, alignment in zip(cells, (top, wrapped, top, wrapped), strict=True):
            cell.font, cell.alignment = PLAIN, alignment
    ws.freeze_panes = "A4"
    _widths(ws, {1: 9, 2: 80, 3: 7, 4: 60})


def _charts(wb: Workbook, report: Report, rows: dict[str, int]) -> None:
    """Native charts: revenue vs plan (monthly, quarterly), the funnel, actions per day per rep against targets."""
    current = report.current
    data = wb.create_sheet("Chart data")
    charts = wb.create_sheet("Charts", index=2)
    anchor_rows = iter(range(1, 200, CHART_ROWS))
    year = [pr for pr in report.periods if report.year_start is not None and pr.period.start >= report.year_start]
    if report.name in ("monthly", "quarterly") and "revenue_ytd" in rows:
        # the current (fiscal) year from its first month, against the plan and last year's revenue to the same
        # month: a line that spans two years would fall to zero where the year starts
        columns = {"revenue_ytd": "Revenue this year", "revenue_plan_to_date": "Plan to date",
                   "revenue_ytd_prev_year": "Revenue last year"}
        text_cell(data, 1, 8, "Quarter" if report.name == "quarterly" else "Month")
        for column, label in enumerate(columns.values(), start=9):
            text_cell(data, 1, column, label)
        for row, pr in enumerate(year, start=2):
            text_cell(data, row, 8, pr.period.label)
            for column, metric_id in enumerate(columns, start=9):
                mv = pr.metrics.get(metric_id)
                data.cell(row=row, column=column, value=mv.value if mv is not None else None)
        chart = LineChart()
        chart.title = f"Cumulative revenue {report.year_label} vs plan and last year"
        chart.y_axis.title = report.currency or "revenue"
        chart.add_data(Reference(data, min_col=9, max_col=8 + len(columns), min_row=1, max_row=len(year) + 1),
                       titles_from_data=True)
        chart.set_categories(Reference(data, min_col=8, min_row=2, max_row=len(year) + 1))
        _straight(chart)
        chart.width, chart.height = 22, 9
        charts.add_chart(chart, f"A{next(anchor_rows)}")
    funnel = [i for i in FUNNEL_IDS if i in current.metrics]
    if funnel:
        text_cell(data, 1, 1, "Funnel stage")
        text_cell(data, 1, 2, f"Deals (cohort, {current.period.label})")
        for row, metric_id in enumerate(funnel, start=2):
            text_cell(data, row, 1, metric_def(metric_id).title.replace(" (cohort)", ""))
            data.cell(row=row, column=2, value=current.metrics[metric_id].value)
        chart = BarChart()
        chart.type = "bar"
        chart.title = "Funnel: worked → signed"
        chart.y_axis.scaling.orientation = "minMax"
        chart.x_axis.scaling.orientation = "maxMin"  # worked on top
        chart.add_data(Reference(data, min_col=2, min_row=1, max_row=len(funnel) + 1), titles_from_data=True)
        chart.set_categories(Reference(data, min_col=1, min_row=2, max_row=len(funnel) + 1))
        chart.legend = None
        chart.width, chart.height = 22, 9
        charts.add_chart(chart, f"A{next(anchor_rows)}")
    if all(f"pipeline_{move}" in current.metrics for move, _ in WATERFALL):
        charts.add_chart(_waterfall(data, report), f"A{next(anchor_rows)}")
    per_day = [(b.name, b.role, b.metrics.get("actions_per_day_sdr") or b.metrics.get("actions_per_day_ae"))
               for b in current.by_rep.values()]
    per_day = [(name, role, mv) for name, role, mv in per_day if mv is not None]
    if per_day:
        # each role's target is its own flat line over that role's reps (reps come grouped by role)
        roles = list(dict.fromkeys(role for _, role, _ in per_day))
        for column, label in enumerate(["Rep", "Actions per day", *[f"{r} target" for r in roles]], start=4):
            text_cell(data, 1, column, label)
        for row, (name, role, mv) in enumerate(per_day, start=2):
            text_cell(data, row, 4, name)
            data.cell(row=row, column=5, value=mv.value)
            data.cell(row=row, column=6 + roles.index(role), value=mv.target)
        last = len(per_day) + 1
        bars = BarChart()
        bars.title = "Sales actions per day per rep vs target"
        bars.add_data(Reference(data, min_col=5, min_row=1, max_row=last), titles_from_data=True)
        bars.set_categories(Reference(data, min_col=4, min_row=2, max_row=last))
        line = LineChart()
        line.add_data(Reference(data, min_col=6, max_col=5 + len(roles), min_row=1, max_row=last),
                      titles_from_data=True)
        _straight(line)
        for series in line.series:  # a role of one rep is still a visible mark at its target
            series.marker.symbol, series.marker.size = "dash", 12
        bars += line
        bars.width, bars.height = 22, 9
        charts.add_chart(bars, f"A{next(anchor_rows)}")
    for row in range(CHART_ROWS, CHART_ROWS * len(charts._charts), CHART_ROWS):
        charts.row_breaks.append(Break(id=row - 1))  # one chart a printed page
    if not charts._charts:
        wb.remove(charts)
    data.sheet_state = "hidden" if data.max_row > 1 else data.sheet_state
    if data.max_row <= 1 and data.max_column <= 1 and data.cell(1, 1).value is None:
        wb.remove(data)


WATERFALL = (("start", 0), ("created", 1), ("reopened", 1), ("won", -1), ("lost", -1), ("end", 0))  # ±: a step
WATERFALL_COLOURS = ("4472C4", "70AD47", "C00000")  # open at start and end, added, closed
WATERFALL_COLUMN = 13  # where its data starts on the Chart data sheet


def _waterfall(data: Worksheet, report: Report) -> BarChart:
    """Pipeline movement as a waterfall (SPEC §10): the open deals at the start, each step up (created,
    reopened) or down (won, lost) from the level before it, the open deals at the end. Stacked columns over an
    invisible base: no office suite needs its own waterfall type to draw it."""
    counts = {move: report.current.metrics[f"pipeline_{move}"].value or 0 for move, _ in WATERFALL}
    first = WATERFALL_COLUMN
    for offset, label in enumerate(["Pipeline movement", "base", "Open", "Added", "Closed"]):
        text_cell(data, 1, first + offset, label)
    level = 0
    for row, (move, sign) in enumerate(WATERFALL, start=2):
        n = counts[move]
        text_cell(data, row, first, move.capitalize())
        if sign == 0:
            level = n
            values = (0, n, None, None)
        elif sign > 0:
            values = (level, None, n, None)
            level += n
        else:
            level -= n
            values = (level, None, None, n)
        for offset, value in enumerate(values, start=1):
            data.cell(row=row, column=first + offset, value=value)
    chart = BarChart()
    chart.type, chart.grouping, chart.overlap = "col", "stacked", 100
    chart.title = f"Pipeline movement, {report.current.period.label}: open deals"
    last = len(WATERFALL) + 1
    chart.add_data(Reference(data, min_col=first + 1, max_col=first + 4, min_row=1, max_row=last),
                   titles_from_data=True)
    chart.set_categories(Reference(data, min_col=first, min_row=2, max_row=last))
    base, *shown = chart.series
    base.graphicalProperties.noFill = True
    base.graphicalProperties.line.noFill = True
    for series, colour in zip(shown, WATERFALL_COLOURS, strict=True):
        series.graphicalProperties.solidFill = colour
        series.graphicalProperties.line.solidFill = colour
        series.dLbls = DataLabelList(showVal=True, showSerName=False, showCatName=False, showLegendKey=False)
    chart.gapWidth = 60
    chart.legend.position = "b"
    chart.legend.legendEntry = [LegendEntry(idx=0, delete=True)]  # the invisible base
    chart.width, chart.height = 22, 9
    return chart


def _straight(chart: LineChart) -> None:
    """Straight segments: a smoothed line invents values between periods."""
    for series in chart.series:
        series.smooth = False


def build_workbook(report: Report) -> Workbook:
    wb = Workbook()
    wb.remove(wb.active)
    grid = trend_grid(report)
    write_grid(wb, grid, report.currency)
    per_rep = rep_grid(report)
    if per_rep is not None:
        write_grid(wb, per_rep, report.currency)
    _charts(wb, report, grid.row_of)
    for key, section in report.sections.items():
        write_grid(wb, section_grid(key, section), report.currency)
    _deals(wb, report)
    _definitions(wb, report)
    _data_quality(wb, report)
    for ws in wb.worksheets:
        _print_setup(ws)
    wb.active = 0
    return wb


def _print_setup(ws: Worksheet) -> None:
    """Landscape A4, header rows repeated: the file prints (and exports to PDF) as it reads. A sheet that fits
    a page's width at 70 % or more prints one page wide; a wider one (the by-rep sheet's 24 figures) prints at
    full size in blocks of columns, each page repeating the frozen name columns, instead of shrinking to 4 pt."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    if ws.max_row > HEADER_ROW:
        ws.print_title_rows = f"1:{HEADER_ROW}"
    printed = ws.max_column
    area = re.search(r"\$?([A-Z]+)\$?\d+$", ws.print_area or "")  # 'Sheet'!$A$1:$P$40 → P
    if area:
        printed = min(printed, column_index_from_string(area.group(1)))
    widths = [ws.column_dimensions[get_column_letter(c)].width or 9 for c in range(1, printed + 1)]
    fits = sum(widths) <= PAGE_WIDTH / SMALLEST_PRINT
    ws.sheet_properties.pageSetUpPr.fitToPage = fits
    if fits:
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        return
    frozen = column_index_from_string(ws.freeze_panes.rstrip("0123456789")) - 1 if ws.freeze_panes else 0
    if frozen:
        ws.print_title_cols = f"A:{get_column_letter(frozen)}"
    room = PAGE_WIDTH - sum(widths[:frozen])
    used = 0.0
    for column in range(frozen + 1, printed + 1):
        width = widths[column - 1]
        if used and used + width > room:
            ws.col_breaks.append(Break(id=column - 1))
            used = 0.0
        used += width


def workbook_bytes(report: Report) -> bytes:
    """The workbook as bytes (openpyxl spools sheets through temp files, so a full disk can fail here)."""
    buffer = io.BytesIO()
    failure = None
    try:
        build_workbook(report).save(buffer)
    except OSError as exc:
        failure = exc.strerror
    if failure is not None:
        # openpyxl's half-run sheet writers fail again when collected; this failure is reported once, here
        hook = sys.unraisablehook
        sys.unraisablehook = lambda _unraisable: None
        try:
            gc.collect()
        finally:
            sys.unraisablehook = hook
        raise DeliveryError(
            f"The workbook could not be built ({failure}); free some disk space. "
            "Nothing was written: the previous file, if any, is unchanged."
        )
    return buffer.getvalue()
