"""The DuckDB fast path for canonical CSVs: where it answers, its table equals the general parser's to the
cell (values, dtypes, order, the headers messages name); everywhere else it declines, so the general parser
accepts the format or words the error."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from salesreport.cli import app
from salesreport.config import Config, load_config, parse_config
from salesreport.duck import connect
from salesreport.engine.funnel import build_facts
from salesreport.errors import ConfigError, InputError
from salesreport.outputs.json import render_json
from salesreport.periods import parse_day, parse_month, parse_week
from salesreport.report.build import build_report
from salesreport.sources.canonical import (
    NON_ACTIONS,
    SCHEMA,
    _canonical,
    _finish_activities,
    action_lookup,
    actions_table,
    done_actions,
    load_dataset,
    read_csv_text,
    warn_unmapped_types,
)
from salesreport.sources.fastcsv import FAST_PATH_MIN_BYTES, read_actions, read_typed

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
BERLIN = parse_config({"report": {"timezone": "Europe/Berlin"}})


def general(path: Path, table: str, config: Config) -> pd.DataFrame:
    return _canonical(table, read_csv_text(path, config.encoding), path.name, config)


def assert_same(path: Path, table: str, config: Config) -> pd.DataFrame:
    fast = read_typed(path, table, SCHEMA[table], config, min_bytes=0)
    assert fast is not None, "the fast path declined a file it should take"
    pd.testing.assert_frame_equal(fast, general(path, table, config))
    assert fast.attrs == general(path, table, config).attrs
    return fast


@pytest.mark.parametrize("table", ["deals", "stage_history", "activities", "reps"])
def test_sample_tables_are_identical_on_both_paths(table):
    assert_same(SAMPLE / f"{table}.csv", table, BERLIN)


def test_sample_activities_are_large_enough_for_the_fast_path():
    """So every report test on sample_data runs the DuckDB path for activities."""
    assert (SAMPLE / "activities.csv").stat().st_size >= FAST_PATH_MIN_BYTES


def write(tmp_path: Path, text: str, name: str = "deals.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


EDGE_CASES = (
    "\ufeffDeal_ID;Owner;Amount;Created_At;Stage;Signed_At;Expected_Close_Date;Company\r\n"
    "D1;  Anna\u00a0;1234.50;2026-03-01;Work Started;;2026-12-31;\"Semi; colon \"\"quoted\"\"\"\r\n"
    "D2;Boris;;2026-03-02 09:05;replied;;;\"two\nlines\"\r\n"
    "D3;Carl;0012;2026-03-03T23:30:00Z;signed;2026-03-28T01:30:00+03:00;;\r\n"
    "\r\n"
    "D4;Carl;7;2026-03-04 10:00:05.25;signed;2026-03-30 00:00:00;;\u2003Acme\u2003\r\n"
    "D5;Anna;.5e0x;2026-03-05;new\r\n"
)


def test_edge_cases_are_identical_on_both_paths(tmp_path):
    # BOM, semicolons, CRLF, odd header case, non-breaking and em spaces, quotes, a line break in a cell,
    # a blank line, Z and +03:00 offsets across a DST change, fractions of a second, short rows
    text = EDGE_CASES.replace(".5e0x", "5")
    fast = assert_same(write(tmp_path, text), "deals", BERLIN)
    assert fast.loc[0, "owner"] == "Anna"
    assert fast.loc[2, "created_at"] == pd.Timestamp("2026-03-04 00:30")  # 23:30 UTC is 00:30 in Berlin
    assert fast.loc[2, "signed_at"] == pd.Timestamp("2026-03-27 23:30")
    assert fast.attrs["headers"]["deal_id"] == "Deal_ID"


def test_activity_flags_and_types(tmp_path):
    rows = ["activity_id,owner,type,occurred_at,deal_id,done"]
    flags = ["yes", "no", "TRUE", "false", "1", "0", "", "Done", "not done", "да", "нет", "completed", "open"]
    rows += [f"A{i},Anna,Call,2026-03-0{1 + i % 9} 10:00,D1,{flag}" for i, flag in enumerate(flags)]
    fast = assert_same(write(tmp_path, "\n".join(rows) + "\n", "activities.csv"), "activities", Config())
    assert fast["done"].tolist() == [True, False, True, False, True, False, True, True, False, True, False,
                                     True, False]


DECLINED = {
    "dotted date": "deal_id,created_at\nD1,18.11.2026\n",
    "slash date": "deal_id,created_at\nD1,11/18/2026\n",
    "invalid day": "deal_id,created_at\nD1,2026-02-30\n",
    "offset without colon": "deal_id,created_at\nD1,2026-02-03T10:00:00+0300\n",
    "single-digit hour": "deal_id,created_at\nD1,2026-02-03 9:00\n",
    "nanoseconds": "deal_id,created_at\nD1,2026-02-03 09:00:00.1234567\n",
    "money with a symbol": "deal_id,created_at,amount\nD1,2026-02-03,\"$1,234.50\"\n",
    "decimal comma": "deal_id,created_at,amount\nD1,2026-02-03,\"1234,50\"\n",
    "negative amount": "deal_id,created_at,amount\nD1,2026-02-03,-5\n",
    "huge amount": "deal_id,created_at,amount\nD1,2026-02-03," + "9" * 400 + "\n",
    "repeated header": "deal_id,created_at,amount,amount\nD1,2026-02-03,,5\n",
    "quoted header": "\"deal_id\",created_at\nD1,2026-02-03\n",
    "row wider than the header": "deal_id,created_at\nD1,2026-02-03,extra\n",
    "report footer": "deal_id,created_at\nD1,2026-02-03\nGrand Totals (1 records),\n",
    "NUL in a cell": "deal_id,created_at,company\nD1,2026-02-03,Ac\x00me\n",
    "header only": "deal_id,created_at\n",
    "far-future placeholder": "deal_id,created_at,expected_close_date\nD1,2026-02-03,9999-12-31\n",
    "date before 1677": "deal_id,created_at\nD1,1500-02-03\n",
    "missing required column": "deal_id,company\nD1,Acme\n",
}


@pytest.mark.parametrize("case", sorted(DECLINED))
def test_declines_what_it_does_not_type_itself(tmp_path, case):
    path = write(tmp_path, DECLINED[case])
    assert read_typed(path, "deals", SCHEMA["deals"], Config(), min_bytes=0) is None


@pytest.mark.parametrize("encoding", ["utf-16", "cp1251"])
def test_declines_other_encodings(tmp_path, encoding):
    path = write(tmp_path, "deal_id,created_at,company\nD1,2026-02-03,Рога и копыта\n", encoding=encoding)
    assert read_typed(path, "deals", SCHEMA["deals"], Config(), min_bytes=0) is None


def test_declines_bad_flags_so_the_general_parser_names_the_cell(tmp_path):
    path = write(tmp_path, "activity_id,owner,type,occurred_at,done\nA1,Anna,Call,2026-03-01,maybe\n",
                 "activities.csv")
    assert read_typed(path, "activities", SCHEMA["activities"], Config(), min_bytes=0) is None
    with pytest.raises(InputError, match=r'row 2, column "done": "maybe" is not true or false'):
        general(path, "activities", Config())


def test_small_files_stay_on_the_general_path(tmp_path):
    path = write(tmp_path, "deal_id,created_at\nD1,2026-02-03\n")
    assert read_typed(path, "deals", SCHEMA["deals"], Config()) is None


def actions_of(path: Path, config: Config, **learning) -> tuple[pd.DataFrame, dict[str, int]] | None:
    """The fast path's actions table, fetched as a frame, and its unmapped types; None when it declines."""
    con = connect(config)
    table = read_actions(con, path, SCHEMA["activities"], config, action_lookup(config), NON_ACTIONS, min_bytes=0,
                         **learning)
    if table is None:
        assert con.sql("SELECT count(*) FROM duckdb_tables()").fetchall() == [(0,)]  # nothing left behind
        return None
    return con.sql(f"SELECT owner::VARCHAR AS owner, action::VARCHAR AS action, day, deal_id "
                   f"FROM {table.name}").df(), table.unmapped


