"""Canonical funnel stages, units, and the Report object every renderer takes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import Enum

# Canonical stages in funnel order with their rank (SPEC §3). replied_negative is a branch beside
# replied: same rank, implies replied, never replied_positive.
STAGES: tuple[str, ...] = (
    "new",
    "work_started",
    "replied",
    "replied_negative",
    "replied_positive",
    "demo_appointed",
    "demo_run",
    "qualified",
    "offer_sent",
    "signed",
)
STAGE_RANK: dict[str, int] = {
    "new": 0,
    "work_started": 1,
    "replied": 2,
    "replied_negative": 2,
    "replied_positive": 3,
    "demo_appointed": 4,
    "demo_run": 5,
    "qualified": 6,
    "offer_sent": 7,
    "signed": 8,
}
# The stages a deal can "reach": one per rank (replied_negative counts as reaching replied).
RANKED_STAGES: tuple[str, ...] = (
    "new",
    "work_started",
    "replied",
    "replied_positive",
    "demo_appointed",
    "demo_run",
    "qualified",
    "offer_sent",
    "signed",
)
# Internal code for a stage-history row that marks the deal lost (a name in [funnel] lost).
LOST_CODE = -1

# the canonical tables: column → (required, kind). kind: text | datetime | amount | bool
SCHEMA: dict[str, dict[str, tuple[bool, str]]] = {
    "deals": {
        "deal_id": (True, "text"),
        "company": (False, "text"),
        "owner": (False, "text"),
        "amount": (False, "amount"),
        "created_at": (True, "datetime"),
        "stage": (False, "text"),
        "status": (False, "text"),
        "signed_at": (False, "datetime"),
        "lost_at": (False, "datetime"),
        "closed_at": (False, "datetime"),
        "lost_reason": (False, "text"),
        "expected_close_date": (False, "datetime"),
        "competitor": (False, "text"),
        "pipeline": (False, "text"),
        "currency": (False, "text"),
        "won": (False, "bool"),  # a won flag (Salesforce IsWon, TRUE/FALSE, 1/0): the status when none is given
        "closed": (False, "bool"),  # a closed flag (IsClosed): closed and not won is lost
        "probability": (False, "amount"),  # the stage's win probability, % or 0–1 (to place unknown stages)
        "stage_order": (False, "amount"),  # the stage's position in the CRM's own order (the same)
    },
    "stage_history": {
        "deal_id": (True, "text"),
        "stage": (True, "text"),
        "entered_at": (True, "datetime"),
        "owner": (False, "text"),
    },
    "activities": {
        "activity_id": (False, "text"),
        "owner": (True, "text"),
        "type": (True, "text"),
        "occurred_at": (True, "datetime"),
        "deal_id": (False, "text"),
        "done": (False, "bool"),
    },
    "reps": {
        "name": (True, "text"),
        "role": (False, "text"),
        "team": (False, "text"),
        "hire_date": (False, "datetime"),
        "monthly_quota": (False, "amount"),
        "left_at": (False, "datetime"),
        "email": (False, "text"),
    },
}

ACTION_TYPES: tuple[str, ...] = ("call", "email", "message", "meeting")
ROLES: tuple[str, ...] = ("SDR", "AE", "other", "unknown")


class Unit(str, Enum):
    COUNT = "count"
    MONEY = "money"
    RATIO = "ratio"
    DAYS = "days"
    PER_DAY = "per_day"


class Direction(str, Enum):
    UP = "up"  # good at or above the target
    DOWN = "down"  # good at or below the target
    ABOVE = "above"  # good strictly above the target
    BELOW = "below"  # good strictly below the target
    RANGE = "range"  # good within [target, target_max]
    NONE = "none"  # informational


class Status(str, Enum):
    GOOD = "good"
    WARN = "warn"
    BAD = "bad"


@dataclass(frozen=True)
class Period:
    """A reporting period: a day, an ISO week, a calendar month or a (fiscal) quarter, in the report's time zone."""

    kind: str  # "day" | "week" | "month" | "quarter"
    label: str  # "2026-11-18", "2026-W46", "2026-11", "2026-Q3" (or with a fiscal year "FY2027-Q1")
    start: date
    end: date  # last day, inclusive


