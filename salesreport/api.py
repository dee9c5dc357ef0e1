"""The one-way flow behind every command: config → tables → funnel facts → Report."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path

from .config import Config, find_config, load_config
from .engine.funnel import Facts, build_facts
from .engine.quality import findings_for
from .engine.registry import check_targets
from .model import Report
from .periods import parse_day, parse_month, parse_week
from .report.build import build_report
from .report.team import build_team_report
from .sources.canonical import load_dataset
from .sources.presets import preset_named

PERIOD_PARSERS = {"monthly": parse_month, "weekly": parse_week, "daily": parse_day, "team": parse_month}


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
    period = PERIOD_PARSERS[request.report](request.period, config)
    if request.report == "team":
        report = build_team_report(facts, config, period, since=request.since, reps=request.reps,
                                   compare_at=request.compare_at)
    else:
        report = build_report(request.report, facts, config, period, periods=request.periods,
                              since=request.since, reps=request.reps, progress=progress)
    report.findings = findings_for(facts, period.end)
    emails = facts.reps.loc[facts.reps["email"].fillna("") != "", ["name", "email"]]
    report.rep_emails = dict(zip(emails["name"], emails["email"], strict=True))
    report.generated_at = datetime.now(config.tz).strftime("%Y-%m-%d %H:%M %Z")
    return config, report
