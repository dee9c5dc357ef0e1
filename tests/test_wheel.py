"""Installed from a wheel, away from the source tree, the templates come with the package: HTML output and
`init` work. The wheel is built from this checkout and installed into a fresh virtual environment (with the
already installed dependencies and build backend visible, so nothing is downloaded)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"  # the tracked files only: a stale build/ folder must not slip into the wheel
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        origin, copy = ROOT / name, source / name
        copy.parent.mkdir(parents=True, exist_ok=True)
        if origin.is_symlink():
            copy.symlink_to(origin.readlink())
        elif origin.is_file():
            shutil.copy2(origin, copy)
    # no network: the installed setuptools builds it, and nothing is looked up in an index
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation",
                    "--no-index", "-q", "-w", str(work)], check=True, capture_output=True, timeout=300)
    wheel = next(work.glob("salesreport-*.whl"))
    env = work / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=True).create(env)
    subprocess.run([str(env / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
                   check=True, capture_output=True, timeout=300)
    return env


def run(env: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(env / "bin" / "salesreport"), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, check=False)


def test_the_wheel_holds_the_templates_and_is_what_runs(installed, tmp_path):
    where = subprocess.run([str(installed / "bin" / "python"), "-c", "import salesreport; print(salesreport.__file__)"],
                           cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(installed))  # not the checkout
    assert (Path(where).parent / "templates" / "report.html.j2").is_file()


def test_html_output_from_the_wheel(installed, tmp_path):
    proc = run(installed, "weekly", "--data", str(ROOT / "sample_data"), "--week", "2026-W46", "--format", "html",
               cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("<!DOCTYPE html>") and "2026-W46" in proc.stdout


def test_init_from_the_wheel(installed, tmp_path):
    proc = run(installed, "init", str(ROOT / "sample_data" / "deals.csv"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "[funnel.stages]" in (tmp_path / "salesreport.toml").read_text(encoding="utf-8")
