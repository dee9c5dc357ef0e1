"""Read the four canonical tables (CSV folder, single CSV, or XLSX) into typed DataFrames."""

from __future__ import annotations

import csv
import difflib
import errno
import io
import os
import re
import stat
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..config import TABLES, Config
from ..duck import connect, memory_guard, quote
from ..errors import ConfigError, InputError, first_line
from ..model import ACTION_TYPES, SCHEMA, STAGES
from ..text import is_address, listed, safe_line
from .fastcsv import (
    FAST_PATH_MIN_BYTES,
    ActionsTable,
    TypedTable,
    read_actions,
    read_typed,
    relation_layout,
    typed_from,
    typed_table,
)
from .parse import (
    FOOTER,
    amount_currencies,
    parse_amounts,
    parse_booleans,
    parse_datetimes,
    row_label,
)
from .placement import place_stages
from .presets import Preset, PresetReader, guess_preset, preset_named
from .tables import (
    CANONICAL_DEALS,
    CANONICAL_HISTORY,
    DEALS,
    HISTORY,
    NO_STAGE,  # noqa: F401 - where readers of a Dataset look for the code of an empty stage
    canonical_actions,
    finish_deals,
    finish_history,
    frame_table,
    keep_pipeline,
    placement_evidence,
    read_deals,
    stage_lookup,
    stage_names,
)

NON_ACTIONS = {"note", "task", "notes", "tasks"}


@dataclass
class Dataset:
    """The canonical tables, parsed and typed, in the in-process DuckDB database `con`: the deals as table
    DEALS, the stage history as HISTORY (when there is one), the done sales actions as table `actions`
    (owner, action, day, deal_id). A large CSV is read straight into it and never becomes a frame; the reps,
    and the activities of a small export, are frames. A large activities export (a fast-path candidate: CSV,
    Parquet, a database's table) is read when `actions` or `activities` is first asked for: build_facts asks
    once its fact tables are built and the deals and history are gone, so that the actions are never held
    beside them (at 1M deals the peak falls by the actions' 190 MB). Its warnings take the place they would
    have had, and a bad cell in it is reported then. engine.funnel.build_facts takes the data set over: it
    drops DEALS and HISTORY once its fact tables hold them, so `deals`, `history` and `canonical` are read
    before the facts are built, or from a data set loaded again."""

    con: Any  # a DuckDB connection (duck.connect); engines open their own cursors on it
    sources: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    has_history: bool = False
    activities: pd.DataFrame | None = None
    reps: pd.DataFrame | None = None
    actions: str | None = None  # the name of the done sales actions' table in `con`
    currency: str | None = None  # the one currency the deals' amounts are in, when the data names it
    warning_ids: dict[str, tuple[str, ...]] = field(default_factory=dict)  # the deals a warning is about
    _later: Callable[[], None] | None = field(default=None, init=False, repr=False)  # reads the activities

    def __getattribute__(self, name: str):
        if name in ("actions", "activities"):  # the activities, read when first asked for (see above)
            object.__getattribute__(self, "read_activities")()
        return object.__getattribute__(self, name)

    def read_activities(self) -> None:
        """Read the activities now, if they wait to be read (once: a failed read is not tried again)."""
        later = object.__getattribute__(self, "_later")
        if later is not None:
            object.__setattr__(self, "_later", None)
            later()

    @property
    def deals(self) -> pd.DataFrame:
        """The deals as a frame, in file order (to look at; the engine reads the table)."""
        return self.con.sql(f"SELECT * EXCLUDE (pos) FROM {DEALS} ORDER BY pos").df()

    def canonical(self) -> dict[str, pd.DataFrame]:
        """The canonical tables as frames, the mapping applied (tables.CANONICAL_DEALS): deals, stage_history
        (when there is one), activities (the done sales actions, when there are any) and reps."""
        out = {"deals": self.con.sql(CANONICAL_DEALS).df()}
        if self.has_history:
            out["stage_history"] = self.con.sql(CANONICAL_HISTORY).df()
        if self.actions is not None:
            out["activities"] = self.con.sql(canonical_actions(self.actions)).df()
        if self.reps is not None:
            out["reps"] = self.reps.copy()
        return out

    @property
    def history(self) -> pd.DataFrame | None:
        """The stage history as a frame (deal_id, stage_idx, entered_at, owner), in file order; None without."""
        if not self.has_history:
            return None
        return self.con.sql(f"SELECT deal_id, stage_idx, entered_at, owner FROM {HISTORY} ORDER BY seq").df()


def resolve_sources(data: str | None, config: Config) -> dict[str, Path | str]:
    """Which file holds which table, from --data or [sources]."""
    if data is None:
        if config.spreadsheet is not None:
            return {"spreadsheet": config.spreadsheet}
        if "deals" not in config.sources:
            raise InputError(
                "No data given. Pass --data FOLDER (with deals.csv, stage_history.csv, activities.csv, "
                'reps.csv), or set [sources] deals = "path/to/deals.csv" in salesreport.toml.'
            )
        return dict(config.sources)
    if data.startswith("gsheet:"):
        return {"spreadsheet": data}
    path = Path(data)
    if not path.exists():
        raise InputError(f"{data}: no such file or folder. Check the path given to --data.")
    if path.is_dir():
        try:  # a folder this user may not list or search would read as one without exports
            os.scandir(path).close()
            os.stat(path / "deals.csv", follow_symlinks=False)
        except PermissionError:
            raise InputError(f"{path}: this user may not read the folder (permission denied). Give it read and "
                             f"search permission (chmod u+rx, or the group's), or copy the exports to a folder "
                             "it can read.") from None
        except OSError:
            pass  # no deals.csv: said below, with what the folder holds
        for table in TABLES:  # a table that is there but is no file stops the run: never read as absent
            problem = not_a_file(path / f"{table}.csv")
            if problem:
                raise InputError(f"{path / f'{table}.csv'}: {problem}, not a regular CSV file. Put the {table} export "
                                 "there as a file, or remove it.")
        found = {t: path / f"{t}.csv" for t in TABLES if (path / f"{t}.csv").is_file()}
        if "deals" not in found and (path / "deals.parquet").is_file():  # a folder `convert` wrote
            return {t: path / f"{t}.parquet" for t in TABLES if (path / f"{t}.parquet").is_file()}
        if "deals" not in found:
            present = sorted(p.name for p in path.glob("*.csv"))
            raise InputError(
                f"{path}: no deals.csv in this folder (found: {', '.join(present) or 'no CSV files'}). "
                "Name the deals export deals.csv, or pass the file itself with --data FILE.csv."
            )
        return found
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return {"workbook": path}
    if path.suffix.lower() in DATABASE_SUFFIXES:
        return {"database": path}
    sources = {t: p for t, p in config.sources.items() if t != "deals"}
    sources["deals"] = path
    return sources


