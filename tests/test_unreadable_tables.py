"""A table that is named but cannot be read as a file stops the run; it is never taken as absent, and a
pipe is never opened (it would block a cron job for ever)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import make_data

DEALS = [{"deal_id": "D1", "owner": "Anna", "created_at": "2026-03-02", "stage": "work_started"}]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "salesreport", *args], capture_output=True, text=True, timeout=60,
                          check=False)


def folder_with_odd_activities(tmp_path: Path, kind: str) -> Path:
    folder = make_data(tmp_path / "data", DEALS)
    target = folder / "activities.csv"
    if kind == "folder":
        target.mkdir()
    elif kind == "broken link":
        target.symlink_to(tmp_path / "nowhere.csv")
    elif kind == "link loop":
        target.symlink_to(target)
    elif kind == "pipe":
        os.mkfifo(target)
    return folder


@pytest.mark.parametrize("kind, words", [
    ("folder", "a folder"),
    ("broken link", "a broken symbolic link"),
    ("link loop", "a symbolic link that loops"),
    ("pipe", "a pipe or device"),
])
def test_an_activities_table_that_is_not_a_file_stops_the_run(tmp_path, kind, words):
    folder = folder_with_odd_activities(tmp_path, kind)
    proc = run("weekly", "--data", str(folder), "--week", "2026-W10", "--format", "json")
    assert proc.returncode == 1
    assert f"activities.csv: {words}, not a regular CSV file" in " ".join(proc.stderr.split())  # folded at 80 columns
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_a_pipe_beside_a_preset_export_is_skipped_with_a_warning(tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "deals-export.csv").write_text(
        "Deal - ID,Deal - Title,Deal - Stage,Deal - Deal created,Deal - Value,Deal - Owner\n"
        "7,A,Qualified,2026-03-01 10:00:00,100,Anna\n", encoding="utf-8")
    os.mkfifo(folder / "notes.csv")
    proc = run("weekly", "--data", str(folder), "--preset", "pipedrive", "--week", "2026-W09", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    said = " ".join(proc.stderr.split())
    assert "notes.csv: a pipe or device, not a regular CSV file; skipped." in said
