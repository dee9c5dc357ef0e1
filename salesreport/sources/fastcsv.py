"""The fast path for a canonical CSV table: DuckDB reads and types it in one pass, no Python per row.

It takes the layout almost every large export has — UTF-8, one header row, ISO dates and times (naive, `Z`
or `±hh:mm`), plain decimal amounts, true/false-like flags — and types each column with SQL. Anything
else is declined, never guessed: a file in another encoding, a repeated header, a report footer, a row
too wide, a cell in any other format (a dd.mm.yyyy date, "$1,234.50", an invalid date or a typo) makes
`read_typed` return None, and the table goes through the general parser (canonical.py), which accepts
every other format and words each error with its file, row and column. So the two paths give identical
tables wherever the fast one answers, and messages never depend on which path ran.

An activities file arrives only as its done sales actions (`read_actions`): millions of rows of text never
reach pandas, just owner and action as categories, the day and the deal id. Every connection has
[engine] memory_limit and temp_directory; running out of memory is a configuration error, not a decline.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from ..config import Config
from ..duck import arrow as _arrow
from ..duck import connect as _connect
from ..duck import memory_guard
from ..duck import quote as _quote
from .parse import FALSE_WORDS, FIRST_DAY, FOOTER, LAST_DAY, TRUE_WORDS

# every character Python's str.strip() removes, so that SQL trims text exactly as the general parser does
# (written out: computing it by testing every code point cost 0.1 s of every start-up; a test checks it)
_WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
               "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
_DATE = r"\d{4}-\d{2}-\d{2}"
_TIME = r"[ T]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?"
# below this size the general parser is as quick as starting DuckDB (a report on a small export starts fast)
FAST_PATH_MIN_BYTES = 1 << 20
_FOOTER = "(?i)" + FOOTER


def _text(col: str) -> str:
    """A cell as text, stripped as str.strip() strips: the wide trim runs only where the first or the last
    character is blank (a test of two characters, several times cheaper than a regular expression)."""
    spaces = _quote(_WHITESPACE)
    return (f"CASE WHEN contains({spaces}, {col}[1]) OR contains({spaces}, {col}[-1]) "
            f"THEN trim({col}, {spaces}) ELSE coalesce({col}, '') END")


def _typed(col: str, kind: str, tz: str) -> str:
    """SQL for the typed value of a trimmed varchar column; NULL where the cell is outside the fast path
    (an empty cell is NULL too, and typed as the general parser types it: NaT, NaN, or the default flag)."""
    if kind == "text":
        return col
    if kind == "datetime":  # one match of the whole grammar, then the cast its form needs
        offset = f"{col}[-1] = 'Z' OR ({col}[-3] = ':' AND {col}[-6] IN ('+', '-') AND length({col}) > 16)"
        return (f"CASE WHEN regexp_full_match({col}, '{_DATE}({_TIME}(Z|[+-]\\d{{2}}:\\d{{2}})?)?') THEN "
                f"CASE WHEN length({col}) = 10 THEN try_strptime({col}, '%Y-%m-%d') "
                f"WHEN {offset} THEN timezone({_quote(tz)}, try_cast({col} AS TIMESTAMPTZ)) "
                f"ELSE try_cast({col} AS TIMESTAMP) END END")
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


class _Layout:
    """Where a canonical table's columns are in a CSV file, and the SQL that scans it as trimmed text."""

    def __init__(self, path: Path, names: list[str], sep: str, chosen: dict[str, tuple[int, str]]):
        self.path, self.names, self.sep, self.chosen = path, names, sep, chosen

    def used(self, footer: bool) -> list[int]:
        """The columns a scan needs: the chosen ones, and the first where a footer is looked for."""
        return sorted({*([0] if footer else []), *(index for index, _ in self.chosen.values())})

    def source(self, parallel: bool, footer: bool = True) -> str:
        """A subquery of the cells of the used columns (c<i>), trimmed as str.strip() trims."""
        columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(self.names))) + "}"
        used = self.used(footer)
        cells = ", ".join(_text(f"c{i}") + f" AS c{i}" for i in used)
        return (f"(SELECT {cells} FROM read_csv({_quote(str(self.path))}, header = false, skip = 1, "
                f"delim = {_quote(self.sep)}, quote = '\"', escape = '\"', columns = {columns}, "
                f"auto_detect = false, null_padding = true, strict_mode = true, parallel = {str(parallel).lower()}, "
                "encoding = 'utf-8'))")

    def query(self, tz: str, footer: bool = True) -> str:
        """SELECT of each chosen column typed, and `_outside`: the row has a cell outside the fast path (a
        format it does not type) or is a report footer. Each value is typed once, then tested. (A file with a
        NUL anywhere never gets here: _layout declines it.) Without `footer`, no footer is looked for: a
        table whose required date is then empty flags it anyway."""
        values, flags = [], []
        for column, (index, kind) in self.chosen.items():
            values.append(f"{_typed(f'c{index}', kind, tz)} AS {column}")
            if kind == "amount":
                flags.append(f"(c{index} <> '' AND ({column} IS NULL OR NOT isfinite({column})))")
            elif kind == "datetime":  # a date past 2262 or before 1677: the general parser decides
                flags.append(f"(c{index} <> '' AND ({column} IS NULL OR {column} NOT BETWEEN "
                             f"TIMESTAMP '{FIRST_DAY}' AND TIMESTAMP '{LAST_DAY}'))")
            elif kind != "text":
                flags.append(f"(c{index} <> '' AND {column} IS NULL)")
        if footer:
            others = [f"c{index} = ''" for index, _ in self.chosen.values() if index != 0]
            match = f"regexp_matches(c0, {_quote(_FOOTER)})"  # a footer row leaves the other cells empty
            flags.append(f"CASE WHEN {' AND '.join(others)} THEN {match} ELSE false END" if others else match)
        cells = ", ".join(f"c{i}" for i in self.used(footer))
        return (f"SELECT {', '.join(self.chosen)}, {' OR '.join(flags) or 'false'} AS _outside "
                f"FROM (SELECT {cells}, {', '.join(values)} FROM {{source}})")