def load_dataset(data: str | None, config: Config, pipeline: str | None = None,
                 credentials: Path | None = None) -> Dataset:
    """Read, map and parse every available table; raise InputError naming file, row and column."""
    if is_converted(data):  # canonical tables, the mapping applied when they were written: no preset or [columns]
        config = replace(config, preset=None, columns={})
    preset = preset_named(config.preset) if config.preset is not None else None
    warnings: list[str] = []
    con = connect(config)
    if preset is not None:
        config = _with_preset_stages(config, preset)
        raw_tables, names = read_preset(preset, data, config, warnings)
    else:
        sources = resolve_sources(data, config)
        raw_tables, names = _read_sources(sources, config, credentials, con)
        recorded = _converted_timezone(con, sources) if is_converted(data) else None
        if recorded is not None and recorded[1] != config.timezone:
            raise ConfigError(
                f"{recorded[0]}: its times were converted as wall-clock times in {recorded[1]}, but [report] "
                f"timezone is {config.timezone}. Use the config it was converted with (--config), or convert "
                "again with this one.")
    if "deals" not in raw_tables:
        raise InputError("No deals table found: a workbook needs a sheet named deals.")
    ds = Dataset(con=con, sources=names, warnings=warnings)
    tables = {t: df if isinstance(df, (ActionsTable, TypedTable, Later)) or df.attrs.get("typed") else
              _canonical(t, df, names[t], config, mapped=preset is None, warnings=ds.warnings)
              for t, df in raw_tables.items()}
    with memory_guard(con, "Reading the deals and the stage history"):
        deals, history = (tables.get(t) if isinstance(tables.get(t), (TypedTable, type(None))) else
                          frame_table(con, tables[t], t, f"{t}_raw") for t in ("deals", "stage_history"))
    read_deals(con, deals)
    config = _place_stages(con, config, deals, history, names, ds.warnings)
    with memory_guard(con, f"{names['deals']}: checking the deals"):
        ds.currency = finish_deals(con, deals, names["deals"], config, ds.warnings, ds.warning_ids)
    if history is not None:
        with memory_guard(con, f"{names['stage_history']}: checking the stage history"):
            finish_history(con, history, names["stage_history"], config)
        ds.has_history = True
    if "activities" in tables:
        # read now, or when first asked for (Later); its warnings go here either way, before the reps'
        at, activities = len(ds.warnings), tables["activities"]
        ds._later = lambda: _finish_actions(ds, activities, names["activities"], config, at)
        if not isinstance(activities, Later):
            ds.read_activities()
    if "reps" in tables:
        ds.reps = _finish_reps(tables["reps"], names["reps"], ds.warnings)
    if pipeline is not None:
        _filter_pipeline(ds, pipeline)
    return ds


class Later:
    """A large activities export, read when the data set first needs it (`read`: an ActionsTable, or the
    cells of a file the fast path declined, for the general parser)."""

    def __init__(self, read: Callable[[], Any]):
        self.read = read


def _finish_actions(ds: Dataset, activities, source: str, config: Config, at: int) -> None:
    """The activities as the done sales actions of `ds` (and, from a frame, its activities); the warnings they
    give go into ds.warnings at `at`."""
    warnings: list[str] = []
    if isinstance(activities, Later):
        activities = activities.read()
        if not isinstance(activities, ActionsTable):  # declined by the fast path: the general parser's frame
            activities = _canonical("activities", activities, source, config, warnings=warnings)
    if isinstance(activities, ActionsTable):  # the fast path already kept only the done sales actions
        ds.actions = activities.name
        warn_unmapped_types(source, activities.unmapped, warnings)
    else:
        ds.activities = _finish_activities(activities, source, config, warnings)
        ds.actions = actions_table(ds.con, done_actions(ds.activities))
    ds.warnings[at:at] = warnings


def _read_sources(sources: dict, config: Config, credentials: Path | None, con):
    if "spreadsheet" in sources:
        from .gsheet import read_tables  # gspread and google-auth load only when a sheet is used

        return read_tables(str(sources["spreadsheet"]), config, credentials)
    if "workbook" in sources:
        raw_tables = _read_workbook(sources["workbook"])
        return raw_tables, {t: f"{sources['workbook'].name} [{t}]" for t in raw_tables}
    if "database" in sources:
        return _read_database(sources["database"], config, con)
    raw_tables = {}
    for table, path in sources.items():  # DuckDB, when the file takes the fast path
        if Path(path).suffix.lower() == ".parquet":
            raw_tables[table] = _read_relation(con, f"read_parquet({quote(str(path))})", Path(path), table, config,
                                               raw_tables)
            continue
        if table == "activities":
            owners = _owners(con, raw_tables)

            def read(path: Path = Path(path), owners: frozenset[str] = owners):
                return (read_actions(con, path, SCHEMA["activities"], config, action_lookup(config), NON_ACTIONS,
                                     owners=owners) or _csv_cells(path, "activities", config))

            raw_tables[table] = Later(read) if _large(path) else read()
            continue
        if table == "reps":  # a few hundred rows: a frame
            typed = read_typed(path, table, SCHEMA[table], config)
            if typed is not None:
                typed.attrs["typed"] = True
        else:
            typed = typed_table(con, path, table, SCHEMA[table], config, f"{table}_raw")
        raw_tables[table] = _csv_cells(path, table, config) if typed is None else typed
    return raw_tables, {t: p.name for t, p in sources.items()}


