"""Push reports into the worksheets of a Google Sheet, all or nothing.

Pushing never leaves a half-written worksheet: each report is built in a fresh hidden worksheet, then one
spreadsheets.batchUpdate (applied all-or-nothing by Google) deletes the old worksheet and renames the new one
into its place. Values go in with valueInputOption RAW only, so CRM text is never read as a formula.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

import gspread
from gspread.utils import absolute_range_name

from ..config import Config
from ..errors import DeliveryError
from ..google import api_errors, credentials_path, load_account, open_client, spreadsheet_key
from ..model import Report, Unit
from .grid import (
    HEADER_COLOUR,
    MUTED_COLOUR,
    STATUS_COLOURS,
    Grid,
    number_format,
    rep_grid,
    section_grid,
    trend_grid,
)

BUILDING = " (salesreport: updating)"  # suffix of a worksheet being built; never a user's title
PIXELS_PER_CHAR = 7


def report_grids(report: Report, config: Config) -> list[Grid]:
    """The worksheets a report becomes: its trend sheet, per-rep sheet and sections, named from config."""
    title = config.report_worksheets.get(report.name, report.name.capitalize())
    grids = [trend_grid(report, title, generated=False)]  # no clock in the sheet: a re-run gives the same sheet
    per_rep = rep_grid(report, f"{title} by rep", generated=False)
    if per_rep is not None:
        grids.append(per_rep)
    for key, section in report.sections.items():
        grid = section_grid(key, section)
        grid.name = f"{title} · {grid.name}"
        grids.append(grid)
    return grids


def push_report(report: Report, target: str, config: Config, credentials: Path | None,
                progress: Callable[[str], None] | None = None) -> list[str]:
    """Replace the report's worksheets in the spreadsheet; return their titles. Other worksheets are untouched."""
    key = spreadsheet_key(target)
    grids = report_grids(report, config)
    account = load_account(credentials_path(credentials, config))
    step = progress or (lambda _what: None)
    unchanged = "The spreadsheet's report worksheets were left as they were."
    with api_errors(key, account, config, DeliveryError, unchanged):
        sheet = open_client(account, config).open_by_key(key)
        step("opened")
        existing = _sheet_properties(sheet)
        new_ids: list[int] = []
        try:
            new_ids = _add_building_sheets(sheet, grids, existing)
            step("worksheets added")
            sheet.values_batch_update({"valueInputOption": "RAW", "data": [
                {"range": absolute_range_name(grid.name + BUILDING), "values": _values(grid)} for grid in grids]})
            step("values written")
            sheet.batch_update({"requests": [r for grid, sheet_id in zip(grids, new_ids, strict=True)
                                             for r in _format_requests(grid, sheet_id, report.currency)]})
            step("formats applied")
            sheet.batch_update({"requests": _swap_requests(grids, new_ids, existing)})
            step("swapped in")
        except BaseException:
            _discard_building(sheet, new_ids)
            raise
    return [grid.name for grid in grids]


def _sheet_properties(sheet: gspread.Spreadsheet) -> dict[str, dict]:
    return {s["properties"]["title"]: s["properties"] for s in sheet.fetch_sheet_metadata()["sheets"]}


def _add_building_sheets(sheet: gspread.Spreadsheet, grids: list[Grid], existing: dict[str, dict]) -> list[int]:
    """Hidden worksheets for the new content; leftovers of an interrupted run are removed first."""
    requests_ = [{"deleteSheet": {"sheetId": p["sheetId"]}} for t, p in existing.items() if t.endswith(BUILDING)]
    for grid in grids:
        requests_.append({"addSheet": {"properties": {
            "title": grid.name + BUILDING, "hidden": True, "sheetType": "GRID",
            "gridProperties": {"rowCount": max(len(grid.rows), grid.frozen_rows + 1),
                               "columnCount": max(grid.column_count, grid.frozen_columns + 1),
                               "frozenRowCount": grid.frozen_rows, "frozenColumnCount": grid.frozen_columns},
        }}})
    replies = sheet.batch_update({"requests": requests_})["replies"]
    return [r["addSheet"]["properties"]["sheetId"] for r in replies if "addSheet" in r]


