"""Periods (day, week, month, fiscal quarter), their defaults and predecessors, and working days."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import numpy as np

from .config import Config
from .errors import ConfigError, UsageError
from .model import Period


def today(config: Config) -> date:
    return datetime.now(config.tz).date()


def month(year: int, month_no: int) -> Period:
    start = date(year, month_no, 1)
    nxt = date(year + month_no // 12, month_no % 12 + 1, 1)
    return Period("month", f"{year:04d}-{month_no:02d}", start, nxt - timedelta(days=1))


def week(iso_year: int, iso_week: int, week_start: str = "monday") -> Period:
    monday = date.fromisocalendar(iso_year, iso_week, 1)
    start = monday - timedelta(days=1) if week_start == "sunday" else monday
    return Period("week", f"{iso_year:04d}-W{iso_week:02d}", start, start + timedelta(days=6))


def add_months(d: date, months: int) -> date:
    """The first day of the month `months` after (or before) `d`'s month."""
    index = d.year * 12 + d.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def quarter_of(d: date, config: Config) -> Period:
    """The (fiscal) quarter `d` is in: Q1 starts in [report] fiscal_year_start's month. Labelled by the calendar
    year (2026-Q3), or with a fiscal year not starting in January by the fiscal year's name (FY2027-Q1)."""
    into = months_into_year(d, config) - 1
    start = add_months(d.replace(day=1), -(into % 3))
    label = f"{year_label(d, config) if config.fiscal_year_start != 1 else d.year}-Q{into // 3 + 1}"
    return Period("quarter", label, start, add_months(start, 3) - timedelta(days=1))


def day(d: date) -> Period:
    return Period("day", d.isoformat(), d, d)


