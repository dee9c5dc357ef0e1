"""The one-way flow behind every command — config → tables → funnel facts → Report — and the Python API the
CLI is a thin layer over:

    import salesreport
    r = salesreport.weekly(data="sample_data", week="2026-W46")
    r.to_pandas()          # tidy: one row per metric × period × rep
    r.to_dict()            # the JSON contract
    r.write("weekly.xlsx")  # any format the CLI writes, by the suffix
    tables = salesreport.load(data="sample_data")  # the canonical tables, for a notebook
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from .config import Config, find_config, load_config
from .engine.funnel import Facts, build_facts
from .engine.quality import findings_for
from .engine.registry import check_targets
from .errors import ConfigError, InputError, UsageError
from .model import Period
from .model import Report as _Report
from .periods import parse_day, parse_month, parse_quarter, parse_week, today, working_days
from .report.build import build_report
from .report.team import build_team_report
from .sources.canonical import load_dataset
from .sources.presets import preset_named

if TYPE_CHECKING:
    import pandas as pd

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
    engine: str | None = None  # --engine: overrides [engine] backend


def load_facts(data: str | None, config_path: Path | None, pipeline: str | None = None,
               credentials: Path | None = None, preset: str | None = None,
               engine: str | None = None) -> tuple[Config, Facts]:
    config = load_config(find_config(config_path, data=data))
    check_targets(config)
    if preset is not None:
        config = replace(config, preset=preset_named(preset).name)
    if engine is not None:
        config = replace(config, backend=engine)
    if config.backend == "pyspark":  # the canonical tables where Spark reads them; the engine's SQL on Spark
        from .sources.spark import load_spark_dataset

        return config, build_facts(load_spark_dataset(data, config, pipeline), config)
    if config.backend == "postgres":  # the canonical tables in a Postgres schema; the engine's SQL on the server
        from .sources.postgres import load_postgres_dataset

        if data is not None:
            raise ConfigError(f'--data {data}: with [engine] backend = "postgres" the tables are read from the '
                              "server ([engine] postgres, and the schema in [engine] database); leave --data out.")
        return config, build_facts(load_postgres_dataset(config, pipeline), config)
    return config, build_facts(load_dataset(data, config, pipeline, credentials), config)


def run(request: ReportRequest, progress=None) -> _Report:
    return run_with_config(request, progress)[1]


def run_with_config(request: ReportRequest, progress=None) -> tuple[Config, _Report]:
    config, facts = load_facts(request.data, request.config, request.pipeline, request.credentials, request.preset,
                               request.engine)
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


# --- rendering: the formats the CLI writes, by name --------------------------------------------------------

FORMATS = ("table", "json", "csv", "md", "xlsx", "html")
SUFFIX_FORMATS = {".json": "json", ".csv": "csv", ".md": "md", ".txt": "table", ".xlsx": "xlsx", ".html": "html",
                  ".htm": "html"}
# each file format's renderer as "module:function" under salesreport.outputs, imported only when used (a JSON
# daily report does not load openpyxl); the terminal table and the HTML (restylable) are drawn apart
RENDERERS: dict[str, str] = {
    "json": "json:render_json", "csv": "tabular:render_csv", "md": "tabular:render_markdown",
    "xlsx": "xlsx:workbook_bytes", "html": "html:render_html",
}


def render(report: _Report, format: str, templates: Path | None = None, width: int = 80) -> str | bytes:
    """The report in one of FORMATS: text, or the workbook's bytes for xlsx; `templates` restyles the HTML
    ([report] templates), `width` is the terminal table's."""
    if format == "html":
        from .outputs.html import environment, render_html

        return render_html(report, environment(templates))
    if format == "table":
        from rich.console import Console

        from .outputs.terminal import render_terminal

        console = Console(record=True, width=width, file=_Null(), color_system=None)
        render_terminal(report, console)
        return console.export_text()
    if format not in RENDERERS:
        raise UsageError(f'format "{format}" is not one of {", ".join(FORMATS)}.')
    module, function = RENDERERS[format].split(":")
    return getattr(importlib.import_module(f"salesreport.outputs.{module}"), function)(report)


class _Null:
    def write(self, _text: str) -> int:
        return 0

    def flush(self) -> None:
        pass


# --- the Python API ---------------------------------------------------------------------------------------

@dataclass
class Report(_Report):
    """A report as the Python API returns it: the Report, and ways to take it elsewhere."""

    templates: Path | None = None  # [report] templates of its config, for the HTML

    def to_dict(self) -> dict:
        """The JSON contract (SPEC §8) as a dict."""
        from .outputs.json import report_dict

        return report_dict(self)

    def to_pandas(self) -> pd.DataFrame:
        """Tidy: one row per metric × period × rep (the team's rows have an empty rep), as the CSV output."""
        import pandas as pd

        from .outputs.tabular import CSV_COLUMNS, long_rows

        return pd.DataFrame(long_rows(self), columns=list(CSV_COLUMNS))

    def write(self, path: str | Path, format: str | None = None, *, force: bool = False) -> Path:
        """Write the report to `path` atomically, in `format` or the one its suffix names (.xlsx, .json, .csv,
        .md, .html, .txt); a read-only file is replaced only with `force`. Returns the path."""
        from .outputs.files import write_atomic

        path = Path(path)
        format = format or SUFFIX_FORMATS.get(path.suffix.lower())
        if format is None:
            raise UsageError(f"{path}: say which format to write (format=...), or end the name in "
                             f"{', '.join(sorted(SUFFIX_FORMATS))}.")
        write_atomic(path, render(self, format, self.templates), replace_read_only=force)
        return path

    def _repr_html_(self) -> str:  # a notebook shows the report as its HTML
        return str(render(self, "html", self.templates))


