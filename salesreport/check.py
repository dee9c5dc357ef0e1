"""`salesreport check`: validate inputs and list data-quality findings."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .api import load_facts
from .engine.quality import findings_for
from .model import Finding
from .text import safe_line, safe_text

SHOWN_IDS = 10


def run_check(data: str | None, config_path: Path | None, pipeline: str | None,
              credentials: Path | None = None, preset: str | None = None) -> list[Finding]:
    config, facts = load_facts(data, config_path, pipeline, credentials, preset)
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
        text = f.message + (f"\nDeals: {', '.join(safe_line(i, 40) for i in ids)}{more}" if ids else "")
        table.add_row(f.level, Text(safe_text(text)), style="red" if f.level == "error" else "yellow")
    console.print(table)
