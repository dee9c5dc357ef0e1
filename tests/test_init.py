"""`salesreport init`: a starter config from a real-looking export, that a report then runs with."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ASSETS = Path(__file__).parent / "assets"
MAVEN_LIKE = (
    "opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,close_value\n"
    "1C1I7A6R,Moses Frase,GTX Plus Basic,Cancity,Won,2017-01-02,2017-03-01,1054\n"
    "Z063OYW0,Darcel Schlecht,GTXPro,Isdom,Won,2017-01-03,2017-03-11,4514\n"
    "EC4QE1BX,Darcel Schlecht,MG Special,Cancity,Lost,2017-01-04,2017-03-07,0\n"
    "MV1LWRNH,Moses Frase,GTX Basic,Codehow,Engaging,2017-01-04,,\n"
    "PE84CX4O,Zane Levy,GTX Basic,Hatfan,Prospecting,,,\n"
)


def init(*args: str, cwd: Path, tz: str = "America/Chicago") -> subprocess.CompletedProcess:
    env = {**os.environ, "TZ": tz}
    return subprocess.run([sys.executable, "-m", "salesreport", "init", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, check=False)


def report(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "salesreport", *args], capture_output=True, text=True, cwd=cwd,
                          check=False)


def test_hubspot_export_gives_a_config_the_monthly_report_runs_with(tmp_path):
    proc = init(str(ASSETS / "hubspot"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "preset hubspot" in proc.stderr and "time zone America/Chicago" in proc.stderr
    assert "would stop" not in proc.stderr
    text = (tmp_path / "salesreport.toml").read_text(encoding="utf-8")
    doc = tomllib.loads(text)
    assert doc["preset"] == "hubspot"
    assert doc["report"]["timezone"] == "America/Chicago"
    assert doc["funnel"]["lost"] == ["Closed Lost"]
    stages = doc["funnel"]["stages"]
    assert stages["demo_appointed"] == ["Demo booked", "Appointment Scheduled"]  # found in the data, then history
    assert stages["signed"] == ["Closed Won"] and stages["offer_sent"] == ["Contract Sent"]
    assert "# guessed from the name, check: Demo booked\ndemo_appointed = " in text
    assert "# annual = " in text  # the plan is a placeholder to fill in, not a made-up number
    assert doc["activity_types"] == {"message": ["LinkedIn message"]}
    proc = report("monthly", "--month", "2026-03", "--format", "json", cwd=tmp_path)  # [sources] from init
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["metrics"]["deals_signed"]["value"] == 1


def test_an_export_no_preset_knows_gets_column_and_stage_guesses(tmp_path):
    (tmp_path / "sales_pipeline.csv").write_text(MAVEN_LIKE, encoding="utf-8")
    proc = init("sales_pipeline.csv", cwd=tmp_path, tz="Europe/Berlin")
    assert proc.returncode == 0, proc.stderr
    doc = tomllib.loads((tmp_path / "salesreport.toml").read_text(encoding="utf-8"))
    assert "preset" not in doc
    assert doc["sources"] == {"deals": "sales_pipeline.csv"}
    assert doc["columns"]["deals"] == {"deal_id": "opportunity_id", "created_at": "engage_date", "company": "account",
                                       "owner": "sales_agent", "amount": "close_value", "stage": "deal_stage",
                                       "closed_at": "close_date"}
    assert doc["funnel"]["stages"] == {"work_started": ["Prospecting"], "replied_positive": ["Engaging"],
                                       "signed": ["Won"]}
    assert doc["funnel"]["lost"] == ["Lost"]
    proc = report("monthly", "--month", "2017-03", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads(proc.stdout)["metrics"]
    assert metrics["deals_signed"]["value"] == 2 and metrics["revenue_month"]["value"] == 1054 + 4514


def test_stage_names_it_cannot_place_are_left_for_the_user_and_the_report_still_runs(tmp_path):
    (tmp_path / "deals.csv").write_text("deal_id,created_at,stage\nD1,2026-01-05,Stufe 7\nD2,2026-01-06,Stufe 7\n"
                                        "D3,2026-01-06,Closed Won\n", encoding="utf-8")
    proc = init("deals.csv", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "salesreport.toml").read_text(encoding="utf-8")
    assert '# ? = ["Stufe 7"]  # 2 deal(s)' in text
    assert "1 left for you" in proc.stderr
    assert "would stop" not in proc.stderr  # an unplaced name leaves the funnel figures short, nothing else
    assert tomllib.loads(text)["funnel"]["stages"] == {"signed": ["Closed Won"]}
    proc = report("monthly", "--month", "2026-01", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert any('"Stufe 7" (2 deals) are not on the funnel' in w for w in doc["warnings"])


def test_ambiguous_dates_get_the_dayfirst_line_to_uncomment(tmp_path):
    (tmp_path / "deals.csv").write_text("deal_id,created_at\nD1,01/02/2026\nD2,03/04/2026\n", encoding="utf-8")
    proc = init("deals.csv", cwd=tmp_path)
    assert proc.returncode == 0 and "dayfirst" in proc.stderr
    text = (tmp_path / "salesreport.toml").read_text(encoding="utf-8")
    assert "[input]\n# dayfirst = true" in text
    tomllib.loads(text)


def test_cp1251_export_writes_its_russian_stage_names_as_utf8(tmp_path):
    proc = init(str(ASSETS / "amocrm" / "amocrm_export_leads_2026-02-28.csv"), "--out", "amo.toml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = tomllib.loads((tmp_path / "amo.toml").read_text(encoding="utf-8"))
    assert doc["preset"] == "amocrm"
    assert doc["funnel"]["stages"]["replied_positive"] == ["Переговоры"]
    assert doc["funnel"]["lost"] == ["Закрыто и не реализовано"]


def test_currencies_found_in_the_amounts_are_written(tmp_path):
    proc = init(str(ASSETS / "pipedrive"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "salesreport.toml").read_text(encoding="utf-8")
    assert tomllib.loads(text)["plan"]["currency"] == "EUR"
    assert "# rates = { USD = 1.0 }" in text


def test_init_does_not_overwrite_without_force_and_works_without_an_export(tmp_path):
    assert init(cwd=tmp_path).returncode == 0
    doc = tomllib.loads((tmp_path / "salesreport.toml").read_text(encoding="utf-8"))
    assert doc["report"]["timezone"] == "America/Chicago"
    proc = init(cwd=tmp_path)
    assert proc.returncode == 1 and "--force" in proc.stderr and "Traceback" not in proc.stderr
    assert init("--force", cwd=tmp_path).returncode == 0


@pytest.mark.parametrize("args,words", [(["missing.csv"], ["missing.csv", "no such file"])])
def test_init_errors_are_one_paragraph(tmp_path, args, words):
    proc = init(*args, cwd=tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    for word in words:
        assert word in proc.stderr


def test_a_bad_cell_in_a_large_activities_export_is_the_problem_init_names(tmp_path):
    # a large activities export is read late in a report (after the facts); init still reads it, to say where
    # a report would stop
    sample = Path(__file__).resolve().parents[1] / "sample_data"
    for table in ("deals", "stage_history", "activities", "reps"):
        (tmp_path / f"{table}.csv").write_bytes((sample / f"{table}.csv").read_bytes())
    with (tmp_path / "activities.csv").open("a", encoding="utf-8") as fh:
        fh.write("A999999,Elena Berg,Call,18/31/2026 10:00,,yes\n")
    assert (tmp_path / "activities.csv").stat().st_size > 2**20  # the size read late
    row = len((tmp_path / "activities.csv").read_text(encoding="utf-8").splitlines())
    proc = init("deals.csv", "stage_history.csv", "activities.csv", "reps.csv", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f'would stop here for now: activities.csv, row {row}, column "occurred_at"' in " ".join(proc.stderr.split())