def general_actions(path: Path, config: Config) -> tuple[pd.DataFrame, list[str]]:
    warnings: list[str] = []
    activities = _finish_activities(general(path, "activities", config), path.name, config, warnings)
    return done_actions(activities), warnings


def assert_same_actions(path: Path, config: Config, **learning) -> pd.DataFrame:
    """Equal as sets of rows (actions are counted, never listed, so their order is free), with the same
    warning about unmapped types."""
    found = actions_of(path, config, **learning)
    assert found is not None, "the fast path declined a file it should take"
    fast, unmapped = found
    slow, slow_warnings = general_actions(path, config)
    key = ["owner", "action", "day", "deal_id"]
    as_text = {"owner": str, "action": str, "deal_id": str}
    a = fast.astype(as_text).astype({"day": "datetime64[ns]"}).sort_values(key).reset_index(drop=True)
    b = slow.astype(as_text).sort_values(key).reset_index(drop=True)
    a.attrs, b.attrs = {}, {}
    pd.testing.assert_frame_equal(a, b)
    fast_warnings: list[str] = []
    warn_unmapped_types(path.name, unmapped, fast_warnings)
    assert fast_warnings == slow_warnings
    fast.attrs["unmapped"] = unmapped
    return fast


def test_sample_actions_are_identical_on_both_paths():
    fast = assert_same_actions(SAMPLE / "activities.csv", BERLIN)
    assert len(fast) > 10_000


