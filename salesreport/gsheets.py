"""Google Sheets through gspread: read the canonical tables from worksheets, push reports into worksheets.

Pushing never leaves a half-written worksheet: each report is built in a fresh hidden worksheet, then one
spreadsheets.batchUpdate (applied all-or-nothing by Google) deletes the old worksheet and renames the new one
into its place. Values go in with valueInputOption RAW only, so CRM text is never read as a formula.
Transient answers (429, 5xx, a dropped connection) are retried with a bounded exponential backoff.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import gspread
import pandas as pd
import requests
from gspread.exceptions import APIError, NoValidUrlKeyFound, SpreadsheetNotFound
from gspread.http_client import HTTPClient
from gspread.utils import absolute_range_name, extract_id_from_url

from .config import TABLES, Config
from .errors import ConfigError, DeliveryError, InputError, SalesReportError
from .model import Report, Unit
from .render.grid import (
    HEADER_COLOUR,
    MUTED_COLOUR,
    STATUS_COLOURS,
    Grid,
    number_format,
    rep_grid,
    section_grid,
    trend_grid,
)

PREFIX = "gsheet:"
SCOPES = ("https://www.googleapis.com/auth/spreadsheets",)  # nothing else: no Drive, no profile
RETRY_CODES = {408, 429, 500, 502, 503, 504}
BUILDING = " (salesreport: updating)"  # suffix of a worksheet being built; never a user's title
PIXELS_PER_CHAR = 7


# --- where and who -------------------------------------------------------------------------------

def spreadsheet_key(target: str) -> str:
    """The key of `gsheet:KEY`, `gsheet:https://docs.google.com/spreadsheets/d/KEY/edit`, or a bare key/URL."""
    text = target.removeprefix(PREFIX).strip()
    if "/" in text:
        try:
            return extract_id_from_url(text)
        except NoValidUrlKeyFound:
            raise ConfigError(
                f'"{target}" is not a Google Sheets address. Use gsheet:KEY, where KEY is the part of the '
                "sheet's URL between /d/ and /edit."
            ) from None
    if not re.fullmatch(r"[A-Za-z0-9_-]{10,}", text):
        raise ConfigError(
            f'"{target}" does not name a Google Sheet. Use gsheet:KEY, where KEY is the part of the sheet\'s '
            "URL between /d/ and /edit."
        )
    return text


@dataclass(frozen=True)
class Account:
    credentials: object
    who: str  # the e-mail to share the sheet with, or a description of the account


def load_account(path: Path | None) -> Account:
    """Service-account or authorized-user JSON from `path`, else Application Default Credentials."""
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError
    from google.oauth2 import credentials as user_credentials
    from google.oauth2 import service_account

    if path is None:
        try:
            creds, _project = google.auth.default(scopes=list(SCOPES))
        except DefaultCredentialsError:
            raise ConfigError(
                "No Google credentials. Pass --credentials KEY.json (a service-account or authorized-user "
                "JSON), set [google] credentials = \"KEY.json\" in salesreport.toml, or set "
                "GOOGLE_APPLICATION_CREDENTIALS to the file's path."
            ) from None
        email = getattr(creds, "service_account_email", None)
        return Account(creds, email or "the account of your Application Default Credentials")
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: the Google credentials file cannot be read ({exc.strerror}).") from None
    except (ValueError, UnicodeDecodeError):
        raise ConfigError(f"{path}: not a JSON credentials file. Download the key again from Google Cloud.") from None
    kind = info.get("type") if isinstance(info, dict) else None
    try:
        if kind == "service_account":
            creds = service_account.Credentials.from_service_account_info(info, scopes=list(SCOPES))
            return Account(creds, info.get("client_email", "the service account"))
        if kind == "authorized_user":
            creds = user_credentials.Credentials.from_authorized_user_info(info, scopes=list(SCOPES))
            return Account(creds, info.get("account") or "the Google user who authorized this file")
    except (ValueError, KeyError):  # never echo the file: it holds a private key
        raise ConfigError(
            f"{path}: the {kind} credentials are incomplete or their private key is unreadable. "
            "Download a new key file from Google Cloud."
        ) from None
    raise ConfigError(
        f'{path}: credentials of type "{kind}" are not supported; use a service-account key '
        '("type": "service_account") or an authorized-user file ("type": "authorized_user").'
    )


def credentials_path(explicit: Path | None, config: Config) -> Path | None:
    return explicit if explicit is not None else config.google_credentials


class BoundedBackoffClient(HTTPClient):
    """gspread's HTTP client with a bounded exponential backoff on 408/429/5xx and dropped connections."""

    retries = 5
    backoff = 1.0
    max_wait = 64.0

    def request(self, *args, **kwargs):
        for attempt in range(self.retries + 1):
            try:
                return super().request(*args, **kwargs)
            except APIError as err:
                if err.response.status_code not in RETRY_CODES or attempt == self.retries:
                    raise
                time.sleep(self._wait(attempt, err.response.headers.get("Retry-After")))
            except (requests.ConnectionError, requests.Timeout):
                if attempt == self.retries:
                    raise
                time.sleep(self._wait(attempt, None))
        raise AssertionError("unreachable")

    def _wait(self, attempt: int, retry_after: str | None) -> float:
        if retry_after and retry_after.isdigit():
            return min(float(retry_after), self.max_wait)
        return min(self.backoff * 2**attempt, self.max_wait)