def _layout(path: Path, table: str, schema: dict[str, tuple[bool, str]], config: Config,
            min_bytes: int) -> _Layout | None:
    """The file's layout when it may take the fast path (large enough, UTF-8, every required column)."""
    try:
        if path.stat().st_size < min_bytes:
            return None
    except OSError:
        return None
    if config.encoding and config.encoding.lower().replace("_", "-") not in ("utf-8", "utf8", "utf-8-sig"):
        return None
    found = _header(path)
    if found is None or _has_nul(path):
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
    return _Layout(path, names, sep, chosen)


def _has_nul(path: Path) -> bool:
    """Whether the file holds a NUL byte anywhere (the general reader says where); memchr-fast."""
    import mmap

    try:
        with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            return mm.find(b"\0") >= 0
    except (OSError, ValueError):
        return True


def _run(con, layout: _Layout, sql: str, footer: bool = True) -> bool:
    """Run `sql`, whose {source} is the scan of the file; False when DuckDB cannot read the file as asked
    (invalid UTF-8, a row wider than the header, a broken quote: the general reader says which)."""
    import duckdb

    for parallel in (True, False):  # DuckDB reads short rows beside quoted line breaks in one thread only
        try:
            with memory_guard(con, f"{layout.path.name}: reading it"):
                con.sql(sql.replace("{source}", layout.source(parallel, footer)))
            return True
        except duckdb.Error as exc:
            if not parallel or "parallel" not in str(exc):
                return False
    return False


def read_typed(path: Path, table: str, schema: dict[str, tuple[bool, str]], config: Config,
               min_bytes: int = FAST_PATH_MIN_BYTES) -> pd.DataFrame | None:
    """The canonical table at `path`, typed as the general parser types it; None to decline."""
    layout = _layout(path, table, schema, config, min_bytes)
    if layout is None:
        return None
    con = _connect(config)
    # one pass: read, trim, type, and flag every cell outside the fast path; DuckDB keeps the file's row
    # order (preserve_insertion_order) however many threads scan it
    if not _run(con, layout, "CREATE TEMP TABLE typed AS " + layout.query(config.timezone)):
        return None
    declined = con.sql("SELECT count(*) = 0 OR coalesce(bool_or(_outside), false) FROM typed").fetchall()
    if declined[0][0]:
        return None
    chosen = layout.chosen
    values = [f"coalesce({c}, true) AS {c}" if kind == "bool" else c for c, (_, kind) in chosen.items()]
    arrow = _arrow(con.sql(f"SELECT {', '.join(values)} FROM typed"))
    con.close()
    frame = arrow.to_pandas()
    for column, (_, kind) in chosen.items():
        if kind == "datetime":
            frame[column] = frame[column].astype("datetime64[ns]")
        elif kind == "text":
            frame[column] = frame[column].astype(str)
        elif kind == "amount" and table == "deals":  # no cell of the fast path names a currency
            frame.insert(frame.columns.get_loc(column) + 1, "amount_currency", "")
    frame.attrs["headers"] = {column: layout.names[index] for column, (index, _) in chosen.items()}
    return frame