@pytest.mark.parametrize("owners", [frozenset(), frozenset({"Zed", "Anna"})])
def test_values_the_first_rows_lack_send_the_store_back_to_a_full_count(tmp_path, owners):
    """The types, owners and flags are learnt from the first rows (and the owners other tables name); a later
    row with an owner, a type or a flag they lack (or an owner written with blanks) stops that store, and the
    full count and store give the general parser's actions and warning."""
    config = parse_config({"activity_types": {"meeting": ["Demo"]}})
    first = [f"Anna,Call,2026-03-{1 + i:02d} 10:00:00,D{i % 3},yes" for i in range(10)]
    later = ["Zed,Call,2026-03-12 10:00:00,D1,yes", "Anna,Demo,2026-03-13 10:00:00,,completed",
             "Anna,Fax,2026-03-14 10:00:00,,no", " Anna ,Email,2026-03-15 10:00:00,D2,yes",
             "Anna,Call,2026-03-16 10:00:00,D2,not done", "Anna,Call,2026-03-16 11:00:00,D2,"]
    for rows in ([*first, *later[:1]], [*first, *later[1:2]], [*first, *later[2:3]], [*first, *later]):
        path = write(tmp_path, "owner,type,occurred_at,deal_id,done\n" + "\n".join(rows) + "\n", "activities.csv")
        fast = assert_same_actions(path, config, owners=owners, prefix_rows=10)
        assert len(fast) == sum(1 for row in rows if not row.endswith((",no", "not done")) and ",Fax," not in row)


def test_actions_with_mapped_unmapped_and_not_done_types(tmp_path):
    config = parse_config({"activity_types": {"call": ["Phone call", "Звонок"], "meeting": ["Demo"]}})
    rows = ["Owner,Type,Occurred_At,Deal_ID,Done"]
    kinds = ["Phone call", " звонок ", "Demo", "Email", "Note", "task", "LinkedIn", "LinkedIn", "Fax", "", "Call"]
    for i in range(44):
        rows.append(f"{'Anna' if i % 3 else ' Boris'},{kinds[i % len(kinds)]},2026-03-{1 + i % 28:02d}T1{i % 10}:00:00Z,"
                    f"{'D' + str(i % 5) if i % 4 else ''},{'no' if i % 7 == 0 else 'yes'}")
    # cells with blanks at their edges: a deal id, a date, a done flag (each stripped as the general parser does)
    rows += ["Anna,Phone call, 2026-03-02 10:00:00 , D1 ,\u00a0yes ", "Anna,Demo,2026-03-03,D1,\tno"]
    fast = assert_same_actions(write(tmp_path, "\n".join(rows) + "\n", "activities.csv"), config)
    assert set(fast["action"]) == {"call", "meeting", "email"}
    assert fast.attrs["unmapped"] == {"LinkedIn": 8, "Fax": 4}