def open_client(account: Account, config: Config) -> gspread.Client:
    """The one place a gspread client is made: bounded retries, timeouts, spreadsheets scope."""
    client = gspread.Client(auth=account.credentials, http_client=BoundedBackoffClient)
    client.http_client.retries = config.google_retries
    client.http_client.backoff = config.google_backoff
    client.set_timeout((10, 120))
    return client


@contextmanager
def api_errors(key: str, account: Account, config: Config, error: type[SalesReportError],
               unchanged: str = "") -> Iterator[None]:
    """Turn gspread / google-auth / network failures into one clear paragraph (never a token or key)."""
    from google.auth.exceptions import RefreshError, TransportError

    tail = f" {unchanged}" if unchanged else ""
    try:
        yield
    except SpreadsheetNotFound:
        raise error(_not_found(key) + tail) from None
    except PermissionError:  # gspread's open_by_key turns a 403 into this built-in
        raise error(_forbidden(key, account) + tail) from None
    except APIError as err:
        code = err.response.status_code
        if code == 404:
            raise error(_not_found(key) + tail) from None
        if code == 403:
            raise error(_forbidden(key, account) + tail) from None
        message = str(err.error.get("message", "")) if isinstance(err.error, dict) else ""
        if code in RETRY_CODES:
            raise error(
                f"Google Sheets kept answering {code} ({message or 'busy'}) for spreadsheet {key}; gave up after "
                f"{config.google_retries} retries.{tail} Run again in a few minutes (quotas reset every minute), "
                "or raise [google] retries."
            ) from None
        raise error(f"Google Sheets refused a request for spreadsheet {key} ({code}: {message}).{tail}") from None
    except RefreshError as err:
        reason = str(err.args[0]) if err.args else "refused"
        raise error(
            f"Google refused the credentials of {account.who} ({reason[:200]}). Check that the key file is "
            f"current (not deleted in Google Cloud) and that this machine's clock is right.{tail}"
        ) from None
    except (requests.ConnectionError, requests.Timeout, TransportError) as err:
        raise error(
            f"Cannot reach Google Sheets ({type(err).__name__}) after {config.google_retries} retries.{tail} "
            "Check the network or proxy settings (HTTPS_PROXY) and run again."
        ) from None


def _not_found(key: str) -> str:
    return (f"Spreadsheet {key} was not found (404): the key is wrong. Copy it from the sheet's address, "
            "https://docs.google.com/spreadsheets/d/KEY/edit, and pass gsheet:KEY.")


def _forbidden(key: str, account: Account) -> str:
    return (f"Google Sheets denied access to spreadsheet {key} (403). Share the spreadsheet with {account.who} "
            "(Editor to push reports, Viewer to read data), then run again.")


# --- reading -------------------------------------------------------------------------------------

def read_tables(target: str, config: Config, credentials: Path | None) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """The canonical tables as text DataFrames (index = sheet row - 2) and their names for messages."""
    key = spreadsheet_key(target)
    account = load_account(credentials_path(credentials, config))
    with api_errors(key, account, config, InputError):
        sheet = open_client(account, config).open_by_key(key)
        titles = [s["properties"]["title"] for s in sheet.fetch_sheet_metadata()["sheets"]]
        by_lower = {t.strip().lower(): t for t in titles}
        wanted = {t: config.source_worksheets.get(t, t) for t in TABLES}
        found = {t: by_lower[w.strip().lower()] for t, w in wanted.items() if w.strip().lower() in by_lower}
        if "deals" not in found:
            raise InputError(
                f'Spreadsheet {key} has no worksheet "{wanted["deals"]}" (found: {", ".join(titles)}). Name the '
                'deals worksheet "deals", or map it in salesreport.toml: [sources.worksheets] deals = "<title>".'
            )
        ranges = [absolute_range_name(title) for title in found.values()]
        response = sheet.values_batch_get(ranges, params={
            "valueRenderOption": "UNFORMATTED_VALUE", "dateTimeRenderOption": "FORMATTED_STRING"})
    tables, names = {}, {}
    for (table, title), value_range in zip(found.items(), response.get("valueRanges", []), strict=True):
        names[table] = f'Google Sheet {key}, worksheet "{title}"'
        tables[table] = _frame(value_range.get("values", []), names[table])
    return tables, names


def _frame(values: list[list], name: str) -> pd.DataFrame:
    """Rows of API values → text columns; fully empty rows dropped but row numbers kept for messages."""
    if not values or not any(str(v).strip() for v in values[0]):
        raise InputError(f"{name}: the first row must hold the column headers, and it is empty. "
                         "Put the headers (deal_id, created_at, …) in row 1.")
    header = [_text(v).strip() for v in values[0]]
    width = len(header)
    body = [[_text(v) for v in row[:width]] + [""] * (width - len(row)) for row in values[1:]]
    df = pd.DataFrame(body, columns=header, dtype=object) if body else pd.DataFrame(columns=header, dtype=object)
    keep = (df != "").any(axis=1) if len(df) else pd.Series(dtype=bool)
    return df[keep].astype(str) if len(df) else df


def _text(value) -> str:
    """An unformatted API value as the text a CSV export would hold."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return "" if value is None else str(value)


# --- pushing -------------------------------------------------------------------------------------

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
