"""CSV (one tidy row per metric × period × rep) and Markdown tables."""

from __future__ import annotations

import csv
import html
import io

from ..engine.registry import metric_def, metrics_for
from ..model import MetricValue, Report
from ..text import safe_line
from .format import fmt, fmt_target, safe_text, section_cell

CSV_COLUMNS = ("report", "period", "period_start", "period_end", "rep", "role", "metric", "number", "title",
               "value", "unit", "target", "target_max", "status", "previous")


def long_rows(report: Report) -> list[dict]:
    """The report as a long table: team rows have an empty rep."""
    rows = []
    for pr in report.periods:
        p = pr.period
        base = {"report": report.name, "period": p.label, "period_start": p.start.isoformat(),
                "period_end": p.end.isoformat()}
        scopes = [("", "", pr.metrics)] + [(b.name, b.role, b.metrics) for b in pr.by_rep.values()]
        for rep, role, metrics in scopes:
            for metric_id, mv in metrics.items():
                m = metric_def(metric_id, mv.label)
                rows.append({**base, "rep": rep, "role": role, "metric": metric_id, "number": m.number_for(report.name),
                             "title": m.title, "value": mv.value, "unit": mv.unit.value, "target": mv.target,
                             "target_max": mv.target_max, "status": mv.status.value if mv.status else None,
                             "previous": mv.previous})
    return rows


def render_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in long_rows(report):
        writer.writerow({k: safe_text(v) if isinstance(v, str) else ("" if v is None else v) for k, v in row.items()})
    return out.getvalue()


def _md(text: str) -> str:
    """CRM text inside a Markdown table: HTML shown as text (a Markdown viewer renders raw HTML), a pipe
    escaped (it would add a column), one line, control characters escaped."""
    return safe_line(html.escape(str(text), quote=False).replace("|", "\\|").replace("\n", " "))


def render_markdown(report: Report) -> str:
    p = report.current.period
    title = f"# {report.name.capitalize()} report {p.label}{report.to_date_note} ({p.start} – {p.end}, {report.timezone})"
    lines = [title, ""]
    labels = [pr.period.label for pr in report.periods]
    lines.append("| # | Metric | " + " | ".join(labels) + " | Previous | Target |")
    lines.append("|---:|---|" + "---:|" * (len(labels) + 2))
    for metric_id, mv in report.current.metrics.items():
        m = metric_def(metric_id, mv.label)
        values = [_status_mark(pr.metrics.get(metric_id)) for pr in report.periods]
        lines.append(f"| {m.number_for(report.name)} | {_md(m.title)} | " + " | ".join(values)
                     + f" | {fmt(mv.previous, mv.unit)} | {fmt_target(mv, m.direction.value)} |")
    blocks = list(report.current.by_rep.values())
    if blocks:
        ids = [m.id for m in metrics_for(report.name) if any(m.id in b.metrics for b in blocks)]
        lines += ["", "## Per rep", ""]
        lines.append("| Metric | " + " | ".join(f"{_md(b.name)} ({b.role})" for b in blocks) + " |")
        lines.append("|---|" + "---:|" * len(blocks))
        for metric_id in ids:
            cells = [_status_mark(b.metrics.get(metric_id)) for b in blocks]
            lines.append(f"| {_md(metric_def(metric_id).title)} | " + " | ".join(cells) + " |")
    for section in report.sections.values():
        lines += ["", f"## {_md(section.title)}", "", "| " + " | ".join(_md(c) for c in section.columns) + " |",
                  "|---" * len(section.columns) + "|"]
        lines += ["| " + " | ".join(_md(section_cell(v, section.unit_of(r, c))) for c, v in enumerate(row)) + " |"
                  for r, row in enumerate(section.rows)]
    if report.warnings:
        lines += ["", "## Warnings", ""] + [f"- {_md(w)}" for w in report.warnings]
    return "\n".join(lines) + "\n"


def _status_mark(mv: MetricValue | None) -> str:
    if mv is None:
        return ""
    mark = {"good": " ✓", "warn": " !", "bad": " ✗"}.get(mv.status.value if mv.status else "", "")
    return fmt(mv.value, mv.unit) + mark