def parse_month(text: str | None, config: Config, as_of: date | None = None) -> Period:
    """--month YYYY-MM; default the last complete month (before `as_of`, else before today)."""
    if text is None:
        first = (as_of or today(config)).replace(day=1) - timedelta(days=1)
        return month(first.year, first.month)
    m = re.fullmatch(r"(\d{4})-(\d{1,2})", text.strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise UsageError(f'--month "{text}" is not a month; use YYYY-MM, like 2026-10.')
    return month(int(m.group(1)), int(m.group(2)))


def parse_week(text: str | None, config: Config, as_of: date | None = None) -> Period:
    """--week YYYY-Www; default the last complete week (before `as_of`, else before today)."""
    if text is None:
        d = (as_of or today(config)) - timedelta(days=7)
        if config.week_start == "sunday":
            d += timedelta(days=1)  # a Sunday-start week is labelled by the ISO week of its Monday
        y, w, _ = d.isocalendar()
        return week(y, w, config.week_start)
    m = re.fullmatch(r"(\d{4})-?W(\d{1,2})", text.strip(), flags=re.IGNORECASE)
    if not m:
        raise UsageError(f'--week "{text}" is not an ISO week; use YYYY-Www, like 2026-W46.')
    try:
        return week(int(m.group(1)), int(m.group(2)), config.week_start)
    except ValueError:
        raise UsageError(f'--week "{text}": that year has no such week.') from None


def parse_quarter(text: str | None, config: Config, as_of: date | None = None) -> Period:
    """--quarter 2026-Q3, or FY2027-Q1 for a fiscal year (named by the calendar year it ends in); default the last
    complete quarter (before `as_of`, else before today)."""
    if text is None:
        return quarter_of(quarter_of(as_of or today(config), config).start - timedelta(days=1), config)
    m = re.fullmatch(r"(FY)?\s*(\d{4})\s*-?\s*Q([1-4])", text.strip(), flags=re.IGNORECASE)
    first = config.fiscal_year_start
    example = quarter_of(today(config), config).label
    if not m:
        raise UsageError(f'--quarter "{text}" is not a quarter; use {"FY" if first != 1 else ""}YYYY-Qn, like '
                         f"{example}.")
    fiscal, year, number = m.group(1), int(m.group(2)), int(m.group(3))
    if first != 1 and not fiscal:
        raise UsageError(
            f'--quarter "{text}": the fiscal year starts in {date(2000, first, 1):%B} ([report] fiscal_year_start), '
            f"so quarters are named by their fiscal year, like {example}: FY{year} runs from "
            f"{date(year - 1, first, 1):%B %Y} to {date(year, first, 1) - timedelta(days=1):%B %Y}.")
    if not 1 <= year - (first != 1) <= 9998:
        raise UsageError(f'--quarter "{text}": no such year.')
    return quarter_of(add_months(date(year - (first != 1), first, 1), 3 * (number - 1)), config)


def parse_day(text: str | None, config: Config, as_of: date | None = None) -> Period:
    """--date YYYY-MM-DD or "today"; default yesterday (the day before `as_of`, else before today)."""
    if text is None:
        return day((as_of or today(config)) - timedelta(days=1))
    if text.strip().lower() == "today":
        return day(today(config))
    try:
        return day(date.fromisoformat(text.strip()))
    except ValueError:
        raise UsageError(f'--date "{text}" is not a date; use YYYY-MM-DD, like 2026-11-18, or "today".') from None


def previous(period: Period, config: Config) -> Period:
    """The period before: Q−1, M−1, W−1, or the previous working day."""
    if period.kind == "quarter":
        return quarter_of(period.start - timedelta(days=1), config)
    if period.kind == "month":
        d = period.start - timedelta(days=1)
        return month(d.year, d.month)
    if period.kind == "week":
        d = period.start - timedelta(days=7)
        monday = d + timedelta(days=1) if config.week_start == "sunday" else d
        y, w, _ = monday.isocalendar()
        return week(y, w, config.week_start)
    d = period.start - timedelta(days=1)
    for _ in range(366):
        if is_working_day(d, config):
            return day(d)
        d -= timedelta(days=1)
    return day(period.start - timedelta(days=1))


def series(period: Period, count: int, config: Config) -> list[Period]:
    """`count` consecutive periods ending with `period`, oldest first."""
    if count < 1:
        raise ConfigError("--periods must be 1 or more.")
    out = [period]
    while len(out) < count:
        out.append(previous(out[-1], config))
    return out[::-1]


def is_working_day(d: date, config: Config) -> bool:
    return d.weekday() in config.working_days and d not in config.holidays


def working_days(period: Period, config: Config) -> int:
    return int(working_days_between(np.array([period.start], dtype="datetime64[D]"),
                                    np.array([period.end], dtype="datetime64[D]"), config)[0])


def working_days_between(first: np.ndarray, last: np.ndarray, config: Config) -> np.ndarray:
    """Working days from each `first` through each `last` (both included; 0 where last < first): the
    config's working weekdays, less its holidays."""
    if not config.working_days:
        return np.zeros(len(first), dtype=np.int64)
    weekmask = [1 if d in config.working_days else 0 for d in range(7)]  # Monday first, as numpy counts
    holidays = np.array(sorted(config.holidays), dtype="datetime64[D]")
    counts = np.busday_count(first, last + np.timedelta64(1, "D"), weekmask=weekmask, holidays=holidays)
    return np.where(last >= first, counts, 0)


def start_instant(d: date) -> np.datetime64:
    """The first instant of a day, as naive local datetime64."""
    return np.datetime64(d, "ns")


def end_instant(d: date) -> np.datetime64:
    """The exclusive bound just after a day: records before it are 'on or before' the day."""
    return np.datetime64(d + timedelta(days=1), "ns")


def year_start(d: date, config: Config) -> date:
    """The first day of the (fiscal) year `d` is in: [report] fiscal_year_start's month, 1 January by default."""
    first = config.fiscal_year_start
    return date(d.year if d.month >= first else d.year - 1, first, 1)


def year_end(d: date, config: Config) -> date:
    """The last day of the (fiscal) year `d` is in."""
    start = year_start(d, config)
    return date(start.year + 1, start.month, 1) - timedelta(days=1)


def year_label(d: date, config: Config) -> str:
    """The name of the (fiscal) year `d` is in: its calendar year, or "FY" and the calendar year in which a
    fiscal year not starting in January ends (with fiscal_year_start = 2, Feb 2026–Jan 2027 is FY2027)."""
    if config.fiscal_year_start == 1:
        return str(d.year)
    return f"FY{year_end(d, config).year}"


def months_into_year(d: date, config: Config) -> int:
    """How many months of its (fiscal) year have begun by `d`: 1 in the year's first month … 12."""
    return (d.month - config.fiscal_year_start) % 12 + 1


def cohort_start_for(period: Period, config: Config, since: date | None) -> date:
    """--since, else [report] cohort_start, else the start of the (fiscal) year of the period end."""
    return since or config.cohort_start or year_start(period.end, config)
