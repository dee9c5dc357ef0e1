"""The fast path for a canonical CSV table: DuckDB reads and types it in one pass, no Python per row.

It takes the layout almost every large export has — UTF-8, one header row, ISO dates and times (naive, `Z`
or `±hh:mm`), plain decimal amounts, true/false-like flags — and types each column with SQL. Anything
else is declined, never guessed: a file in another encoding, a repeated header, a report footer, a row
too wide, a cell in any other format (a dd.mm.yyyy date, "$1,234.50", an invalid date or a typo) makes
`read_typed` return None, and the table goes through the general parser (canonical.py), which accepts
every other format and words each error with its file, row and column. So the two paths give identical
tables wherever the fast one answers, and messages never depend on which path ran.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from ..config import Config
from .parse import FALSE_WORDS, FOOTER, TRUE_WORDS

# every character Python's str.strip() removes, so that SQL trims text exactly as the general parser does
_WHITESPACE = "".join(ch for ch in map(chr, range(sys.maxunicode + 1)) if ch.isspace())
_DATE = r"\d{4}-\d{2}-\d{2}"
_TIME = r"[ T]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?"
# below this size the general parser is as quick as starting DuckDB (a report on a small export starts fast)
FAST_PATH_MIN_BYTES = 1 << 20
_FOOTER = "(?i)" + FOOTER


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


_EDGE_SPACE = "[" + "".join(f"\\x{{{ord(ch):x}}}" for ch in _WHITESPACE) + "]"


def _text(col: str) -> str:
    """A cell as text, stripped as str.strip() strips (the wide trim only runs where an edge is blank)."""
    return (f"CASE WHEN regexp_matches({col}, '^{_EDGE_SPACE}|{_EDGE_SPACE}$') "
            f"THEN trim({col}, {_quote(_WHITESPACE)}) ELSE coalesce({col}, '') END")


def _typed(col: str, kind: str, tz: str) -> str:
    """SQL for the typed value of a trimmed varchar column; NULL where the cell is outside the fast path
    (an empty cell is NULL too, and typed as the general parser types it: NaT, NaN, or the default flag)."""
    if kind == "text":
        return col
    if kind == "datetime":
        return (f"CASE WHEN regexp_full_match({col}, '{_DATE}') THEN try_strptime({col}, '%Y-%m-%d') "
                f"WHEN regexp_full_match({col}, '{_DATE}{_TIME}') THEN try_cast({col} AS TIMESTAMP) "
                f"WHEN regexp_full_match({col}, '{_DATE}{_TIME}(Z|[+-]\\d{{2}}:\\d{{2}})') "
                f"THEN timezone({_quote(tz)}, try_cast({col} AS TIMESTAMPTZ)) END")
    if kind == "amount":
        return f"CASE WHEN regexp_full_match({col}, '\\d+(\\.\\d+)?') THEN try_cast({col} AS DOUBLE) END"
    if kind == "bool":
        return (f"CASE WHEN lower({col}) IN ({', '.join(map(_quote, sorted(FALSE_WORDS)))}) THEN false "
                f"WHEN lower({col}) IN ({', '.join(map(_quote, sorted(TRUE_WORDS)))}) THEN true END")
    raise ValueError(kind)


def _header(path: Path) -> tuple[list[str], str] | None:
    """The header's stripped names and the separator, or None when the head is not plain UTF-8 CSV."""
    try:
        with path.open("rb") as fh:
            head = fh.read(65536)
    except OSError:
        return None
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head or b"\n" not in head:
        return None
    first = head.split(b"\n", 1)[0].rstrip(b"\r")
    try:
        line = first.decode("utf-8").lstrip("\ufeff")
    except UnicodeDecodeError:
        return None
    if '"' in line:  # a quoted header may hold separators or line breaks: leave it to the general reader
        return None
    try:
        sep = csv.Sniffer().sniff(line, delimiters=",;\t").delimiter
    except csv.Error:
        sep = ","
    names = [name.strip() for name in line.split(sep)]
    if len(set(names)) != len(names) or "" in names:
        return None
    return names, sep