def _csv_cells(path: Path, table: str, config: Config) -> pd.DataFrame:
    """The cells of a CSV the fast path declined, as text for the general parser: only the columns the table
    needs are read (the header names the rest)."""
    mapping = config.columns.get(table, {})
    wanted = {mapping.get(column, column).strip().lower() for column in SCHEMA[table]}
    return read_csv_text(path, config.encoding, wanted)


def _large(path: Path) -> bool:
    """Whether a file is large enough for the fast path (a smaller one is read at once)."""
    try:
        return Path(path).stat().st_size >= FAST_PATH_MIN_BYTES
    except OSError:
        return False  # read now: the reader says what is wrong with it


def _owners(con, read: dict) -> frozenset[str]:
    """The owners the deals and the history read so far name: likely the actions' owners (read_actions)."""
    return frozenset(owner for t in read.values() if isinstance(t, TypedTable) and "owner" in t.headers
                     for (owner,) in con.sql(f"SELECT DISTINCT owner FROM {t.name}").fetchall())


DATABASE_SUFFIXES = (".duckdb", ".db", ".ddb")
TIMEZONE_KEY = "salesreport_timezone"  # the time zone the times of converted tables are wall-clock times in


def _converted_timezone(con, sources: dict) -> tuple[str, str] | None:
    """(where, zone) a converted input recorded its times' time zone in, or None."""
    if "database" in sources:
        if con.sql("SELECT count(*) FROM information_schema.tables WHERE table_catalog = 'source_db' "
                   "AND table_name = 'salesreport_meta'").fetchall()[0][0]:
            rows = con.sql(f"SELECT value FROM source_db.main.salesreport_meta WHERE key = '{TIMEZONE_KEY}'").fetchall()
            return (str(sources["database"]), rows[0][0]) if rows else None
        return None
    path = sources["deals"]
    rows = con.sql(f"SELECT value::VARCHAR FROM parquet_kv_metadata({quote(str(path))}) "
                   f"WHERE key::VARCHAR = '{TIMEZONE_KEY}'").fetchall()
    return (str(path), rows[0][0]) if rows else None


def is_converted(data: str | None) -> bool:
    """Whether `data` names canonical tables as `convert` writes them: a DuckDB database file, or a folder of
    Parquet files (deals.parquet and no deals.csv)."""
    if data is None or data.startswith("gsheet:"):
        return False
    path = Path(data)
    if path.suffix.lower() in DATABASE_SUFFIXES:
        return True
    try:
        return path.is_dir() and (path / "deals.parquet").is_file() and not (path / "deals.csv").is_file()
    except OSError:  # a folder this user may not search: resolve_sources says so
        return False


def _read_database(path: Path, config: Config, con) -> tuple[dict, dict[str, str]]:
    """A DuckDB database file with tables named as the canonical ones (what `convert` writes), read only."""
    problem = not_a_file(path)
    if problem:
        raise InputError(f"{path}: {problem}, not a DuckDB database file. Check the path given to --data.")
    import duckdb

    try:
        con.execute(f"ATTACH {quote(str(path))} AS source_db (READ_ONLY)")
    except duckdb.Error as exc:
        raise InputError(f"{path}: not a DuckDB database this version can read ({first_line(exc)}). "
                         "Write it again with salesreport convert, or pass the CSV exports.") from None
    present = {name for (name,) in con.sql("SELECT table_name FROM information_schema.tables "
                                           "WHERE table_catalog = 'source_db'").fetchall()}
    if "deals" not in present:
        raise InputError(f"{path}: no table named deals in this database (found: "
                         f"{', '.join(sorted(present)) or 'no tables'}). Name the tables deals, stage_history, "
                         "activities and reps, as salesreport convert writes them.")
    raw_tables: dict = {}
    for table in (t for t in TABLES if t in present):
        raw_tables[table] = _read_relation(con, f'source_db.main."{table}"', path, table, config, raw_tables)
    return raw_tables, {t: f"{path.name} [{t}]" for t in raw_tables}


def _read_relation(con, relation: str, label: Path, table: str, config: Config, read: dict):
    """A canonical table DuckDB reads itself (Parquet, a database's table): typed as a CSV's fast path types
    it, its typed columns taken as they are; else (a cell no fast path types) its cells as text for the
    general parser, which names the row and column. The activities are read later (Later)."""
    schema = SCHEMA[table]
    if table == "activities":
        owners = _owners(con, read)
        needed = {column: spec for column, spec in schema.items() if column != "activity_id"}

        def actions():
            layout = relation_layout(con, relation, label, table, needed, config, native_kinds=("datetime",))
            typed = None if layout is None else read_actions(con, label, schema, config, action_lookup(config),
                                                             NON_ACTIONS, owners=owners, layout=layout)
            return typed or _relation_cells(con, relation, label, table)

        return Later(actions)
    if table == "reps":
        typed = None  # a few hundred rows: the general parser
    else:
        layout = relation_layout(con, relation, label, table, schema, config)
        typed = None if layout is None else typed_from(con, layout, f"{table}_raw", config.timezone)
    return _relation_cells(con, relation, label, table) if typed is None else typed


