"""Period defaults (SPEC §9), week starts, previous working day, working days."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from salesreport.config import parse_config
from salesreport.periods import parse_day, parse_month, parse_week, previous, week, working_days

UTC = parse_config({})


def test_defaults_are_the_last_complete_periods():
    today = datetime.now(UTC.tz).date()
    w = parse_week(None, UTC)
    assert w.end < today <= w.end + timedelta(days=7) and w.start.weekday() == 0
    m = parse_month(None, UTC)
    assert m.end == today.replace(day=1) - timedelta(days=1)
    assert parse_day(None, UTC).start == today - timedelta(days=1)
    assert parse_day("today", UTC).start == today


def test_sunday_week_start_and_iso_labels():
    sunday = parse_config({"report": {"week_start": "sunday"}})
    w = parse_week("2026-W46", sunday)
    assert (w.start, w.end) == (date(2026, 11, 8), date(2026, 11, 14))
    assert previous(week(2026, 1), UTC).label == "2025-W52"


def test_previous_working_day_skips_weekends_and_holidays():
    config = parse_config({"report": {"holidays": ["2026-11-13"]}})
    monday = parse_day("2026-11-16", config)
    assert previous(monday, config).label == "2026-11-12"  # Friday the 13th is a holiday


def test_working_days_in_a_month_less_holidays():
    config = parse_config({"report": {"holidays": ["2026-12-25", "2026-12-26"]}})
    assert working_days(parse_month("2026-12", config), config) == 22  # 23 weekdays, the 26th is a Saturday


def test_working_days_between_counts_both_ends_less_holidays():
    import numpy as np

    from salesreport.config import parse_config
    from salesreport.periods import working_days_between

    config = parse_config({"report": {"holidays": ["2026-01-01"]}})
    first = np.array(["2026-01-01", "2026-02-10", "2026-05-01", "2026-03-10"], dtype="datetime64[D]")
    last = np.array(["2026-01-31", "2026-02-28", "2026-05-01", "2026-03-09"], dtype="datetime64[D]")
    # January: 22 weekdays less New Year; 10–28 February: 14; Friday 1 May: 1; an empty span: 0
    assert working_days_between(first, last, config).tolist() == [21, 14, 1, 0]
