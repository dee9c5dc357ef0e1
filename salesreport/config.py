"""salesreport.toml → a frozen Config (stages, plan, targets, time zone, sources…)."""

from __future__ import annotations

import codecs
import math
import os
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from difflib import get_close_matches
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from .errors import ConfigError
from .model import ACTION_TYPES, STAGES
from .model import SCHEMA as CANONICAL
from .text import safe_line

CONFIG_NAME = "salesreport.toml"
TABLES = ("deals", "stage_history", "activities", "reps")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FORECAST_METHODS = ("stage-weighted", "run-rate")
REPORTS = ("monthly", "quarterly", "weekly", "daily", "team")
BACKENDS = ("duckdb", "pyspark", "postgres")  # [engine] backend
# the CRM presets (sources/presets/ declares each; a test keeps the two equal)
PRESET_NAMES = ("hubspot", "pipedrive", "salesforce", "amocrm", "bitrix24", "zoho")
MEMORY_LIMIT = re.compile(r"(\d+(?:\.\d+)?)\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB|%)", re.IGNORECASE)


def _section(name: str, keys: tuple[str, ...], **tables: Any) -> type[msgspec.Struct]:
    """The schema of a config section: its known keys (values are checked where they are read, with
    messages of their own) and its sub-tables; any other key is an error (forbid_unknown_fields)."""
    fields = [(key.replace("from", "from_") if key == "from" else key, Any,
               msgspec.field(default=None, name=key)) for key in keys]
    fields += [(key, schema | None, None) for key, schema in tables.items()]
    return msgspec.defstruct(name, fields, forbid_unknown_fields=True)


# salesreport.toml's layout: every section and key a user may write (free-form tables are dicts)
SCHEMA = _section(
    "salesreport.toml", ("preset",),
    sources=_section("sources", (*TABLES, "spreadsheet"), worksheets=dict[str, Any]),
    report=_section("report", ("timezone", "week_start", "working_days", "templates", "holidays", "cohort_start",
                               "fiscal_year_start")),
    plan=_section("plan", ("annual", "monthly", "currency"), rates=dict[str, Any]),
    funnel=_section("funnel", ("lost",), stages=dict[str, Any]),
    columns=_section("columns", (), **{table: _section(f"columns.{table}", tuple(columns))
                                       for table, columns in CANONICAL.items()}),
    targets=dict[str, Any],
    forecast=_section("forecast", ("method", "history_days", "stage")),
    input=_section("input", ("dayfirst", "encoding", "date_format", "negative_amounts")),
    activity_types=dict[str, Any],
    google=_section("google", ("credentials", "retries", "backoff_seconds"), worksheets=dict[str, Any]),
    smtp=_section("smtp", ("host", "port", "security", "user", "from", "password_file", "subject")),
    engine=_section("engine", ("memory_limit", "temp_directory", "backend", "spark_remote", "postgres", "database")),
)


@dataclass(frozen=True)
class Config:
    """Everything a report needs to know besides the data. Built by `load_config`."""

    base_dir: Path = Path(".")
    path: Path | None = None
    sources: dict[str, Path] = field(default_factory=dict)
    timezone: str = "UTC"
    week_start: str = "monday"
    working_days: tuple[int, ...] = (0, 1, 2, 3, 4)
    holidays: frozenset[date] = frozenset()
    cohort_start: date | None = None
    fiscal_year_start: int = 1  # [report] fiscal_year_start: the month (1–12) the fiscal year starts in
    plan_annual: float | None = None
    plan_monthly: tuple[float, ...] | None = None
    currency: str | None = None
    rates: dict[str, float] = field(default_factory=dict)  # [plan] rates: one unit of a currency in the plan's
    lost_names: tuple[str, ...] = ("Lost", "Closed Lost")
    stage_names: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # stage names found in the data that nothing places on the funnel (set while reading, never by the user)
    unplaced_stages: tuple[str, ...] = ()
    activity_types: dict[str, tuple[str, ...]] = field(default_factory=dict)
    columns: dict[str, dict[str, str]] = field(default_factory=dict)
    targets: dict[str, float | tuple[float, float]] = field(default_factory=dict)
    forecast_method: str = "stage-weighted"
    history_days: int = 365
    forecast_stage: str = "qualified"
    dayfirst: bool | None = None
    encoding: str | None = None  # [input] encoding: skip detection
    date_formats: tuple[str, ...] = ()  # [input] date_format: strftime patterns tried before the built-in ones
    keep_negative_amounts: bool = False  # [input] negative_amounts = "keep" (credit notes count in revenue)
    templates: Path | None = None  # [report] templates: a folder whose templates replace the shipped ones
    memory_limit: str = "50%"  # [engine] memory_limit: DuckDB spills to disk past it ("4GB", or a share of RAM)
    temp_directory: Path | None = None  # [engine] temp_directory: where it spills (default: DuckDB's own)
    backend: str = "duckdb"  # [engine] backend: "duckdb" in process, "pyspark" or "postgres"
    spark_remote: str | None = None  # [engine] spark_remote = "sc://host:15002": a Spark Connect cluster
    postgres: str | None = None  # [engine] postgres = "host=… dbname=…": libpq's connection string, no password
    database: str | None = None  # [engine] database: the Spark database or Postgres schema of the tables
    preset: str | None = None  # a CRM's export layout (sources/presets/)
    smtp: dict[str, Any] = field(default_factory=dict)
    spreadsheet: str | None = None  # [sources] spreadsheet = "gsheet:KEY": read every table from it
    source_worksheets: dict[str, str] = field(default_factory=dict)  # table → worksheet title
    google_credentials: Path | None = None
    report_worksheets: dict[str, str] = field(default_factory=dict)  # report → worksheet title
    google_retries: int = 5
    google_backoff: float = 1.0  # seconds before the first retry; doubles each time

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def revenue_plan(self) -> float | None:
        if self.plan_annual is not None:
            return self.plan_annual
        if self.plan_monthly is not None:
            return float(sum(self.plan_monthly))
        return None


