"""What real exports met on a first run: a time zone that is only a guess, the deals behind a warning, figures
that are unknown rather than zero, the currency the data names, columns without a header."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

ASSETS = Path(__file__).parent / "assets"


def run(*args: str, cwd: Path, tz: str = "UTC") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "salesreport", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "TZ": tz}, check=False)


def test_init_takes_the_team_time_zone_and_says_when_it_only_guessed(tmp_path):
    proc = run("init", str(ASSETS / "hubspot"), "--timezone", "America/Mexico_City", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "salesreport.toml").read_text(encoding="utf-8")
    assert tomllib.loads(text)["report"]["timezone"] == "America/Mexico_City"
    assert "given to init --timezone" in text and "a guess" not in proc.stderr
    proc = run("init", str(ASSETS / "hubspot"), "--force", cwd=tmp_path, tz="Asia/Tokyo")
    assert proc.returncode == 0, proc.stderr
    assert "Time zone Asia/Tokyo is this machine's, a guess" in proc.stderr and "--timezone" in proc.stderr
    assert "this machine's time zone: a guess" in (tmp_path / "salesreport.toml").read_text(encoding="utf-8")


def test_init_refuses_a_time_zone_that_is_none_as_a_usage_error(tmp_path):
    proc = run("init", str(ASSETS / "hubspot"), "--timezone", "Mars/Olympus", cwd=tmp_path)
    assert proc.returncode == 2
    assert "--timezone 'Mars/Olympus' is not an IANA time zone" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "salesreport.toml").exists()


def test_a_history_that_moves_backwards_names_its_deals(tmp_path):
    (tmp_path / "deals.csv").write_text("deal_id,created_at,stage\nD1,2026-03-01,offer_sent\nD2,2026-03-01,offer_sent\n"
                                        "D3,2026-03-01,qualified\n", encoding="utf-8")
    (tmp_path / "stage_history.csv").write_text(
        "deal_id,stage,entered_at\nD1,offer_sent,2026-03-02\nD1,qualified,2026-03-03\nD1,offer_sent,2026-03-04\n"
        "D2,offer_sent,2026-03-02\nD3,demo_run,2026-03-02\nD3,replied,2026-03-05\nD3,qualified,2026-03-06\n",
        encoding="utf-8")
    proc = run("monthly", "--data", str(tmp_path), "--month", "2026-03", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    warning = next(w for w in json.loads(proc.stdout)["warnings"] if "backwards" in w)
    assert warning.startswith("2 deal(s)") and "(e.g. D1, D3)" in warning
    proc = run("check", "--data", str(tmp_path), "--format", "json", cwd=tmp_path)
    finding = next(f for f in json.loads(proc.stdout)["findings"] if "backwards" in f["message"])
    assert finding["deal_ids"] == ["D1", "D3"]


def test_without_activities_untouched_deals_is_unknown_not_every_open_deal(tmp_path):
    (tmp_path / "deals.csv").write_text("deal_id,created_at,stage\nD1,2026-03-01,work_started\n", encoding="utf-8")
    proc = run("monthly", "--data", str(tmp_path), "--month", "2026-03", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["metrics"]["untouched_deals"]["value"] is None
    (tmp_path / "activities.csv").write_text("owner,type,occurred_at,deal_id\nAnna,call,2026-02-01,D9\n",
                                             encoding="utf-8")
    proc = run("monthly", "--data", str(tmp_path), "--month", "2026-03", "--format", "json", cwd=tmp_path)
    assert json.loads(proc.stdout)["metrics"]["untouched_deals"]["value"] == 1  # now known: nobody touched D1


def test_the_json_currency_is_the_one_the_data_names(tmp_path):
    (tmp_path / "deals.csv").write_text("deal_id,created_at,amount,currency\nD1,2026-03-01,100,EUR\n"
                                        "D2,2026-03-02,200,EUR\n", encoding="utf-8")
    proc = run("monthly", "--data", str(tmp_path), "--month", "2026-03", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["currency"] == "EUR"
    (tmp_path / "deals.csv").write_text("deal_id,created_at,amount\nD1,2026-03-01,100\n", encoding="utf-8")
    proc = run("monthly", "--data", str(tmp_path), "--month", "2026-03", "--format", "json", cwd=tmp_path)
    assert json.loads(proc.stdout)["currency"] is None  # nothing names one, and no [plan] currency


def test_a_column_without_a_header_is_named_for_what_it_is(tmp_path):
    (tmp_path / "deals.csv").write_text("opportunity,,created\nD1,x,2026-03-01\n", encoding="utf-8")
    proc = run("monthly", "--data", str(tmp_path), "--month", "2026-03", cwd=tmp_path)
    assert proc.returncode == 1
    assert "found: opportunity, column 2 (no header), created" in proc.stderr and "Unnamed" not in proc.stderr


def test_credit_notes_are_listed_and_left_out_of_revenue_unless_kept(tmp_path):
    (tmp_path / "deals.csv").write_text(
        "deal_id,created_at,stage,status,amount,signed_at\nD1,2026-03-01,signed,won,1000,2026-03-05\n"
        "D2,2026-03-02,signed,won,-300,2026-03-06\nD3,2026-03-02,signed,won,(50),2026-03-07\n", encoding="utf-8")
    proc = run("monthly", "--data", str(tmp_path), "--month", "2026-03", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["metrics"]["revenue_month"]["value"] == 1000 and doc["metrics"]["deals_signed"]["value"] == 3
    warning = next(w for w in doc["warnings"] if "negative amount" in w)
    assert "2 deal(s)" in warning and "D2 (-300), D3 (-50)" in warning and 'negative_amounts = "keep"' in warning
    proc = run("check", "--data", str(tmp_path), "--format", "json", cwd=tmp_path)
    findings = json.loads(proc.stdout)["findings"]
    assert [f["deal_ids"] for f in findings if "negative amount" in f["message"]] == [["D2", "D3"]]
    assert not any(f["code"] in ("signed_without_amount", "zero_amount_after_qualified") for f in findings)
    (tmp_path / "salesreport.toml").write_text('[input]\nnegative_amounts = "keep"\n', encoding="utf-8")
    proc = run("monthly", "--data", str(tmp_path), "--month", "2026-03", "--format", "json", cwd=tmp_path)
    doc = json.loads(proc.stdout)
    assert doc["metrics"]["revenue_month"]["value"] == 650
    assert not any("negative amount" in w for w in doc["warnings"])


def test_every_bad_cell_of_a_column_is_in_one_message(tmp_path):
    rows = "".join(f"D{i},{'2026-03-01' if i % 2 else f'soon {i}'}\n" for i in range(1, 51))
    (tmp_path / "deals.csv").write_text("deal_id,created_at\n" + rows, encoding="utf-8")
    proc = run("monthly", "--data", str(tmp_path), "--month", "2026-03", cwd=tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    message = " ".join(proc.stderr.split())
    # the first bad cell with the fix, then the next 19 by row and how many more: 25 bad cells in all
    assert 'row 3, column "created_at": "soon 2" is not a date' in message
    assert '24 more cell(s) of this column are like it, in rows 5 ("soon 4"), 7 ("soon 6")' in message
    assert '41 ("soon 40") and 5 more; fix them all' in message


def test_zoho_dates_and_any_other_layout_through_date_format(tmp_path):
    (tmp_path / "deals.csv").write_text("deal_id,created_at\nD1,\"15 Apr, 2021 00:02:00\"\nD2,03-Apr-2021\n",
                                        encoding="utf-8")
    proc = run("monthly", "--data", str(tmp_path), "--month", "2021-04", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (tmp_path / "deals.csv").write_text("deal_id,created_at\nD1,2021|04|15 10:00\nD2,2021|04|16 11:30\n",
                                        encoding="utf-8")
    proc = run("monthly", "--data", str(tmp_path), "--month", "2021-04", cwd=tmp_path)
    assert proc.returncode == 1 and "[input] date_format" in " ".join(proc.stderr.split())
    (tmp_path / "salesreport.toml").write_text('[input]\ndate_format = ["%d.%m.%y", "%Y|%m|%d %H:%M"]\n',
                                               encoding="utf-8")
    proc = run("monthly", "--data", str(tmp_path), "--month", "2021-04", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (tmp_path / "salesreport.toml").write_text('[input]\ndate_format = "day-month"\n', encoding="utf-8")
    proc = run("monthly", "--data", str(tmp_path), "--month", "2021-04", cwd=tmp_path)
    assert proc.returncode == 1 and "date_format must be a strftime pattern" in proc.stderr
