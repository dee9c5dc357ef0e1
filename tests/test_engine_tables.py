"""What the engine holds in DuckDB while a report runs: the inputs go once the fact tables hold them, and a
period's tables once its figures are read — at 1M deals that is the difference between 1.5 and 1.2 GiB."""

from __future__ import annotations

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
    assert {"deal", "ev", "stays"} <= held
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
