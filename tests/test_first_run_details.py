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
