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
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..config import Config
from ..duck import arrow as _arrow
from ..duck import connect as _connect
from ..duck import memory_guard
from ..duck import quote as _quote
from ..model import ACTION_TYPES
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


# a blank at either edge of a cell, as a regular expression (RE2)
_EDGE = "^[{0}]|[{0}]$".format("".join(f"\\x{{{ord(ch):x}}}" for ch in _WHITESPACE))


def _text(col: str, edge_regexp: bool = False) -> str:
    """A cell as text, stripped as str.strip() strips: the wide trim runs only where the first or the last
    character is blank. For a CSV's cells a test of those two characters is the quickest; for the strings of
    a Parquet file (dictionary-encoded) it is a regular expression, some 15 times quicker there (8.9 s against
    0.6 s over 12.5M deal ids) and a little slower on a CSV's."""
    edge = (f"regexp_matches({col}, {_quote(_EDGE)})" if edge_regexp else
            f"contains({_quote(_WHITESPACE)}, {col}[1]) OR contains({_quote(_WHITESPACE)}, {col}[-1])")
    return f"CASE WHEN {edge} THEN trim({col}, {_quote(_WHITESPACE)}) ELSE coalesce({col}, '') END"


def _iso(col: str) -> str:
    """Whether a cell is an ISO date or time of the fast path's grammar."""
    return f"regexp_full_match({col}, '{_DATE}({_TIME}(Z|[+-]\\d{{2}}:\\d{{2}})?)?')"


def _instant(col: str, tz: str) -> str:
    """The timestamp (naive, in `tz`) of a cell that matches _iso: each form gets the cast it needs. Such a
    cell is ASCII, so its length is its byte count (strlen, where length counts characters). It has an offset
    when it ends in Z, or when it is 22 characters or longer (the shortest form with `±hh:mm`:
    `yyyy-mm-ddThh:mm+hh:mm`) and holds a + or ends in -hh:mm: 0.3 s quicker over 15M cells than taking
    the characters at -1, -3 and -6."""
    offset = f"ends_with({col}, 'Z') OR (strlen({col}) > 21 AND (contains({col}, '+') OR {col} LIKE '%-__:__'))"
    return (f"CASE WHEN strlen({col}) = 10 THEN try_strptime({col}, '%Y-%m-%d') "
            f"WHEN {offset} THEN timezone({_quote(tz)}, try_cast({col} AS TIMESTAMPTZ)) "
            f"ELSE try_cast({col} AS TIMESTAMP) END")


