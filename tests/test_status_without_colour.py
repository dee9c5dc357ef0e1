"""The status of a figure reads without colour: piped terminal output and HTML mark it (✓ ! ✗), and a terminal
or pipe that cannot show those gets ASCII (ok ! X) instead of a crash."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from salesreport.engine.registry import metric_def

from .test_outputs import SAMPLE, run_cli

MARKS = {"good": "✓", "warn": "!", "bad": "✗"}


def weekly_json() -> dict:
    return json.loads(run_cli("weekly", "--data", str(SAMPLE), "--week", "2026-W46", "--format", "json").stdout)


def test_piped_terminal_output_marks_every_status():
    proc = run_cli("weekly", "--data", str(SAMPLE), "--week", "2026-W46")  # a pipe: no TTY, no colour
    assert proc.returncode == 0, proc.stderr
    assert "\x1b[" not in proc.stdout
    lines = proc.stdout.splitlines()
    doc = weekly_json()

    def line_of(metric_id: str) -> str:  # the team table's row (the per-rep tables come after it)
        return next(v for v in lines if re.search(rf"\d  +{re.escape(metric_def(metric_id).title)}  ", v))

    marked = {k: v["status"] for k, v in doc["metrics"].items() if v["status"] and v["value"] is not None}
    assert marked
    for metric_id, status in marked.items():
        assert f" {MARKS[status]} " in line_of(metric_id) + " ", (metric_id, line_of(metric_id))
    plain = next(k for k, v in doc["metrics"].items() if v["status"] is None and v["value"] is not None)
    assert not any(f" {m} " in line_of(plain) for m in MARKS.values())


def test_a_terminal_that_is_not_utf8_gets_ascii_marks_and_no_crash():
    proc = subprocess.run([sys.executable, "-m", "salesreport", "weekly", "--data", str(SAMPLE), "--week", "2026-W46"],
                          capture_output=True, env={**os.environ, "PYTHONIOENCODING": "ascii"}, check=False)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    text = proc.stdout.decode("ascii")  # nothing but ASCII reached the pipe
    assert re.search(r"\d X \|", text) and "Weekly report" in text


def test_html_marks_the_status_beside_the_colour(tmp_path):
    page = tmp_path / "weekly.html"
    assert run_cli("weekly", "--data", str(SAMPLE), "--week", "2026-W46", "--out", str(page)).returncode == 0
    html = page.read_text(encoding="utf-8")
    statuses = [v["status"] for v in weekly_json()["metrics"].values() if v["status"] and v["value"] is not None]
    for status in set(statuses):
        assert html.count(f'aria-label="{status}">{MARKS[status]}</span>') >= statuses.count(status)


def test_no_number_is_cut_at_80_columns_and_blocks_of_periods_follow_each_other():
    proc = run_cli("monthly", "--data", str(SAMPLE), "--month", "2026-10", "--periods", "6",
                   env={**os.environ, "COLUMNS": "80"})
    assert proc.returncode == 0, proc.stderr
    assert "…" not in proc.stdout and max(len(line) for line in proc.stdout.splitlines()) <= 80
    for month in ("2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10"):
        assert month in proc.stdout  # every period, whole, in one block or the next
    assert proc.stdout.count("Revenue this month") >= 2  # the periods came in two blocks


def test_a_wide_terminal_is_used_and_rep_names_are_whole(tmp_path):
    (tmp_path / "deals.csv").write_text("deal_id,owner,created_at,stage\n" + "".join(
        f"D{i},{name},2026-03-0{i + 2},work_started\n" for i, name in
        enumerate(["Konstantin Wasserbauer", "Anna-Lena Oberhausen", "Bartholomew Fitzgerald", "Ulrike Zimmermann"])),
        encoding="utf-8")
    (tmp_path / "reps.csv").write_text("name,role\nKonstantin Wasserbauer,SDR\nAnna-Lena Oberhausen,SDR\n"
                                       "Bartholomew Fitzgerald,AE\nUlrike Zimmermann,AE\n", encoding="utf-8")
    wide = run_cli("monthly", "--data", str(tmp_path), "--month", "2026-03", env={**os.environ, "COLUMNS": "160"})
    assert wide.returncode == 0, wide.stderr
    header = next(line for line in wide.stdout.splitlines() if "Konstantin Wasserbauer" in line)
    assert all(name in header for name in ("Anna-Lena Oberhausen", "Bartholomew Fitzgerald", "Ulrike Zimmermann"))
    narrow = run_cli("monthly", "--data", str(tmp_path), "--month", "2026-03", env={**os.environ, "COLUMNS": "80"})
    assert "Konstantin Wasserbauer" in narrow.stdout and max(len(x) for x in narrow.stdout.splitlines()) <= 80