def test_actions_without_done_or_deal_columns(tmp_path):
    rows = ["owner,type,occurred_at"] + [f"Anna,Call,2026-03-0{1 + i % 9}" for i in range(20)]
    fast = assert_same_actions(write(tmp_path, "\n".join(rows) + "\n", "activities.csv"), Config())
    assert len(fast) == 20 and set(fast["deal_id"]) == {""}


@pytest.mark.parametrize("cell, words", [("", "the date is empty"), ("03/18/2026 9:00 PM", None)])
def test_actions_decline_to_the_general_parser(tmp_path, cell, words):
    path = write(tmp_path, f"owner,type,occurred_at\nAnna,Call,2026-03-01\nAnna,Call,{cell}\n", "activities.csv")
    assert actions_of(path, Config()) is None
    if words:
        with pytest.raises(InputError, match=words):
            general_actions(path, Config())


@pytest.mark.parametrize("prefix_rows", [100, 1])  # the bad flag in the rows learnt first, or only in the full scan
def test_actions_with_a_flag_that_is_no_flag_decline_to_the_general_parser(tmp_path, prefix_rows):
    rows = ["owner,type,occurred_at,done", "Anna,Call,2026-03-01,yes", "Anna,Call,2026-03-02,maybe",
            "Anna,Call,2026-03-03,no"]
    path = write(tmp_path, "\n".join(rows) + "\n", "activities.csv")
    assert actions_of(path, Config(), prefix_rows=prefix_rows) is None
    with pytest.raises(InputError, match=r'row 3, column "done": "maybe" is not true or false'):
        general_actions(path, Config())


def test_reports_from_the_fast_actions_equal_those_from_the_general_parser():
    """The sample's activities file takes the fast path in load_dataset (only the compact done actions are
    kept); every report built on it equals the report built on the general parser's actions."""
    config = load_config(SAMPLE / "salesreport.toml")

    def facts(general: bool):  # a data set is read for one build of the facts: each build reads its own
        ds = load_dataset(str(SAMPLE), config)
        assert ds.activities is None and ds.actions is not None  # the fast path ran
        if general:
            ds = replace(ds, actions=actions_table(ds.con, general_actions(SAMPLE / "activities.csv", config)[0],
                                                   "general_actions"))
        return build_facts(ds, config)

    fast, slow = facts(general=False), facts(general=True)
    for name, period in (("monthly", parse_month("2026-10", config)), ("weekly", parse_week("2026-W46", config)),
                         ("daily", parse_day("2026-11-18", config))):
        reports = [build_report(name, f, config, period) for f in (fast, slow)]
        assert render_json(reports[0]) == render_json(reports[1])


@pytest.mark.parametrize("engine, words", [
    ({"memory_limt": "1GB"}, "[engine] has unknown key(s) memory_limt"),
    ({"memory_limit": "lots"}, '[engine] memory_limit = "lots" is not a size'),
    ({"memory_limit": "150%"}, '[engine] memory_limit = "150%" is not a size'),
])
def test_engine_settings_are_checked(engine, words):
    with pytest.raises(ConfigError) as info:
        parse_config({"engine": engine})
    assert words in str(info.value)