def _relation_cells(con, relation: str, label: Path, table: str) -> pd.DataFrame:
    """The cells of a table DuckDB reads that no fast path types, as text for the general parser."""
    import duckdb

    try:
        frame = con.sql(f"SELECT * FROM {relation}").df()
    except duckdb.Error as exc:
        raise InputError(f"{label}: cannot be read as the {table} table ({first_line(exc)}). "
                         "Write it again with salesreport convert, or pass the CSV exports.") from None
    text = pd.DataFrame({str(c): _as_text(frame[c]) for c in frame.columns}, index=frame.index)
    text.attrs["written_headers"] = [str(c) for c in frame.columns]
    return text


def _as_text(column: pd.Series) -> pd.Series:
    """A typed column as the text a CSV export would hold: ISO times, plain numbers, "" for none."""
    if pd.api.types.is_datetime64_any_dtype(column):
        return column.dt.strftime("%Y-%m-%d %H:%M:%S").fillna("")
    return column.astype(object).where(column.notna(), "").astype(str)


def not_a_file(path: Path) -> str | None:
    """What keeps `path` from being read as a file (a folder, a broken link, a link loop, a pipe or a
    device, which would block or fail), or None: a regular file, or nothing there at all."""
    if not os.path.lexists(path):
        return None
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symbolic link that loops"
        return "a broken symbolic link" if path.is_symlink() else f"unreadable ({exc.strerror})"
    if stat.S_ISDIR(mode):
        return "a folder"
    if not stat.S_ISREG(mode):
        return "a pipe or device"
    return None


def read_csv_text(path: Path, encoding: str | None = None, wanted: set[str] | None = None) -> pd.DataFrame:
    """Read a CSV file as text columns, detecting the encoding and the separator; drop a report footer.
    With `wanted` (lower-case headers), only those columns and the first are read: an export with 100,000
    unused columns costs no more than its header; attrs["written_headers"] keeps the whole header row."""
    problem = not_a_file(path)
    if problem:
        raise InputError(f"{path}: {problem}, not a regular CSV file. Check the path, or export the table again.")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror}). Give this user read permission (chmod u+r), "
                         "or copy the file to where it can read it.") from None
    if not raw.strip():
        raise InputError(f"{path.name}: the file is empty. Export the table again with its header row.")
    text = decode(raw, path.name, encoding)
    sep = _separator(text[:20000].split("\n", 1)[0])
    written = [h.strip() for h in next(csv.reader(io.StringIO(text), delimiter=sep), [])]
    used = None if wanted is None else [i for i, h in enumerate(written) if i == 0 or h.lower() in wanted]
    try:
        df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, skipinitialspace=False,
                         usecols=used)
    except (pd.errors.ParserError, ValueError) as exc:
        raise InputError(f"{path.name}: not a readable CSV file ({exc}). Save it as CSV from the CRM or Excel.") from None
    # a column without a header is named for what it is, not pandas' "Unnamed: 7"
    positions = used if used is not None else range(len(df.columns))
    df.columns = [no_header(i) if i < len(written) and not written[i] else str(c).strip()
                  for i, c in zip(positions, df.columns, strict=False)]
    df = _drop_footer(df)
    # pandas renames a repeated header (amount, amount.1): keep the header row as written, for the check
    df.attrs["written_headers"] = written
    return df


# encodings CRM exports come in besides UTF-8/UTF-16; charset-normalizer chooses among them by how the
# decoded text reads (Windows-1252 covers ISO-8859-1's letters; cp1251 is Russian Windows)
LEGACY_ENCODINGS = ["cp1252", "cp1251"]
_FOOTER = re.compile(FOOTER, re.IGNORECASE)


def decode(raw: bytes, name: str, encoding: str | None = None) -> str:
    """Bytes → text: the configured encoding, a UTF-16 BOM, UTF-8, else the likeliest legacy code page."""
    if encoding:
        try:
            return raw.decode(encoding).replace("\x00", "")
        except UnicodeDecodeError as exc:
            raise InputError(f'{name}: not {encoding} text (byte {exc.start}); fix [input] encoding or remove it '
                             "to detect the encoding.") from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    head = raw[:4096]
    if head.count(b"\x00") > len(head) // 8:
        raise InputError(f"{name}: this looks like a binary file, not CSV text. Export the table as CSV (UTF-8).")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        _refuse_mixed_utf8(raw, name)
        from charset_normalizer import from_bytes

        best = from_bytes(raw[:500_000].replace(b"\x00", b""), cp_isolation=LEGACY_ENCODINGS).best()
        if best is None:
            raise InputError(f"{name}: the text encoding is not recognised (not UTF-8, UTF-16, Windows-1252 or "
                             'cp1251). Save it as CSV UTF-8, or name it in salesreport.toml: [input] encoding = "...".'
                             ) from None
        text = raw.decode(best.encoding, errors="replace")
    return text.replace("\x00", "") if "\x00" in text else text  # NULs: Salesforce rich-text fields


def _refuse_mixed_utf8(raw: bytes, name: str) -> None:
    """A file that is UTF-8 but for a few lines (one cp1252 "é" pasted in) is refused naming those lines:
    decoding it whole as a legacy code page would turn its valid UTF-8 letters into others ("Jürgen" →
    "JГјrgen") and move their activities to a rep who does not exist."""
    bad, valid_non_ascii = [], False
    for number, line in enumerate(raw.splitlines(), start=1):  # only on a file that failed to decode
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            valid_non_ascii = True
        except UnicodeDecodeError:
            bad.append(number)
    if valid_non_ascii and bad:
        shown = ", ".join(map(str, bad[:10])) + (f" and {len(bad) - 10} more" if len(bad) > 10 else "")
        raise InputError(
            f"{name}: line(s) {shown} are not UTF-8 text, though the rest of the file is (a character pasted from "
            "another program?). Fix those lines and save the file as UTF-8, or, if the whole file is in another "
            'encoding, name it in salesreport.toml: [input] encoding = "cp1252".'
        )