def read_actions(path: Path, schema: dict[str, tuple[bool, str]], config: Config, lookup: dict[str, str],
                 non_actions: set[str], min_bytes: int = FAST_PATH_MIN_BYTES) -> pd.DataFrame | None:
    """An activities CSV as its done sales actions only (canonical.done_actions' compact form), with the
    unmapped types' row counts in attrs["unmapped"]; None to decline. Row order is not kept: actions are
    counted, never listed, so the scan need not be serial."""
    needed = {column: spec for column, spec in schema.items() if column != "activity_id"}
    layout = _layout(path, "activities", needed, config, min_bytes)
    if layout is None:
        return None
    con = _connect(config)
    # one pass: read, trim, type and flag the rows (an activity without a date stops the run: the general
    # reader names its row, and so does a report footer, whose date cell is empty)
    if not _run(con, layout, "CREATE TEMP TABLE typed AS SELECT * REPLACE (_outside OR occurred_at IS NULL "
                f"AS _outside) FROM ({layout.query(config.timezone, footer=False)})", footer=False):
        return None
    # the distinct types and owners (few), mapped in Python exactly as the general path maps them
    kinds = con.sql("SELECT type, owner, count(*), coalesce(bool_or(_outside), false) FROM typed "
                    "GROUP BY type, owner").fetchall()
    if not kinds or any(bad for *_, bad in kinds):
        return None
    rows_of: dict[str, int] = {}
    for name, _, n, _ in kinds:
        rows_of[name] = rows_of.get(name, 0) + n
    action_of = {name: lookup.get(name.strip().lower(), "") for name in rows_of}
    unmapped = {name: n for name, n in rows_of.items()
                if action_of[name] == "" and name.strip().lower() not in non_actions and name.strip() != ""}
    pairs = [(name, action) for name, action in action_of.items() if action]
    if not pairs:
        con.close()
        empty = pa.table({"owner": pa.array([], pa.string()), "action": pa.array([], pa.string()),
                          "day": pa.array([], pa.timestamp("us")), "deal_id": pa.array([], pa.string())})
        return _actions_frame(empty, layout, unmapped)
    # the done actions; owner and action come back dictionary-encoded, as ENUMs in sorted order
    con.sql(f"CREATE TYPE owner_enum AS ENUM ({', '.join(map(_quote, sorted({o for _, o, _, _ in kinds})))})")
    con.sql(f"CREATE TYPE action_enum AS ENUM ({', '.join(map(_quote, sorted({a for _, a in pairs})))})")
    values = ", ".join(f"({_quote(name)}, {_quote(action)})" for name, action in pairs)
    con.sql(f"CREATE TEMP TABLE mapping AS SELECT * FROM (VALUES {values}) AS m(type, action)")
    done = "coalesce(done, true)" if "done" in layout.chosen else "true"
    deal = "deal_id" if "deal_id" in layout.chosen else "''"
    arrow = _arrow(con.sql(
        f"SELECT owner::owner_enum AS owner, m.action::action_enum AS action, "
        f"date_trunc('day', occurred_at) AS day, {deal} AS deal_id FROM typed JOIN mapping m USING (type) "
        f"WHERE {done}"))
    con.close()
    return _actions_frame(arrow, layout, unmapped)


def _actions_frame(arrow: pa.Table, layout: _Layout, unmapped: dict[str, int]) -> pd.DataFrame:
    frame = pd.DataFrame({
        "owner": _categorical(arrow.column("owner")),
        "action": _categorical(arrow.column("action")),
        "day": arrow.column("day").to_numpy().astype("datetime64[ns]"),
        "deal_id": _categorical(arrow.column("deal_id"), sort=False),  # only ever looked up, never listed
    })
    frame.attrs.update(typed=True, actions=True, unmapped=unmapped,
                       headers={column: layout.names[index] for column, (index, _) in layout.chosen.items()})
    return frame


def _categorical(column: pa.ChunkedArray, sort: bool = True) -> pd.Categorical:
    """A pandas Categorical with sorted categories, as pd.Categorical(strings) makes it; a column DuckDB
    already sent dictionary-encoded in sorted order (an ENUM) is taken as it is."""
    import pyarrow.compute as pc

    if pa.types.is_dictionary(column.type):
        return pd.Categorical(column.to_pandas())
    encoded = pc.dictionary_encode(column).combine_chunks()
    if not sort:
        return pd.Categorical.from_codes(encoded.indices.to_numpy(zero_copy_only=False),
                                         categories=pd.Index(encoded.dictionary.to_pandas()))
    categories = encoded.dictionary.to_pylist()
    order = np.argsort(np.array(categories, dtype=object)) if categories else np.array([], dtype=np.int64)
    rank = np.empty(len(categories), dtype=np.int64)
    rank[order] = np.arange(len(categories))
    codes = rank[encoded.indices.to_numpy(zero_copy_only=False)] if len(categories) else np.array([], dtype=np.int64)
    return pd.Categorical.from_codes(codes, categories=[categories[i] for i in order])
