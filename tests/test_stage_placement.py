"""Stage names nothing maps are placed from what the export says (outcome, probability, the CRM's order, the
history), the words of the name last; a name nothing places leaves the funnel figures short, never stops a
report. Small hand-made exports with the placement worked out by hand, and the real LatAm Salesforce export."""

from __future__ import annotations

import csv
import io
import json
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from salesreport.sources.placement import place_stages

from .cli_run import report_json, run

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
LATAM = DATASETS / "salesforce-data-export-latam"


def placed(names, deals: dict, history: dict | None = None) -> dict[str, tuple[str | None, str]]:
    out = place_stages(names, pd.DataFrame(deals), pd.DataFrame(history) if history else None)
    return {p.name: (p.stage, p.evidence) for p in out}



def test_a_stage_whose_deals_are_mostly_won_or_lost_is_signed_or_lost():
    deals = {"stage": ["Firmado", "Firmado", "Firmado", "Perdido", "Perdido", "Abierto"],
             "status": ["Won", "won", "open", "closed lost", "Lost", ""]}
    assert placed(["Firmado", "Perdido"], deals) == {"Firmado": ("signed", "2 of 3 deals won"),
                                                    "Perdido": ("lost", "2 of 2 deals lost")}


@pytest.mark.parametrize("percent, stage", [
    (0, "work_started"), (5, "work_started"), (10, "replied_positive"), (19, "replied_positive"),
    (20, "demo_appointed"), (30, "demo_appointed"), (40, "demo_run"), (50, "demo_run"), (60, "qualified"),
    (70, "qualified"), (75, "offer_sent"), (90, "offer_sent"), (100, "offer_sent"),
])
def test_an_open_stage_goes_by_its_probability(percent, stage):
    # the median over the stage's deals; another open stage at 50 % keeps the column on the 0–100 scale
    deals = {"stage": ["S", "S", "S", "Other"], "probability": [percent, percent, "", 50],
             "status": ["open", "open", "", "open"]}
    assert placed(["S"], deals)["S"] == (stage, f"probability {percent:g} %")


def test_without_a_status_100_and_0_percent_are_the_closed_stages():
    deals = {"stage": ["Vertrag", "Absage", "Termin"], "probability": ["1.0", "0.0", "0.2"]}  # HubSpot's scale
    assert placed(["Vertrag", "Absage", "Termin"], deals) == {
        "Vertrag": ("signed", "probability 100 %"), "Absage": ("lost", "probability 0 %"),
        "Termin": ("demo_appointed", "probability 20 %")}


def test_a_probability_column_of_fractions_is_read_as_percent():
    deals = {"stage": ["Early", "Late"], "probability": ["0.1", "0.9"]}  # HubSpot writes 0.9 for 90 %
    assert placed(["Early", "Late"], deals) == {"Early": ("replied_positive", "probability 10 %"),
                                               "Late": ("offer_sent", "probability 90 %")}


def test_without_probability_the_crm_order_spreads_the_open_stages():
    # three open stages in the CRM's order over the seven open canonical stages: the i-th of n goes to
    # stage int((i + 0.5) / n × 7): 1.17 → replied, 3.5 → demo_appointed, 5.83 → qualified
    deals = {"stage": ["Uno", "Dos", "Tres", "Won it"], "stage_order": [1, 2, 3, 4],
             "status": ["open", "open", "open", "won"]}
    assert placed(["Tres", "Uno", "Dos"], deals) == {
        "Tres": ("qualified", "the CRM's stage order: 3 of 3"), "Uno": ("replied", "the CRM's stage order: 1 of 3"),
        "Dos": ("demo_appointed", "the CRM's stage order: 2 of 3")}


def test_without_probability_or_order_the_history_gives_the_order():
    # three deals go Stufe A → Stufe B → Stufe C (one skips B); a fourth entered C alone, at step 0: the
    # median steps are A 0, B 1, C 2, so A, B, C spread as 1 of 3, 2 of 3, 3 of 3
    history = {"deal_id": ["1", "1", "1", "2", "2", "2", "3", "3", "4"],
               "stage": ["Stufe A", "Stufe B", "Stufe C", "Stufe A", "Stufe B", "Stufe C", "Stufe A", "Stufe C",
                         "Stufe C"],
               "entered_at": pd.to_datetime(["2026-01-01", "2026-01-05", "2026-01-09", "2026-01-02", "2026-01-03",
                                             "2026-01-04", "2026-01-01", "2026-02-01", "2026-01-01"])}
    deals = {"stage": ["Stufe C", "Stufe C", "Stufe C", "Stufe C"]}
    got = placed(["Stufe B", "Stufe A", "Stufe C"], deals, history)
    assert got["Stufe A"][0] == "replied" and got["Stufe B"][0] == "demo_appointed"
    assert got["Stufe C"] == ("qualified", "the order deals enter stages in the history: 3 of 3")


def test_a_history_of_one_deal_yields_to_the_words_of_the_name():
    history = {"deal_id": ["9"], "stage": ["Demo booked"], "entered_at": ["2026-03-03T13:00:00Z"]}
    assert placed(["Demo booked"], {"stage": ["Demo booked"]}, history) == {
        "Demo booked": ("demo_appointed", "the words of the name")}
    # a name without words keeps the weak history (one stage alone: the middle of the open stages)
    history["stage"] = ["Stufe 9"]
    assert placed(["Stufe 9"], {"stage": ["Stufe 9"]}, history) == {
        "Stufe 9": ("demo_appointed", "the order deals enter stages in the history: 1 of 1")}


def test_a_name_nothing_places_stays_unplaced():
    assert placed(["Warm"], {"stage": ["Warm", "Warm"]}) == {"Warm": (None, "no evidence")}


