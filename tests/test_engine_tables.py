"""What the engine holds in DuckDB while a report runs: the inputs go once the fact tables hold them, and a
period's tables once its figures are read — at 1M deals that is the difference between 1.5 and 1.2 GiB."""

from __future__ import annotations

import shutil
from pathlib import Path

from salesreport.config import load_config
from salesreport.engine.funnel import build_facts
from salesreport.outputs.json import render_json
from salesreport.periods import parse_month
from salesreport.report.build import build_report
from salesreport.sources.canonical import load_dataset

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"


def tables(con) -> set[str]:
    return {name for (name,) in con.sql("SELECT table_name FROM duckdb_tables()").fetchall()}


def test_the_inputs_and_each_periods_state_go_once_read():
    config = load_config(SAMPLE / "salesreport.toml")
    ds = load_dataset(str(SAMPLE), config)
    assert {"deals", "history"} <= tables(ds.con)
    facts = build_facts(ds, config)
    held = tables(facts.con)
    assert not held & {"deals", "history", "d", "d2", "ev0"}
    assert {"deal", "ev"} <= held and "stays" in {v for (v,) in facts.con.sql("SELECT view_name FROM duckdb_views()")
                                                    .fetchall()}  # the stays: a view over the events
    # a trend with its deal list and the deals behind each figure: every period's state table is made,
    # read and dropped, the previous periods' before the shown ones are made
    trend = build_report("monthly", facts, config, parse_month("2026-10", config), periods=3, deal_ids=True,
                         deal_list=True)
    assert not {t for t in tables(facts.con) if t.startswith("state_")}
    assert trend.deals is not None and trend.deals.rows
    # a period asked again after its tables went gets them remade, with the same figures
    again = build_report("monthly", facts, config, parse_month("2026-10", config), deal_ids=True, deal_list=True)
    assert render_json(again) == render_json(build_report(
        "monthly", build_facts(load_dataset(str(SAMPLE), config), config), config, parse_month("2026-10", config),
        deal_ids=True, deal_list=True))
    assert again.current.metrics == trend.current.metrics
    assert again.deals == trend.deals


def test_the_inputs_go_before_the_widest_fact_tables_are_built():
    # the deals table goes once d holds its rows and the stage history once ev0 holds it: neither is held
    # beside d2, the events or the deal table (at 1M deals 168 and 146 MB)
    from salesreport.engine.funnel import FACTS_SQL

    statements = [" ".join(s.split()[:4]) for s in FACTS_SQL.split(";") if s.strip()]
    built = {s.split()[3]: i for i, s in enumerate(statements) if s.startswith("CREATE TEMP TABLE")}
    assert statements.index("DROP TABLE {deals}") == built["d"] + 2  # and the view over it just before
    assert built["d"] < statements.index("{drop_history}") == built["ev0"] + 1 < built["d2"] < built["ev"]
    assert statements.index("DROP TABLE d") == built["d2"] + 1  # (that they are gone after: the test above)


def test_a_large_activities_export_is_read_once_the_facts_are_built():
    # its done actions (190 MB at 1M deals) are never held beside the deals and the history, nor beside the
    # build of the deal table: the data set reads them when the facts ask, after the fact tables are made
    config = load_config(SAMPLE / "salesreport.toml")
    ds = load_dataset(str(SAMPLE), config)
    assert (SAMPLE / "activities.csv").stat().st_size > 2**20 and "actions_in_all" not in tables(ds.con)
    facts = build_facts(ds, config)
    made = dict(facts.con.sql("SELECT table_name, table_oid FROM duckdb_tables()").fetchall())
    assert made["actions_in_all"] > max(made[t] for t in ("deal", "ev"))  # made after them


def test_the_warnings_of_activities_read_later_keep_their_place(tmp_path):
    # the deals' first, then the activities', then the reps', then the facts' own: as when read at once
    data = tmp_path / "data"
    shutil.copytree(SAMPLE, data)
    with (data / "activities.csv").open("a", encoding="utf-8") as fh:
        fh.write("A999999,Elena Berg,Webinar,2026-11-18 10:00:00,,yes\n")
    deals = (data / "deals.csv").read_text(encoding="utf-8").splitlines()
    deals[1] = deals[1].replace(",4410,", ",-4410,")  # a credit note: the deals' warning
    (data / "deals.csv").write_text("\n".join(deals) + "\n", encoding="utf-8")
    with (data / "reps.csv").open("a", encoding="utf-8") as fh:
        fh.write("Nobody Known,SDR,Team A,2024-09-23,,,not-an-address\n")
    config = load_config(data / "salesreport.toml")
    facts = build_facts(load_dataset(str(data), config), config)
    said = [next(i for i, w in enumerate(facts.warnings) if part in w)
            for part in ("negative amount", '"Webinar" (1)', "not-an-address", "moves backwards")]
    assert said == sorted(said) and len(set(said)) == 4


def test_a_bad_cell_in_a_large_activities_export_read_later_is_reported_as_ever(tmp_path):
    # the fast path declines the file once the facts ask for it; the general parser names the row and column,
    # and the run ends with exit code 1 and no traceback, as when the activities were read first
    from typer.testing import CliRunner

    from salesreport.cli import app

    data = tmp_path / "data"
    shutil.copytree(SAMPLE, data)
    with (data / "activities.csv").open("a", encoding="utf-8") as fh:
        fh.write("A999999,Elena Berg,Call,18/31/2026 10:00,,yes\n")
    rows = len((data / "activities.csv").read_text(encoding="utf-8").splitlines())
    result = CliRunner().invoke(app, ["weekly", "--data", str(data), "--week", "2026-W46", "--format", "json"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f'activities.csv, row {rows}, column "occurred_at": "18/31/2026 10:00"' in " ".join(result.output.split())
