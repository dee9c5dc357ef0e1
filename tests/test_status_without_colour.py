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
