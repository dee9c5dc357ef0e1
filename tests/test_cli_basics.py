"""Every command has --help with an example; bad paths exit 1 with a message, not a traceback."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from salesreport.api import FORMATS, RENDERERS
from salesreport.cli import Format, app

COMMANDS = ["monthly", "quarterly", "weekly", "daily", "team", "check", "init", "sample"]
runner = CliRunner()


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Example: salesreport " + command in result.output


def test_missing_data_folder_exits_1_with_a_message():
    proc = subprocess.run([sys.executable, "-m", "salesreport", "weekly", "--data", "/no/such/folder"],
                          check=False, capture_output=True, text=True)
    assert proc.returncode == 1
    assert "no such file or folder" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unknown_target_id_is_a_config_error(tmp_path):
    """[targets] ids are checked against the registry when a report loads (config.py knows no metrics)."""
    (tmp_path / "salesreport.toml").write_text("[targets]\nconv_replyy = 0.3\n", encoding="utf-8")
    result = runner.invoke(app, ["weekly", "--data", "sample_data", "--config", str(tmp_path / "salesreport.toml")])
    assert result.exit_code == 1
    assert "[targets] names unknown metric id(s) conv_replyy" in result.output


def test_every_format_has_a_renderer():
    """Exhaustive dispatch: each --format but the terminal table and the HTML names a renderer that exists."""
    assert set(RENDERERS) == {f.value for f in Format} - {"table"} == set(FORMATS) - {"table"}
    for target in RENDERERS.values():
        module, function = target.split(":")
        assert callable(getattr(importlib.import_module(f"salesreport.outputs.{module}"), function))


@pytest.mark.parametrize("command", COMMANDS)
def test_help_shows_plain_metavars(command):
    """Options read NAME, N, FILE, YYYY-MM-DD — never a Python type like <list[str]> or <int range>."""
    text = CliRunner().invoke(app, [command, "--help"], terminal_width=200).output
    options = [line for line in text.splitlines() if line.lstrip().startswith("--")]
    assert options
    for line in options:
        assert "<list" not in line and "range>" not in line and "<str>" not in line and "<int>" not in line, line


def test_shell_completion_is_offered():
    assert "--install-completion" in CliRunner().invoke(app, ["--help"]).output


def test_check_accepts_only_its_own_formats():
    result = CliRunner().invoke(app, ["check", "--data", "sample_data", "--format", "xlsx"])
    assert result.exit_code == 2 and "table" in result.output and "json" in result.output


@pytest.mark.parametrize("month", ["2027-03", "2020-01"])
def test_a_period_the_data_has_nothing_of_is_an_error_naming_the_datas_range(month):
    result = CliRunner().invoke(app, ["monthly", "--data", "sample_data", "--month", month])
    assert result.exit_code == 1
    assert "The data runs from 2024-11-22 to 2026-11-22" in result.output and month in result.output


def test_a_period_the_data_ends_inside_says_to_date_in_its_title():
    # the sample ends on Sunday 22 November 2026: 15 of November's 21 working days
    for fmt, first in (("md", "# Monthly report 2026-11 · to date (15 of 21 working days)"),
                       ("table", "Monthly report · 2026-11 · to date (15 of 21 working days)")):
        result = CliRunner().invoke(app, ["monthly", "--data", "sample_data", "--month", "2026-11", "--format", fmt],
                                    terminal_width=120)
        assert result.exit_code == 0, result.output
        assert first in result.output
    whole = CliRunner().invoke(app, ["monthly", "--data", "sample_data", "--month", "2026-10", "--format", "md"])
    assert "to date (" not in whole.output


def test_without_a_period_option_a_stale_export_gives_its_own_last_complete_period():
    """The sample ends on 2026-11-22, days before today: the default week is the data's last complete one, and
    a warning says so (an empty report of a week without data would help nobody)."""
    result = CliRunner().invoke(app, ["weekly", "--data", "sample_data", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert '"label": "2026-W47"' in result.output
    assert "The data ends on 2026-11-22" in result.output


def test_a_rep_who_has_left_is_not_shown_in_periods_after_leaving():
    """Olga Okafor (AE) left on 2026-05-06: she is in April's and May's per-rep blocks, not in October's."""
    for month, shown in (("2026-04", True), ("2026-05", True), ("2026-10", False)):
        result = CliRunner().invoke(app, ["monthly", "--data", "sample_data", "--month", month, "--format", "json"])
        assert result.exit_code == 0, result.output
        assert ('"Olga Okafor": {' in result.output) is shown, month