def read_typed(path: Path, table: str, schema: dict[str, tuple[bool, str]], config: Config,
               min_bytes: int = FAST_PATH_MIN_BYTES) -> pd.DataFrame | None:
    """The canonical table at `path`, typed as the general parser types it; None to decline."""
    try:
        if path.stat().st_size < min_bytes:
            return None
    except OSError:
        return None
    if config.encoding and config.encoding.lower().replace("_", "-") not in ("utf-8", "utf8", "utf-8-sig"):
        return None
    found = _header(path)
    if found is None:
        return None
    names, sep = found
    mapping = config.columns.get(table, {})
    by_lower = {n.lower(): i for i, n in enumerate(names)}
    chosen: dict[str, tuple[int, str]] = {}
    for column, (required, kind) in schema.items():
        header = mapping.get(column, column)
        index = names.index(header) if header in names else by_lower.get(header.lower())
        if index is None:
            if required:
                return None  # the general reader names the missing column and the closest header
            continue
        chosen[column] = (index, kind)

    import duckdb  # loaded only when a CSV is read

    con = duckdb.connect()
    con.sql("SET enable_progress_bar = false")  # DuckDB's own bar would land on stdout, where JSON goes
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(names))) + "}"
    used = sorted({0, *(index for index, _ in chosen.values())})
    trimmed = ", ".join(_text(f"c{i}") + f" AS c{i}" for i in used)
    typed, outside = [], [f"regexp_matches(c0, {_quote(_FOOTER)})"]
    for column, (index, kind) in chosen.items():
        value = _typed(f"c{index}", kind, config.timezone)
        typed.append(f"{value} AS {column}")
        outside.append(f"contains(c{index}, chr(0))")
        if kind == "amount":
            outside.append(f"(c{index} <> '' AND (({value}) IS NULL OR NOT isfinite({value})))")
        elif kind != "text":
            outside.append(f"(c{index} <> '' AND ({value}) IS NULL)")
    for parallel in ("true", "false"):  # DuckDB reads short rows beside quoted line breaks in one thread only
        try:  # one pass: read, trim as str.strip() trims, type, and flag every cell outside the fast path
            con.sql(
                f"CREATE TEMP TABLE typed AS SELECT _row, {', '.join(typed)}, {' OR '.join(outside)} AS _outside "
                f"FROM (SELECT row_number() OVER () - 1 AS _row, {trimmed} FROM read_csv({_quote(str(path))}, "
                f"header = false, skip = 1, delim = {_quote(sep)}, quote = '\"', escape = '\"', "
                f"columns = {columns}, auto_detect = false, null_padding = true, strict_mode = true, "
                f"parallel = {parallel}, encoding = 'utf-8'))"
            )
            break
        except duckdb.Error as exc:
            if parallel == "false" or "parallel" not in str(exc):
                return None  # invalid UTF-8, a row wider than the header, a broken quote: the general reader says
    declined = con.sql("SELECT count(*) = 0 OR coalesce(bool_or(_outside), false) FROM typed").fetchall()
    if declined[0][0]:
        return None
    values = [f"coalesce({c}, true) AS {c}" if kind == "bool" else c for c, (_, kind) in chosen.items()]
    result = con.sql(f"SELECT _row, {', '.join(values)} FROM typed")
    arrow = result.to_arrow_table() if hasattr(result, "to_arrow_table") else result.fetch_arrow_table()
    con.close()
    frame = _in_file_order(arrow).to_pandas()
    for column, (_, kind) in chosen.items():
        if kind == "datetime":
            frame[column] = frame[column].astype("datetime64[ns]")
        elif kind == "text":
            frame[column] = frame[column].astype(str)
        elif kind == "amount" and table == "deals":  # no cell of the fast path names a currency
            frame.insert(frame.columns.get_loc(column) + 1, "amount_currency", "")
    frame.attrs["headers"] = {column: names[index] for column, (index, _) in chosen.items()}
    return frame


def _in_file_order(table: pa.Table) -> pa.Table:
    """The rows in the file's order (a parallel scan may hand them over in another), without `_row`."""
    rows = table.column("_row").to_numpy()
    table = table.drop_columns(["_row"])
    if len(rows) > 1 and not bool(np.all(rows[1:] > rows[:-1])):
        where = np.empty(len(rows), dtype=np.int64)
        where[rows] = np.arange(len(rows))  # rows is a permutation of 0..n-1: its inverse, in O(n)
        table = table.take(where)
    return table
