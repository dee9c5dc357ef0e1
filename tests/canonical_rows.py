"""A parsed Dataset as plain text rows, to compare with the expected rows in tests/assets/expected/."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from salesreport.model import LOST_CODE, STAGES
from salesreport.sources.canonical import Dataset

COLUMNS = {
    "deals": ["deal_id", "company", "owner", "amount", "created_at", "stage", "status", "signed_at", "lost_at", "closed_at",
              "expected_close_date", "pipeline"],
    "stage_history": ["deal_id", "stage", "entered_at"],
    "activities": ["owner", "action", "occurred_at", "deal_id", "done"],
}


def _cell(value) -> str:
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "" if pd.isna(value) else f"{value:.2f}"
    return "" if value is None or value is pd.NaT else str(value)


def canonical_rows(ds: Dataset) -> dict[str, str]:
    """Each present table as CSV text with the COLUMNS above (stages by canonical id, or "lost")."""
    frames = {"deals": ds.deals, "stage_history": ds.history, "activities": ds.activities}
    out = {}
    for table, df in frames.items():
        if df is None:
            continue
        df = df.copy()
        if table == "stage_history":
            df["stage"] = df["stage_idx"].map(lambda i: "lost" if i == LOST_CODE else STAGES[i])
            df = df.sort_values(["deal_id", "entered_at", "stage"], kind="stable")
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(COLUMNS[table])
        for row in df[COLUMNS[table]].itertuples(index=False):
            writer.writerow([_cell(v) for v in row])
        out[table] = buffer.getvalue()
    return out


def expected_rows(folder: Path) -> dict[str, str]:
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.csv"))}
