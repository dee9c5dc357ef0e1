"""`salesreport sample` makes a large data set in chunks: the chunks join into one consistent data set."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from salesreport.config import load_config
from salesreport.sample import generate
from salesreport.sources.canonical import load_dataset

END = date(2026, 11, 22)
SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"


def test_one_chunk_or_many_make_a_consistent_data_set(tmp_path):
    counts = generate(tmp_path, deals=2500, seed=5, end=END, chunk=1000)
    deals = pd.read_csv(tmp_path / "deals.csv", dtype=str, keep_default_na=False)
    history = pd.read_csv(tmp_path / "stage_history.csv", dtype=str, keep_default_na=False)
    activities = pd.read_csv(tmp_path / "activities.csv", dtype=str, keep_default_na=False)
    reps = pd.read_csv(tmp_path / "reps.csv", dtype=str, keep_default_na=False)
    assert counts == {"deals": 2500, "stage_history": len(history), "activities": len(activities), "reps": 5}
    # one header, ids numbered through the chunks, every reference resolves
    assert list(deals["deal_id"]) == [f"D{i:05d}" for i in range(1, 2501)]
    assert activities["activity_id"].is_unique and (activities["activity_id"] != "activity_id").all()
    assert set(history["deal_id"]) <= set(deals["deal_id"])
    assert set(activities["deal_id"]) - {""} <= set(deals["deal_id"])
    assert set(deals["owner"]) | set(activities["owner"]) <= set(reps["name"])
    # every rep prospects (actions on no deal), whichever chunk made them; the deals of each chunk have history
    assert set(activities.loc[activities["deal_id"] == "", "owner"]) == set(reps["name"])
    assert history["deal_id"].str[1:].astype(int).max() > 2000
    ds = load_dataset(str(tmp_path), load_config(tmp_path / "salesreport.toml"))
    assert len(ds.deals) == 2500


def test_the_shipped_sample_data_is_what_sample_makes(tmp_path):
    """sample_data/ is `salesreport sample --deals 3000 --seed 7 --end 2026-11-22`, byte for byte."""
    generate(tmp_path, deals=3000, seed=7, end=END)
    for name in ("deals.csv", "stage_history.csv", "activities.csv", "reps.csv", "salesreport.toml"):
        assert (tmp_path / name).read_bytes() == (SAMPLE / name).read_bytes(), name
