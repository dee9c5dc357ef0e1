"""Terminal output: rich tables that fit 80 columns, values coloured by status and marked (✓ ! ✗) so that the
status reads without colour too."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..engine.registry import metric_def, metrics_for
from ..model import MetricValue, Report, Section, Status
from ..text import safe_line, safe_text
from .format import EMPTY, cell_text, fmt, fmt_target, period_span, section_cell, status_mark

STATUS_STYLE = {Status.GOOD: "green", Status.WARN: "yellow", Status.BAD: "bold red"}
METRIC_WIDTH = 30
REP_COLUMN = 11


def _cell(mv: MetricValue | None, with_previous: bool = False, mark: bool | None = None) -> Text:
    """A value in its status colour; with `mark` (True: ✓ ! ✗, False: ok ! X) the status also as a mark, so
    it reads without colour."""
    if mv is None:
        return Text(EMPTY, style="dim")
    if mv.value is None:
        return Text(cell_text(mv), style="dim")
    text = Text(cell_text(mv), style=STATUS_STYLE.get(mv.status, ""))
    if with_previous:
        text.append(f" ({fmt(mv.previous, mv.unit)})", style="dim")
    if mark is not None and status_mark(mv.status):
        text.append(f" {status_mark(mv.status, mark)}", style=STATUS_STYLE.get(mv.status, ""))
    return text


def _unicode(console: Console) -> bool:
    return (console.encoding or "").lower().replace("-", "").startswith("utf")


def _title(report: Report) -> str:
    p = report.current.period
    return (f"{report.name.capitalize()} report · {p.label}{report.to_date_note} · {period_span(p)} · "
            f"{report.timezone}")


def render_terminal(report: Report, console: Console) -> None:
    """Team table (trend layout when several periods), then the per-rep tables."""
    console.print(Text(_title(report), style="bold"))
    trend = len(report.periods) > 1
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    table.add_column("#", justify="right", style="dim", width=2)
    table.add_column("Metric", max_width=METRIC_WIDTH, overflow="fold")
    if trend:
        for pr in report.periods:
            table.add_column(_short(pr.period.label), justify="right")
    else:
        table.add_column("Value", justify="right")
        table.add_column("Prev", justify="right", style="dim")
    table.add_column("Target", justify="right", style="dim")
    mark = _unicode(console)
    for metric_id, mv in report.current.metrics.items():
        m = metric_def(metric_id, mv.label)
        if trend:
            cells = [_cell(pr.metrics.get(metric_id), mark=mark) for pr in report.periods]
        else:
            cells = [_cell(mv, mark=mark), Text(fmt(mv.previous, mv.unit))]
        table.add_row(str(m.number_for(report.name)), Text(m.title), *cells, Text(fmt_target(mv, m.direction.value)))
    console.print(table)
    _render_reps(report, console)
    for section in report.sections.values():
        _render_section(section, console)


def _short(label: str) -> str:
    return label[2:] if len(label) > 7 else label  # "2026-11-18" → "26-11-18"


def _render_reps(report: Report, console: Console) -> None:
    blocks = list(report.current.by_rep.values())
    if not blocks:
        return
    daily = report.name == "daily"
    ids = [m.id for m in metrics_for(report.name) if any(m.id in b.metrics for b in blocks)]
    per_table = max(1, (min(console.width, 80) - METRIC_WIDTH - 2) // (REP_COLUMN + 3))
    columns: list[tuple[str, dict[str, MetricValue]]] = [(b.name, b.metrics) for b in blocks]
    if daily:
        columns.append(("Team", report.current.metrics))
    for start in range(0, len(columns), per_table):
        chunk = columns[start:start + per_table]
        title = "Per rep" + (" (previous working day in brackets)" if daily else "")
        table = Table(title=title if start == 0 else None, title_justify="left", box=box.SIMPLE_HEAD,
                      pad_edge=False, show_edge=False)
        table.add_column("Metric", max_width=METRIC_WIDTH, overflow="fold")
        for name, _ in chunk:
            role = next((b.role for b in blocks if b.name == name), "")
            header = Text(f"{safe_line(name)[:REP_COLUMN]}\n{role}" if role else safe_line(name))  # never markup
            table.add_column(header, justify="right", max_width=REP_COLUMN + 3, overflow="fold")
        for metric_id in ids:
            row = [_cell(metrics.get(metric_id), with_previous=daily, mark=_unicode(console)) for _, metrics in chunk]
            table.add_row(Text(metric_def(metric_id).title), *row)
        console.print(table)


def _render_section(section: Section, console: Console) -> None:
    """A section table; a wide one is turned (its rows become columns) and split to fit 80 columns."""
    columns, rows = section.columns, section.rows
    cell_units = [[section.unit_of(r, c) for c in range(len(row))] for r, row in enumerate(rows)]
    if len(columns) > 5 and rows:  # turned: column i becomes row i, its cells keep their units
        columns, rows, cell_units = [columns[0], *[str(r[0]) for r in rows]], [
            [columns[i], *[r[i] for r in rows]] for i in range(1, len(columns))], [
            [None, *[cell_units[r][i] for r in range(len(rows))]] for i in range(1, len(columns))]
    per_table = max(1, (min(console.width, 80) - METRIC_WIDTH - 2) // (REP_COLUMN + 3))
    body = columns[1:]
    for start in range(0, max(len(body), 1), per_table):
        table = Table(title=Text(section.title) if start == 0 else None, title_justify="left",
                      box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
        table.add_column(Text(safe_line(columns[0])), max_width=METRIC_WIDTH, overflow="fold")
        for name in body[start:start + per_table]:  # team and competitor names come from the CRM: never markup
            table.add_column(Text(safe_line(name)), justify="right", max_width=REP_COLUMN + 3, overflow="fold")
        for row, units in zip(rows, cell_units, strict=True):
            cells = list(zip(row[1:], units[1:], strict=True))[start:start + per_table]
            table.add_row(Text(safe_line(row[0])), *[Text(_section_value(v, unit)) for v, unit in cells])
        console.print(table)


def _section_value(value, unit) -> str:
    return safe_line(section_cell(value, unit)) or EMPTY


def render_warnings(warnings: list[str], console: Console) -> None:
    for w in warnings:
        console.print(Text(f"Warning: {safe_text(w)}", style="yellow"))
