"""Bad input ends with exit 1 and one paragraph naming file, row, column and the fix; no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

GOOD_DEALS = "deal_id,owner,created_at,stage,amount\nD1,Anna,2026-01-05,work_started,100\n"
GOOD_HISTORY = "deal_id,stage,entered_at\nD1,work_started,2026-01-05\n"

CASES = [
    # (name, files, config, words the message must contain)
    ("no deals.csv", {"stage_history.csv": GOOD_HISTORY}, None, ["no deals.csv", "--data"]),
    ("missing column", {"deals.csv": "deal_id,owner,created,stage\nD1,Anna,2026-01-05,new\n"}, None,
     ["deals.csv", '"created_at" is missing', 'closest header is "created"', "[columns.deals]"]),
    ("bad date", {"deals.csv": "deal_id,created_at\nD1,2026-01-05\nD2,yesterday\n"}, None,
     ["deals.csv", "row 3", '"created_at"', '"yesterday" is not a date']),
    ("ambiguous date", {"deals.csv": "deal_id,created_at\nD1,01/02/2026\nD2,03/04/2026\n"}, None,
     ["deals.csv", '"created_at"', "dayfirst"]),
    ("bad amount", {"deals.csv": "deal_id,created_at,amount\nD1,2026-01-05,twelve grand\n"}, None,
     ["deals.csv", "row 2", '"amount"', "is not an amount"]),
    ("negative quota", {"deals.csv": GOOD_DEALS, "reps.csv": "name,role,monthly_quota\nAnna,AE,-5\n"}, None,
     ["reps.csv", "row 2", "negative"]),  # a deal's negative amount is a credit note: a warning, not a stop
    ("duplicate id", {"deals.csv": "deal_id,created_at\nD1,2026-01-05\nD2,2026-01-05\nD1,2026-01-06\n"}, None,
     ["deals.csv", "rows 2 and 4", '"D1" is used twice']),
    ("empty file", {"deals.csv": ""}, None, ["deals.csv", "empty"]),
    ("header only", {"deals.csv": "deal_id,created_at\n"}, None, ["deals.csv", "no rows"]),
    ("binary file", {"deals.csv": b"\x89PNG\r\n\x1a\n" + bytes(200)}, None, ["deals.csv", "binary"]),
    ("400-digit amount", {"deals.csv": "deal_id,created_at,amount\nD1,2026-01-05," + "9" * 400 + "\n"}, None,
     ["deals.csv", "row 2", '"amount"', "too large to be an amount"]),
    ("infinite history_days", {"deals.csv": GOOD_DEALS}, "[forecast]\nhistory_days = inf\n",
     ["salesreport.toml", "forecast.history_days must be a number, not inf"]),
    ("target that is nan", {"deals.csv": GOOD_DEALS}, "[targets]\nconv_reply = nan\n",
     ["conv_reply", "must be a number"]),
    ("one cp1252 letter in a UTF-8 file", {"deals.csv": GOOD_DEALS, "activities.csv":
        "owner,type,occurred_at\nJürgen,call,2026-01-05\n".encode() + "Ren\u00e9,call,2026-01-05\n".encode("cp1252")
        + "Jürgen,call,2026-01-06\n".encode()}, None,
     ["activities.csv", "line(s) 3 are not UTF-8", "[input] encoding"]),
    ("repeated header", {"deals.csv": "deal_id,created_at,amount,Amount\nD1,2026-01-05,,100\n"}, None,
     ["deals.csv", '"amount" stands over 2 columns', "columns 3, 4", "[columns.deals] amount"]),
    ("date before 1677", {"deals.csv": "deal_id,created_at\nD1,2026-01-05\nD2,0001-01-01\n"}, None,
     ["deals.csv", "row 3", '"created_at"', '"0001-01-01" is before 1677']),
    ("bad status", {"deals.csv": "deal_id,created_at,status\nD1,2026-01-05,maybe\n"}, None,
     ["row 2", '"status"', "open, won or lost"]),
    ("history date empty", {"deals.csv": GOOD_DEALS, "stage_history.csv": "deal_id,stage,entered_at\nD1,new,\n"},
     None, ["stage_history.csv", "row 2", '"entered_at"']),
    ("bad done flag", {"deals.csv": GOOD_DEALS,
                       "activities.csv": "owner,type,occurred_at,done\nAnna,call,2026-01-05,perhaps\n"},
     None, ["activities.csv", "row 2", '"done"', "true/false"]),
    ("bad time zone", {"deals.csv": GOOD_DEALS}, '[report]\ntimezone = "Mars/Olympus"\n',
     ["salesreport.toml", "timezone", "IANA"]),
    ("bad toml", {"deals.csv": GOOD_DEALS}, "[report\n", ["salesreport.toml", "not valid TOML"]),
    ("unknown stage id in config", {"deals.csv": GOOD_DEALS}, '[funnel.stages]\nwarm = ["Warm"]\n',
     ["[funnel.stages] warm", "not a canonical stage", "work_started"]),
    ("unknown target", {"deals.csv": GOOD_DEALS}, "[targets]\nconv_magic = 0.5\n", ["conv_magic", "unknown metric"]),
    # a typo in any section is an error naming the key and the closest known one, never silently ignored
    ("typo in [report]", {"deals.csv": GOOD_DEALS}, '[report]\ntimezon = "Europe/Berlin"\n',
     ["salesreport.toml", "[report] has unknown key(s) timezon", "did you mean timezone?"]),
    ("typo in [plan]", {"deals.csv": GOOD_DEALS}, "[plan]\nanual = 1200000\n",
     ["salesreport.toml", "[plan] has unknown key(s) anual", "did you mean annual?"]),
    ("typo in [columns.deals]", {"deals.csv": GOOD_DEALS}, '[columns.deals]\namout = "Amount"\n',
     ["[columns.deals] has unknown key(s) amout", "did you mean amount?"]),
    ("typo in a section name", {"deals.csv": GOOD_DEALS}, "[forcast]\nhistory_days = 90\n",
     ["unknown section forcast", "did you mean forecast?"]),
    ("typo in [forecast]", {"deals.csv": GOOD_DEALS}, "[forecast]\nhistory_day = 90\n",
     ["[forecast] has unknown key(s) history_day", "did you mean history_days?"]),
    ("typo in a target id", {"deals.csv": GOOD_DEALS}, "[targets]\nconv_replied = 0.3\n",
     ["conv_replied", "unknown metric", "did you mean conv_reply?"]),
    ("a section that is a value", {"deals.csv": GOOD_DEALS}, "report = 5\n",
     ["[report] must be a table of key = value lines"]),
    # real exports
    ("a HubSpot export without the preset", {"deals.csv": 'Record ID,Deal Name,Deal Stage,Create Date\n1,A,Closed Won,'
                                             "2026-03-01\n"}, None,
     ['"deal_id" is missing', "HubSpot", "--preset hubspot", "salesreport init"]),
    ("Pipedrive value that is not money", {"deals.csv": "Deal - ID,Deal - Title,Deal - Stage,Deal - Deal created,"
                                           "Deal - Value\n7,A,Qualified,2026-03-01 10:00:00,n/a\n"},
     'preset = "pipedrive"\n', ["deals.csv", "row 2", 'column "Deal - Value"', '"n/a" is not an amount']),
    ("amoCRM export without its stage column", {"leads.csv": "ID;Название сделки;Бюджет ;Дата создания сделки;"
                                                "Этап (воронка)\n1;A;100;01.02.2026 10:00:00;x\n"}, 'preset = "amocrm"\n',
     ["leads.csv", "amoCRM leads export", '"Этап сделки"', "found: ID, Название сделки, Бюджет",
      "closest header: 'Этап (воронка)'"]),
    ("two currencies, no rates", {"deals.csv": 'deal_id,created_at,amount\nD1,2026-01-05,"$1,234.50"\n'
                                  'D2,2026-01-06,"1.234,50 €"\n'}, None,
     ['column "amount"', "several currencies", "USD (1 deals)", "EUR (1 deals)", "[plan] currency", "rates"]),
    ("accounting negative quota", {"deals.csv": GOOD_DEALS, "reps.csv": 'name,monthly_quota\nAnna,"(1,200.00)"\n'},
     None, ["reps.csv", "row 2", '"(1,200.00)" is negative', "0 or more"]),
    ("month name that is not a date", {"deals.csv": "deal_id,created_at\nD1,\"Sep 31, 2026\"\n"}, None,
     ["row 2", '"Sep 31, 2026" is not a valid date']),
    ("UTF-16 file with a bad date", {"deals.csv": "deal_id\tcreated_at\r\nD1\t2026-01-05\r\nD2\t31.02.2026\r\n"
                                     .encode("utf-16")}, None, ["deals.csv", "row 3", '"31.02.2026" is not a valid date']),
]


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "salesreport", *args], check=False, capture_output=True, text=True, cwd=cwd)


@pytest.mark.parametrize("name,files,config,words", CASES, ids=[c[0] for c in CASES])
def test_bad_input_message(tmp_path, name, files, config, words):
    data = tmp_path / "data"
    data.mkdir()
    for filename, content in files.items():
        target = data / filename
        target.write_bytes(content) if isinstance(content, bytes) else target.write_text(content, encoding="utf-8")
    if config is not None:
        (tmp_path / "salesreport.toml").write_text(config, encoding="utf-8")
    proc = run_cli("weekly", "--data", str(data), "--week", "2026-W10", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    for word in words:
        assert word in proc.stderr, f"{word!r} not in {proc.stderr!r}"


@pytest.mark.parametrize("args,words", [
    (["weekly", "--week", "2026-46"], ["--week", "YYYY-Www"]),
    (["monthly", "--month", "2026-13"], ["--month", "YYYY-MM"]),
    (["daily", "--date", "18.11.2026"], ["--date", "YYYY-MM-DD"]),
    (["weekly", "--since", "last year"], ["--since"]),
    (["weekly", "--week", "2026-W60"], ["--week", "no such week"]),
    (["team", "--month", "2026-10", "--compare-at", "July"], ["--compare-at", "YYYY-MM-DD"]),
    (["sample", "--end", "tomorrow"], ["--end", "YYYY-MM-DD"]),
])
def test_malformed_period_options_are_usage_errors_exit_2(tmp_path, args, words):
    data = tmp_path / "data"
    data.mkdir()
    (data / "deals.csv").write_text(GOOD_DEALS)
    extra = ["--out", str(tmp_path / "out")] if args[0] == "sample" else ["--data", str(data)]
    proc = run_cli(*args, *extra, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    for word in words:
        assert word in proc.stderr


def test_unknown_option_is_a_usage_error_exit_2(tmp_path):
    proc = run_cli("weekly", "--frobnicate", cwd=tmp_path)
    assert proc.returncode == 2
