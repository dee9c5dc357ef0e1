"""The CLI as a user runs it, in a fresh process, for the tests of real exports and first runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def run(*args: str, cwd: Path, tz: str = "UTC") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "salesreport", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "TZ": tz}, check=False)


def report_json(*args: str, cwd: Path) -> dict:
    """A report's JSON (it must exit 0)."""
    proc = run(*args, "--format", "json", cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)
