"""--out writes files atomically, and only files: a link writes its target, a special file or a read-only file
is refused (exit 3) and left as it was, an unwritable folder is exit 3 with a message."""

from __future__ import annotations

import os
import stat

from typer.testing import CliRunner

from salesreport.cli import app

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
