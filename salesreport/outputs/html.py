"""HTML page from the jinja2 templates shipped in the package (autoescaped); the template only lays out."""

from __future__ import annotations

from pathlib import Path

import jinja2

from ..engine.deals import FORECAST_COLUMN
from ..engine.registry import metric_def, metrics_for
from ..model import MetricValue, Report, Status, Unit
from .format import EMPTY, cell_text, fmt, fmt_target, period_span, section_cell, status_mark

REPS_PER_TABLE = 4  # the per-rep table in blocks of four reps: each fits a 600 px phone screen beside its titles
COLOURS = {  # inline styles: mail clients drop <style> blocks
    "good": "background:#c6efce;color:#006100;",
    "warn": "background:#ffeb9c;color:#7f6000;",
    "bad": "background:#ffc7ce;color:#9c0006;",
    "": "",
}


def environment(override: Path | None = None) -> jinja2.Environment:
    """The templates shipped in the package (salesreport/templates; templates/ in a checkout links there);
    a file of the same name in `override` ([report] templates) is used instead. HTML ones autoescaped (a
    company named <script> arrives as text)."""
    loaders: list[jinja2.BaseLoader] = [jinja2.FileSystemLoader(override)] if override is not None else []
    loaders.append(jinja2.PackageLoader("salesreport", "templates"))
    return jinja2.Environment(loader=jinja2.ChoiceLoader(loaders),
                              autoescape=jinja2.select_autoescape(("html.j2", "html"), ("txt.j2", "txt"), default=True),
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _cell(mv: MetricValue | None) -> dict:
    if mv is None:
        return {"text": "", "status": "", "mark": ""}
    status = mv.status.value if isinstance(mv.status, Status) and mv.value is not None else ""
    return {"text": cell_text(mv), "status": status, "mark": status_mark(status)}


TOP_DEALS = 10
# the mail's deal lists (SPEC §10), each shown when the report has its figure: (title, the list's mark column,
# the figure, the columns shown)
DEAL_TABLES = (
    ("stuck deals", "Stuck", "stuck_share_active", ("Deal", "Company", "Owner", "Stage", "Amount", "Days in stage")),
    ("forecast deals", FORECAST_COLUMN, "revenue_forecast",
     ("Deal", "Company", "Owner", "Stage", "Amount", FORECAST_COLUMN)),
)


def top_deals(report: Report) -> list[dict]:
    """The largest TOP_DEALS deals of each of DEAL_TABLES, formatted: the questions after "63 % are stuck"."""
    deals = report.deals
    if deals is None:
        return []
    out = []
    for what, mark, figure, shown in DEAL_TABLES:
        if mark not in deals.columns or figure not in report.current.metrics:
            continue
        marked = [row for row in deals.rows if row[deals.column(mark)] not in (None, False)]
        count = f"{len(marked):,}" if deals.total == len(deals.rows) else "more"
        title = (f"The {TOP_DEALS} largest of {count} {what}" if len(marked) > TOP_DEALS else
                 f"{what.capitalize()} ({len(marked)})")
        rows = []
        for row in marked[:TOP_DEALS]:
            values = [row[deals.column(c)] for c in shown]
            rows.append([fmt(v, Unit.MONEY) if c in ("Amount", FORECAST_COLUMN) else
                         fmt(v, Unit.COUNT) if c == "Days in stage" else "" if v is None else str(v)
                         for c, v in zip(shown, values, strict=True)])
        out.append({"title": title, "columns": list(shown), "rows": rows,
                    "numeric": [c in ("Amount", FORECAST_COLUMN, "Days in stage") for c in shown]})
    return out


def context(report: Report) -> dict:
    """Everything the template shows, already formatted."""
    p = report.current.period
    rows = []
    for metric_id, mv in report.current.metrics.items():
        m = metric_def(metric_id, mv.label)
        rows.append({"number": m.number_for(report.name), "title": m.title,
                     "cells": [_cell(pr.metrics.get(metric_id)) for pr in report.periods],
                     "previous": fmt(mv.previous, mv.unit) if mv.previous is not None else EMPTY,
                     "target": fmt_target(mv, m.direction.value)})
    blocks = list(report.current.by_rep.values())
    ids = [m.id for m in metrics_for(report.name) if any(m.id in b.metrics for b in blocks)]
    rep_rows = [{"title": metric_def(i).title, "cells": [_cell(b.metrics.get(i)) for b in blocks]} for i in ids]
    return {
        "title": f"{report.name.capitalize()} sales report · {p.label}{report.to_date_note}",
        "subtitle": f"{period_span(p)} · {report.timezone}" + (f" · generated {report.generated_at}" if report.generated_at else ""),
        "period_labels": [pr.period.label for pr in report.periods],
        "rows": rows,
        "reps": [{"name": b.name, "role": b.role} for b in blocks],
        "rep_rows": rep_rows,
        # the same table in blocks of REPS_PER_TABLE reps, one table each: 19 reps never widen the page
        "rep_groups": [{"reps": [{"name": b.name, "role": b.role} for b in blocks[k:k + REPS_PER_TABLE]],
                        "rows": [{"title": r["title"], "cells": r["cells"][k:k + REPS_PER_TABLE]} for r in rep_rows]}
                       for k in range(0, len(blocks), REPS_PER_TABLE)],
        "rep_lines": [{"name": b.name, "role": b.role,
                       "items": [{"title": r["title"], "text": r["cells"][k]["text"], "status": r["cells"][k]["status"]}
                                 for r in rep_rows if r["cells"][k]["text"]]} for k, b in enumerate(blocks)],
        "sections": [{"title": s.title, "columns": s.columns,
                      "rows": [[section_cell(v, s.unit_of(r, c)) for c, v in enumerate(row)]
                               for r, row in enumerate(s.rows)]}
                     for s in report.sections.values()],
        "deal_tables": top_deals(report),
        "warnings": report.warnings,
        "colours": COLOURS,
    }


def render_html(report: Report, env: jinja2.Environment | None = None) -> str:
    return (env or environment()).get_template("report.html.j2").render(**context(report))


def render_text(report: Report, env: jinja2.Environment | None = None) -> str:
    return (env or environment()).get_template("email.txt.j2").render(**context(report))