def _typed(col: str, kind: str, tz: str) -> str:
    """SQL for the typed value of a trimmed varchar column; NULL where the cell is outside the fast path
    (an empty cell is NULL too, and typed as the general parser types it: NaT, NaN, or the default flag)."""
    if kind == "text":
        return col
    if kind == "datetime":  # one match of the whole grammar, then the cast its form needs
        return f"CASE WHEN {_iso(col)} THEN {_instant(col, tz)} END"
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

    footer = True  # a CSV export may end in a report footer
    edge_regexp = False  # how _text finds a blank edge

    def text(self, col: str) -> str:
        return _text(col, self.edge_regexp)

    def __init__(self, path: Path, names: list[str], sep: str, chosen: dict[str, tuple[int, str]]):
        self.path, self.names, self.sep, self.chosen = path, names, sep, chosen

    def native(self, index: int) -> str | None:
        """SQL of the typed value of column c<index> when the source types it already (a CSV never does)."""
        return None

    def used(self, footer: bool) -> list[int]:
        """The columns a scan needs: the chosen ones, and the first where a footer is looked for."""
        return sorted({*([0] if footer else []), *(index for index, _ in self.chosen.values())})

    def source(self, parallel: bool, footer: bool = True, trimmed: bool = True) -> str:
        """A subquery of the cells of the used columns (c<i>), trimmed as str.strip() trims (or as read)."""
        columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(self.names))) + "}"
        used = self.used(footer)
        cells = ", ".join((_text(f"c{i}") if trimmed else f"c{i}") + f" AS c{i}" for i in used)
        return (f"(SELECT {cells} FROM read_csv({_quote(str(self.path))}, header = false, skip = 1, "
                f"delim = {_quote(self.sep)}, quote = '\"', escape = '\"', columns = {columns}, "
                f"auto_detect = false, null_padding = true, strict_mode = true, parallel = {str(parallel).lower()}, "
                "encoding = 'utf-8'))")

    def query(self, tz: str) -> str:
        """SELECT of each chosen column typed, and `_outside`: the row has a cell outside the fast path (a
        format it does not type) or is a report footer. Each value is typed once, then tested. (A file with a
        NUL anywhere never gets here: _layout declines it.)"""
        values, flags = [], []
        for column, (index, kind) in self.chosen.items():
            native = self.native(index)
            values.append(f"{native or _typed(f'c{index}', kind, tz)} AS {column}")
            if native is not None:  # typed by its source: only a value out of the parser's range declines
                if kind == "amount":
                    flags.append(f"NOT coalesce(isfinite({column}), true)")
                elif kind == "datetime":
                    flags.append(f"coalesce({column} NOT BETWEEN TIMESTAMP '{FIRST_DAY}' AND TIMESTAMP '{LAST_DAY}', "
                                 "false)")
                continue
            if kind == "amount":
                flags.append(f"(c{index} <> '' AND ({column} IS NULL OR NOT isfinite({column})))")
            elif kind == "datetime":  # a date past 2262 or before 1677: the general parser decides
                flags.append(f"(c{index} <> '' AND ({column} IS NULL OR {column} NOT BETWEEN "
                             f"TIMESTAMP '{FIRST_DAY}' AND TIMESTAMP '{LAST_DAY}'))")
            elif kind != "text":
                flags.append(f"(c{index} <> '' AND {column} IS NULL)")
        if self.footer:
            others = [f"c{index} = ''" for index, _ in self.chosen.values() if index != 0]
            match = f"regexp_matches(c0, {_quote(_FOOTER)})"  # a footer row leaves the other cells empty
            flags.append(f"CASE WHEN {' AND '.join(others)} THEN {match} ELSE false END" if others else match)
        cells = ", ".join(f"c{i}" for i in self.used(footer=self.footer))
        # an empty flag as the general parser reads it: an activity is done, a deal not won or closed (the
        # flags above test the value as typed: a column of the FROM comes before an alias of the same name)
        finals = [f"coalesce({c}, {str(c == 'done').lower()}) AS {c}" if kind == "bool" else c
                  for c, (_, kind) in self.chosen.items()]
        return (f"SELECT {', '.join(finals)}, {' OR '.join(flags) or 'false'} AS _outside "
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
    chosen = _chosen(names, table, schema, config)
    return None if chosen is None else _Layout(path, names, sep, chosen)


def _chosen(names: list[str], table: str, schema: dict[str, tuple[bool, str]],
            config: Config) -> dict[str, tuple[int, str]] | None:
    """Each canonical column's place among `names` ([columns] mapping, else its name in any case) and kind;
    None when a required one is missing (the general reader names it and the closest header)."""
    mapping = config.columns.get(table, {})
    by_lower = {n.lower(): i for i, n in enumerate(names)}
    chosen: dict[str, tuple[int, str]] = {}
    for column, (required, kind) in schema.items():
        header = mapping.get(column, column)
        index = names.index(header) if header in names else by_lower.get(header.lower())
        if index is None:
            if required:
                return None
            continue
        chosen[column] = (index, kind)
    return chosen


_NUMBERS = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT",
            "FLOAT", "DOUBLE", "DECIMAL")