def _drop_footer(df: pd.DataFrame) -> pd.DataFrame:
    """A report export's trailer (blank rows, "Grand Totals (N records)", "Confidential Information…")."""
    if len(df) == 0 or len(df.columns) == 0:
        return df
    df = df.fillna("")
    first = df.iloc[:, 0].str.strip()
    footer = first.str.match(_FOOTER) & (df.iloc[:, 1:] == "").all(axis=1)
    if not footer.any():
        return df
    start = footer.idxmax()
    blank_before = (df.loc[:start - 1] == "").all(axis=1) if start > 0 else pd.Series(dtype=bool)
    while start > 0 and bool(blank_before.get(start - 1, False)):
        start -= 1
    return df.loc[: start - 1]


MAX_WORKBOOK_BYTES = 512 << 20  # uncompressed: a CRM export of a million rows stays well below
MAX_SHEET_COLUMNS = 1_000


def _check_workbook_size(path: Path) -> None:
    """Refuse a workbook that would expand past memory before reading it: its entries' uncompressed size.
    (A sheet's declared width is no bound: a stray cell in column XFD is read past, see _sheet_frame.)"""
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(e.file_size for e in archive.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"{path.name}: not a readable XLSX workbook ({exc}).") from None
    if unpacked > MAX_WORKBOOK_BYTES:
        raise InputError(f"{path.name}: the workbook unpacks to {unpacked >> 20:,} MiB, more than the "
                         f"{MAX_WORKBOOK_BYTES >> 20} MiB a CRM export needs. Export it as CSV, or check "
                         "that it is the file you meant.")


def _read_excel_sheets(path: Path) -> dict[str, pd.DataFrame]:
    """Every sheet as text columns, as pandas' read_excel(dtype=str) gives them, but read only as wide as its
    header row: a stray cell far to the right (column XFD on every row) costs nothing."""
    from openpyxl import load_workbook

    _check_workbook_size(path)
    try:
        book = load_workbook(path, read_only=True, data_only=True)
        try:
            return {ws.title: _sheet_frame(ws, path.name) for ws in book.worksheets}
        finally:
            book.close()
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a broken file
        raise InputError(f"{path.name}: not a readable XLSX workbook ({exc}).") from None


def _sheet_frame(ws, name: str) -> pd.DataFrame:
    header = [_cell_text(v) for v in next(ws.iter_rows(min_row=1, max_row=1, values_only=True), ())]
    width = max((i + 1 for i, h in enumerate(header) if h.strip()), default=0)
    if width > MAX_SHEET_COLUMNS:
        raise InputError(f"{name} [{ws.title}]: the header row has {width:,} columns, more than the "
                         f"{MAX_SHEET_COLUMNS:,} a CRM export has. Check the sheet, or export it as CSV.")
    written = [h.strip() for h in header[:width]]
    rows = [[_cell_text(v) for v in row] for row in ws.iter_rows(min_row=2, max_col=width or 1, values_only=True)]
    while rows and not any(rows[-1]):  # trailing empty rows are no rows
        rows.pop()
    columns, seen = [], {}
    for i, h in enumerate(written):  # as pandas names them: a blank header, a repeated one (amount.1)
        label = h or no_header(i)
        seen[label] = seen.get(label, -1) + 1
        columns.append(label if not seen[label] else f"{label}.{seen[label]}")
    df = pd.DataFrame([r + [""] * (width - len(r)) for r in rows], columns=columns, dtype=object) if width else \
        pd.DataFrame()
    df.attrs["written_headers"] = written
    return df


