"""Read the canonical tables from the worksheets of a Google Sheet (one worksheet per table)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from gspread.utils import absolute_range_name

from ..config import TABLES, Config
from ..errors import InputError
from ..google import api_errors, credentials_path, load_account, open_client, spreadsheet_key


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