def _native_sql(type_: str, kind: str, cell: str, tz: str) -> str | None:
    """The typed value of a cell whose source type already fits the column's kind (a timestamp, a number, a
    flag), or None: the cell is read as text and typed as a CSV cell is."""
    t = type_.upper()
    if kind == "datetime":
        if t in ("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"):
            return f"timezone({_quote(tz)}, {cell})"  # an instant: the wall-clock time in the report's zone
        if t.startswith("TIMESTAMP") or t == "DATE":
            return f"CAST({cell} AS TIMESTAMP)"  # naive: already the report's wall-clock time
    if kind == "amount" and t.split("(")[0] in _NUMBERS:
        return f"CAST({cell} AS DOUBLE)"
    if kind == "bool" and t == "BOOLEAN":
        return cell
    return None


class _RelationLayout(_Layout):
    """A canonical table DuckDB reads itself (a Parquet file, a table of a DuckDB database): typed columns
    are taken as typed, text ones trimmed and typed as a CSV's cells; no footer."""

    footer = False
    edge_regexp = True

    def __init__(self, relation: str, label: Path, names: list[str], types: list[str],
                 chosen: dict[str, tuple[int, str]], tz: str, native_kinds: tuple[str, ...]):
        super().__init__(label, names, ",", chosen)
        self.relation = relation
        self.natives = {index: _native_sql(types[index], kind, f"c{index}", tz)
                        for index, kind in chosen.values() if kind in native_kinds}

    def native(self, index: int) -> str | None:
        return self.natives.get(index)

    def source(self, parallel: bool, footer: bool = True, trimmed: bool = True) -> str:
        cells = []
        for i in self.used(footer=False):
            column = '"' + self.names[i].replace('"', '""') + '"'
            if self.native(i) is not None:
                cells.append(f"{column} AS c{i}")
            else:
                text = f"CAST({column} AS VARCHAR)"
                cells.append(f"{self.text(text) if trimmed else text} AS c{i}")
        return f"(SELECT {', '.join(cells)} FROM {self.relation})"


def relation_layout(con, relation: str, label: Path, table: str, schema: dict[str, tuple[bool, str]],
                    config: Config, native_kinds: tuple[str, ...] = ("datetime", "amount", "bool")) -> _Layout | None:
    """The layout of a table DuckDB reads (`relation`, SQL), named `label` in messages; None when a required
    column is missing (the general reader names it) or DuckDB cannot read it."""
    import duckdb

    try:
        described = con.sql(f"DESCRIBE SELECT * FROM {relation}").fetchall()
    except duckdb.Error:
        return None
    names, types = [row[0] for row in described], [row[1] for row in described]
    chosen = _chosen(names, table, schema, config)
    if chosen is None:
        return None
    return _RelationLayout(relation, label, names, types, chosen, config.timezone, native_kinds)


def _has_nul(path: Path) -> bool:
    """Whether the file holds a NUL byte anywhere (the general reader says where); memchr-fast, read in
    blocks into one buffer (a mapped file would count in this process's memory, the whole file at once)."""
    block = bytearray(1 << 22)
    try:
        with path.open("rb", buffering=0) as fh:
            while n := fh.readinto(block):
                if block.find(0, 0, n) >= 0:
                    return True
    except OSError:
        return True
    return False


class _Unlearnt(Exception):
    """A row holds a value the sample of read_actions did not have."""


UNLEARNT = "a value the sample did not have"


