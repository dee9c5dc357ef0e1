"""The leaderboard (SPEC §10): per-rep tables ordered by role, then by the report's lead figure, ranked
within the role; ties share a place."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from salesreport.cli import app

from .conftest import make_data
from .test_forecast_and_actions import activity
from .test_funnel_rules import deal

REPS = [{"name": n, "role": r, "hire_date": "2025-01-01"}
        for n, r in (("Anna", "SDR"), ("Boris", "SDR"), ("Dana", "SDR"), ("Carl", "AE"), ("Eve", "AE"))]


def by_rep(folder, *args):
    run = CliRunner().invoke(app, [*args, "--data", str(folder), "--format", "json"])
    assert run.exit_code == 0, run.output
    return [(name, block["role"], block.get("rank")) for name, block in json.loads(run.stdout)["by_rep"].items()]


def test_weekly_and_daily_rank_by_sales_actions_monthly_by_revenue(data_dir):
    counts = {"Anna": 2, "Boris": 5, "Dana": 2, "Carl": 1, "Eve": 3}  # Mon 2 – Fri 6 March 2026
    actions = [activity(name, f"2026-03-0{2 + i % 5} 10:00") for name, n in counts.items() for i in range(n)]
    won = {"status": "won", "stage": "signed"}
    deals = [deal("W1", "2026-02-01", owner="Carl", signed_at="2026-03-04", amount="100", **won),
             deal("W2", "2026-02-01", owner="Eve", signed_at="2026-03-05", amount="50", **won),
             deal("W3", "2026-02-01", owner="Dana", signed_at="2026-03-05", amount="10", **won)]
    make_data(data_dir, deals, activities=actions, reps=REPS)
    assert by_rep(data_dir, "weekly", "--week", "2026-W10") == [
        ("Boris", "SDR", 1), ("Anna", "SDR", 2), ("Dana", "SDR", 2), ("Eve", "AE", 1), ("Carl", "AE", 2)]
    # Friday 6 March: only Boris acted; the others tie at 0, second
    assert by_rep(data_dir, "daily", "--date", "2026-03-06")[:3] == [("Boris", "SDR", 1), ("Anna", "SDR", 2), ("Dana", "SDR", 2)]
    assert by_rep(data_dir, "monthly", "--month", "2026-03") == [
        ("Dana", "SDR", 1), ("Anna", "SDR", 2), ("Boris", "SDR", 2), ("Carl", "AE", 1), ("Eve", "AE", 2)]
    shown = CliRunner().invoke(app, ["weekly", "--data", str(data_dir), "--week", "2026-W10"]).stdout
    assert "SDR #1" in shown and "AE #2" in shown
