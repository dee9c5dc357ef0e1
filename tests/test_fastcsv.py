"""The DuckDB fast path for canonical CSVs: where it answers, its table equals the general parser's to the
cell (values, dtypes, order, the headers messages name); everywhere else it declines, so the general parser
accepts the format or words the error."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from salesreport.config import Config, parse_config
from salesreport.errors import InputError
from salesreport.sources.canonical import SCHEMA, _canonical, read_csv_text
from salesreport.sources.fastcsv import FAST_PATH_MIN_BYTES, read_typed

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