def _run(con, layout: _Layout, sql: str, footer: bool = True, trimmed: bool = True,
         ordered: bool = True) -> list | None:
    """Run `sql`, whose {source} is the scan of the file, and fetch its rows; None when DuckDB cannot read the
    file as asked (invalid UTF-8, a row wider than the header, a broken quote: the general reader says which).
    Not `ordered`, the rows may land in any order: DuckDB then holds no scanned blocks back to keep the file's.
    A statement that stops on error(UNLEARNT) or a cast to an ENUM raises _Unlearnt."""
    import duckdb

    if not ordered:
        con.execute("SET preserve_insertion_order = false")
    try:
        for parallel in (True, False):  # DuckDB reads short rows beside quoted line breaks in one thread only
            try:
                with memory_guard(con, f"{layout.path.name}: reading it"):
                    return con.execute(sql.replace("{source}", layout.source(parallel, footer, trimmed))).fetchall()
            except duckdb.Error as exc:
                if isinstance(exc, duckdb.ConversionException) and "to ENUM" in str(exc) or UNLEARNT in str(exc):
                    raise _Unlearnt from None
                if not parallel or "parallel" not in str(exc):
                    return None
        return None
    finally:
        if not ordered:
            con.execute("SET preserve_insertion_order = true")


@dataclass
class TypedTable:
    """A canonical table the fast path read into DuckDB: `name` in the connection, each column typed as the
    general parser types it, in file order (`rowid` is the row's position among the data rows); `headers`
    are the export's headers each column was read from, for messages; `row` the SQL of a row's label in
    messages (its position among the data rows; a frame's index, for a table made from one)."""

    name: str
    headers: dict[str, str]
    row: str = "rowid"


def typed_table(con, path: Path, table: str, schema: dict[str, tuple[bool, str]], config: Config,
                name: str, min_bytes: int = FAST_PATH_MIN_BYTES) -> TypedTable | None:
    """The canonical table at `path` as table `name` of `con`, typed as the general parser types it; None to
    decline (and nothing left behind)."""
    layout = _layout(path, table, schema, config, min_bytes)
    return None if layout is None else typed_from(con, layout, name, config.timezone)


def typed_from(con, layout: _Layout, name: str, tz: str) -> TypedTable | None:
    """The table `layout` reads as table `name` of `con`, typed; None to decline (nothing left behind)."""
    # one pass: read, trim, type, and flag every cell outside the fast path; DuckDB keeps the file's row
    # order (preserve_insertion_order) however many threads scan it. The flag column is dropped after the
    # test, not copied away from: the table's other columns stay where they are
    if _run(con, layout, f"CREATE TEMP TABLE {name} AS " + layout.query(tz)) is None:
        con.execute(f"DROP TABLE IF EXISTS {name}")
        return None
    (declined,), = con.sql(f"SELECT count(*) = 0 OR coalesce(bool_or(_outside), false) FROM {name}").fetchall()
    if declined:
        con.execute(f"DROP TABLE {name}")
        return None
    con.execute(f"ALTER TABLE {name} DROP COLUMN _outside")
    return TypedTable(name, {column: layout.names[index] for column, (index, _) in layout.chosen.items()})


def read_typed(path: Path, table: str, schema: dict[str, tuple[bool, str]], config: Config,
               min_bytes: int = FAST_PATH_MIN_BYTES) -> pd.DataFrame | None:
    """The canonical table at `path` as a frame, typed as the general parser types it; None to decline."""
    con = _connect(config)
    typed = typed_table(con, path, table, schema, config, "typed", min_bytes)
    if typed is None:
        return None
    frame = _arrow(con.sql("SELECT * FROM typed")).to_pandas()
    con.close()
    for column, kind in ((c, schema[c][1]) for c in typed.headers):
        if kind == "datetime":
            frame[column] = frame[column].astype("datetime64[ns]")
        elif kind == "text":
            frame[column] = frame[column].astype(str)
        elif kind == "amount" and table == "deals":  # no cell of the fast path names a currency
            frame.insert(frame.columns.get_loc(column) + 1, "amount_currency", "")
    frame.attrs["headers"] = typed.headers
    return frame


def _outside_days(day: str) -> str:
    """Whether a typed day is missing or outside the days the fast path reads."""
    return f"({day} IS NULL OR {day} NOT BETWEEN TIMESTAMP '{FIRST_DAY}' AND TIMESTAMP '{LAST_DAY}' - INTERVAL 1 DAY)"