@dataclass(frozen=True)
class MetricValue:
    """One figure of a report: the value, the previous period's, and its target status."""

    id: str
    value: float | int | None
    unit: Unit
    target: float | None = None
    target_max: float | None = None
    status: Status | None = None
    previous: float | int | None = None
    deal_ids: tuple[str, ...] | None = None  # the deals a figure counts (--deals; metric 16 always)
    deal_ids_truncated: bool = False  # deal_ids holds the first of more
    basis: int | None = None  # how many deals a ratio rests on, where a report says so
    label: str | None = None  # a display name for metrics of a family (win_rate_vs_<competitor>)


@dataclass
class RepBlock:
    """A rep's figures within one period."""

    name: str
    role: str
    metrics: dict[str, MetricValue] = field(default_factory=dict)
    rank: int | None = None  # place within the role by the report's lead figure (1: the highest; ties share)


@dataclass
class PeriodReport:
    """All figures of one period: team metrics and per-rep metrics."""

    period: Period
    metrics: dict[str, MetricValue]
    by_rep: dict[str, RepBlock]

    def on_target(self) -> tuple[int, int]:
        """(metrics with status good, metrics with any status) among the team figures."""
        rated = [mv for mv in self.metrics.values() if mv.status is not None]
        return sum(mv.status is Status.GOOD for mv in rated), len(rated)


@dataclass
class Section:
    """An extra table of a report (the team report's ramp cohorts and before/after comparison)."""

    title: str
    columns: list[str]
    rows: list[list[str | float | int | None]]
    units: list[Unit | None] | None = None  # one per row, where the row's values share a unit
    column_units: list[Unit | None] | None = None  # one per column, where a column's values share one

    def text_columns(self) -> list[bool]:
        """Per column, whether it holds text in every row (the stages deals were lost at): shown wide, from the
        left, folding rather than cut."""
        return [bool(self.rows) and all(isinstance(row[c], str) for row in self.rows) for c in range(len(self.columns))]

    def unit_of(self, row: int, column: int) -> Unit | None:
        """The unit of a cell: its column's, else its row's, else none."""
        if self.column_units is not None:
            return self.column_units[column]
        return self.units[row] if self.units else None


@dataclass
class Finding:
    """A data-quality finding of `check` (and the XLSX "Data quality" sheet)."""

    level: str  # "error" | "warning"
    code: str
    message: str
    deal_ids: list[str] = field(default_factory=list)


@dataclass
class DealList:
    """The deals behind the figures of a report's period (SPEC §10): a row per deal, its fields, then a column
    per figure marking (True) the deals it counts, and the forecast's weighted amount where the deal adds to it.
    The largest amounts first; `rows` holds at most a cap of the `total`."""

    columns: list[str]
    marks: list[str]  # the columns that mark a figure's deals
    rows: list[list]
    total: int

    def column(self, name: str) -> int:
        return self.columns.index(name)


@dataclass
class Report:
    """A report over one or more consecutive periods; `periods[-1]` is the chosen one."""

    name: str  # "monthly" | "quarterly" | "weekly" | "daily" | "team"
    timezone: str
    currency: str | None
    periods: list[PeriodReport]
    warnings: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    sections: dict[str, Section] = field(default_factory=dict)
    rep_emails: dict[str, str] = field(default_factory=dict)  # for --per-rep mail
    generated_at: str = ""  # ISO timestamp, for titles
    to_date: tuple[int, int] | None = None  # the data ends inside the period: (working days covered, of)
    year_start: date | None = None  # the first day of the chosen period's (fiscal) year
    year_label: str = ""  # that year's name: "2026", or "FY2027" for a fiscal year ending in 2027
    deals: DealList | None = None  # the deals behind the chosen period's figures, when asked for

    @property
    def current(self) -> PeriodReport:
        return self.periods[-1]

    @property
    def to_date_note(self) -> str:
        """" · to date (N of M working days)" when the chosen period is not over in the data, else ""."""
        return f" · to date ({self.to_date[0]} of {self.to_date[1]} working days)" if self.to_date else ""