def _values(grid: Grid) -> list[list]:
    width = grid.column_count
    return [[("" if c.value is None else c.value) for c in row] + [""] * (width - len(row)) for row in grid.rows]


def _rgb(hex_colour: str) -> dict[str, float]:
    return {name: int(hex_colour[i:i + 2], 16) / 255 for name, i in (("red", 0), ("green", 2), ("blue", 4))}


def _cell_format(cell, currency: str | None) -> dict:
    fmt: dict = {}
    if cell.unit is not None and not isinstance(cell.value, str):
        kind = {Unit.RATIO: "PERCENT", Unit.MONEY: "CURRENCY"}.get(cell.unit, "NUMBER")
        fmt["numberFormat"] = {"type": kind, "pattern": number_format(cell.unit, currency)}
    if cell.status in STATUS_COLOURS:
        fmt["backgroundColor"] = _rgb(STATUS_COLOURS[cell.status])
    if cell.role == "header":
        fmt.update(backgroundColor=_rgb(HEADER_COLOUR), horizontalAlignment="CENTER", verticalAlignment="MIDDLE",
                   wrapStrategy="WRAP", textFormat={"bold": True})
    elif cell.role == "title":
        fmt["textFormat"] = {"bold": True, "fontSize": 13}
    elif cell.role == "muted":
        fmt["textFormat"] = {"foregroundColor": _rgb(MUTED_COLOUR)}
    elif cell.role == "target":
        fmt["horizontalAlignment"] = "RIGHT"
    return fmt


def _format_requests(grid: Grid, sheet_id: int, currency: str | None) -> list[dict]:
    rows = [{"values": [{"userEnteredFormat": _cell_format(c, currency)} for c in row]} for row in grid.rows]
    out = [{"updateCells": {"rows": rows, "fields": "userEnteredFormat",
                            "start": {"sheetId": sheet_id, "rowIndex": 0, "columnIndex": 0}}}]
    for column, width in grid.widths.items():
        out.append({"updateDimensionProperties": {
            "range": {"sheetId": sheet_id, "dimension": "COLUMNS", "startIndex": column - 1, "endIndex": column},
            "properties": {"pixelSize": int(width * PIXELS_PER_CHAR)}, "fields": "pixelSize"}})
    if grid.header_height:
        out.append({"updateDimensionProperties": {
            "range": {"sheetId": sheet_id, "dimension": "ROWS", "startIndex": grid.frozen_rows - 1,
                      "endIndex": grid.frozen_rows},
            "properties": {"pixelSize": int(grid.header_height * 4 / 3)}, "fields": "pixelSize"}})
    return out


def _swap_requests(grids: list[Grid], new_ids: list[int], existing: dict[str, dict]) -> list[dict]:
    """Delete each old worksheet and rename its replacement into the same place, in one request."""
    out = []
    for grid, sheet_id in zip(grids, new_ids, strict=True):
        properties = {"sheetId": sheet_id, "title": grid.name, "hidden": False}
        fields = "title,hidden"
        old = existing.get(grid.name)
        if old is not None:
            out.append({"deleteSheet": {"sheetId": old["sheetId"]}})
            properties["index"] = old.get("index", 0)
            fields += ",index"
        out.append({"updateSheetProperties": {"properties": properties, "fields": fields}})
    return out


def _discard_building(sheet: gspread.Spreadsheet, new_ids: list[int]) -> None:
    """Best effort after a failure: remove worksheets still titled as being built (never a swapped-in one)."""
    if not new_ids:
        return
    with suppress(Exception):  # the original failure is the one to report; the next run cleans up too
        live = _sheet_properties(sheet)
        doomed = [p["sheetId"] for t, p in live.items() if t.endswith(BUILDING) and p["sheetId"] in new_ids]
        if doomed:
            sheet.batch_update({"requests": [{"deleteSheet": {"sheetId": i}} for i in doomed]})
