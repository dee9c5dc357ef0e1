"""--out writes files atomically, and only files: a link writes its target, a special file or a read-only file
is refused (exit 3) and left as it was, an unwritable folder is exit 3 with a message."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

from salesreport.cli import app
from salesreport.outputs.files import write_atomic

from .test_outputs import SAMPLE

runner = CliRunner()
WEEKLY = ["weekly", "--data", str(SAMPLE), "--week", "2026-W46"]


def test_a_link_writes_its_target_keeping_the_link_and_the_mode(tmp_path):
    target = tmp_path / "reports" / "weekly.json"
    target.parent.mkdir()
    target.write_text("old", encoding="utf-8")
    target.chmod(0o640)
    link = tmp_path / "latest.json"
    link.symlink_to(target)
    result = runner.invoke(app, [*WEEKLY, "--out", str(link)])
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and target.read_text(encoding="utf-8").startswith("{")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert not [p for p in target.parent.iterdir() if p.name.endswith(".tmp")]


def test_a_special_file_is_refused(tmp_path):
    # a pipe in a scratch folder stands for /dev/stdout or /dev/null, which root could otherwise replace
    pipe = tmp_path / "weekly.json"
    os.mkfifo(pipe)
    result = runner.invoke(app, [*WEEKLY, "--out", str(pipe), "--format", "json"])
    assert result.exit_code == 3
    assert "not a regular file" in result.output
    assert stat.S_ISFIFO(pipe.stat().st_mode)


def test_a_read_only_file_is_kept_unless_forced(tmp_path):
    out = tmp_path / "weekly.json"
    out.write_text("keep me", encoding="utf-8")
    out.chmod(0o444)
    result = runner.invoke(app, [*WEEKLY, "--out", str(out)])
    assert result.exit_code == 3
    assert "read-only" in result.output and "--force" in result.output
    assert out.read_text(encoding="utf-8") == "keep me"
    result = runner.invoke(app, [*WEEKLY, "--out", str(out), "--force"])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").startswith("{") and stat.S_IMODE(out.stat().st_mode) == 0o444


def test_an_unwritable_folder_is_a_delivery_error():
    # /proc refuses new files even to root, which ignores a folder's mode bits
    result = runner.invoke(app, [*WEEKLY, "--out", "/proc/salesreport-weekly.json"])
    assert result.exit_code == 3, result.output
    assert "could not be written" in result.output and "Traceback" not in result.output
    assert not os.path.exists("/proc/salesreport-weekly.json")


def test_a_temp_file_left_by_a_killed_run_is_removed_by_the_next_one(tmp_path):
    """kill -9 leaves .NAME.XXXX.tmp; the next write of NAME removes such files once they are stale (a fresh
    one may be another run's write in progress, and stays), and touches no other file."""
    stale, fresh = tmp_path / ".weekly.json.k1ll3d.tmp", tmp_path / ".weekly.json.w0rk1n.tmp"
    other = tmp_path / ".monthly.json.k1ll3d.tmp"
    for f in (stale, fresh, other):
        f.write_text("partial")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    write_atomic(tmp_path / "weekly.json", "{}")
    assert not stale.exists() and fresh.exists() and other.exists()
    assert (tmp_path / "weekly.json").read_text() == "{}"


def test_an_interrupted_write_leaves_the_old_file_and_no_temp_file(tmp_path, monkeypatch):
    target = tmp_path / "weekly.json"
    target.write_text("old")

    def interrupted(_fd):
        raise KeyboardInterrupt  # Ctrl-C (or SIGTERM, which the CLI turns into SystemExit) mid-write

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["weekly.json"]


def test_sigterm_unwinds_so_cleanup_runs():
    code = ("import os, signal, time\n"
            "from salesreport.cli import _exit_on_signals\n"
            "_exit_on_signals()\n"
            "try:\n    os.kill(os.getpid(), signal.SIGTERM)\n    time.sleep(10)\n"
            "finally:\n    print('cleaned up', flush=True)\n")
    proc = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=30)
    assert proc.stdout == "cleaned up\n" and proc.returncode == 128 + signal.SIGTERM
