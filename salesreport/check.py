"""`salesreport check`: validate inputs and list data-quality findings."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from .funnel import Facts
from .metrics.formulas import zero_amount_after_qualified
from .pipeline import load

SHOWN_IDS = 10


@dataclass
class Finding:
    level: str  # "error" | "warning"
    code: str
    message: str
    deal_ids: list[str] = field(default_factory=list)


def findings_for(facts: Facts, as_of: date) -> list[Finding]:
    """Data-quality findings as of a day; loading errors are raised before this is reached."""
    until = np.datetime64(as_of, "ns") + np.timedelta64(1, "D")
    d = facts.deals
    out = [Finding("warning", "input", w) for w in facts.warnings]
    amount = d["amount"].to_numpy()
    signed = d["signed_at"].to_numpy() < until
    zero = zero_amount_after_qualified(facts, until)
    if zero.any():
        ids = list(d.loc[zero, "deal_id"])
        out.append(Finding("warning", "zero_amount_after_qualified",
                           f"{len(ids)} open or signed deal(s) reached qualified with no amount (metric 16). "
                           "Fill in their amounts in the CRM.", ids))
    signed_no_amount = signed & np.isnan(amount)
    if signed_no_amount.any():
        ids = list(d.loc[signed_no_amount, "deal_id"])
        out.append(Finding("warning", "signed_without_amount",
                           f"{len(ids)} signed deal(s) have no amount and add nothing to revenue.", ids))
    future = d["created_at"].to_numpy() >= until
    if future.any():
        ids = list(d.loc[future, "deal_id"])
        out.append(Finding("warning", "created_in_future", f"{len(ids)} deal(s) are created after {as_of}.", ids))
    return out


def run_check(data: str | None, config_path: Path | None, pipeline: str | None) -> list[Finding]:
    config, facts = load(data, config_path, pipeline)
    return findings_for(facts, datetime.now(config.tz).date())


def render_findings(findings: list[Finding], *, json_output: bool, console: Console) -> None:
    if json_output:
        console.print_json(json.dumps({"findings": [asdict(f) for f in findings],
                                       "errors": sum(f.level == "error" for f in findings)}))
        return
    if not findings:
        console.print("No problems found.", style="green")
        return
    table = Table(show_lines=False, box=None, pad_edge=False)
    table.add_column("Level")
    table.add_column("Finding", overflow="fold")
    for f in findings:
        ids = f.deal_ids[:SHOWN_IDS]
        more = f" … (+{len(f.deal_ids) - SHOWN_IDS})" if len(f.deal_ids) > SHOWN_IDS else ""
        text = f.message + (f"\nDeals: {', '.join(ids)}{more}" if ids else "")
        table.add_row(f.level, text, style="red" if f.level == "error" else "yellow")
    console.print(table)
