"""Vectorised parsers for dates, amounts and booleans, with errors naming file, row and column."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..errors import InputError
from ..text import safe_line

_OFFSET = r"(?:Z|[+-]\d{2}(?::?\d{2})?)"
_TIME = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?"
ISO_RE = re.compile(rf"^\d{{4}}-\d{{2}}-\d{{2}}{_TIME}\s*{_OFFSET}?$")
ISO_OFFSET_RE = re.compile(rf"{_OFFSET}$")
DOTTED_RE = re.compile(r"^\d{1,2}\.\d{1,2}\.\d{4}(?: \d{1,2}:\d{2}(?::\d{2})?)?$")
SLASH_RE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})(?: \d{1,2}:\d{2}(?::\d{2})?(?: ?[AaPp][Mm])?)?$")

NAMED_RE = re.compile(r"^(?:[A-Za-z]{3,9}\.? \d{1,2},? \d{4}|\d{1,2}[ -][A-Za-z]{3,9}\.?,?[ -]\d{4})"
                      r"(?:,? \d{1,2}:\d{2}(?::\d{2})?(?: ?[AaPp][Mm])?)?$")

_DOTTED_FORMATS = ("%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y")
_NAMED_DATES = ("%b %d, %Y", "%B %d, %Y", "%b %d %Y", "%B %d %Y", "%d %b %Y", "%d %B %Y")
_NAMED_TIMES = ("", " %I:%M %p", " %I:%M%p", " %I:%M:%S %p", " %H:%M", " %H:%M:%S")
_SLASH_TIMES = (" %H:%M:%S", " %H:%M", " %I:%M %p", " %I:%M%p", " %I:%M:%S %p", "")

TRUE_WORDS = frozenset({"true", "yes", "y", "1", "t", "done", "completed", "complete", "да"})
FALSE_WORDS = frozenset({"false", "no", "n", "0", "f", "not done", "open", "нет"})
# the first cell of a report export's trailer rows ("Grand Totals (N records)", "Confidential Information…")
STATUS_WORDS = {  # a status cell (lower case) → won / lost / open ('' to derive it)
    "open": "open", "won": "won", "signed": "won", "closed won": "won", "closedwon": "won",
    "lost": "lost", "closed lost": "lost", "closedlost": "lost", "": "",
}
FOOTER = r"^(Grand Totals \(|Confidential Information|Copyright \(c\)|Total general|Gesamtsumme)"
_CURRENCY = re.compile(r"[$€£₽¥₹₴₸₩₪₺₦₱฿₫]|\b[A-Z]{3}\b|руб\.?|р\.|(?<=\d)\s*[A-Za-z]{1,3}\.?$")
_SPACES = re.compile(r"[\s\u00a0\u202f']")


def row_label(index: int) -> int:
    """The spreadsheet-style row number of a data row (row 1 is the header)."""
    return int(index) + 2


SHOWN_CELLS = 20  # bad cells of a column listed in one message, so a large export is fixed in one pass


def _fail(source: str, bad: pd.Series, column: str, text: pd.Series, what: str, fix: str) -> InputError:
    """Every bad cell of a column in one message: the first with the fix, then the next SHOWN_CELLS − 1 by row
    and the count. Cells are quoted on one line, cut to 80 (40) characters: a 5 MB or multi-line cell cannot
    flood or forge the message."""
    rows = bad.index[bad.to_numpy(dtype=bool)]
    first = rows[0]
    message = f'{source}, row {row_label(first)}, column "{column}": "{safe_line(text[first], 80)}" {what}. {fix}'
    if len(rows) > 1:
        more = ", ".join(f'{row_label(i)} ("{safe_line(text[i], 40)}")' for i in rows[1:SHOWN_CELLS])
        rest = f" and {len(rows) - SHOWN_CELLS} more" if len(rows) > SHOWN_CELLS else ""
        message += (f" {len(rows) - 1} more cell(s) of this column are like it, in rows {more}{rest}; fix them all "
                    "before the next run.")
    return InputError(message)


EXCEL_EPOCH = pd.Timestamp("1899-12-30")  # day 0 of Excel's (1900 system) and Google Sheets' serial dates
MAX_AMOUNT = 1e15  # a quadrillion: past it a cell is a mistake, and sums would lose whole units
MAX_SERIAL = (pd.Timestamp.max.date() - EXCEL_EPOCH.date()).days  # pandas timestamps end in 2262


def parse_datetimes(
    values: pd.Series, *, source: str, column: str, tz: str, dayfirst: bool | None, serials: bool = False,
    warnings: list[str] | None = None, formats: tuple[str, ...] = (),
) -> pd.Series:
    """Parse a column of dates or datetimes to naive wall-clock time in `tz`.

    Naive values are taken as already in `tz`; values with a UTC offset (or Z) are converted to it.
    Accepted: ISO 8601, dd.mm.yyyy, mm/dd/yyyy or dd/mm/yyyy (decided by the data or by dayfirst), English
    month names ("Nov 18, 2026", Zoho's "15 Apr, 2021 00:02:00"), `formats` (strftime patterns, [input]
    date_format) for any other layout, and with `serials` (a workbook's cells) Excel serial numbers such as
    45292 or 45292.75.
    """
    text = values.fillna("").astype(str).str.strip()
    result = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us]")
    present = text != ""
    if not present.any():
        return result.astype("datetime64[ns]")
    if serials:
        serial = present & text.str.fullmatch(r"\d{1,7}(?:\.\d+)?")
        if serial.any():
            days = pd.to_numeric(text[serial], errors="coerce")
            days = days.where((days >= 1) & (days < MAX_SERIAL))
            moments = pd.to_datetime((days * 86400).round(), unit="s", origin=EXCEL_EPOCH)  # whole seconds
            result[serial] = moments.astype("datetime64[us]")
            bad = serial & result.isna()
            if bad.any():
                raise _fail(source, bad, column, text, "is not a date", "Fix the cell: format it as a date.")
            present = present & ~serial
    iso = present & text.str.match(ISO_RE.pattern)
    dotted = present & ~iso & text.str.match(DOTTED_RE.pattern)
    slash = present & ~iso & ~dotted & text.str.match(SLASH_RE.pattern)
    named = present & ~iso & ~dotted & ~slash & text.str.match(NAMED_RE.pattern)
    unknown = present & ~iso & ~dotted & ~slash & ~named
    if unknown.any() and formats:  # [input] date_format: the export's own layout
        result[unknown] = _try_formats(text[unknown], formats)
        unknown = unknown & result.isna()
    if unknown.any():
        raise _fail(source, unknown, column, text, "is not a date",
            "Dates look like 2026-11-18, 2026-11-18 14:30, 2026-11-18T14:30:00+03:00, 18.11.2026, 11/18/2026, "
            "Nov 18, 2026 or 15 Apr, 2021; fix the cell, map another column in [columns], or describe the "
            'export\'s layout in salesreport.toml: [input] date_format = "%d %b, %Y %H:%M:%S" (strftime; a list '
            "is allowed).",
        )
    if iso.any():
        offset = iso & text.str.contains(ISO_OFFSET_RE.pattern + "$", regex=True) & text.str.contains(
            r"[T ]\d|Z$", regex=True
        )
        naive = iso & ~offset
        if naive.any():
            result[naive] = pd.to_datetime(text[naive].str.replace(",", ".", regex=False), format="ISO8601", errors="coerce").astype("datetime64[us]")
        if offset.any():
            aware = pd.to_datetime(text[offset].str.replace(",", ".", regex=False), format="ISO8601", errors="coerce", utc=True)
            result[offset] = aware.dt.tz_convert(tz).dt.tz_localize(None).astype("datetime64[us]")
    if dotted.any():
        result[dotted] = _try_formats(text[dotted], _DOTTED_FORMATS)
    if slash.any():
        result[slash] = _try_formats(text[slash], _slash_formats(text[slash], source, column, dayfirst))
    if named.any():  # "Sep 12, 2026", "12 September 2026 02:30 PM" (English month names)
        cleaned = (text[named].str.replace(r"(?<=[A-Za-z])[.,]", "", regex=True)  # Zoho: "15 Apr, 2021"
                   .str.replace(r"(?<=\d{4}),", "", regex=True)
                   .str.replace(r"^(\d{1,2})-([A-Za-z]+)-(\d{4})", r"\1 \2 \3", regex=True))  # 15-Apr-2021
        result[named] = _try_formats(cleaned, tuple(d + t for t in _NAMED_TIMES for d in _NAMED_DATES))
    bad = present & result.isna()
    if bad.any():
        raise _fail(source, bad, column, text, "is not a valid date", "Check the day and month; fix the cell.")
    return _within_bounds(result, text, source, column, warnings)


FIRST_DAY, LAST_DAY = pd.Timestamp.min.ceil("D"), pd.Timestamp.max.floor("s")  # 1677-09-22 .. 2262-04-11


def _within_bounds(result: pd.Series, text: pd.Series, source: str, column: str,
                   warnings: list[str] | None) -> pd.Series:
    """Nanosecond timestamps: a far-future placeholder (9999-12-31, 4000-01-01: "never") is read as empty
    with a warning; a date before 1677 stops the run naming its cell."""
    early = result < FIRST_DAY
    if early.any():
        raise _fail(source, early, column, text, "is before 1677, earlier than any date this tool reads",
                    "Fix the cell, or leave it empty when the date is unknown.")
    late = result > LAST_DAY
    if late.any():
        i = late.idxmax()
        if warnings is not None:
            warnings.append(f'{source}, column "{column}": {int(late.sum())} date(s) after 2262-04-11 such as "{text[i]}" '
                            "(row " f"{row_label(i)}) are taken as placeholders for no date and read as empty.")
        result = result.where(~late)
    return result.astype("datetime64[ns]")


def _try_formats(text: pd.Series, formats: tuple[str, ...]) -> pd.Series:
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    for fmt in formats:
        todo = out.isna()
        if not todo.any():
            break
        out[todo] = pd.to_datetime(text[todo], format=fmt, errors="coerce").astype("datetime64[us]")
    return out


def _slash_formats(text: pd.Series, source: str, column: str, dayfirst: bool | None) -> tuple[str, ...]:
    parts = text.str.extract(SLASH_RE.pattern)
    first, second = parts[0].astype(int), parts[1].astype(int)
    year = "%Y" if parts[2].str.len().max() == 4 else "%y"
    if dayfirst is None:
        if (first > 12).any():
            dayfirst = True
        elif (second > 12).any():
            dayfirst = False
        else:
            examples = ", ".join(f'"{v}"' for v in text.drop_duplicates().head(2))
            raise InputError(
                f'{source}, column "{column}": dates like {examples} read both as day/month and as '
                "month/day. Say which in salesreport.toml: [input] dayfirst = true (18/11/2026) "
                "or false (11/18/2026)."
            )
    date_fmt = f"%d/%m/{year}" if dayfirst else f"%m/%d/{year}"
    return tuple(date_fmt + t for t in _SLASH_TIMES)


def parse_amounts(values: pd.Series, *, source: str, column: str, allow_negative: bool = False) -> pd.Series:
    """Parse money like 1234.50, "1 234,50 ₽", "$1,234.50", "1.234,50 €" or "(1,200.00)"; empty → NaN."""
    text = values.fillna("").astype(str).str.strip()
    present = text != ""
    result = pd.Series(np.nan, index=values.index, dtype="float64")
    if not present.any():
        return result
    t = text[present]
    negative = t.str.match(r"^\(.*\)$") | t.str.match(r"^-")
    t = t.str.replace(r"^\((.*)\)$", r"\1", regex=True).str.replace(r"^-", "", regex=True)
    t = t.str.replace(_CURRENCY, "", regex=True).str.replace(_SPACES, "", regex=True)
    negative |= t.str.startswith("-")
    t = t.str.lstrip("-")
    has_comma = t.str.contains(",", regex=False)
    has_dot = t.str.contains(".", regex=False)
    last_comma = t.str.rfind(",")
    last_dot = t.str.rfind(".")
    after_comma = t.str.len() - last_comma - 1
    comma_decimal = has_comma & (
        (has_dot & (last_comma > last_dot))
        | (~has_dot & (t.str.count(",") == 1) & (after_comma != 3))
    )
    dot_thousands = has_dot & (t.str.count(r"\.") > 1) & ~comma_decimal
    cleaned = t.str.replace(",", "", regex=False)
    cleaned[dot_thousands] = t[dot_thousands].str.replace(".", "", regex=False)
    cleaned[comma_decimal] = (
        t[comma_decimal].str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    )
    valid = cleaned.str.fullmatch(r"\d+(\.\d+)?|\.\d+")
    numbers = pd.to_numeric(cleaned.where(valid), errors="coerce")
    bad = numbers.isna()
    if bad.any():
        raise _fail(source, bad, column, text, "is not an amount",
            'Amounts look like 1234.50, "1 234,50" or "$1,234.50"; fix the cell or map another column '
            "in [columns.deals].",
        )
    huge = ~(numbers <= MAX_AMOUNT)  # inf from 400 digits, or beyond any real deal
    if huge.any():
        raise _fail(source, huge, column, text, "is too large to be an amount",
                    "Amounts up to 10^15 are read; fix the cell (a stray number pasted into it?).")
    numbers = numbers.where(~negative, -numbers)
    if not allow_negative and (numbers < 0).any():
        raise _fail(source, numbers < 0, column, text, "is negative", "Amounts must be 0 or more; fix the cell.")
    result[present] = numbers.astype("float64")
    return result


_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "₽": "RUB", "руб": "RUB", "р": "RUB", "¥": "JPY", "₹": "INR",
            "₴": "UAH", "₸": "KZT", "₩": "KRW", "₪": "ILS", "₺": "TRY", "₦": "NGN", "₱": "PHP", "฿": "THB",
            "₫": "VND"}
_CURRENCY_MARK = re.compile(r"([$€£₽¥₹₴₸₩₪₺₦₱฿₫]|\b[A-Z]{3}\b|руб|(?<=[\d\s])р(?=\.|$))")


def amount_currencies(values: pd.Series) -> pd.Series:
    """The currency written in each amount cell ("$1,234.50" → USD, "1 234,50 ₽" → RUB, "EUR 10" → EUR);
    "" where the cell names none."""
    mark = values.fillna("").astype(str).str.extract(_CURRENCY_MARK, expand=False).fillna("")
    return mark.replace(_SYMBOLS)


def parse_booleans(values: pd.Series, *, source: str, column: str, default: bool) -> pd.Series:
    """Parse true/false, yes/no, 1/0, done/not done; an empty cell gives `default`."""
    text = values.fillna("").astype(str).str.strip().str.lower()
    result = pd.Series(default, index=values.index, dtype=bool)
    result[text.isin(TRUE_WORDS)] = True
    result[text.isin(FALSE_WORDS)] = False
    bad = (text != "") & ~text.isin(TRUE_WORDS | FALSE_WORDS)
    if bad.any():
        raise _fail(
            source, bad, column, values.fillna("").astype(str), "is not true or false",
            "Use true/false, yes/no or 1/0 (an empty cell counts as done).",
        )
    return result
