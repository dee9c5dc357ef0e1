"""CLI outputs on the bundled sample data: the JSON contract, CSV, Markdown, terminal, atomic --out."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"

# ids copied from SPEC §5, not from our registry: the contract other tools read
SPEC_IDS = {
    "monthly": """revenue_mom_growth revenue_plan revenue_ytd revenue_month revenue_ytd_prev_year
        revenue_ytd_vs_plan revenue_forecast forecast_deals_without_amount pipeline_sufficiency deals_signed
        deals_signed_ytd average_deal_size average_deal_size_ytd sales_cycle_days sales_cycle_days_ytd
        cycle_day_cost conv_reply conv_demo conv_demo_from_positive conv_client conv_client_from_demo
        sales_actions stuck_share_active active_deals_per_rep funnel_balance zero_amount_after_qualified
        stale_share untouched_deals""",
    "weekly": """actions_per_day_sdr actions_per_day_ae worked worked_period outreach_sdr outreach_ae replied
        replied_period replied_positive replied_positive_period conv_positive demo_appointed
        demo_appointed_period demo_run demo_run_period conv_demo offer_sent offer_sent_period conv_offer
        signed_value signed_value_ytd revenue_wow_growth""",
    "daily": """sales_actions sales_actions_call sales_actions_email sales_actions_message sales_actions_meeting
        worked_period replied_period replied_positive_period demo_appointed_period demo_run_period
        offer_sent_period signed_value conv_demo_appointed""",
}
PERIOD = {"monthly": ["--month", "2026-10"], "weekly": ["--week", "2026-W46"], "daily": ["--date", "2026-11-18"]}
UNITS = {"count", "money", "ratio", "days", "per_day"}


def run_cli(*args, cwd=ROOT, env=None):
    return subprocess.run([sys.executable, "-m", "salesreport", *args], check=False, capture_output=True, text=True, cwd=cwd,
                          env=env)


@pytest.fixture(scope="module")
def reports():
    out = {}
    for name, period in PERIOD.items():
        proc = run_cli(name, "--data", str(SAMPLE), *period, "--format", "json")
        assert proc.returncode == 0, proc.stderr
        out[name] = json.loads(proc.stdout)
    return out


@pytest.mark.parametrize("name", list(SPEC_IDS))
def test_json_has_every_spec_id_with_the_contract_shape(reports, name):
    doc = reports[name]
    assert list(doc)[:8] == ["report", "period", "timezone", "currency", "metrics", "by_rep", "periods", "warnings"]
    assert doc["report"] == name
    assert doc["timezone"] == "Europe/Berlin" and doc["currency"] == "EUR"
    missing = set(SPEC_IDS[name].split()) - set(doc["metrics"])
    assert not missing
    for metric_id, m in doc["metrics"].items():
        assert m["unit"] in UNITS, metric_id
        assert m["status"] in (None, "good", "warn", "bad"), metric_id
        assert m["value"] is None or isinstance(m["value"], (int, float)), metric_id
        if m["unit"] == "count" and m["value"] is not None:
            assert isinstance(m["value"], int), metric_id
    assert doc["by_rep"], "per-rep figures expected"
    for rep in doc["by_rep"].values():
        assert rep["role"] in ("SDR", "AE", "other", "unknown")


def test_json_period_labels(reports):
    assert reports["weekly"]["period"] == {"label": "2026-W46", "start": "2026-11-09", "end": "2026-11-15"}
    assert reports["monthly"]["period"] == {"label": "2026-10", "start": "2026-10-01", "end": "2026-10-31"}
    assert reports["daily"]["period"]["label"] == "2026-11-18"


def test_sample_data_figures_are_plausible(reports):
    w = reports["weekly"]["metrics"]
    assert w["worked"]["value"] > w["replied"]["value"] > w["replied_positive"]["value"] > 0
    assert w["demo_appointed"]["value"] >= w["demo_run"]["value"] >= w["offer_sent"]["value"] > 0
    m = reports["monthly"]["metrics"]
    assert m["revenue_forecast"]["value"] >= m["revenue_ytd"]["value"] > 0
    assert 0 < m["conv_client"]["value"] < m["conv_demo"]["value"] < m["conv_reply"]["value"] < 1
    assert m["zero_amount_after_qualified"]["deal_ids"]


def test_periods_give_a_trend_and_csv_is_long_and_tidy(tmp_path):
    proc = run_cli("weekly", "--data", str(SAMPLE), "--week", "2026-W46", "--periods", "3", "--format", "json")
    doc = json.loads(proc.stdout)
    assert [p["period"]["label"] for p in doc["periods"]] == ["2026-W44", "2026-W45"]
    assert doc["periods"][1]["metrics"]["worked"]["value"] == doc["metrics"]["worked"]["previous"]
    proc = run_cli("weekly", "--data", str(SAMPLE), "--week", "2026-W46", "--periods", "3", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    team = [r for r in rows if r["rep"] == "" and r["metric"] == "worked"]
    assert [r["period"] for r in team] == ["2026-W44", "2026-W45", "2026-W46"]
    assert int(team[-1]["value"]) == doc["metrics"]["worked"]["value"]
    reps = {r["rep"] for r in rows if r["rep"]}
    assert reps == set(doc["by_rep"])


def test_table_fits_80_columns_and_warnings_go_to_stderr():
    env = {**os.environ, "COLUMNS": "80", "TERM": "dumb"}
    proc = run_cli("weekly", "--data", str(SAMPLE), "--week", "2026-W46", env=env)
    assert proc.returncode == 0
    assert "Weekly report · 2026-W46" in proc.stdout
    assert max(len(line) for line in proc.stdout.splitlines()) <= 80
    assert "Warning:" not in proc.stdout and "Warning:" in proc.stderr


def test_markdown_output():
    proc = run_cli("monthly", "--data", str(SAMPLE), "--month", "2026-10", "--format", "md")
    assert proc.stdout.startswith("# Monthly report 2026-10")
    assert "| 12 | Client conversion |" in proc.stdout


def test_out_writes_atomically_and_infers_the_format(tmp_path):
    target = tmp_path / "weekly.json"
    target.write_text("old")
    proc = run_cli("weekly", "--data", str(SAMPLE), "--week", "2026-W46", "--out", str(target))
    assert proc.returncode == 0 and proc.stdout == ""
    assert json.loads(target.read_text())["report"] == "weekly"
    assert [p.name for p in tmp_path.iterdir()] == ["weekly.json"]  # no temp file left behind


def test_out_into_a_missing_folder_exits_3_and_writes_nothing(tmp_path):
    proc = run_cli("weekly", "--data", str(SAMPLE), "--week", "2026-W46", "--out", str(tmp_path / "no" / "x.json"))
    assert proc.returncode == 3
    assert "does not exist" in proc.stderr


def test_rep_filter_and_formula_text_in_csv(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "deals.csv").write_text(
        'deal_id,owner,created_at,stage\nD1,"=HYPERLINK(""http://x"",""y"")",2026-03-02,work_started\n'
        "D2,Anna,2026-03-03,work_started\n")
    proc = run_cli("weekly", "--data", str(data), "--week", "2026-W10", "--format", "csv", cwd=tmp_path)
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert "'=HYPERLINK(\"http://x\",\"y\")" in {r["rep"] for r in rows}
    proc = run_cli("weekly", "--data", str(data), "--week", "2026-W10", "--format", "json", "--rep", "Anna",
                   cwd=tmp_path)
    assert list(json.loads(proc.stdout)["by_rep"]) == ["Anna"]


def test_sample_is_reproducible_and_check_reports_findings(tmp_path):
    for folder in ("a", "b"):
        proc = run_cli("sample", "--out", str(tmp_path / folder), "--deals", "300", "--seed", "3",
                       "--end", "2026-06-30")
        assert proc.returncode == 0, proc.stderr
    for table in ("deals", "stage_history", "activities", "reps"):
        assert (tmp_path / "a" / f"{table}.csv").read_bytes() == (tmp_path / "b" / f"{table}.csv").read_bytes()
    proc = run_cli("check", "--data", str(SAMPLE), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    codes = {f["code"] for f in json.loads(proc.stdout)["findings"]}
    assert "zero_amount_after_qualified" in codes