def _cell_text(value) -> str:
    """A cell's value as read_excel(dtype=str) writes it: whole numbers without ".0", dates as str()."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_workbook(path: Path) -> dict[str, pd.DataFrame]:
    sheets = _read_excel_sheets(path)
    tables = {}
    for name, df in sheets.items():
        key = name.strip().lower()
        if key in TABLES:
            df.columns = [str(c).strip() for c in df.columns]
            df.attrs["excel"] = True  # a number in a date column is an Excel serial date
            tables[key] = df
    return tables


def _with_preset_stages(config: Config, preset: Preset) -> Config:
    """The preset's stage and activity names under the user's (a name the user mapped keeps the user's)."""
    mine = {n.strip().lower() for names in config.stage_names.values() for n in names} | {
        n.strip().lower() for n in config.lost_names}
    stages = {s: tuple(n for n in names if n.lower() not in mine) for s, names in preset.stage_names.items()}
    for stage, names in config.stage_names.items():
        stages[stage] = stages.get(stage, ()) + names
    lost = config.lost_names + tuple(n for n in preset.lost_names if n.lower() not in mine)
    my_types = {n.strip().lower() for names in config.activity_types.values() for n in names}
    types = {k: tuple(n for n in names if n.lower() not in my_types) for k, names in preset.activity_names.items()}
    for kind, names in config.activity_types.items():
        types[kind] = types.get(kind, ()) + names
    return replace(config, stage_names=stages, lost_names=lost, activity_types=types)


def read_header(path: Path, encoding: str | None = None) -> list[str]:
    """The header row of a CSV file, read from its first 64 KB (to tell which export a file is)."""
    if not_a_file(path) or not path.exists():
        return []
    try:
        with path.open("rb") as fh:
            raw = fh.read(65536)
    except OSError:
        return []
    if len(raw) == 65536 and b"\n" in raw:
        raw = raw[: raw.rfind(b"\n")]
    try:
        first = decode(raw, path.name, encoding).lstrip("\ufeff").splitlines()[0] if raw.strip() else ""
    except InputError:
        return []
    return next(csv.reader([first], delimiter=_separator(first)), [])


def _separator(first_line: str) -> str:
    try:
        return csv.Sniffer().sniff(first_line, delimiters=",;\t").delimiter
    except csv.Error:
        return ","


def read_preset(preset: Preset, data: str | None, config: Config, warnings: list[str]):
    """The preset's files: a folder's CSVs recognised by name or by headers, or one file as the main table
    (and the other roles' files beside it)."""
    given = data if data is not None else (str(config.sources["deals"]) if "deals" in config.sources else None)
    if given is None or given.startswith("gsheet:"):
        raise InputError(f"The {preset.name} preset reads export files: pass the export folder or file with --data.")
    path = Path(given)
    if not path.exists():
        raise InputError(f"{given}: no such file or folder. Check the path given to --data.")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _read_preset_workbook(preset, path, config, warnings)
    folder = path if path.is_dir() else path.parent
    files: dict[str, Path] = {} if path.is_dir() else {preset.main: path}
    candidates = []
    for candidate in sorted((p for p in folder.glob("*.csv") if p != path), key=lambda p: (p.name.count("."), p.name)):
        problem = not_a_file(candidate)
        if problem:  # a pipe named *.csv would block the run: only regular files are read
            warnings.append(f"{candidate}: {problem}, not a regular CSV file; skipped.")
        else:
            candidates.append(candidate)
    unnamed = []
    for candidate in candidates:
        stem = candidate.name.lower().removesuffix(".csv")
        role = next((r for r, stems in preset.files.items() if stem in stems or stem.split(".")[0] in stems), None)
        if role is None:
            unnamed.append(candidate)
        elif role not in files:
            files[role] = candidate
    for candidate in unnamed:  # exports named by the CRM ("hubspot-crm-exports-all-deals-2026-11-20.csv")
        role = preset.role_of(read_header(candidate, config.encoding))
        if role is not None and role not in files:
            files[role] = candidate
    if preset.main not in files:
        present = ", ".join(sorted(p.name for p in folder.glob("*.csv"))) or "no CSV files"
        wanted = " or ".join(f"{s}.csv" for s in preset.files[preset.main])
        raise InputError(f"{folder}: no {wanted} (nor a file with its headers) for the {preset.name} preset "
                         f"(found: {present}). Pass the export folder, or the file itself with --data FILE.csv.")
    raw = {role: read_csv_text(p, config.encoding) for role, p in files.items()}
    tables = preset.build(raw, PresetReader({r: p.name for r, p in files.items()}, config.dayfirst, config.rates,
                                            warnings=warnings, formats=config.date_formats), warnings)
    _honour_columns(preset, raw, tables, config, {r: p.name for r, p in files.items()})
    return tables, _table_sources(preset, tables, {r: p.name for r, p in files.items()})


def _honour_columns(preset: Preset, raw: dict[str, pd.DataFrame], tables: dict[str, pd.DataFrame], config: Config,
                    files: dict[str, str]) -> None:
    """[columns.deals] over the preset's own reading: each mapped column is read from the header the user
    names in the deals export, for the rows the preset kept (its frame keeps the export's row labels)."""
    mapping = config.columns.get("deals", {})
    role = next((r for r in preset.table_roles.get("deals", ()) if r in raw), None)
    if not mapping or role is None or "deals" not in tables:
        return
    source, deals = raw[role], tables["deals"]
    by_lower = {str(c).strip().lower(): c for c in source.columns}
    for column, header in mapping.items():
        actual = by_lower.get(header.strip().lower())
        if actual is None:
            raise InputError(
                f'{files.get(role, role)}: [columns.deals] {column} = "{safe_line(header, 80)}" names no column of '
                f"the export (found: {listed([str(c) for c in source.columns], 30)}). Fix the header in "
                "salesreport.toml, or remove the line to let the preset read it.")
        values = source[actual]
        if isinstance(values, pd.DataFrame):  # a repeated header: the first one
            values = values.iloc[:, 0]
        deals[column] = values.fillna("").astype(str).str.strip().reindex(deals.index).fillna("")
        deals.attrs.setdefault("headers", {})[column] = str(actual)


def _table_sources(preset: Preset, tables: dict, files: dict[str, str]) -> dict[str, str]:
    """Which export file(s) each canonical table came from, as messages name them."""
    names = {}
    for table in tables:
        used = [files[r] for r in preset.table_roles.get(table, ()) if r in files]
        names[table] = " + ".join(used) if used else files[preset.main]
    return names


def _read_preset_workbook(preset: Preset, path: Path, config: Config, warnings: list[str]):
    """A CRM's XLSX export: each sheet is the role its name or headers say; an unnamed first sheet is the
    main table. Numbers in its date columns are Excel serial dates."""
    sheets = {name: df.rename(columns=lambda c: str(c).strip())
              for name, df in _read_excel_sheets(path).items()}
    roles: dict[str, str] = {}
    for name, df in sheets.items():
        stem = name.strip().lower()
        role = next((r for r, stems in preset.files.items() if stem in stems), None) or preset.role_of(list(df.columns))
        if role is not None and role not in roles:
            roles[role] = name
    if preset.main not in roles and sheets:
        roles[preset.main] = next(iter(sheets))
    raw = {role: _drop_footer(sheets[name]) for role, name in roles.items()}
    files = {role: f"{path.name} [{name}]" for role, name in roles.items()}
    tables = preset.build(raw, PresetReader(files, config.dayfirst, config.rates, serials=True, warnings=warnings,
                                            formats=config.date_formats),
                          warnings)
    for df in tables.values():
        df.attrs["excel"] = True
    _honour_columns(preset, raw, tables, config, files)
    return tables, _table_sources(preset, tables, files)


def _canonical(table: str, df: pd.DataFrame, source: str, config: Config, mapped: bool = True,
               warnings: list[str] | None = None) -> pd.DataFrame:
    """Rename the export's headers to canonical columns and parse each by its kind."""
    schema = SCHEMA[table]
    mapping = config.columns.get(table, {}) if mapped else {}
    shown = {} if mapped else dict(df.attrs.get("headers", {}))  # a preset's table: the export's headers
    by_lower = {c.lower(): c for c in df.columns}
    out = pd.DataFrame(index=df.index)
    for column, (required, kind) in schema.items():
        header = mapping.get(column, column)
        actual = header if header in df.columns else by_lower.get(header.lower())
        if actual is None:
            if required:
                headers = [h or no_header(i)  # all of them, also those not read
                           for i, h in enumerate(df.attrs.get("written_headers") or map(str, df.columns))]
                close = difflib.get_close_matches(header, headers, n=1)
                hint = f' The closest header is "{close[0]}".' if close else ""
                crm = guess_preset(headers) if mapped else None
                if crm is not None:
                    hint += (f" These look like {crm.title.split(' (')[0]}'s export: run with --preset {crm.name} (or "
                             f'preset = "{crm.name}" in salesreport.toml; salesreport init FILE writes one).')
                raise InputError(
                    f'{source}: required column "{header}" is missing (found: {listed(headers, 30)}).{hint} '
                    f'Rename the header, or map it in salesreport.toml: [columns.{table}] {column} = "<header>".'
                )
            continue
        written = df.attrs.get("written_headers") or [str(c) for c in df.columns]
        repeats = [i + 1 for i, h in enumerate(written) if h.lower() == actual.lower()]
        if mapped and len(repeats) > 1:
            raise InputError(
                f'{source}: the header "{safe_line(actual, 80)}" stands over {len(repeats)} columns (columns '
                f"{', '.join(map(str, repeats))}), and the report cannot tell which holds the {column}. Rename or "
                "remove the other columns, or map the right one in salesreport.toml: "
                f'[columns.{table}] {column} = "<its header>".'
            )
        values = df[actual]
        if isinstance(values, pd.DataFrame):  # a repeated header in a preset's export: take the first
            values = values.iloc[:, 0]
        header = shown.setdefault(column, actual)
        if kind == "text":
            out[column] = values.fillna("").astype(str).str.strip()
        elif kind == "datetime":
            out[column] = parse_datetimes(values, source=source, column=header, tz=config.timezone,
                                          dayfirst=config.dayfirst, serials=bool(df.attrs.get("excel")),
                                          warnings=warnings, formats=config.date_formats)
        elif kind == "amount":
            # a deal's negative amount is a credit note, reported by _finish_deals; a negative quota is an error
            out[column] = parse_amounts(values, source=source, column=header,
                                        allow_negative=table == "deals" and column == "amount")
            if table == "deals" and column == "amount":
                out["amount_currency"] = amount_currencies(values)
        elif kind == "bool":
            # an empty cell: an activity is done, a deal is not won or closed
            out[column] = parse_booleans(values, source=source, column=header, default=column == "done")
    out.attrs["headers"] = shown
    return out


def no_header(i: int) -> str:
    """The name of column i (0-based) whose header cell is empty, in messages and frames (not "Unnamed: 7")."""
    return f"column {i + 1} (no header)"


def _header(df: pd.DataFrame, column: str) -> str:
    """The export's header a canonical column was read from (for messages)."""
    return df.attrs.get("headers", {}).get(column, column)


def _place_stages(con, config: Config, deals: TypedTable, history: TypedTable | None, names: dict[str, str],
                  warnings: list[str]) -> Config:
    """The config with every stage name it does not place placed from the export's evidence (placement.py),
    each said in a warning; a name nothing places is listed in config.unplaced_stages, with the line to add."""
    lookup = stage_lookup(config)
    unknown = sorted({n.strip() for n in stage_names(con, history) if isinstance(n, str)
                      and n.strip().lower() not in lookup})
    if not unknown:
        return config
    placements = place_stages(unknown, *placement_evidence(con, history))
    stages = {s: list(n) for s, n in config.stage_names.items()}
    lost = list(config.lost_names)
    for p in placements:
        if p.stage == "lost":
            lost.append(p.name)
        elif p.stage is not None:
            stages.setdefault(p.stage, []).append(p.name)
    placed = [p for p in placements if p.stage is not None]
    if placed:
        listed = "; ".join(f'"{safe_line(p.name, 60)}" → {p.stage} ({p.evidence}, {p.deals} deals)' for p in placed)
        warnings.append(f"{names['deals']}: stage name(s) placed on the funnel from the export, not from "
                        f"salesreport.toml: {listed}. Check them, and put any you would place otherwise under "
                        "[funnel.stages] (or [funnel] lost) in salesreport.toml.")
    unplaced = [p for p in placements if p.stage is None]
    if unplaced:
        listed = ", ".join(f'"{safe_line(p.name, 60)}" ({p.deals} deals)' for p in unplaced)
        lines = "\n".join(f'work_started = ["{safe_line(p.name, 60)}"]' for p in unplaced)
        warnings.append(
            f'{names["deals"]}, column "{deals.headers.get("stage", "stage")}": stage name(s) {listed} are not on the funnel: '
            "nothing in the export tells where "
            "they belong. Revenue, deals signed, the cycle and the actions count their deals; the funnel figures "
            "(reached, conversions, stage days, open deals by stage) leave them out. Place each in "
            f"salesreport.toml under the stage it is (here work_started; or another of {', '.join(STAGES)}; "
            f"or [funnel] lost):\n[funnel.stages]\n{lines}")
    return replace(config, stage_names={s: tuple(n) for s, n in stages.items()}, lost_names=tuple(lost),
                   unplaced_stages=tuple(p.name for p in unplaced))


def _finish_activities(df: pd.DataFrame, source: str, config: Config, warnings: list[str]) -> pd.DataFrame:
    for column in ("deal_id", "activity_id"):
        if column not in df:
            df[column] = ""
    if "done" not in df:
        df["done"] = True
    missing = df["occurred_at"].isna()
    if missing.any():
        i = missing.idxmax()
        raise InputError(
            f'{source}, row {row_label(i)}, column "{_header(df, "occurred_at")}": the date is empty. '
            "Every activity needs the date it happened; fill it in or remove the row."
        )
    key = df["type"].str.strip().str.lower()
    df["action"] = key.map(action_lookup(config)).fillna("")
    unmapped = df.loc[(df["action"] == "") & ~key.isin(NON_ACTIONS) & (key != ""), "type"]
    warn_unmapped_types(source, unmapped.value_counts(), warnings)
    return df[["activity_id", "owner", "type", "action", "occurred_at", "deal_id", "done"]].reset_index(drop=True)


def action_lookup(config: Config) -> dict[str, str]:
    """Activity type (lower case) → canonical sales action (call, email, message, meeting)."""
    lookup = {t: t for t in ACTION_TYPES}
    for kind, names in config.activity_types.items():
        for n in names:
            lookup[n.strip().lower()] = kind
    return lookup


def warn_unmapped_types(source: str, counts: Mapping[str, int] | pd.Series, warnings: list[str]) -> None:
    """One warning naming the (up to ten) most frequent activity types that are not sales actions."""
    if len(counts):
        top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:10]  # most rows first, then by name
        names = ", ".join(f'"{n}" ({c})' for n, c in top)
        warnings.append(
            f"{source}: activity types {names} are not counted as sales actions; map them in "
            'salesreport.toml, e.g. [activity_types] call = ["Phone call"].'
        )


