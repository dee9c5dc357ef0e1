"""Shared fixtures: tiny canonical data sets written as real CSV files."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from salesreport.config import Config, parse_config
from salesreport.engine.funnel import Facts, build_facts
from salesreport.sources.canonical import load_dataset

from .netguard import sitecustomize  # noqa: F401 - installs the 127.0.0.1-only network guard
from .sheets_fixtures import _tls, google  # noqa: F401 - the Google Sheets emulator fixtures

REPS = [
    {"name": "Anna", "role": "SDR", "hire_date": "2025-01-01"},
    {"name": "Boris", "role": "SDR", "hire_date": "2025-01-01"},
    {"name": "Carl", "role": "AE", "hire_date": "2025-01-01"},
]


def write_csv(path: Path, rows: list[dict]) -> Path:
    columns = list(dict.fromkeys(k for r in rows for k in r))
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def make_data(folder: Path, deals, history=None, activities=None, reps=REPS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(folder / "deals.csv", deals)
    for name, rows in (("stage_history", history), ("activities", activities), ("reps", reps)):
        if rows is not None:
            write_csv(folder / f"{name}.csv", rows)
    return folder


def facts_for(folder: Path, config: Config | None = None, **raw) -> Facts:
    config = config or (parse_config(raw) if raw else Config())
    return build_facts(load_dataset(str(folder), config), config)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


ENGINE_TESTS = {"Spark": "tests/test_spark.py", "PostgreSQL": "tests/test_postgres.py"}


def pytest_terminal_summary(terminalreporter):
    """One line saying which engines beside DuckDB the run tested: their tests passed, or skipped (and why)."""
    stats = terminalreporter.stats
    parts = []
    for engine, module in ENGINE_TESTS.items():
        counts = {outcome: sum(1 for r in stats.get(outcome, []) if getattr(r, "nodeid", "").startswith(module)
                               and getattr(r, "when", "call") in ("call", "setup"))
                  for outcome in ("passed", "failed", "skipped")}
        parts.append(f"{engine} {counts['passed']} passed" + "".join(
            f", {n} {outcome}" for outcome, n in counts.items() if n and outcome != "passed"))
    terminalreporter.write_line("Engines tested beside DuckDB: " + "; ".join(parts) + ".")
