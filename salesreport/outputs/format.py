"""Values formatted by unit, in one place every renderer shares."""

from __future__ import annotations

import math

from ..engine.team import MILESTONE_IDS
from ..model import MetricValue, Period, Unit

EMPTY = "—"
# a status readable without colour (piped output, cron mail, NO_COLOR, colour-blind readers): a mark beside
# the value, and its ASCII stand-in for a terminal that cannot show the mark
STATUS_MARKS = {"good": ("✓", "ok"), "warn": ("!", "!"), "bad": ("✗", "X")}


def status_mark(status, unicode: bool = True) -> str:
    """The mark of a Status (or its value: good / warn / bad); "" for none."""
    marks = STATUS_MARKS.get(getattr(status, "value", status) or "")
    return "" if marks is None else marks[0 if unicode else 1]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def fmt(value: float | None, unit: Unit) -> str:
    """A value for people: counts 1,234; money 12,345; ratios 25.0%; days and rates 12.3."""
    if value is None:
        return EMPTY
    if unit is Unit.COUNT:
        return f"{int(value):,}"
    if unit is Unit.MONEY:
        return f"{value:,.0f}"
    if unit is Unit.RATIO:
        return f"{value * 100:.1f}%"
    return f"{value:,.1f}"


def cell_text(mv: MetricValue) -> str:
    """A metric's value for a table cell: an unreached ramp milestone reads "not yet", never a number."""
    if mv.value is None and mv.id in MILESTONE_IDS:
        return "not yet"
    return fmt(mv.value, mv.unit)


def period_span(period: Period) -> str:
    """"2026-11-09 – 2026-11-15", or "Wednesday 2026-11-18" for a day."""
    if period.start == period.end:
        return f"{period.start:%A} {period.start.isoformat()}"
    return f"{period.start} – {period.end}"


def fmt_target(mv: MetricValue, direction: str) -> str:
    """The target as a condition: "≥ 25.0%", "< 50.0%", "75–150"."""
    if mv.target is None:
        return ""
    t = fmt(mv.target, mv.unit)
    if mv.target_max is not None:
        return f"{t}–{fmt(mv.target_max, mv.unit)}"
    sign = {"up": "≥ ", "down": "≤ ", "above": "> ", "below": "< "}.get(direction, "")
    return f"{sign}{t}"


def safe_text(text: str) -> str:
    """CRM text is data, never a formula: a leading = + - @ tab or CR gets a leading apostrophe."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def section_cell(value, unit: Unit | None) -> str:
    """A section's cell as text: a number in its unit, like the main tables; other numbers plainly; "" for
    none. The caller escapes the text for its medium."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if unit is not None:
            return fmt(value, unit)
        return f"{value:,.3f}".rstrip("0").rstrip(".") if isinstance(value, float) and abs(value) < 10 else (
            f"{value:,.0f}" if isinstance(value, float) else f"{value:,}")
    return str(value)
