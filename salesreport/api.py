"""The one-way flow behind every command: config → tables → funnel facts → Report."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path

from .config import Config, find_config, load_config
from .engine.funnel import Facts, build_facts
from .engine.quality import findings_for
from .engine.registry import check_targets
from .errors import InputError
from .model import Period, Report
from .periods import parse_day, parse_month, parse_quarter, parse_week, today, working_days
from .report.build import build_report
from .report.team import build_team_report
from .sources.canonical import load_dataset
from .sources.presets import preset_named

PERIOD_PARSERS = {"monthly": parse_month, "quarterly": parse_quarter, "weekly": parse_week, "daily": parse_day,
                  "team": parse_month}


@dataclass(frozen=True)
class ReportRequest:
    """What a user asked for on the command line (or a scheduler in code)."""

    report: str
    period: str | None = None
    data: str | None = None
    config: Path | None = None
    since: date | None = None
    periods: int = 1
    reps: tuple[str, ...] = ()
    pipeline: str | None = None
    compare_at: date | None = None
    credentials: Path | None = None  # Google credentials JSON for gsheet: input
    preset: str | None = None  # --preset: overrides the config's preset
    deal_ids: bool = False  # --deals: each figure that counts deals lists them
    deal_list: bool = False  # the deals behind the period's figures (a workbook's Deals sheet, a mail's top deals)


def load(data: str | None, config_path: Path | None, pipeline: str | None = None,
         credentials: Path | None = None, preset: str | None = None) -> tuple[Config, Facts]:
    config = load_config(find_config(config_path, data=data))
    check_targets(config)
    if preset is not None:
        config = replace(config, preset=preset_named(preset).name)
    return config, build_facts(load_dataset(data, config, pipeline, credentials), config)


def run(request: ReportRequest, progress=None) -> Report:
    return run_with_config(request, progress)[1]


def run_with_config(request: ReportRequest, progress=None) -> tuple[Config, Report]:
    config, facts = load(request.data, request.config, request.pipeline, request.credentials, request.preset)
    period, to_date = choose_period(request, config, facts)
    if request.report == "team":
        report = build_team_report(facts, config, period, since=request.since, reps=request.reps,
                                   compare_at=request.compare_at)
    else:
        report = build_report(request.report, facts, config, period, periods=request.periods,
                              since=request.since, reps=request.reps, progress=progress,
                              deal_ids=request.deal_ids, deal_list=request.deal_list)
    report.findings = findings_for(facts, period.end, future=False)
    emails = facts.reps.loc[facts.reps["email"].fillna("") != "", ["name", "email"]]
    report.rep_emails = dict(zip(emails["name"], emails["email"], strict=True))
    report.generated_at = datetime.now(config.tz).strftime("%Y-%m-%d %H:%M %Z")
    report.to_date = to_date
    if request.period is None and facts.date_range and facts.date_range[1] < today(config) - timedelta(days=1):
        report.warnings.append(
            f"The data ends on {facts.date_range[1]}: without a period option the report is the last complete "
            f"{'day' if period.kind == 'day' else period.kind} of the data ({period.label}), not the last one "
            "before today. Export newer data, or name the period.")
    return config, report


def choose_period(request: ReportRequest, config: Config, facts: Facts) -> tuple[Period, tuple[int, int] | None]:
    """The period asked for (by default the last complete one of the data, when the data ends before
    yesterday), refused when the data has none of it; and (working days covered, of) when the data ends
    inside it."""
    span = facts.date_range
    as_of = span[1] + timedelta(days=1) if span and request.period is None else None
    if as_of is not None and as_of >= today(config):
        as_of = None
    period = PERIOD_PARSERS[request.report](request.period, config, as_of=as_of)
    if span is None:
        return period, None
    first, last = span
    if period.start > last or period.end < first:
        raise InputError(
            f"The data runs from {first} to {last}; the {period.kind} {period.label} ({period.start} – "
            f"{period.end}) has none of it. Choose a period within that range, or export newer data.")
    if period.kind != "day" and last < period.end:
        covered = working_days(Period(period.kind, period.label, period.start, last), config)
        return period, (covered, working_days(period, config))
    return period, None
