"""CRM text is data: rich markup, escape sequences, OSC 8 links and bidi overrides in names reach the terminal
as visible text, never as formatting or links, and quoted cells cannot flood or forge an error message."""

from __future__ import annotations

import openpyxl
from typer.testing import CliRunner

from salesreport.cli import app

from .conftest import make_data

runner = CliRunner()
NAMES = ["[/]", "[bold]", "Ivan [old]", "[link=https://evil.example]click[/link]", "Esc\x1b[31mRed",
         "Bidi\u202eevil", "OSC\x1b]8;;https://evil.example\x07x"]


def hostile_data(tmp_path):
    deals, history, reps = [], [], []
    for i, name in enumerate(NAMES):
        deals.append({"deal_id": f"D{i}", "owner": name, "created_at": "2026-03-02", "stage": "replied"})
        history.append({"deal_id": f"D{i}", "stage": "work_started", "entered_at": "2026-03-02", "owner": name})
        history.append({"deal_id": f"D{i}", "stage": "replied", "entered_at": "2026-03-03", "owner": name})
        reps.append({"name": name, "role": "SDR", "team": "[link=https://evil.example]Team[/link]",
                     "hire_date": "2025-01-01", "monthly_quota": "1000"})
    return make_data(tmp_path / "data", deals, history=history, reps=reps)


def assert_inert(output: str) -> None:
    assert "\x1b" not in output and "\u202e" not in output and "\x07" not in output
    assert "]8;;" not in output or "\\x1b]8;;" in output  # an OSC 8 link only as escaped text


def test_names_are_shown_as_text_in_the_weekly_tables(tmp_path):
    folder = hostile_data(tmp_path)
    result = runner.invoke(app, ["weekly", "--data", str(folder), "--week", "2026-W10"], terminal_width=200)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert_inert(out)
    for shown in ("[/]", "[bold]", "Ivan [old]", "[link=http", "Esc\\x1b[31", "Bidi\\u202e"):  # names cut at 11
        assert shown in out, shown


def test_team_names_are_text_in_the_team_report(tmp_path):
    folder = hostile_data(tmp_path)
    result = runner.invoke(app, ["team", "--data", str(folder), "--month", "2026-03"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert_inert(result.stdout)
    assert "[link=" in result.stdout and "[/link]" in result.stdout  # folded in a narrow column, but there


def test_a_huge_multiline_bad_cell_is_quoted_on_one_short_line(tmp_path):
    cell = "\n".join(["Error: forged line"] * 3) + "x" * 5_000_000
    folder = make_data(tmp_path / "data", [{"deal_id": "D1", "created_at": cell}])
    result = runner.invoke(app, ["weekly", "--data", str(folder)])
    assert result.exit_code == 1
    message = result.output
    assert len(message) < 1_000
    assert message.startswith("Error:") and "\n" not in message.rstrip("\n")  # one line: nothing forged
    assert "is not a date" in message and "…" in message


def test_xlsx_keeps_names_with_control_characters(tmp_path):
    folder = hostile_data(tmp_path)
    out = tmp_path / "weekly.xlsx"
    result = runner.invoke(app, ["weekly", "--data", str(folder), "--week", "2026-W10", "--out", str(out)])
    assert result.exit_code == 0, result.output
    cells = [c.value for ws in openpyxl.load_workbook(out) for row in ws.iter_rows() for c in row
             if isinstance(c.value, str)]
    assert any("Esc\\x1b[31mRed" in v for v in cells)  # written as a visible escape, not fatal


def test_markdown_shows_html_and_pipes_as_text(tmp_path):
    deals = [{"deal_id": "W", "owner": "<img src=x onerror=alert(1)>", "created_at": "2026-03-02", "stage": "signed",
              "signed_at": "2026-03-10", "amount": "10", "competitor": "A|B"},
             {"deal_id": "L", "owner": "<img src=x onerror=alert(1)>", "created_at": "2026-03-02", "stage": "Lost",
              "lost_at": "2026-03-11", "competitor": "A|B"}]
    reps = [{"name": "<img src=x onerror=alert(1)>", "role": "AE", "hire_date": "2025-01-01", "monthly_quota": "100"}]
    folder = make_data(tmp_path / "data", deals, reps=reps)
    for command, period in (("weekly", "2026-W11"), ("team", "2026-03")):
        option = "--week" if command == "weekly" else "--month"
        result = runner.invoke(app, [command, "--data", str(folder), option, period, "--format", "md"])
        assert result.exit_code == 0, result.output
        md = result.stdout
        assert "<img" not in md and "&lt;img src=x onerror=alert(1)&gt;" in md
        for table in md.split("\n\n"):
            rows = [line for line in table.splitlines() if line.startswith("|")]
            widths = {len(line.replace("\\|", "").split("|")) for line in rows}
            assert len(widths) <= 1, table  # no row gains a column from a pipe in CRM text
    assert "A\\|B" in md