def _report(name: str, period: str | None, data: str | Path | None, config: str | Path | None,
            since: date | str | None, periods: int, reps, pipeline: str | None, preset: str | None,
            credentials: str | Path | None, deals: bool, compare_at: date | str | None = None,
            engine: str | None = None) -> Report:
    request = ReportRequest(
        report=name, period=period, data=None if data is None else str(data),
        config=None if config is None else Path(config), since=_day(since, "since"), periods=periods,
        reps=(reps,) if isinstance(reps, str) else tuple(reps or ()), pipeline=pipeline,
        compare_at=_day(compare_at, "compare_at"), credentials=None if credentials is None else Path(credentials),
        preset=preset, deal_ids=deals, deal_list=name != "team", engine=engine)
    settings, report = run_with_config(request)
    return Report(**{f.name: getattr(report, f.name) for f in fields(_Report)}, templates=settings.templates)


def _day(value: date | str | None, name: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f'{name}="{value}" is not a date; use YYYY-MM-DD, like 2026-01-01.') from None


def monthly(data: str | Path | None = None, month: str | None = None, *, config: str | Path | None = None,
            since: date | str | None = None, periods: int = 1, reps: str | list[str] | None = None,
            pipeline: str | None = None, preset: str | None = None, credentials: str | Path | None = None,
            deals: bool = False, engine: str | None = None) -> Report:
    """The monthly report (`month` "2026-10"; default the last complete month), as `salesreport monthly`."""
    return _report("monthly", month, data, config, since, periods, reps, pipeline, preset, credentials, deals, engine=engine)


def quarterly(data: str | Path | None = None, quarter: str | None = None, *, config: str | Path | None = None,
              since: date | str | None = None, periods: int = 1, reps: str | list[str] | None = None,
              pipeline: str | None = None, preset: str | None = None, credentials: str | Path | None = None,
              deals: bool = False, engine: str | None = None) -> Report:
    """The quarterly report (`quarter` "2026-Q3" or "FY2027-Q1"; default the last complete quarter)."""
    return _report("quarterly", quarter, data, config, since, periods, reps, pipeline, preset, credentials, deals, engine=engine)


def weekly(data: str | Path | None = None, week: str | None = None, *, config: str | Path | None = None,
           since: date | str | None = None, periods: int = 1, reps: str | list[str] | None = None,
           pipeline: str | None = None, preset: str | None = None, credentials: str | Path | None = None,
           deals: bool = False, engine: str | None = None) -> Report:
    """The weekly report (`week` "2026-W46"; default the last complete ISO week)."""
    return _report("weekly", week, data, config, since, periods, reps, pipeline, preset, credentials, deals, engine=engine)


def daily(data: str | Path | None = None, date: str | None = None, *, config: str | Path | None = None,
          since: date | str | None = None, periods: int = 1, reps: str | list[str] | None = None,
          pipeline: str | None = None, preset: str | None = None, credentials: str | Path | None = None,
          deals: bool = False, engine: str | None = None) -> Report:
    """The daily report (`date` "2026-11-18" or "today"; default yesterday)."""
    return _report("daily", date, data, config, since, periods, reps, pipeline, preset, credentials, deals, engine=engine)


def team(data: str | Path | None = None, month: str | None = None, *, config: str | Path | None = None,
         since: date | str | None = None, reps: str | list[str] | None = None, pipeline: str | None = None,
         preset: str | None = None, credentials: str | Path | None = None,
         compare_at: date | str | None = None, engine: str | None = None) -> Report:
    """The team and enablement report of a month; `compare_at` gives each figure before and after a date."""
    return _report("team", month, data, config, since, 1, reps, pipeline, preset, credentials, False, compare_at,
                   engine)


def _settings(data: str | Path | None, config: str | Path | None, preset: str | None) -> Config:
    """The config a call names (else the one beside the data, else ./salesreport.toml), with its preset."""
    settings = load_config(find_config(None if config is None else Path(config),
                                       data=None if data is None else str(data)))
    return settings if preset is None else replace(settings, preset=preset_named(preset).name)


@dataclass
class Tables:
    """The canonical tables of a data set as pandas frames, the config's mapping applied: stage names as
    canonical stage ids, amounts in the plan's currency, the activities as their done sales actions. A table
    the data lacks is None."""

    deals: pd.DataFrame
    stage_history: pd.DataFrame | None
    activities: pd.DataFrame | None
    reps: pd.DataFrame | None
    warnings: list[str]


def load(data: str | Path | None = None, *, config: str | Path | None = None, pipeline: str | None = None,
         preset: str | None = None, credentials: str | Path | None = None) -> Tables:
    """Read a data set as a report would (a folder of CSVs, an .xlsx, gsheet:KEY, a CRM export with its preset)
    and return its canonical tables."""
    settings = _settings(data, config, preset)
    ds = load_dataset(None if data is None else str(data), settings, pipeline,
                      None if credentials is None else Path(credentials))
    frames = ds.canonical()
    return Tables(deals=frames["deals"], stage_history=frames.get("stage_history"),
                  activities=frames.get("activities"), reps=frames.get("reps"), warnings=list(ds.warnings))


def convert(data: str | Path | None = None, out: str | Path = "converted", *, config: str | Path | None = None,
            pipeline: str | None = None, preset: str | None = None,
            credentials: str | Path | None = None) -> dict[str, int]:
    """Read `data` once, the config's mapping applied, and write its canonical tables to `out` (a folder of
    Parquet files, or a DuckDB database when the name ends in .duckdb); the rows written per table."""
    from .conversion import convert as write_converted

    settings = _settings(data, config, preset)
    return write_converted(None if data is None else str(data), Path(out), settings, pipeline,
                           None if credentials is None else Path(credentials))