@dataclass
class ActionsTable:
    """Done sales actions read into DuckDB: `name` is a view (owner, action, day, deal_id; as
    canonical.actions_table writes them) over the done sales actions kept compactly; and the row counts of the
    activity types that are not sales actions, for the warning."""

    name: str
    unmapped: dict[str, int]


PREFIX_ROWS = 100_000  # the rows whose types, owners and flags are learnt before the one scan that stores


def read_actions(con, path: Path, schema: dict[str, tuple[bool, str]], config: Config, lookup: dict[str, str],
                 non_actions: set[str], name: str = "actions_in", min_bytes: int = FAST_PATH_MIN_BYTES,
                 owners: frozenset[str] = frozenset(), prefix_rows: int = PREFIX_ROWS,
                 layout: _Layout | None = None) -> ActionsTable | None:
    """An activities CSV as its done sales actions, the view `name` of `con`; None to decline.

    The values a row's type, owner and done flag take are learnt first, from the first `prefix_rows` rows and
    the `owners` other tables name, so that each distinct value is stripped, looked up and typed once, in
    Python. Then one scan of the cells as read writes the rows compactly — owner as an ENUM, the sales action
    its type maps to, the day, the deal id — of the done sales actions only, of the types that are no sales
    action (counted for the warning), and of any row a check declines the file for (no date, a date out of
    range or a flag that is no flag: the general reader names the row). A row whose type, owner or flag was
    not learnt sends it back: a full first scan counts every distinct value (a streaming aggregate of a few
    hundred groups) and the store runs again. Only the date and the deal id are trimmed per row, and the date
    only where it does not match as read. Row order is not kept: actions are counted, never listed."""
    needed = {column: spec for column, spec in schema.items() if column != "activity_id"}
    layout = layout or _layout(path, "activities", needed, config, min_bytes)
    if layout is None:
        return None
    cell = {column: f"c{index}" for column, (index, _) in layout.chosen.items()}
    for rows, known in ((f"(SELECT * FROM {{source}} LIMIT {prefix_rows})", owners), ("{source}", None)):
        kinds = _run(con, layout, f"SELECT {cell['type']}, {cell['owner']}, {cell.get('done', 'NULL')}, count(*) "
                                  f"FROM {rows} GROUP BY ALL", footer=False, trimmed=False, ordered=False)
        if not kinds:
            return None
        try:
            return _store_actions(con, layout, cell, kinds, known, config, lookup, non_actions, name)
        except _Unlearnt:
            con.execute(f"DROP TABLE IF EXISTS {name}_all; DROP TYPE IF EXISTS {name}_owner; "
                        f"DROP TYPE IF EXISTS {name}_action")
    return None


