"""Pipeline movement (SPEC §10): start + created + reopened − won − lost = end, on a hand-computed set with a
reopened deal and on every week, month and quarter of a year of sample data."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from salesreport.config import load_config, parse_config
from salesreport.periods import month, parse_quarter, parse_week
from salesreport.report.build import build_report

from .conftest import facts_for, make_data
from .test_funnel_rules import deal, entry

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
MOVES = ("start", "created", "reopened", "won", "lost", "end")


def test_each_move_of_march(data_dir):
    deals = [deal("A", "2026-02-01", amount="100"),  # open throughout
             deal("B", "2026-03-05", amount="200"),  # created, open at the end
             deal("C", "2026-01-10", "signed", status="won", signed_at="2026-03-12", amount="300"),
             deal("D", "2026-01-10", "replied", amount="400"),  # lost in February, worked again in March
             deal("E", "2026-03-02", "Lost", status="lost", lost_at="2026-03-20", amount="500"),
             deal("F", "2026-01-01", "Lost", status="lost", lost_at="2026-02-01", amount="600"),
             deal("G", "2026-04-02", amount="700")]  # after March
    history = [entry("D", "work_started", "2026-01-10"), entry("D", "Lost", "2026-02-15"),
               entry("D", "replied", "2026-03-10")]
    make_data(data_dir, deals, history)
    config = parse_config({})
    m = {k: v.value for k, v in build_report("monthly", facts_for(data_dir, config), config,
                                             month(2026, 3)).current.metrics.items()}
    assert [m[f"pipeline_{move}"] for move in MOVES] == [2, 2, 1, 1, 1, 3]  # A C | B E | D | C | E | A B D
    assert [m[f"pipeline_{move}_value"] for move in MOVES] == [400, 700, 400, 300, 500, 700]
    assert m["pipeline_amount_change"] == 0


@pytest.mark.parametrize("report, periods", [("quarterly", 4), ("monthly", 12), ("weekly", 52)])
def test_the_identity_holds_on_every_period_of_a_year_and_each_end_is_the_next_start(report, periods):
    config = load_config(SAMPLE / "salesreport.toml")
    period = {"quarterly": parse_quarter("2026-Q3", config), "monthly": month(2026, 10),
              "weekly": parse_week("2026-W46", config)}[report]
    facts = facts_for(SAMPLE, config)
    chosen = build_report(report, facts, config, period, periods=periods).periods
    assert len(chosen) == periods and chosen[0].period.start < date(2026, 1, 1)
    for earlier, pr in zip([None, *chosen], chosen):
        m = {k: v.value for k, v in pr.metrics.items()}
        count = {move: m[f"pipeline_{move}"] for move in MOVES}
        assert count["start"] + count["created"] + count["reopened"] - count["won"] - count["lost"] == count["end"]
        value = {move: m[f"pipeline_{move}_value"] for move in MOVES}
        assert value["start"] + value["created"] + value["reopened"] - value["won"] - value["lost"] + \
            m["pipeline_amount_change"] == pytest.approx(value["end"])
        if earlier is not None:
            assert earlier.metrics["pipeline_end"].value == count["start"]
    assert sum(pr.metrics["pipeline_won"].value for pr in chosen) > 0


def test_the_workbook_draws_the_movement_as_a_waterfall(tmp_path):
    import zipfile

    import openpyxl

    from .cli_run import report_json, run

    out = tmp_path / "m.xlsx"
    assert run("monthly", "--data", str(SAMPLE), "--month", "2026-10", "--out", str(out), cwd=tmp_path).returncode == 0
    m = report_json("monthly", "--data", str(SAMPLE), "--month", "2026-10", cwd=tmp_path)["metrics"]
    data = openpyxl.load_workbook(out)["Chart data"]
    header = [c.value for c in data[1]]
    first = header.index("Pipeline movement") + 1
    rows = {data.cell(r, first).value: [data.cell(r, first + k).value for k in range(1, 5)] for r in range(2, 8)}
    n = {move: m[f"pipeline_{move}"]["value"] for move in MOVES}
    # base, open, added, closed: each step floats from the level the one before left
    assert rows["Start"] == [0, n["start"], None, None] and rows["End"] == [0, n["end"], None, None]
    assert rows["Created"] == [n["start"], None, n["created"], None]
    assert rows["Reopened"] == [n["start"] + n["created"], None, n["reopened"], None]
    assert rows["Won"] == [n["start"] + n["created"] + n["reopened"] - n["won"], None, None, n["won"]]
    assert rows["Lost"] == [n["end"], None, None, n["lost"]]  # the last step lands on the end
    with zipfile.ZipFile(out) as z:
        charts = [z.read(name).decode() for name in z.namelist() if name.startswith("xl/charts/chart")]
    waterfall = next(c for c in charts if "Pipeline movement" in c)
    assert '<grouping val="stacked" />' in waterfall and "<a:noFill />" in waterfall  # the base is not drawn