def test_an_unplaced_stage_leaves_the_funnel_short_and_every_other_figure_whole(tmp_path):
    (tmp_path / "deals.csv").write_text(
        "deal_id,owner,created_at,stage,status,amount,signed_at\n"
        "D1,Anna,2026-03-02,Warm,,500,\n"
        "D2,Anna,2026-03-03,Warm,,700,\n"
        "D3,Anna,2026-03-04,work_started,won,1200,2026-03-20\n", encoding="utf-8")
    doc = report_json("monthly", "--data", str(tmp_path), "--month", "2026-03", cwd=tmp_path)
    metrics = doc["metrics"]
    assert metrics["deals_signed"]["value"] == 1 and metrics["revenue_month"]["value"] == 1200
    assert metrics["worked"]["value"] == 1  # the Warm deals are off the funnel: they reached nothing known
    warning = next(w for w in doc["warnings"] if "not on the funnel" in w)
    assert 'deals.csv, column "stage": stage name(s) "Warm" (2 deals)' in warning
    assert '[funnel.stages]\nwork_started = ["Warm"]' in warning
    # check lists it with the line to add, and does not fail on it
    found = report_json("check", "--data", str(tmp_path), cwd=tmp_path)["findings"]
    assert any(f["level"] == "warning" and 'work_started = ["Warm"]' in f["message"] for f in found)


def test_a_report_places_unknown_names_itself_and_says_so(tmp_path):
    (tmp_path / "deals.csv").write_text(
        "deal_id,created_at,stage,probability\nD1,2026-03-02,Angebot erstellt,80\nD2,2026-03-03,Stufe X,30\n"
        "D3,2026-03-04,Stufe X,30\n", encoding="utf-8")
    proc = run("monthly", "--data", str(tmp_path), "--month", "2026-03", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    warning = next(w for w in json.loads(proc.stdout)["warnings"] if "placed on the funnel" in w)
    assert '"Angebot erstellt" → offer_sent (probability 80 %, 1 deals)' in warning
    assert '"Stufe X" → demo_appointed (probability 30 %, 2 deals)' in warning


def latam_june() -> tuple[int, float]:
    """Deals signed and revenue in June 2023, straight from the files: IsWon rows by CloseDate, Amount over
    the ConversionRate of the record's currency (what Salesforce's own reports show)."""
    def rows(name: str) -> list[dict[str, str]]:
        return list(csv.DictReader(io.StringIO((LATAM / name).read_bytes().decode("cp1252").replace("\x00", ""))))

    rates = {r["IsoCode"]: float(r["ConversionRate"]) for r in rows("CurrencyType.csv")}
    won = [r for r in rows("Opportunity.csv")
           if r["IsDeleted"] != "1" and r["IsWon"] == "1" and r["CloseDate"].startswith("2023-06")]
    return len(won), sum(float(r["Amount"] or 0) / rates[r["CurrencyIsoCode"]] for r in won)


@pytest.mark.skipif(not LATAM.is_dir(), reason="the shared data sets are not beside this clone")
def test_the_latam_export_gives_a_report_on_the_first_run(tmp_path):
    """init on the folder, read in place, then the monthly report with no hand edit."""
    proc = run("init", str(LATAM), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "left for you" not in proc.stderr and "would stop" not in proc.stderr
    text = (tmp_path / "salesreport.toml").read_text(encoding="utf-8")
    stages = tomllib.loads(text)["funnel"]["stages"]
    # the org's own probabilities: Interes 30 %, Diseño Propuesta 40 %, Presentación Propuesta 60 %,
    # Negociación 70 % (median), Firmas 90 %
    assert stages == {"demo_appointed": ["Interes"], "demo_run": ["Diseño Propuesta"],
                      "qualified": ["Negociación", "Presentación Propuesta"], "offer_sent": ["Firmas"],
                      "signed": ["Closed Won"]}
    assert "# placed from the export, check: Firmas (probability 90 %, 23 deals)" in text
    metrics = report_json("monthly", "--month", "2023-06", cwd=tmp_path)["metrics"]
    signed, revenue = latam_june()
    assert signed == 17
    assert metrics["deals_signed"]["value"] == signed
    assert metrics["revenue_month"]["value"] == pytest.approx(revenue, abs=0.01)


@pytest.mark.skipif(not LATAM.is_dir(), reason="the shared data sets are not beside this clone")
def test_the_latam_export_runs_with_the_preset_alone(tmp_path):
    """No stage mapped at all: every custom stage is placed from the export, and the report says so."""
    (tmp_path / "salesreport.toml").write_text('preset = "salesforce"\n', encoding="utf-8")
    doc = report_json("monthly", "--data", str(LATAM), "--month", "2023-06", cwd=tmp_path)
    warning = next(w for w in doc["warnings"] if "placed on the funnel" in w)
    assert '"Firmas" → offer_sent (probability 90 %, 23 deals)' in warning
    assert doc["metrics"]["deals_signed"]["value"] == latam_june()[0]


def test_a_salesforce_report_with_a_closed_flag_only_tells_won_from_lost_by_the_stage(tmp_path):
    (tmp_path / "salesreport.toml").write_text('preset = "salesforce"\n[input]\ndayfirst = false\n', encoding="utf-8")
    export = Path(__file__).parent / "assets" / "salesforce-report-custom-stages.csv"
    for month, signed, revenue in (("2023-05", 1, 1200), ("2023-04", 0, 0)):
        metrics = report_json("monthly", "--data", str(export), "--month", month, cwd=tmp_path)["metrics"]
        assert (metrics["deals_signed"]["value"], metrics["revenue_month"]["value"]) == (signed, revenue)