def _store_actions(con, layout: _Layout, cell: dict[str, str], kinds: list, owners: frozenset[str] | None,
                   config: Config, lookup: dict[str, str], non_actions: set[str], name: str) -> ActionsTable | None:
    """The store of read_actions with the (type, owner, flag, rows) `kinds` learnt: an ActionsTable, or None to
    decline. When `owners` is given the kinds are a sample: a row with a value they lack raises _Unlearnt."""
    sample = owners is not None
    raw_owners = {owner or "" for _, owner, _, _ in kinds}
    names = {owner.strip() for owner in raw_owners} | (owners or set())
    owner_cell = cell["owner"]
    owner = f"coalesce({owner_cell}, '')" if sample or names == raw_owners else layout.text(owner_cell)
    labels = {}  # each type as written → its sales action, itself (stripped) when it is no sales action, or NULL
    for kind in {k for k, _, _, _ in kinds if k is not None}:
        key = kind.strip()
        action = lookup.get(key.lower(), "")
        labels[kind] = action or (key if key.lower() not in non_actions and key != "" else None)
    others = sorted({label for label in labels.values() if label} - set(ACTION_TYPES))
    # a flag as written → 1 done, 0 not done, -1 no flag at all; a blank one is NULL (done)
    codes = {flag: None if not flag.strip() else 1 if flag.strip().lower() in TRUE_WORDS else
             0 if flag.strip().lower() in FALSE_WORDS else -1 for _, _, flag, _ in kinds if flag is not None}
    types = {column: f"{name}_{column}" for column in ("owner", "action")}
    for column, values in (("owner", names), ("action", {*ACTION_TYPES, *others})):
        con.execute(f"CREATE TYPE {types[column]} AS ENUM ({', '.join(map(_quote, sorted(values)))})")
    otherwise = (f"CASE WHEN {{cell}} IS NULL THEN NULL ELSE error({_quote(UNLEARNT)}) END" if sample
                 else "NULL")  # a sample's: a value it lacks stops the scan (as the cast of an owner it lacks)
    # each type as written straight to its ENUM value (the cast after it then costs nothing; it types a CASE of
    # NULLs only): half the time of mapping to text and casting that
    action = _mapping(cell["type"], {k: None if a is None else f"{_quote(a)}::{types['action']}"
                                     for k, a in labels.items()}, otherwise.format(cell=cell["type"]))
    done = _mapping(cell["done"], codes, otherwise.format(cell=cell["done"])) if "done" in cell else "NULL"
    sales = ", ".join(map(_quote, ACTION_TYPES))
    day = cell["occurred_at"]
    native_day = layout.native(layout.chosen["occurred_at"][0])
    typed_day = (f"CASE WHEN {_iso(day)} THEN {_instant(day, config.timezone)} "
                 f"ELSE {_typed(f'trim({day}, {_quote(_WHITESPACE)})', 'datetime', config.timezone)} END")
    created = _run(con, layout, f"""
        CREATE TABLE {name}_all AS
        SELECT owner, action, CASE WHEN done = -1 THEN NULL ELSE day END AS day, deal_id FROM (
            SELECT {owner}::{types['owner']} AS owner, ({action})::{types['action']} AS action,
                   CAST({native_day or typed_day} AS DATE) AS day,
                   {layout.text(cell["deal_id"]) if 'deal_id' in cell else "''"} AS deal_id,
                   ({done})::TINYINT AS done
            FROM {{source}})
        WHERE (action IS NOT NULL AND (coalesce(done, 1) = 1 OR action NOT IN ({sales})))
              OR done = -1 OR {_outside_days('day')}""", footer=False, trimmed=False, ordered=False)
    # the fast path's dates end a day before the general parser's last instant: that day declines, safely;
    # a row whose flag is no flag is kept without a day, so that it declines too (no column to say why)
    (outside,), = [(True,)] if created is None else con.execute(
        f"SELECT count(*) FILTER ({_outside_days('day')}) > 0 FROM {name}_all").fetchall()
    if outside:
        con.execute(f"DROP TABLE IF EXISTS {name}_all; " + "; ".join(f"DROP TYPE {t}" for t in types.values()))
        return None
    unmapped = dict(con.execute(f"SELECT action::VARCHAR, count(*) FROM {name}_all WHERE action NOT IN ({sales}) "
                                "GROUP BY ALL").fetchall()) if others else {}
    # a day is kept as a DATE (4 bytes a row, not 8) and read as the timestamp of its midnight
    con.execute(f"CREATE VIEW {name} AS SELECT owner, action, day::TIMESTAMP AS day, deal_id FROM {name}_all"
                + (f" WHERE action IN ({sales})" if others else ""))
    return ActionsTable(name, unmapped)


def _mapping(column: str, values: dict[str, object], otherwise: str) -> str:
    """SQL mapping each value of `column` as `values` says (None: NULL), anything else to `otherwise`."""
    whens = " ".join(f"WHEN {_quote(k)} THEN {'NULL' if v is None else v}" for k, v in sorted(values.items()))
    return f"CASE {column} {whens} ELSE {otherwise} END" if whens else otherwise
