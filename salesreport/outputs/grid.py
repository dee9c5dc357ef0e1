"""The trend, per-rep and section sheets as plain grids of cells, shared by the XLSX and Google Sheets writers.

A grid says what each cell holds (text, number or nothing), its unit (the number format), its status (the
target colour) and its role (title, header, muted id); each writer only translates that into its own API.
Text is always text: a writer stores a str as a string, never as a formula.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..engine.registry import metric_def, metrics_for
from ..model import MetricValue, Report, Section, Status, Unit
from .format import fmt_target, period_span

HEADER_ROW = 3  # rows 1-2: title and a blank line; row 3: column headers
STATUS_WORD = {Status.GOOD: "good", Status.WARN: "warn", Status.BAD: "bad"}
SECTION_SHEETS = {"teams": "Per team", "ramp_cohorts": "Ramp by hire quarter", "compare": "Before and after",
                  "lost_reasons": "Lost reasons"}
# the conditional-formatting colours Excel, LibreOffice and Google Sheets all show
STATUS_COLOURS = {Status.GOOD: "C6EFCE", Status.WARN: "FFEB9C", Status.BAD: "FFC7CE"}
HEADER_COLOUR = "D9E1F2"
MUTED_COLOUR = "808080"


def number_format(unit: Unit, currency: str | None) -> str:
    """The spreadsheet number format of a unit (the same pattern in Excel and Google Sheets)."""
    if unit is Unit.COUNT:
        return "#,##0"
    if unit is Unit.RATIO:
        return "0.0%"
    if unit is Unit.MONEY:
        return f'#,##0 "{currency}"' if currency else "#,##0"
    return "0.0"


@dataclass(frozen=True)
class GridCell:
    value: str | int | float | None = None
    unit: Unit | None = None  # the number format of a numeric cell
    status: Status | None = None  # good / warn / bad colour
    role: str = ""  # "title", "header", "muted", "target" (text set right, under the numbers) or ""


@dataclass
class Grid:
    name: str
    rows: list[list[GridCell]] = field(default_factory=list)
    frozen_rows: int = HEADER_ROW
    frozen_columns: int = 2
    widths: dict[int, float] = field(default_factory=dict)  # 1-based column → width in characters
    header_height: float | None = None
    row_of: dict[str, int] = field(default_factory=dict)  # metric id → 1-based row
    printed_columns: int | None = None  # the columns a printout shows (the technical id column is not one)

    @property
    def column_count(self) -> int:
        return max((len(r) for r in self.rows), default=1)

    def put(self, row: int, cells: list[GridCell]) -> None:
        """Set 1-based `row`, padding with empty rows as needed."""
        while len(self.rows) < row:
            self.rows.append([])
        self.rows[row - 1] = cells


def _value(mv: MetricValue | None) -> GridCell:
    if mv is None:
        return GridCell()
    return GridCell(mv.value, mv.unit, mv.status)  # None stays an empty cell, never 0 or "nan"


def _title(report: Report, what: str, generated: bool) -> GridCell:
    p = report.current.period
    stamp = f" · generated {report.generated_at}" if generated and report.generated_at else ""
    return GridCell(f"{what} · {p.label}{report.to_date_note} · {period_span(p)} · {report.timezone}{stamp}",
                    role="title")


def _header(labels: list[str]) -> list[GridCell]:
    return [GridCell(label, role="header") for label in labels]


def trend_grid(report: Report, name: str | None = None, generated: bool = True) -> Grid:
    """#, metric, one column per period (newest right), target, status, id."""
    name = name or report.name.capitalize()
    grid = Grid(name)
    grid.put(1, [_title(report, f"{report.name.capitalize()} report", generated)])
    grid.put(HEADER_ROW, _header(["#", "Metric", *[pr.period.label for pr in report.periods], "Target", "Status", "Id"]))
    for row, (metric_id, mv) in enumerate(report.current.metrics.items(), start=HEADER_ROW + 1):
        m = metric_def(metric_id, mv.label)
        grid.row_of[metric_id] = row
        grid.put(row, [
            GridCell(m.number_for(report.name)), GridCell(m.title),
            *[_value(pr.metrics.get(metric_id)) for pr in report.periods],
            GridCell(fmt_target(mv, m.direction.value), role="target"),
            GridCell(STATUS_WORD.get(mv.status, ""), status=mv.status),
            GridCell(metric_id, role="muted"),
        ])
    last = 2 + len(report.periods)
    grid.widths = {1: 5, 2: 30, **{c: 12 for c in range(3, last + 1)}, last + 1: 12, last + 2: 8, last + 3: 28}
    grid.printed_columns = last + 2
    return grid


def rep_grid(report: Report, name: str | None = None, generated: bool = True) -> Grid | None:
    """One row per rep, grouped SDR / AE / other / unknown with a blank row between groups."""
    blocks = list(report.current.by_rep.values())
    if not blocks:
        return None
    grid = Grid(name or f"{report.name.capitalize()} by rep", header_height=45)
    grid.put(1, [_title(report, f"{report.name.capitalize()} report per rep", generated)])
    ids = [m.id for m in metrics_for(report.name) if any(m.id in b.metrics for b in blocks)]
    grid.put(HEADER_ROW, _header(["Rep", "Role", *[metric_def(i).title for i in ids]]))
    row = HEADER_ROW
    previous_role = None
    for block in blocks:  # already grouped by role
        row += 1
        if previous_role is not None and block.role != previous_role:
            row += 1
        previous_role = block.role
        grid.put(row, [GridCell(block.name), GridCell(block.role), *[_value(block.metrics.get(i)) for i in ids]])
    grid.widths = {1: 22, 2: 8, **{c: 13 for c in range(3, len(ids) + 3)}}
    return grid


def section_grid(key: str, section: Section) -> Grid:
    """A report section (per team, ramp cohorts, before/after) as its own sheet."""
    grid = Grid(SECTION_SHEETS.get(key, key[:31]), frozen_columns=1, header_height=45)
    grid.put(1, [GridCell(section.title, role="title")])
    grid.put(HEADER_ROW, _header(list(section.columns)))
    for r, values in enumerate(section.rows):
        grid.put(HEADER_ROW + 1 + r, [GridCell(v) if isinstance(v, str) else GridCell(v, section.unit_of(r, c))
                                      for c, v in enumerate(values)])
    text = section.text_columns()
    grid.widths = {1: 34, **{c: 60 if text[c - 1] else 14 for c in range(2, len(section.columns) + 1)}}
    return grid
