"""Terminal output: rich tables as wide as the terminal (80 columns when piped), split into blocks rather
than cutting a number; values coloured by status and marked (✓ ! ✗) so that the status reads without colour."""

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
METRIC_MIN = 20  # the metric's title folds below this, the numbers never
REP_COLUMN = 11
NAME_WIDTH = 24


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
    """Team table (trend layout when several periods, in blocks of periods that fit the terminal's width),
    then the per-rep tables. A number is never cut: a table that would not fit is split into blocks."""
    console.print(Text(_title(report), style="bold"))
    trend = len(report.periods) > 1
    mark = _unicode(console)
    rows = []
    for metric_id, mv in report.current.metrics.items():
        m = metric_def(metric_id, mv.label)
        if trend:
            cells = [_cell(pr.metrics.get(metric_id), mark=mark) for pr in report.periods]
        else:
            cells = [_cell(mv, mark=mark), Text(fmt(mv.previous, mv.unit))]
        rows.append((str(m.number_for(report.name)), Text(m.title), cells, Text(fmt_target(mv, m.direction.value))))
    if trend:
        headers = [_short(pr.period.label) for pr in report.periods]
    else:
        headers = ["Value", "Prev"]
    widths = [max([len(h), *(len(r[2][i].plain) for r in rows)]) for i, h in enumerate(headers)]
    target = max([6, *(len(r[3].plain) for r in rows)])
    for block in _blocks(widths, console.width - 2 - 2 - METRIC_MIN - 2 - target - 2):
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
        table.add_column("#", justify="right", style="dim", width=2)
        table.add_column("Metric", min_width=METRIC_MIN, max_width=METRIC_WIDTH, overflow="fold")
        for i in block:
            table.add_column(headers[i], justify="right", no_wrap=True, min_width=widths[i],
                             style="dim" if headers[i] == "Prev" else "")
        table.add_column("Target", justify="right", style="dim", no_wrap=True, min_width=target)
        for number, title, cells, goal in rows:
            table.add_row(number, title, *[cells[i] for i in block], goal)
        console.print(table)
    _render_reps(report, console)
    for section in report.sections.values():
        _render_section(section, console)


def _blocks(widths: list[int], room: int) -> list[list[int]]:
    """Consecutive column indexes, as many per block as fit in `room` characters (at least one)."""
    blocks: list[list[int]] = [[]]
    used = 0
    for i, width in enumerate(widths):
        if blocks[-1] and used + width + 2 > room:
            blocks.append([])
            used = 0
        blocks[-1].append(i)
        used += width + 2
    return blocks


def _short(label: str) -> str:
    return label[2:] if len(label) > 7 else label  # "2026-11-18" → "26-11-18"


def _render_reps(report: Report, console: Console) -> None:
    blocks = list(report.current.by_rep.values())
    if not blocks:
        return
    daily = report.name == "daily"
    ids = [m.id for m in metrics_for(report.name) if any(m.id in b.metrics for b in blocks)]
    # the role line carries the rep's place in the leaderboard (#1 within the role), when the report ranks
    columns: list[tuple[str, str, dict[str, MetricValue]]] = [
        (b.name, b.role + (f" #{b.rank}" if b.rank is not None else ""), b.metrics) for b in blocks]
    if daily:
        columns.append(("Team", "", report.current.metrics))
    mark = _unicode(console)
    cells = [[_cell(metrics.get(metric_id), with_previous=daily, mark=mark) for metric_id in ids]
             for _, _, metrics in columns]
    # a column is as wide as its longest value and its name (a name past NAME_WIDTH folds, never is cut)
    widths = [max([REP_COLUMN, min(len(safe_line(name)), NAME_WIDTH), *(len(c.plain) for c in column)])
              for (name, _, _), column in zip(columns, cells, strict=True)]
    title = "Per rep" + (" (previous working day in brackets)" if daily else "")
    for n, block in enumerate(_blocks(widths, console.width - METRIC_WIDTH - 2)):
        table = Table(title=title if n == 0 else None, title_justify="left", box=box.SIMPLE_HEAD,
                      pad_edge=False, show_edge=False)
        table.add_column("Metric", max_width=METRIC_WIDTH, overflow="fold")
        for i in block:
            name, role, _ = columns[i]
            header = Text(f"{safe_line(name)}\n{role}" if role else safe_line(name))  # never markup
            table.add_column(header, justify="right", min_width=widths[i], max_width=widths[i], overflow="fold")
        for row, metric_id in enumerate(ids):
            table.add_row(Text(metric_def(metric_id).title), *[cells[i][row] for i in block])
        console.print(table)


def _render_section(section: Section, console: Console) -> None:
    """A section table; a wide one is turned (its rows become columns) and split into blocks that fit the
    terminal, each column as wide as its values."""
    columns, rows = section.columns, section.rows
    cell_units = [[section.unit_of(r, c) for c in range(len(row))] for r, row in enumerate(rows)]
    if len(columns) > 5 and rows:  # turned: column i becomes row i, its cells keep their units
        columns, rows, cell_units = [columns[0], *[str(r[0]) for r in rows]], [
            [columns[i], *[r[i] for r in rows]] for i in range(1, len(columns))], [
            [None, *[cell_units[r][i] for r in range(len(rows))]] for i in range(1, len(columns))]
    body = columns[1:]
    texts = [[_section_value(v, unit) for v, unit in zip(row[1:], units[1:], strict=True)]
             for row, units in zip(rows, cell_units, strict=True)]
    room = console.width - METRIC_WIDTH - 2
    # a column of text (the stages deals were lost at) reads from the left and folds past the terminal's width
    text = section.text_columns()[1:] if columns is section.columns else [False] * len(body)  # turned: no text
    widths = [min(room, max([REP_COLUMN, min(len(safe_line(name)), NAME_WIDTH), *(len(t[i]) for t in texts)]))
              for i, name in enumerate(body)]
    for n, block in enumerate(_blocks(widths, room) if body else [[]]):
        table = Table(title=Text(section.title) if n == 0 else None, title_justify="left",
                      box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
        table.add_column(Text(safe_line(columns[0])), max_width=METRIC_WIDTH, overflow="fold")
        for i in block:  # team and competitor names come from the CRM: never markup
            table.add_column(Text(safe_line(body[i])), justify="left" if text[i] else "right", min_width=widths[i],
                             max_width=widths[i], overflow="fold")
        for row, values in zip(rows, texts, strict=True):
            table.add_row(Text(safe_line(row[0])), *[Text(values[i]) for i in block])
        console.print(table)


def _section_value(value, unit) -> str:
    return safe_line(section_cell(value, unit)) or EMPTY


def render_warnings(warnings: list[str], console: Console) -> None:
    for w in warnings:
        console.print(Text(f"Warning: {safe_text(w)}", style="yellow"))