def test_the_memory_limit_reaches_duckdb(tmp_path):
    """Too little memory is a clear configuration error (exit 1), never a silent switch to the pandas path
    that needs more; enough memory with a spill folder gives the same report as the default."""
    base = (SAMPLE / "salesreport.toml").read_text(encoding="utf-8")
    tiny = tmp_path / "tiny.toml"
    tiny.write_text(base + '\n[engine]\nmemory_limit = "1MB"\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["weekly", "--data", str(SAMPLE), "--config", str(tiny), "--format", "json"])
    assert result.exit_code == 1
    assert "needs more memory than [engine] memory_limit allows" in result.output
    roomy = tmp_path / "roomy.toml"
    roomy.write_text(base + f'\n[engine]\nmemory_limit = "256MB"\ntemp_directory = "{tmp_path / "spill"}"\n',
                     encoding="utf-8")
    runs = [CliRunner().invoke(app, ["weekly", "--data", str(SAMPLE), *extra, "--week", "2026-W46", "--format", "json"])
            for extra in ([], ["--config", str(roomy)])]
    assert [r.exit_code for r in runs] == [0, 0]
    assert runs[0].stdout == runs[1].stdout


def test_a_file_read_by_many_threads_keeps_its_row_order(tmp_path):
    """Row order carries meaning (a deal's position; ties in a stage history): a file of several of DuckDB's
    scan blocks comes back in file order, as the general parser reads it."""
    import random

    rng = random.Random(7)
    ids = [f"D{rng.randrange(10**9):09d}" for _ in range(750_000)]
    lines = [f"{d},Work Started,2026-0{1 + i % 9}-1{i % 10} 10:00:00,Rep {i % 97}" for i, d in enumerate(ids)]
    path = write(tmp_path, "deal_id,stage,entered_at,owner\n" + "\n".join(lines) + "\n", "stage_history.csv")
    assert path.stat().st_size > 32 * 2**20  # more than one of DuckDB's CSV buffers
    fast = read_typed(path, "stage_history", SCHEMA["stage_history"], BERLIN, min_bytes=0)
    assert fast["deal_id"].tolist() == ids
    assert fast["owner"].tolist()[:3] == ["Rep 0", "Rep 1", "Rep 2"]


def test_the_whitespace_set_is_exactly_what_str_strip_removes():
    import sys

    from salesreport.sources.fastcsv import _WHITESPACE

    assert _WHITESPACE == "".join(ch for ch in map(chr, range(sys.maxunicode + 1)) if ch.isspace())


def test_pipeline_filter_on_the_fast_paths_actions(tmp_path):
    """--pipeline keeps the actions on its deals and on no deal, whichever path read the activities."""
    (tmp_path / "deals.csv").write_text("deal_id,owner,created_at,stage,pipeline\n"
                                        "D1,Anna,2026-03-02,work_started,Direct\n"
                                        "D2,Anna,2026-03-02,work_started,Partner\n", encoding="utf-8")
    rows = [f"Anna,call,2026-03-{1 + i % 28:02d} 10:00:00,{('D1', 'D2', '')[i % 3]},yes" for i in range(40_000)]
    (tmp_path / "activities.csv").write_text("owner,type,occurred_at,deal_id,done\n" + "\n".join(rows) + "\n",
                                             encoding="utf-8")
    assert (tmp_path / "activities.csv").stat().st_size >= FAST_PATH_MIN_BYTES  # the fast path reads it
    for pipeline, expected in (("Direct", 26_667), ("Partner", 26_666)):  # its deal's third and the deal-less third
        result = CliRunner().invoke(app, ["monthly", "--data", str(tmp_path), "--month", "2026-03",
                                          "--pipeline", pipeline, "--format", "json"])
        assert result.exit_code == 0, result.output
        doc = json.loads(result.stdout)
        assert doc["metrics"]["sales_actions"]["value"] == expected


def test_days_of_instants_with_an_offset_near_midnight_are_the_zones_own(tmp_path):
    """An activity's instant with a UTC offset counts on the day it has in the report's zone, on both paths
    alike: around midnight, across daylight-saving changes, Berlin's +3 of 1945, far from UTC (+14:00)."""
    instants = ["2026-03-28T22:59:59Z", "2026-03-28T23:00:00Z", "2026-03-29T21:59:59Z", "2026-03-29T22:00:00Z",
                "2026-10-24T21:59:59Z", "2026-10-24T22:00:00Z", "2026-10-25T22:59:59Z", "2026-10-25T23:00:00Z",
                "2026-06-30T21:59:59+00:00", "2026-07-01T00:59:00+03:00", "2026-07-01T00:00:00-02:00",
                "1945-06-01T20:59:00Z", "1945-06-01T21:00:00Z", "2026-05-05T12:00:00Z", "2026-05-05T12:00:00+14:00",
                "1700-01-01T23:30:00Z", "2262-04-09T12:00:00Z"]
    rows = [f"Anna,call,{at},D{i},yes" for i, at in enumerate(instants)]
    path = write(tmp_path, "owner,type,occurred_at,deal_id,done\n" + "\n".join(rows) + "\n", "activities.csv")
    fast = assert_same_actions(path, BERLIN)
    day = dict(zip(fast["deal_id"], fast["day"].dt.date.astype(str), strict=True))
    assert (day["D0"], day["D1"]) == ("2026-03-28", "2026-03-29")  # 23:59:59 CET, then 00:00
    assert (day["D2"], day["D3"]) == ("2026-03-29", "2026-03-30")  # CEST from 29 March
    assert (day["D11"], day["D12"]) == ("1945-06-01", "1945-06-02")  # +3 in the summer of 1945


ISO_TIMES = ["", "T23:30", " 23:30:59", "T23:30:59.5", " 23:30:59.123456"]  # each precision the fast path types
ISO_ZONES = ["", "Z", "+05:30", "-05:00", "+00:00"]


def test_every_iso_form_is_typed_as_the_general_parser_types_it(tmp_path):
    """Each form of the fast path's grammar — a date, or a time to the minute, second or fraction, without an
    offset, with Z, +hh:mm or -hh:mm (the shortest, 22 characters: a minute and an offset) — is the same
    instant on both paths, as a deal's date and as an action's day."""
    cells = ["2026-03-28"] + [f"2026-03-28{t}{z}" for t in ISO_TIMES[1:] for z in ISO_ZONES]
    deals = "deal_id,owner,created_at,stage\n" + "".join(f"D{i},Anna,{c},new\n" for i, c in enumerate(cells))
    fast = assert_same(write(tmp_path, deals), "deals", BERLIN)
    created = dict(zip(cells, fast["created_at"], strict=True))
    assert created["2026-03-28T23:30"] == pd.Timestamp("2026-03-28 23:30")  # naive: the zone's wall clock
    assert created["2026-03-28T23:30Z"] == pd.Timestamp("2026-03-29 00:30")  # CET is UTC+1 on 28 March
    assert created["2026-03-28T23:30-05:00"] == pd.Timestamp("2026-03-29 06:30")  # 04:30 UTC: CEST by then
    assert created["2026-03-28 23:30:59.123456+05:30"] == pd.Timestamp("2026-03-28 19:00:59.123456")
    activities = "owner,type,occurred_at,deal_id,done\n" + "".join(
        f"Anna,call,{c},D{i},yes\n" for i, c in enumerate(cells))
    days = assert_same_actions(write(tmp_path, activities, "activities.csv"), BERLIN)
    assert set(days["day"].dt.date.astype(str)) == {"2026-03-28", "2026-03-29"}


def test_a_cell_is_stripped_in_sql_exactly_as_str_strip_strips_it():
    """The fast path's edge test (a regular expression) and trim agree with str.strip() for every blank
    character at either edge, inside a cell (kept), alone, repeated, and for no cell at all."""
    import duckdb

    from salesreport.sources.fastcsv import _WHITESPACE, _text

    cells = [*(ch + "a b" for ch in _WHITESPACE), *("a b" + ch for ch in _WHITESPACE), "a\u3000b", "\u200bx",
             "x", "", " ", "\u3000\u3000", " \t a \n "]
    con = duckdb.connect()
    con.execute("CREATE TABLE t (i INTEGER, c VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?)", [[i, c] for i, c in enumerate([*cells, None])])
    for edge_regexp in (False, True):  # a CSV's test of the edge characters, and a Parquet file's
        got = [value for (value,) in con.sql(f"SELECT {_text('c', edge_regexp)} FROM t ORDER BY i").fetchall()]
        assert got == [c.strip() for c in cells] + [""]
