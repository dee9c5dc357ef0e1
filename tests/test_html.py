"""--format html: the jinja2 template shows the report's values, autoescaped."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from typer.testing import CliRunner

from salesreport.cli import app

from .test_outputs import SAMPLE, run_cli


def test_html_page_shows_the_report_values(tmp_path):
    page = tmp_path / "weekly.html"
    proc = run_cli("weekly", "--data", str(SAMPLE), "--week", "2026-W46", "--out", str(page))
    assert proc.returncode == 0, proc.stderr
    html = page.read_text(encoding="utf-8")
    doc = json.loads(run_cli("weekly", "--data", str(SAMPLE), "--week", "2026-W46", "--format", "json").stdout)
    assert html.startswith("<!DOCTYPE html>") and "Weekly sales report · 2026-W46" in html
    assert f">{doc['metrics']['worked']['value']:,}<" in html
    bad = [k for k, v in doc["metrics"].items() if v["status"] == "bad"]
    assert bad and html.count("background:#ffc7ce") >= len(bad)  # status colours inline
    for name in doc["by_rep"]:
        assert name in html


def test_crm_text_is_escaped(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "deals.csv").write_text(
        "deal_id,owner,company,created_at,stage\nD1,<script>alert(1)</script>,<b>Acme</b>,2026-03-02,work_started\n")
    proc = run_cli("weekly", "--data", str(data), "--week", "2026-W10", "--format", "html", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "<script>alert" not in proc.stdout
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in proc.stdout


def test_report_templates_folder_replaces_a_shipped_template(tmp_path):
    """[report] templates: a file there replaces the shipped one of the same name; the others stay."""
    mine = tmp_path / "my-templates"
    mine.mkdir()
    (mine / "report.html.j2").write_text("<p>Ours: {{ title }}</p>\n", encoding="utf-8")
    config = tmp_path / "salesreport.toml"
    sample = (Path(SAMPLE) / "salesreport.toml").read_text(encoding="utf-8")
    config.write_text(sample.replace("[report]\n", '[report]\ntemplates = "my-templates"\n', 1), encoding="utf-8")
    result = CliRunner().invoke(app, ["weekly", "--data", str(SAMPLE), "--config", str(config),
                                      "--week", "2026-W46", "--format", "html"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("<p>Ours: ")
    (mine / "report.html.j2").unlink()
    mine.rmdir()
    result = CliRunner().invoke(app, ["weekly", "--data", str(SAMPLE), "--config", str(config), "--format", "html"])
    assert result.exit_code == 1
    assert "[report] templates" in result.output and "is not a folder" in result.output


def test_nineteen_reps_keep_the_page_phone_wide(tmp_path):
    """The per-rep figures come in tables of four reps: no table is wider than the team table, so the team's
    Value / Previous / Target stay on a 600 px screen however many reps there are."""
    import re

    from salesreport.sample import generate

    generate(tmp_path / "data", deals=12000, seed=1, end=date(2026, 11, 22))
    page = tmp_path / "weekly.html"
    proc = run_cli("weekly", "--data", str(tmp_path / "data"), "--week", "2026-W46", "--out", str(page))
    assert proc.returncode == 0, proc.stderr
    html = page.read_text(encoding="utf-8")
    body = html[html.index("<table", html.index("<table") + 1):]  # inside the page's frame
    tables = re.findall(r"<table.*?</table>", body, re.DOTALL)
    widths = [max(len(re.findall(r"<t[dh][ >]", row)) for row in re.findall(r"<tr.*?</tr>", t, re.DOTALL)) for t in tables]
    team = widths[0]
    assert team == 5  # #, Metric, the week, Previous, Target
    doc = json.loads(run_cli("weekly", "--data", str(tmp_path / "data"), "--week", "2026-W46", "--format",
                             "json").stdout)
    assert len(doc["by_rep"]) >= 18
    per_rep = [(t, w) for t, w in zip(tables, widths) if any(name in t for name in doc["by_rep"])]
    assert all(sum(name in t for t, _ in per_rep) == 1 for name in doc["by_rep"])  # each rep once
    assert len(per_rep) == -(-len(doc["by_rep"]) // 4)  # four reps a table
    assert all(w <= team for _, w in per_rep)