def done_actions(activities: pd.DataFrame) -> pd.DataFrame:
    """The done sales actions, compact: owner, action and deal id as categoricals, and the day."""
    keep = activities["done"].to_numpy(dtype=bool) & (activities["action"] != "").to_numpy(dtype=bool)
    a = activities[keep]
    return pd.DataFrame({
        "owner": pd.Categorical(a["owner"]),
        "action": pd.Categorical(a["action"]),
        "day": a["occurred_at"].dt.normalize().to_numpy(),
        "deal_id": pd.Categorical(a["deal_id"]),
    })


def actions_table(con, actions: pd.DataFrame, name: str = "actions_in") -> str:
    """The done sales actions (done_actions' frame) as table `name` of `con`, as the fast path writes it."""
    con.register("actions_frame", actions)
    con.execute(f"CREATE TABLE {name} AS SELECT owner::VARCHAR AS owner, action::VARCHAR AS action, "
                "day::TIMESTAMP AS day, deal_id::VARCHAR AS deal_id FROM actions_frame")
    con.unregister("actions_frame")
    return name


def _finish_reps(df: pd.DataFrame, source: str, warnings: list[str]) -> pd.DataFrame:
    for column, (_, kind) in SCHEMA["reps"].items():
        if column not in df:
            df[column] = pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]") if kind == "datetime" else (
                np.nan if kind == "amount" else ""
            )
    role = df["role"].str.strip().str.upper()
    df["role"] = np.where(role == "SDR", "SDR", np.where(role == "AE", "AE", "other"))
    odd = role[(role != "") & ~role.isin(["SDR", "AE", "OTHER"])]
    if len(odd):
        warnings.append(f"{source}: roles {', '.join(sorted(set(odd)))} are reported as \"other\" (use SDR, AE or other).")
    dup = df["name"].duplicated()
    if dup.any():
        raise InputError(
            f'{source}, row {row_label(dup.idxmax())}, column "{_header(df, "name")}": the rep "{safe_line(df.loc[dup.idxmax(), "name"], 80)}" '
            "is listed twice. Keep one row per rep."
        )
    written = df["email"] != ""
    bad = written & ~df["email"].map(is_address).astype(bool)  # reps are few: one check per address
    for i in df.index[bad]:
        warnings.append(f'{source}, row {row_label(i)}, column "{_header(df, "email")}": '
                        f'"{safe_line(df.at[i, "email"], 80)}" is not one e-mail address; '
                        f"{safe_line(df.at[i, 'name'], 80)} gets no mail until it is fixed.")
    df.loc[bad, "email"] = ""
    return df.reset_index(drop=True)