def find_config(explicit: Path | None, cwd: Path | None = None, data: str | None = None) -> Path | None:
    """The config file to use: the explicit one, else ./salesreport.toml, else one in the --data folder."""
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(
                f"{explicit}: no such config file. Check the path given to --config, "
                f"or run without it to use ./{CONFIG_NAME}."
            )
        return explicit
    candidates = [(cwd or Path.cwd()) / CONFIG_NAME]
    if data and not data.startswith("gsheet:"):
        folder = Path(data) if Path(data).is_dir() else Path(data).parent
        candidates.append(folder / CONFIG_NAME)
    return next((c for c in candidates if _is_file(c)), None)


def _is_file(path: Path) -> bool:
    """Whether a config file is there; a folder this user may not search has none it can read (the data
    reader then says what is wrong with the folder)."""
    try:
        return path.is_file()
    except OSError:
        return False


NOT_A_ZONE = 'is not an IANA time zone; use a name like "Europe/Berlin", "America/New_York" or "UTC".'


def is_time_zone(name: str) -> bool:
    """Whether `name` is an IANA time zone this machine knows (tzdata)."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def load_config(path: Path | None) -> Config:
    """Read and validate a config file; None gives the defaults."""
    if path is None:
        return Config()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}). Fix the line it names.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read ({exc}).") from None
    return parse_config(raw, path)


def parse_config(raw: dict[str, Any], path: Path | None = None) -> Config:
    """Validate a parsed TOML document; every error names the key and what it expects."""
    where = str(path) if path else "config"
    preset = raw.get("preset")
    if preset is not None:
        if not isinstance(preset, str) or preset.strip().lower() not in PRESET_NAMES:
            raise ConfigError(f"{where}: preset = {preset!r} is not a preset; use one of {', '.join(PRESET_NAMES)}.")
        preset = preset.strip().lower()
    smtp = raw.get("smtp")
    if isinstance(smtp, dict) and "password" in smtp:
        raise ConfigError(f"{where}: [smtp] password is not read from the config; set SALESREPORT_SMTP_PASSWORD "
                          "or name a file with [smtp] password_file.")
    _check_layout(raw, where)
    base_dir = path.parent if path else Path(".")
    get = _Getter(raw, where)

    sources = {}
    spreadsheet = None
    source_worksheets: dict[str, str] = {}
    for table, value in get.table("sources").items():
        if table == "spreadsheet":
            spreadsheet = get.str_value("sources.spreadsheet", value)
            if not spreadsheet.startswith("gsheet:"):
                raise ConfigError(f'{where}: [sources] spreadsheet must look like "gsheet:KEY" (the key or URL '
                                  "of a Google Sheet).")
            continue
        if table == "worksheets":
            source_worksheets = get.names_for(TABLES, "sources.worksheets", value, "a table")
            continue
        sources[table] = base_dir / get.str_value(f"sources.{table}", value)
    if spreadsheet is not None and sources:
        raise ConfigError(f"{where}: [sources] names both a spreadsheet and files ({', '.join(sources)}); "
                          "keep one of them.")

    report = get.table("report")
    timezone = get.str_value("report.timezone", report.get("timezone", "UTC"))
    if not is_time_zone(timezone):
        raise ConfigError(f"{where}: [report] timezone = {timezone!r} {NOT_A_ZONE}")
    week_start = get.str_value("report.week_start", report.get("week_start", "monday")).lower()
    if week_start not in ("monday", "sunday"):
        raise ConfigError(f'{where}: [report] week_start must be "monday" or "sunday", not {week_start!r}.')
    days = report.get("working_days", list(WEEKDAYS[:5]))
    working_days = []
    for day in get.list_value("report.working_days", days):
        key = str(day).strip().lower()[:3]
        if key not in WEEKDAYS:
            raise ConfigError(
                f"{where}: [report] working_days has {day!r}; use day names like "
                '["mon", "tue", "wed", "thu", "fri"].'
            )
        working_days.append(WEEKDAYS.index(key))
    templates = report.get("templates")
    if templates is not None:
        templates = base_dir / get.str_value("report.templates", templates)
        if not templates.is_dir():
            raise ConfigError(f"{where}: [report] templates = \"{templates}\" is not a folder. Make the folder and "
                              "copy into it the templates you change (report.html.j2, email.txt.j2), or remove the line.")
    holidays = frozenset(
        get.date_value("report.holidays", h) for h in get.list_value("report.holidays", report.get("holidays", []))
    )
    cohort_start = report.get("cohort_start")
    cohort_start = get.date_value("report.cohort_start", cohort_start) if cohort_start is not None else None
    fiscal = report.get("fiscal_year_start", 1)
    if isinstance(fiscal, bool) or not isinstance(fiscal, int) or not 1 <= fiscal <= 12:
        raise ConfigError(f"{where}: [report] fiscal_year_start must be the month the fiscal year starts in, a "
                          f"number from 1 (January, the default) to 12, not {fiscal!r}.")

    plan = get.table("plan")
    annual = plan.get("annual")
    annual = get.number("plan.annual", annual) if annual is not None else None
    monthly = plan.get("monthly")
    if monthly is not None:
        monthly = tuple(get.number("plan.monthly", v) for v in get.list_value("plan.monthly", monthly))
        if len(monthly) != 12:
            raise ConfigError(f"{where}: [plan] monthly needs 12 numbers (the months of the year, from [report] fiscal_year_start: January to December by default), got {len(monthly)}.")
    currency = plan.get("currency")
    currency = get.str_value("plan.currency", currency).strip() if currency is not None else None
    rates = {str(code).strip().upper(): get.number(f"plan.rates.{code}", rate)
             for code, rate in get.table("plan.rates", plan.get("rates", {})).items()}
    if any(rate <= 0 for rate in rates.values()):
        raise ConfigError(f"{where}: [plan] rates must be positive numbers (what one unit of each currency is "
                          "worth in the plan currency).")
    if rates and currency is None:
        raise ConfigError(f'{where}: [plan] rates need [plan] currency, the currency they convert into (e.g. "USD").')

    funnel = get.table("funnel")
    lost_names = tuple(
        get.str_value("funnel.lost", v) for v in get.list_value("funnel.lost", funnel.get("lost", ["Lost", "Closed Lost"]))
    )
    stage_names = get.name_lists("funnel.stages", funnel.get("stages", {}), STAGES, "a canonical stage")
    activity_types = get.name_lists("activity_types", raw.get("activity_types", {}), ACTION_TYPES,
                                    "a sales-action type")

    columns = {}
    for table, mapping in get.table("columns").items():
        mapping = get.table(f"columns.{table}", mapping)
        columns[table] = {k: get.str_value(f"columns.{table}.{k}", v) for k, v in mapping.items()}

    targets: dict[str, float | tuple[float, float]] = {}
    for metric_id, value in get.table("targets").items():
        if isinstance(value, list):
            if len(value) != 2:
                raise ConfigError(f"{where}: [targets] {metric_id} range needs two numbers, like [75, 150].")
            targets[metric_id] = (get.number(f"targets.{metric_id}", value[0]), get.number(f"targets.{metric_id}", value[1]))
        else:
            targets[metric_id] = get.number(f"targets.{metric_id}", value)

    forecast = get.table("forecast")
    method = get.str_value("forecast.method", forecast.get("method", "stage-weighted"))
    if method not in FORECAST_METHODS:
        raise ConfigError(f"{where}: [forecast] method must be one of {', '.join(FORECAST_METHODS)}, not {method!r}.")
    history_days = int(get.number("forecast.history_days", forecast.get("history_days", 365)))
    if history_days < 1:
        raise ConfigError(f"{where}: [forecast] history_days must be a positive number of days.")
    forecast_stage = get.str_value("forecast.stage", forecast.get("stage", "qualified"))
    if forecast_stage not in STAGES or forecast_stage == "signed":
        raise ConfigError(f"{where}: [forecast] stage must be an open canonical stage, like \"qualified\".")

    dayfirst = get.table("input").get("dayfirst")
    if dayfirst is not None and not isinstance(dayfirst, bool):
        raise ConfigError(f"{where}: [input] dayfirst must be true or false.")
    encoding = get.table("input").get("encoding")
    if encoding is not None:
        encoding = get.str_value("input.encoding", encoding)
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ConfigError(f'{where}: [input] encoding = "{encoding}" is not an encoding Python knows; use a '
                              'name like "utf-8", "cp1252", "iso-8859-1", "cp1251" or "utf-16".') from None

    date_format = get.table("input").get("date_format", [])
    date_formats = (date_format,) if isinstance(date_format, str) else date_format
    if not isinstance(date_formats, list | tuple) or not all(isinstance(f, str) and "%" in f for f in date_formats):
        raise ConfigError(f'{where}: [input] date_format must be a strftime pattern such as "%d %b, %Y %H:%M:%S", '
                          "or a list of them.")
    negative = get.table("input").get("negative_amounts", "drop")
    if negative not in ("drop", "keep"):
        raise ConfigError(f'{where}: [input] negative_amounts must be "drop" (the default: credit notes are '
                          'listed and left out of revenue) or "keep".')

    engine = get.table("engine")
    memory_limit = get.str_value("engine.memory_limit", engine.get("memory_limit", "50%")).strip()
    if not MEMORY_LIMIT.fullmatch(memory_limit) or (memory_limit.endswith("%") and not
                                                     0 < float(memory_limit[:-1]) <= 100):
        raise ConfigError(f'{where}: [engine] memory_limit = "{memory_limit}" is not a size; use one like "4GB", '
                          '"512MB" or a share of this machine\'s memory like "50%".')
    temp_directory = engine.get("temp_directory")
    if temp_directory is not None:
        temp_directory = base_dir / get.str_value("engine.temp_directory", temp_directory)
    backend = get.str_value("engine.backend", engine.get("backend", "duckdb")).strip().lower()
    if backend not in BACKENDS:
        raise ConfigError(f'{where}: [engine] backend = "{safe_line(backend, 40)}" is not one of '
                          f'{", ".join(BACKENDS)}{closest(backend, BACKENDS)}.')
    spark_remote = engine.get("spark_remote")
    spark_remote = None if spark_remote is None else get.str_value("engine.spark_remote", spark_remote).strip()
    postgres = engine.get("postgres")
    postgres = None if postgres is None else get.str_value("engine.postgres", postgres).strip()
    database = engine.get("database")
    database = None if database is None else get.str_value("engine.database", database).strip()
    if database is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?", database):
        raise ConfigError(f'{where}: [engine] database = "{safe_line(database, 60)}" is not a database name; use '
                          'letters, digits and _ (catalog.database at most).')

    smtp = get.table("smtp")
    google = get.table("google")
    credentials = google.get("credentials")
    credentials = base_dir / get.str_value("google.credentials", credentials) if credentials is not None else None
    report_worksheets = get.names_for(REPORTS, "google.worksheets", google.get("worksheets", {}), "a report")
    retries = int(get.number("google.retries", google.get("retries", 5)))
    backoff = get.number("google.backoff_seconds", google.get("backoff_seconds", 1.0))
    if not 0 <= retries <= 10 or not 0 <= backoff <= 60:
        raise ConfigError(f"{where}: [google] retries must be 0-10 and backoff_seconds 0-60.")

    return Config(
        base_dir=base_dir, path=path, sources=sources, timezone=timezone, week_start=week_start,
        working_days=tuple(sorted(set(working_days))), holidays=holidays, cohort_start=cohort_start,
        fiscal_year_start=fiscal,
        plan_annual=annual, plan_monthly=monthly, currency=currency, rates=rates, lost_names=lost_names,
        stage_names=stage_names, activity_types=activity_types, columns=columns, targets=targets,
        forecast_method=method, history_days=history_days, forecast_stage=forecast_stage,
        dayfirst=dayfirst, encoding=encoding, date_formats=tuple(date_formats),
        keep_negative_amounts=negative == "keep", templates=templates, memory_limit=memory_limit,
        temp_directory=temp_directory, backend=backend, spark_remote=spark_remote, postgres=postgres, database=database, preset=preset, smtp=dict(smtp), spreadsheet=spreadsheet, source_worksheets=source_worksheets,
        google_credentials=credentials, report_worksheets=report_worksheets, google_retries=retries,
        google_backoff=backoff,
    )


def closest(word: str, known: Iterable[str]) -> str:
    """' (did you mean X?)' with the known word closest to a mistyped one, or '' when none is close."""
    close = get_close_matches(word, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def _check_layout(raw: dict[str, Any], where: str) -> None:
    """Every section and key of the document is one SCHEMA knows, and every section is a table: an unknown
    key is named with the closest known one (a typo would otherwise be ignored, the report silently wrong)."""
    try:
        msgspec.convert(raw, SCHEMA)
    except msgspec.ValidationError as exc:
        found = re.fullmatch(r"Object contains unknown field `(.*?)`(?: - at `\$(.*)`)?", str(exc))
        if found is None:  # a section that is not a table ("Expected `object`, got `int` - at `$.report`")
            path = re.search(r"at `\$\.?(.*)`", str(exc))
            raise ConfigError(f"{where}: [{path.group(1) if path else '?'}] must be a table of key = value lines."
                              ) from None
        key, path = safe_line(found.group(1), 60), (found.group(2) or "").lstrip(".")
        schema: Any = SCHEMA
        for part in path.split(".") if path else ():
            schema = next(f.type for f in msgspec.structs.fields(schema) if f.encode_name == part)
            schema = next(t for t in getattr(schema, "__args__", (schema,)) if t is not type(None))
        known = sorted(f.encode_name for f in msgspec.structs.fields(schema))
        hint = closest(found.group(1), known)
        if not path:
            raise ConfigError(f"{where}: unknown section {key}{hint}. Known sections are: {', '.join(known)}."
                              ) from None
        raise ConfigError(f"{where}: [{path}] has unknown key(s) {key}{hint}; known: {', '.join(known)}. "
                          "Correct or remove the line.") from None


class _Getter:
    """Typed access to a TOML document with errors that name the key."""

    def __init__(self, raw: dict[str, Any], where: str):
        self.raw = raw
        self.where = where

    def table(self, key: str, value: Any = None) -> dict[str, Any]:
        value = self.raw.get(key, {}) if value is None else value
        if not isinstance(value, dict):
            raise ConfigError(f"{self.where}: [{key}] must be a table of key = value lines.")
        return value

    def str_value(self, key: str, value: Any) -> str:
        if not isinstance(value, str):
            raise ConfigError(f"{self.where}: {key} must be a quoted string, not {value!r}.")
        return value

    def list_value(self, key: str, value: Any) -> list[Any]:
        if not isinstance(value, list):
            raise ConfigError(f"{self.where}: {key} must be a list, like [\"a\", \"b\"].")
        return value

    def name_lists(self, key: str, value: Any, allowed: tuple[str, ...], what: str) -> dict[str, tuple[str, ...]]:
        """A table of `id = "Name"` or `id = ["Name", ...]` whose ids must be in `allowed`."""
        out = {}
        for item, names in self.table(key, value).items():
            if item not in allowed:
                raise ConfigError(f"{self.where}: [{key}] {safe_line(item, 60)} is not {what}{closest(item, allowed)}; "
                                  f"use one of {', '.join(allowed)}.")
            names = [names] if isinstance(names, str) else self.list_value(f"{key}.{item}", names)
            out[item] = tuple(self.str_value(f"{key}.{item}", n) for n in names)
        return out

    def names_for(self, allowed: tuple[str, ...], key: str, value: Any, what: str) -> dict[str, str]:
        """A table of `id = "Name"` whose ids must be in `allowed`."""
        out = {}
        for item, name in self.table(key, value).items():
            if item not in allowed:
                raise ConfigError(f"{self.where}: [{key}] {safe_line(item, 60)} is not {what}{closest(item, allowed)}; "
                                  f"use one of {', '.join(allowed)}.")
            out[item] = self.str_value(f"{key}.{item}", name)
        return out

    def number(self, key: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ConfigError(f"{self.where}: {key} must be a number, not {value!r}.")
        return float(value)

    def date_value(self, key: str, value: Any) -> date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise ConfigError(f"{self.where}: {key} must be a date like 2026-01-01, not {value!r}.") from None


def memory_limit_for_duckdb(config: Config) -> str:
    """[engine] memory_limit as DuckDB takes it: a size as written, a share of this machine's memory in MB."""
    if not config.memory_limit.endswith("%"):
        return config.memory_limit
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # no sysconf (Windows): let DuckDB choose its own default
        return "80%"
    return f"{int(total * float(config.memory_limit[:-1]) / 100 / 2**20)}MB"
