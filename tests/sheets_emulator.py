"""A loopback Google Sheets API v4 emulator with an OAuth token endpoint, for tests.

One ThreadingHTTPServer on 127.0.0.1 plays three parts:
- an HTTPS CONNECT proxy that terminates TLS itself with a test CA's certificate for *.googleapis.com, so the
  real gspread / google-auth / requests code reached through HTTPS_PROXY + REQUESTS_CA_BUNDLE talks to it as
  if it were Google (nothing leaves 127.0.0.1);
- the OAuth token endpoint (oauth2.googleapis.com/token), verifying the service-account JWT's RS256
  signature against the registered public key, its audience, expiry and scope;
- the Sheets API endpoints gspread uses: spreadsheets.get (with grid data, ranges, field masks), values
  get / batchGet / update / batchUpdate / clear, and spreadsheets.batchUpdate with addSheet, deleteSheet,
  updateSheetProperties, repeatCell, updateCells and updateDimensionProperties, applied all-or-nothing.

Cells are stored as the API stores them: CellData with userEnteredValue (stringValue / numberValue /
boolValue / formulaValue) and userEnteredFormat. Tests can inject failures (429, 500, …) per request.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import secrets
import ssl
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

GOOGLE_HOSTS = ("sheets.googleapis.com", "oauth2.googleapis.com", "www.googleapis.com",
                "iamcredentials.googleapis.com")
SPREADSHEETS_SCOPE = "https://www.googleapis.com/auth/spreadsheets"
TOKEN_URI = "https://oauth2.googleapis.com/token"


class ApiError(Exception):
    def __init__(self, code: int, message: str, status: str = "INVALID_ARGUMENT"):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


# --- A1 notation ------------------------------------------------------------------------------------

def col_number(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def col_letters(n: int) -> str:
    out = ""
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def split_range(text: str) -> tuple[str | None, str | None]:
    """'It''s'!A1:B2 → ("It's", "A1:B2"); Sheet1 → ("Sheet1", None); A1:B2 → (None, "A1:B2")."""
    if text.startswith("'"):
        m = re.match(r"'((?:[^']|'')*)'(?:!(.*))?$", text)
        if not m:
            raise ApiError(400, f"Unable to parse range: {text}")
        return m.group(1).replace("''", "'"), m.group(2)
    if "!" in text:
        sheet, cells = text.rsplit("!", 1)
        return sheet, cells
    if re.fullmatch(r"[A-Za-z]{1,3}\d*(:[A-Za-z]{1,3}\d*)?", text):
        return None, text
    return text, None


def quote_title(title: str) -> str:
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", title) and not re.fullmatch(r"[A-Za-z]{1,3}\d+", title):
        return title
    return "'" + title.replace("'", "''") + "'"


def parse_cells(cells: str | None) -> tuple[int | None, int | None, int | None, int | None]:
    """A1:D4 → 1-based (r0, c0, r1, c1); open ends are None."""
    if not cells:
        return None, None, None, None
    parts = cells.split(":")
    bounds = []
    for part in parts:
        m = re.fullmatch(r"([A-Za-z]*)(\d*)", part)
        if not m:
            raise ApiError(400, f"Unable to parse range: {cells}")
        bounds.append((int(m.group(2)) if m.group(2) else None, col_number(m.group(1)) if m.group(1) else None))
    (r0, c0), (r1, c1) = bounds[0], bounds[-1]
    if len(parts) == 1:
        r1, c1 = r0, c0
    return r0, c0, r1, c1


# --- field masks ------------------------------------------------------------------------------------

def parse_mask(mask: str) -> dict:
    """"a.b,c(d,e/f)" → {"a": {"b": None}, "c": {"d": None, "e": {"f": None}}}; None = the whole field."""
    pos = 0

    def parse_list(end: str | None) -> dict:
        nonlocal pos
        out: dict = {}
        while pos < len(mask):
            m = re.match(r"\s*([A-Za-z0-9_*]+(?:[./][A-Za-z0-9_*]+)*)", mask[pos:])
            if not m:
                raise ApiError(400, f"Invalid field mask: {mask}")
            path = re.split(r"[./]", m.group(1))
            pos += m.end()
            sub = None
            if pos < len(mask) and mask[pos] == "(":
                pos += 1
                sub = parse_list(")")
            node: dict | None = out
            for name in path[:-1]:
                if node is None:
                    break
                node = node.setdefault(name, {})
            if node is not None:
                node[path[-1]] = sub
            if pos < len(mask) and mask[pos] == ",":
                pos += 1
                continue
            if end and pos < len(mask) and mask[pos] == end:
                pos += 1
                return out
        return out

    return parse_list(None)


def filter_fields(obj, tree: dict | None):
    """Keep only the fields a mask names (lists are filtered element-wise)."""
    if tree is None or "*" in tree:
        return obj
    if isinstance(obj, list):
        return [filter_fields(x, tree) for x in obj]
    if isinstance(obj, dict):
        return {k: filter_fields(v, tree[k]) for k, v in obj.items() if k in tree}
    return obj


def masked_set(target: dict, source: dict, tree: dict | None) -> None:
    """Write the fields a mask names from source into target; a named field missing in source is cleared."""
    if tree is None or "*" in (tree or {}):
        target.clear()
        target.update(copy.deepcopy(source))
        return
    for key, sub in tree.items():
        if sub is None:
            if key in source:
                target[key] = copy.deepcopy(source[key])
            else:
                target.pop(key, None)
        else:
            child = target.setdefault(key, {})
            masked_set(child, source.get(key, {}) or {}, sub)
            if not child:
                target.pop(key)


def mirror_colour_styles(fmt: dict) -> dict:
    """Google answers every colour also as its *ColorStyle twin."""
    fmt = copy.deepcopy(fmt)
    if "backgroundColor" in fmt:
        fmt["backgroundColorStyle"] = {"rgbColor": fmt["backgroundColor"]}
    text = fmt.get("textFormat")
    if isinstance(text, dict) and "foregroundColor" in text:
        text["foregroundColorStyle"] = {"rgbColor": text["foregroundColor"]}
    return fmt


# --- the model --------------------------------------------------------------------------------------

@dataclass
class Sheet:
    properties: dict
    cells: dict[tuple[int, int], dict] = field(default_factory=dict)  # (row, col), 1-based → CellData
    columns: dict[int, dict] = field(default_factory=dict)  # 0-based → DimensionProperties
    rows: dict[int, dict] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return self.properties["title"]

    @property
    def size(self) -> tuple[int, int]:
        g = self.properties["gridProperties"]
        return g["rowCount"], g["columnCount"]

    def extent(self) -> tuple[int, int]:
        filled = [k for k, v in self.cells.items() if "userEnteredValue" in v]
        return (max(r for r, _ in filled), max(c for _, c in filled)) if filled else (0, 0)


@dataclass
class Spreadsheet:
    id: str
    title: str
    sheets: list[Sheet] = field(default_factory=list)
    readers: set[str] = field(default_factory=set)  # account e-mails allowed to read
    writers: set[str] = field(default_factory=set)

    def sheet(self, title: str | None) -> Sheet:
        if title is None:
            return self.sheets[0]
        for s in self.sheets:
            if s.title == title:
                return s
        raise ApiError(400, f"Unable to parse range: {quote_title(title)}")

    def by_id(self, sheet_id: int) -> Sheet:
        for s in self.sheets:
            if s.properties["sheetId"] == sheet_id:
                return s
        raise ApiError(400, f"No grid with id: {sheet_id}")

    def reindex(self) -> None:
        for i, s in enumerate(self.sheets):
            s.properties["index"] = i


@dataclass
class Fault:
    """Answer `status` instead of serving, `times` times, to requests `match(method, path, body)` accepts."""

    match: object
    status: int
    times: int = 1
    retry_after: str | None = None


class Emulator:
    def __init__(self):
        self.lock = threading.RLock()
        self.spreadsheets: dict[str, Spreadsheet] = {}
        self.accounts: dict[str, object] = {}  # client_email → public key
        self.refresh_tokens: dict[str, str] = {}  # refresh token → account e-mail
        self.tokens: dict[str, tuple[str, float]] = {}  # access token → (account, expiry)
        self.faults: list[Fault] = []
        self.log: list[dict] = []
        self.next_sheet_id = 1000

    # set-up helpers for tests
    def add_spreadsheet(self, key: str, title: str = "Sales", sheets=("Sheet1",), share_with=()) -> Spreadsheet:
        book = Spreadsheet(key, title, writers=set(share_with), readers=set(share_with))
        for i, name in enumerate(sheets):
            book.sheets.append(Sheet({"sheetId": 0 if i == 0 else self._new_id(), "title": name, "index": i,
                                      "sheetType": "GRID", "gridProperties": {"rowCount": 1000, "columnCount": 26}}))
        with self.lock:
            self.spreadsheets[key] = book
        return book

    def fail(self, status: int, times: int = 1, match=None, retry_after: str | None = None) -> None:
        with self.lock:
            self.faults.append(Fault(match or (lambda *_: True), status, times, retry_after))

    def _new_id(self) -> int:
        self.next_sheet_id += 7919
        return self.next_sheet_id

    # --- dispatch
    def handle(self, method: str, host: str, target: str, headers, body: bytes) -> tuple[int, dict, dict]:
        url = urlsplit(target)
        path, query = url.path, parse_qs(url.query, keep_blank_values=True)
        text = body.decode("utf-8") if body else ""
        entry = {"method": method, "host": host, "path": unquote(path), "query": query, "body": text,
                 "authorization": headers.get("Authorization", "")}
        with self.lock:
            self.log.append(entry)
            for fault in self.faults:
                if fault.times > 0 and fault.match(method, unquote(path), text):
                    fault.times -= 1
                    extra = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                    status = {429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}.get(fault.status, "ERROR")
                    return fault.status, _error(fault.status, "Injected failure", status), extra
        try:
            if path.endswith("/token"):
                return 200, self.token(text), {}
            if "/allowedLocations" in path:  # google-auth's side call after a token refresh
                return 200, {"encodedLocations": "0x0", "locations": []}, {}
            if not path.startswith("/v4/spreadsheets/"):
                return 404, _error(404, f"Not found: {path}", "NOT_FOUND"), {}
            account = self.authorise(headers.get("Authorization", ""))
            with self.lock:
                return 200, self.sheets_api(method, path, query, json.loads(text) if text else {}, account), {}
        except ApiError as err:
            return err.code, _error(err.code, err.message, err.status), {}

    # --- OAuth
    def token(self, text: str) -> dict:
        form = {k: v[0] for k, v in parse_qs(text).items()}
        if form.get("grant_type") == "refresh_token":
            account = self.refresh_tokens.get(form.get("refresh_token", ""))
            if account is None:
                raise ApiError(400, "invalid_grant", "invalid_grant")
            return self._issue(account)
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            raise ApiError(400, "unsupported_grant_type", "unsupported_grant_type")
        try:
            head, payload, signature = form["assertion"].split(".")
            claims = json.loads(_unb64(payload))
            header = json.loads(_unb64(head))
        except (KeyError, ValueError):
            raise ApiError(400, "invalid_grant: malformed JWT", "invalid_grant") from None
        key = self.accounts.get(claims.get("iss"))
        if key is None or header.get("alg") != "RS256":
            raise ApiError(400, "invalid_grant: Invalid JWT Signature.", "invalid_grant")
        try:
            key.verify(_unb64(signature), f"{head}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise ApiError(400, "invalid_grant: Invalid JWT Signature.", "invalid_grant") from None
        now = time.time()
        if claims.get("aud") != TOKEN_URI or not claims.get("iat", 0) - 300 <= now <= claims.get("exp", 0):
            raise ApiError(400, "invalid_grant: Invalid JWT: audience or time.", "invalid_grant")
        self.last_scopes = claims.get("scope", "").split()
        if SPREADSHEETS_SCOPE not in self.last_scopes:
            raise ApiError(400, "invalid_scope", "invalid_scope")
        return self._issue(claims["iss"])

    def _issue(self, account: str) -> dict:
        token = "ya29.test-" + secrets.token_urlsafe(24)
        self.tokens[token] = (account, time.time() + 3600)
        return {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}

    def authorise(self, header: str) -> str:
        token = header.removeprefix("Bearer ").strip()
        account, expiry = self.tokens.get(token, (None, 0))
        if account is None or expiry < time.time():
            raise ApiError(401, "Request had invalid authentication credentials.", "UNAUTHENTICATED")
        return account

    # --- Sheets API
    def sheets_api(self, method: str, path: str, query: dict, body: dict, account: str) -> dict:
        m = re.fullmatch(r"/v4/spreadsheets/([^/:]+)(.*)", path)
        key, rest = m.group(1), unquote(m.group(2))
        book = self.spreadsheets.get(key)
        if book is None:
            raise ApiError(404, "Requested entity was not found.", "NOT_FOUND")
        writing = method != "GET"
        if account not in (book.writers if writing else book.readers | book.writers):
            raise ApiError(403, "The caller does not have permission", "PERMISSION_DENIED")
        q = {k: v[-1] for k, v in query.items()}
        if rest == "" and method == "GET":
            return self.get_spreadsheet(book, query)
        if rest == ":batchUpdate" and method == "POST":
            return self.batch_update(book, body)
        if rest == "/values:batchGet" and method == "GET":
            return {"spreadsheetId": key, "valueRanges": [self.get_values(book, r, q) for r in query.get("ranges", [])]}
        if rest == "/values:batchUpdate" and method == "POST":
            responses = [self.put_values(book, d["range"], d.get("values", []), body.get("valueInputOption"))
                         for d in body.get("data", [])]
            return {"spreadsheetId": key, "totalUpdatedRows": sum(r["updatedRows"] for r in responses),
                    "totalUpdatedColumns": max((r["updatedColumns"] for r in responses), default=0),
                    "totalUpdatedCells": sum(r["updatedCells"] for r in responses),
                    "totalUpdatedSheets": len({split_range(d["range"])[0] for d in body.get("data", [])}),
                    "responses": [{"spreadsheetId": key, **r} for r in responses]}
        if rest.startswith("/values/") and rest.endswith(":clear") and method == "POST":
            return {"spreadsheetId": key, "clearedRange": self.clear(book, rest[len("/values/"):-len(":clear")])}
        if rest.startswith("/values/") and method == "GET":
            return self.get_values(book, rest[len("/values/"):], q)
        if rest.startswith("/values/") and method == "PUT":
            return {"spreadsheetId": key, **self.put_values(book, rest[len("/values/"):], body.get("values", []),
                                                            q.get("valueInputOption"))}
        raise ApiError(404, f"Method not found: {method} {rest}", "NOT_FOUND")

    def get_spreadsheet(self, book: Spreadsheet, query: dict) -> dict:
        fields = query.get("fields", [None])[-1]
        with_data = query.get("includeGridData", ["false"])[-1].lower() == "true" or (fields and "data" in fields)
        ranges = query.get("ranges", [])
        sheets = []
        for s in book.sheets:
            entry = {"properties": copy.deepcopy(s.properties)}
            wanted = [r for r in ranges if (split_range(r)[0] or book.sheets[0].title) == s.title]
            if with_data and (wanted or not ranges):
                entry["data"] = [self.grid_data(s, r) for r in (wanted or [None])]
            if ranges and not wanted:
                continue
            sheets.append(entry)
        doc = {"spreadsheetId": book.id,
               "properties": {"title": book.title, "locale": "en_US", "autoRecalc": "ON_CHANGE",
                              "timeZone": "Etc/GMT"},
               "sheets": sheets,
               "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{book.id}/edit"}
        return filter_fields(doc, parse_mask(fields)) if fields else doc

    def grid_data(self, s: Sheet, rng: str | None) -> dict:
        rows, cols = s.size
        r0, c0, r1, c1 = parse_cells(split_range(rng)[1] if rng else None)
        r0, c0, r1, c1 = r0 or 1, c0 or 1, r1 or rows, c1 or cols
        row_data = []
        for r in range(r0, r1 + 1):
            values = []
            for c in range(c0, c1 + 1):
                cell = s.cells.get((r, c), {})
                values.append(self.render_cell(cell) if cell else {})
            while values and not values[-1]:
                values.pop()
            row_data.append({"values": values} if values else {})
        while row_data and not row_data[-1]:
            row_data.pop()
        out = {"rowData": row_data,
               "columnMetadata": [copy.deepcopy(s.columns.get(c - 1, {"pixelSize": 100})) for c in range(c0, c1 + 1)]}
        if r0 > 1:
            out["startRow"] = r0 - 1
        if c0 > 1:
            out["startColumn"] = c0 - 1
        return out

    def render_cell(self, cell: dict) -> dict:
        out = {}
        value = cell.get("userEnteredValue")
        if value is not None:
            out["userEnteredValue"] = copy.deepcopy(value)
            out["effectiveValue"] = copy.deepcopy(value)
            out["formattedValue"] = self.formatted(cell)
        if cell.get("userEnteredFormat"):
            out["userEnteredFormat"] = mirror_colour_styles(cell["userEnteredFormat"])
        return out

    def formatted(self, cell: dict, unformatted: bool = False, date_strings: bool = False):
        value = cell.get("userEnteredValue", {})
        if "stringValue" in value:
            return value["stringValue"]
        if "formulaValue" in value:
            return value["formulaValue"]
        if "boolValue" in value:
            return value["boolValue"] if unformatted else ("TRUE" if value["boolValue"] else "FALSE")
        number = value.get("numberValue")
        kind = cell.get("userEnteredFormat", {}).get("numberFormat", {}).get("type")
        if kind in ("DATE", "DATE_TIME") and (date_strings or not unformatted):
            moment = datetime(1899, 12, 30) + timedelta(days=number)
            return moment.date().isoformat() if kind == "DATE" else moment.isoformat(sep=" ")
        if unformatted:
            return number
        if kind == "PERCENT":
            return f"{number * 100:.1f}%"
        return str(int(number)) if float(number).is_integer() else str(number)

    def get_values(self, book: Spreadsheet, rng: str, q: dict) -> dict:
        title, cells = split_range(rng)
        s = book.sheet(title)
        rows, cols = s.size
        r0, c0, r1, c1 = parse_cells(cells)
        if cells is None:
            r1, c1 = s.extent()
            r0, c0 = 1, 1
            if r1 == 0:
                r1, c1 = rows, cols
        r0, c0, r1, c1 = r0 or 1, c0 or 1, r1 or rows, c1 or cols
        if r1 > rows or c1 > cols:
            raise ApiError(400, f"Range ({quote_title(s.title)}!{cells}) exceeds grid limits. "
                                f"Max rows: {rows}, max columns: {cols}")
        unformatted = q.get("valueRenderOption") == "UNFORMATTED_VALUE"
        date_strings = q.get("dateTimeRenderOption") == "FORMATTED_STRING"
        values = []
        for r in range(r0, r1 + 1):
            row = [self.formatted(s.cells.get((r, c), {}), unformatted, date_strings)
                   if "userEnteredValue" in s.cells.get((r, c), {}) else "" for c in range(c0, c1 + 1)]
            while row and row[-1] == "":
                row.pop()
            values.append(row)
        while values and not values[-1]:
            values.pop()
        span = f"{col_letters(c0)}{r0}" + ("" if (r0, c0) == (r1, c1) else f":{col_letters(c1)}{r1}")
        out = {"range": f"{quote_title(s.title)}!{span}", "majorDimension": "ROWS"}
        if values:
            out["values"] = values
        return out

    def put_values(self, book: Spreadsheet, rng: str, values: list[list], option: str | None) -> dict:
        if option not in ("RAW", "USER_ENTERED"):
            raise ApiError(400, "Invalid valueInputOption: INPUT_VALUE_OPTION_UNSPECIFIED")
        title, cells = split_range(rng)
        s = book.sheet(title)
        rows, cols = s.size
        r0, c0, _, _ = parse_cells(cells)
        r0, c0 = r0 or 1, c0 or 1
        height, width = len(values), max((len(v) for v in values), default=0)
        if r0 + height - 1 > rows or c0 + width - 1 > cols:
            raise ApiError(400, f"Range ({quote_title(s.title)}!{cells or 'A1'}) exceeds grid limits. "
                                f"Max rows: {rows}, max columns: {cols}")
        for i, row in enumerate(values):
            for j, value in enumerate(row):
                if value is None:
                    continue
                cell = s.cells.setdefault((r0 + i, c0 + j), {})
                stored = _user_entered(value, option)
                if stored is None:
                    cell.pop("userEnteredValue", None)
                else:
                    cell["userEnteredValue"] = stored
        r1, c1 = r0 + height - 1, c0 + width - 1
        span = f"{col_letters(c0)}{r0}" + ("" if (r0, c0) == (r1, c1) else f":{col_letters(c1)}{r1}")
        return {"updatedRange": f"{quote_title(s.title)}!{span}", "updatedRows": height,
                "updatedColumns": width, "updatedCells": height * width}

    def clear(self, book: Spreadsheet, rng: str) -> str:
        title, cells = split_range(rng)
        s = book.sheet(title)
        rows, cols = s.size
        r0, c0, r1, c1 = parse_cells(cells)
        r0, c0, r1, c1 = r0 or 1, c0 or 1, r1 or rows, c1 or cols
        for (r, c), cell in s.cells.items():
            if r0 <= r <= r1 and c0 <= c <= c1:
                cell.pop("userEnteredValue", None)
        return f"{quote_title(s.title)}!{col_letters(c0)}{r0}:{col_letters(c1)}{r1}"

    def batch_update(self, book: Spreadsheet, body: dict) -> dict:
        """All-or-nothing: requests apply to a copy that replaces the sheets only if every one succeeds."""
        work = copy.deepcopy(book)
        replies = []
        for i, request in enumerate(body.get("requests", [])):
            (kind, args), = request.items()
            handler = getattr(self, f"_req_{kind}", None)
            if handler is None:
                raise ApiError(400, f'Invalid requests[{i}]: Unknown name "{kind}"')
            try:
                replies.append(handler(work, args) or {})
            except ApiError as err:
                raise ApiError(err.code, f"Invalid requests[{i}].{kind}: {err.message}", err.status) from None
        if all(s.properties.get("hidden") for s in work.sheets):
            raise ApiError(400, "Invalid requests: You can't hide all the sheets in a document.")
        book.sheets = work.sheets
        return {"spreadsheetId": book.id, "replies": replies}

    def _req_addSheet(self, book: Spreadsheet, args: dict) -> dict:
        props = copy.deepcopy(args.get("properties", {}))
        title = props.get("title") or f"Sheet{len(book.sheets) + 1}"
        if any(s.title == title for s in book.sheets):
            raise ApiError(400, f'A sheet with the name "{title}" already exists. Please enter another name.')
        grid = {"rowCount": 1000, "columnCount": 26, **props.get("gridProperties", {})}
        sheet_id = props.get("sheetId", self._new_id())
        index = min(props.get("index", len(book.sheets)), len(book.sheets))
        props.update(sheetId=sheet_id, title=title, sheetType=props.get("sheetType", "GRID"), gridProperties=grid)
        book.sheets.insert(index, Sheet(props))
        book.reindex()
        return {"addSheet": {"properties": copy.deepcopy(book.sheets[index].properties)}}

    def _req_deleteSheet(self, book: Spreadsheet, args: dict) -> None:
        sheet = book.by_id(args["sheetId"])
        if len(book.sheets) == 1:
            raise ApiError(400, "You can't remove all the sheets in a document.")
        book.sheets.remove(sheet)
        book.reindex()

    def _req_updateSheetProperties(self, book: Spreadsheet, args: dict) -> None:
        props = args["properties"]
        sheet = book.by_id(props.get("sheetId", 0))
        tree = parse_mask(args["fields"])
        if "title" in tree and any(s.title == props.get("title") and s is not sheet for s in book.sheets):
            raise ApiError(400, f'A sheet with the name "{props["title"]}" already exists. Please enter another name.')
        index = props.get("index") if "index" in tree else None
        masked_set(sheet.properties, {k: v for k, v in props.items() if k != "index"},
                   {k: v for k, v in tree.items() if k not in ("index", "sheetId")})
        if index is not None:
            book.sheets.remove(sheet)
            book.sheets.insert(min(index, len(book.sheets)), sheet)
        book.reindex()

    def _req_repeatCell(self, book: Spreadsheet, args: dict) -> None:
        rng = args["range"]
        sheet = book.by_id(rng.get("sheetId", 0))
        rows, cols = sheet.size
        tree = parse_mask(args["fields"])
        for r in range(rng.get("startRowIndex", 0) + 1, rng.get("endRowIndex", rows) + 1):
            for c in range(rng.get("startColumnIndex", 0) + 1, rng.get("endColumnIndex", cols) + 1):
                self._write_cell(sheet, r, c, args.get("cell", {}), tree)

    def _req_updateCells(self, book: Spreadsheet, args: dict) -> None:
        if "start" in args:
            sheet = book.by_id(args["start"].get("sheetId", 0))
            r0, c0 = args["start"].get("rowIndex", 0), args["start"].get("columnIndex", 0)
        else:
            sheet = book.by_id(args["range"].get("sheetId", 0))
            r0, c0 = args["range"].get("startRowIndex", 0), args["range"].get("startColumnIndex", 0)
        rows, cols = sheet.size
        tree = parse_mask(args["fields"])
        for i, row in enumerate(args.get("rows", [])):
            for j, cell in enumerate(row.get("values", [])):
                if r0 + i >= rows or c0 + j >= cols:
                    raise ApiError(400, f"Range exceeds grid limits. Max rows: {rows}, max columns: {cols}")
                self._write_cell(sheet, r0 + i + 1, c0 + j + 1, cell, tree)

    def _write_cell(self, sheet: Sheet, r: int, c: int, data: dict, tree: dict) -> None:
        cell = sheet.cells.setdefault((r, c), {})
        masked_set(cell, data, tree)
        if not cell:
            del sheet.cells[(r, c)]

    def _req_updateDimensionProperties(self, book: Spreadsheet, args: dict) -> None:
        rng = args["range"]
        sheet = book.by_id(rng.get("sheetId", 0))
        store = sheet.columns if rng["dimension"] == "COLUMNS" else sheet.rows
        tree = parse_mask(args["fields"])
        for i in range(rng.get("startIndex", 0), rng["endIndex"]):
            masked_set(store.setdefault(i, {}), args["properties"], tree)


def _user_entered(value, option: str):
    """A JSON value as the API stores it; RAW never makes a formula."""
    if value == "":
        return None
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, (int, float)):
        return {"numberValue": value}
    text = str(value)
    if option == "USER_ENTERED":
        if text.startswith("="):
            return {"formulaValue": text}
        if re.fullmatch(r"-?\d+(\.\d+)?", text):
            return {"numberValue": float(text) if "." in text else int(text)}
        if text.upper() in ("TRUE", "FALSE"):
            return {"boolValue": text.upper() == "TRUE"}
    return {"stringValue": text}


def _error(code: int, message: str, status: str) -> dict:
    if status in ("invalid_grant", "invalid_scope", "unsupported_grant_type"):
        return {"error": status, "error_description": message}
    return {"error": {"code": code, "message": message, "status": status}}


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def serial(day: date | datetime) -> float:
    """A date as a spreadsheet serial number (days since 1899-12-30)."""
    moment = day if isinstance(day, datetime) else datetime(day.year, day.month, day.day)
    return (moment - datetime(1899, 12, 30)).total_seconds() / 86400


# --- the server -------------------------------------------------------------------------------------

class Server:
    """Start with `Server(emulator, tls_context)`; `.port`, `.stop()`."""

    def __init__(self, emulator: Emulator, tls: ssl.SSLContext | None):
        handler = type("Handler", (_Handler,), {"emulator": emulator, "tls": tls})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    emulator: Emulator
    tls: ssl.SSLContext | None
    tunnel_host = ""

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_CONNECT(self) -> None:
        host = self.path.split(":")[0]
        if host not in GOOGLE_HOSTS or self.tls is None:
            self.send_response(403)
            self.send_header("Content-Length", "0")
            self.end_headers()
            self.emulator.log.append({"method": "CONNECT", "host": host, "path": "", "refused": True})
            return
        self.send_response(200, "Connection established")
        self.end_headers()
        self.wfile.flush()
        self.connection = self.tls.wrap_socket(self.connection, server_side=True)
        self.rfile = self.connection.makefile("rb", self.rbufsize)
        self.wfile = self.connection.makefile("wb", 0)
        self.tunnel_host = host
        self.close_connection = False

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        host = self.tunnel_host or (self.headers.get("Host") or "").split(":")[0]
        status, payload, extra = self.emulator.handle(self.command, host, self.path, self.headers, body)
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in extra.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _serve