def _filter_pipeline(ds: Dataset, pipeline: str) -> None:
    """Keep the deals of `pipeline`, their history and the actions on them or on no deal. The kept deals' ids
    go into a table of their own: the activities may be read after the facts dropped DEALS."""
    keep_pipeline(ds.con, pipeline)
    ds.con.execute(f"CREATE TABLE pipeline_deal_ids AS SELECT deal_id FROM {DEALS}")
    read = ds._later
    if read is None:
        _keep_pipeline_actions(ds)
    else:  # the activities are read later: their pipeline's are kept then

        def read_kept() -> None:
            read()
            _keep_pipeline_actions(ds)

        ds._later = read_kept


def _keep_pipeline_actions(ds: Dataset) -> None:
    """Leave out the activities and actions on deals of other pipelines (those on no deal stay)."""
    if ds.activities is not None:
        ids = {deal_id for (deal_id,) in ds.con.sql("SELECT deal_id FROM pipeline_deal_ids").fetchall()}
        a = ds.activities
        ds.activities = a[(a["deal_id"] == "") | a["deal_id"].isin(ids)].reset_index(drop=True)
    if ds.actions is not None:  # a view over the actions (a table, or the fast path's view): nothing is rewritten
        ds.con.execute(f"CREATE VIEW pipeline_actions AS SELECT * FROM {ds.actions} "
                       "WHERE deal_id = '' OR deal_id IN (SELECT deal_id FROM pipeline_deal_ids)")
        ds.actions = "pipeline_actions"
