"""Typer commands: parse options → load → build report → render. No metric code here."""

from __future__ import annotations

import signal
import sys
import traceback
from dataclasses import dataclass
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn

from . import __version__, api
from .api import ReportRequest, run_with_config
from .config import BACKENDS
from .errors import ConfigError, DeliveryError, SalesReportError, UsageError
from .outputs.files import write_atomic
from .text import is_address, safe_line, safe_text

app = typer.Typer(
    pretty_exceptions_enable=False,  # never print locals: rows are customer data
    no_args_is_help=True,
    rich_markup_mode=None,
    help="Monthly, weekly and daily B2B sales reports from CRM exports.\n\n"
    "Example: salesreport weekly --data sample_data --week 2026-W46",
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 80},
)


class Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    md = "md"
    xlsx = "xlsx"
    html = "html"


class CheckFormat(str, Enum):
    table = "table"
    json = "json"


SUFFIX_FORMATS = {suffix: Format(name) for suffix, name in api.SUFFIX_FORMATS.items()}
DEAL_TABLE_REPORTS = ("monthly", "quarterly")  # whose HTML and mail list the top stuck and forecast deals
XLSX_PERIODS = {"monthly": 12, "quarterly": 8, "weekly": 8, "daily": 10, "team": 1}

def _sheet_url(value: str | None) -> str | None:
    """A Google Sheet's whole address works where gsheet:KEY_OR_URL does."""
    if value is not None and value.startswith(("https://docs.google.com/spreadsheets/", "docs.google.com/spreadsheets/")):
        return "gsheet:" + value
    return value


DataOpt = Annotated[str | None, typer.Option("--data", metavar="PATH", callback=_sheet_url, help="Folder of CSVs, a .xlsx, one deals CSV, or gsheet:KEY_OR_URL. Default: [sources] of the config.")]
PresetOpt = Annotated[str | None, typer.Option("--preset", metavar="NAME", help="The CRM whose export files --data holds: hubspot, pipedrive, salesforce, amocrm, bitrix24 or zoho. Default: preset in the config.")]
ToOpt = Annotated[str | None, typer.Option("--to", metavar="gsheet:KEY", callback=_sheet_url, help="gsheet:KEY_OR_URL, or the sheet's https:// address: replace the report's worksheets in this Google Sheet.")]
CredentialsOpt = Annotated[Path | None, typer.Option("--credentials", metavar="FILE", help="Google service-account or authorized-user JSON. Default: [google] credentials, else GOOGLE_APPLICATION_CREDENTIALS.")]
ConfigOpt = Annotated[Path | None, typer.Option("--config", metavar="FILE", help="Config file. Default: ./salesreport.toml.")]
SinceOpt = Annotated[str | None, typer.Option("--since", metavar="YYYY-MM-DD", help="Cohort start YYYY-MM-DD (default: the start of the period's fiscal year, 1 January unless [report] fiscal_year_start).")]
PeriodsOpt = Annotated[int | None, typer.Option("--periods", min=1, max=60, metavar="N", help="Show N consecutive periods ending at the chosen one (xlsx default: 12 months, 8 quarters, 8 weeks, 10 days).")]
RepOpt = Annotated[list[str] | None, typer.Option("--rep", metavar="NAME", help="Only this rep in the per-rep tables (repeatable).")]
PipelineOpt = Annotated[str | None, typer.Option("--pipeline", metavar="NAME", help="Only deals of this pipeline.")]
FormatOpt = Annotated[Format | None, typer.Option("--format", help="table, json, csv, md, xlsx or html. Default: table, or from --out's suffix.")]
OutOpt = Annotated[Path | None, typer.Option("--out", metavar="FILE", help="Write to this file (atomically) instead of stdout.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Let --out replace a read-only file.")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", help="Show the traceback of an error.")]
def _addresses(values: list[str] | None) -> list[str] | None:
    """--email takes one plain address each time (a list or a line break could add recipients or headers)."""
    for value in values or []:
        if not is_address(value.strip()):
            raise typer.BadParameter(f'"{safe_line(value, 80)}" is not one e-mail address; give each with its '
                                     "own --email, like --email anna@example.com.")
    return [v.strip() for v in values] if values else values


EmailOpt = Annotated[list[str] | None, typer.Option("--email", callback=_addresses, metavar="ADDRESS", help="Mail the report to this address (repeatable). SMTP from [smtp] and SALESREPORT_SMTP_*.")]
PerRepOpt = Annotated[bool, typer.Option("--per-rep", help="Also mail each rep their own figures (address from the email column of reps).")]
class Attachment(str, Enum):
    xlsx = "xlsx"


AttachOpt = Annotated[Attachment | None, typer.Option("--attach", help="xlsx: attach the report's workbook to the mail.")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Show the mail(s) instead of sending: headers and the text part as read.")]
DryRunDirOpt = Annotated[Path | None, typer.Option("--dry-run-dir", metavar="DIR", file_okay=False, help="With --dry-run (implied): also write each mail's HTML part (and attachment) into DIR, to open in a browser.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No warnings or progress on stderr (errors still show).")]
Engine = Enum("Engine", {backend: backend for backend in BACKENDS}, type=str)  # [engine] backend's choices


EngineOpt = Annotated[Engine | None, typer.Option("--engine", help="duckdb (in process), pyspark (Spark: --data is a folder of Parquet files salesreport convert wrote, or [engine] database) or postgres (the tables of [engine] database on the server [engine] postgres names; no --data). Default: [engine] backend.")]
DealsOpt = Annotated[bool, typer.Option("--deals", help="JSON: list the deals behind each figure that counts deals (deal_ids, the first 1,000).")]
WarningsInMailOpt = Annotated[bool, typer.Option("--warnings-in-mail", help="Also put the data warnings into the mails (by default they go to stderr, the cron log, only).")]


@dataclass(frozen=True)
class Delivery:
    """Where a report goes besides stdout: a Google Sheet; and whether --out may replace a read-only file."""

    to: str | None = None
    credentials: Path | None = None
    force: bool = False


@dataclass(frozen=True)
class Mailing:
    emails: tuple[str, ...] = ()
    per_rep: bool = False
    attach: Attachment | None = None
    dry_run: bool = False
    quiet: bool = False
    warnings_in_mail: bool = False
    dry_run_dir: Path | None = None


def _fail(exc: SalesReportError, verbose: bool) -> None:
    if verbose:  # the traceback, then the same message and exit code as without --verbose
        traceback.print_exception(exc, file=sys.stderr)
    Console(stderr=True, highlight=False, soft_wrap=True).print(f"Error: {safe_text(exc)}", style="red", markup=False)
    raise typer.Exit(exc.exit_code)


def _since(text: str | None, option: str = "--since") -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f'{option} "{text}" is not a date; use YYYY-MM-DD, like 2026-01-01.') from None


def _report_command(report: str, period: str | None, data, config, since, periods, rep, pipeline, fmt, out,
                    verbose, compare_at: str | None = None, mailing: Mailing = Mailing(),
                    delivery: Delivery = Delivery(), preset: str | None = None, deals: bool = False,
                    engine: str | None = None) -> None:
    err = Console(stderr=True, highlight=False, quiet=mailing.quiet)
    try:
        format_given = fmt
        fmt = fmt or (SUFFIX_FORMATS.get(out.suffix.lower(), Format.table) if out else Format.table)
        if fmt is Format.xlsx and out is None:
            raise ConfigError("--format xlsx needs --out FILE.xlsx: a workbook cannot be printed to the terminal.")
        if delivery.to is not None and not delivery.to.startswith("gsheet:"):
            raise ConfigError(f'--to "{delivery.to}" is not a Google Sheet; use --to gsheet:KEY (the part of the '
                              "sheet's URL between /d/ and /edit), or --out FILE for a file.")
        trend = fmt is Format.xlsx or delivery.to is not None
        periods = periods or (XLSX_PERIODS[report] if trend else 1)
        request = ReportRequest(report=report, period=period, data=data, config=config, since=_since(since),
                                periods=periods, reps=tuple(rep or ()), pipeline=pipeline,
                                compare_at=_since(compare_at, "--compare-at"), credentials=delivery.credentials,
                                preset=preset, deal_ids=deals, engine=engine,
                                # the workbook's Deals sheet, the HTML's and the mail's top deals
                                deal_list=fmt is Format.xlsx or mailing.attach is Attachment.xlsx or (
                                    report in DEAL_TABLE_REPORTS
                                    and (fmt is Format.html or bool(mailing.emails or mailing.per_rep))))
        with _progress(err, periods) as advance:
            settings_config, result = run_with_config(request, progress=advance)
        for w in result.warnings:
            err.print(f"Warning: {safe_text(w)}", style="yellow", markup=False)
        if delivery.to is not None:
            _push(result, settings_config, delivery, err)
        if mailing.emails or mailing.per_rep:
            _mail(result, settings_config, mailing, err)
        if (delivery.to is not None or mailing.emails or mailing.per_rep) and out is None and format_given is None:
            return
        text = _render(result, fmt, out, settings_config.templates)
        if out:
            write_atomic(out, text, replace_read_only=delivery.force)
        elif fmt is not Format.table:
            sys.stdout.write(text)
    except SalesReportError as exc:
        _fail(exc, verbose)


def _mail(result, config, mailing: Mailing, err: Console) -> None:
    from .outputs.mail import messages_for, preview, send, smtp_settings

    settings = smtp_settings(config)
    messages, notes = messages_for(result, list(mailing.emails), settings, per_rep=mailing.per_rep,
                                   attach_xlsx=mailing.attach is Attachment.xlsx, templates=config.templates,
                                   warnings=mailing.warnings_in_mail)
    for note in notes:
        err.print(f"Warning: {safe_text(note)}", style="yellow", markup=False)
    if mailing.dry_run or mailing.dry_run_dir is not None:
        if mailing.dry_run_dir is not None:
            try:
                mailing.dry_run_dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DeliveryError(f"--dry-run-dir {mailing.dry_run_dir}: cannot make the folder ({exc.strerror}). "
                                    "Choose a folder you may write to.") from None
        sys.stdout.write(preview(messages, mailing.dry_run_dir) + "\n")
        return
    send(messages, settings)
    err.print(f"Sent {len(messages)} mail(s) via {settings.host}:{settings.port}.", markup=False)


def _push(result, config, delivery: Delivery, err: Console) -> None:
    from .google import spreadsheet_key
    from .outputs.gsheet import push_report

    steps = 5
    if err.is_terminal:
        with Progress(TextColumn("Pushing to Google Sheets"), BarColumn(), console=err, transient=True) as bar:
            task = bar.add_task("push", total=steps)
            titles = push_report(result, delivery.to, config, delivery.credentials, lambda _step: bar.advance(task))
    else:
        titles = push_report(result, delivery.to, config, delivery.credentials)
    key = spreadsheet_key(delivery.to)
    err.print(f"Updated {', '.join(titles)} in https://docs.google.com/spreadsheets/d/{key}", markup=False,
              soft_wrap=True)  # the address stays one clickable line


def _render(result, fmt: Format, out: Path | None, templates: Path | None = None) -> str | bytes:
    """The report as api.render gives it; a table for the terminal is drawn on it, in its width and colours."""
    if fmt is Format.table and out is None:
        from .outputs.terminal import render_terminal

        render_terminal(result, Console())
        return ""
    return api.render(result, fmt.value, templates)


class _progress:
    """A progress bar on a terminal; silent without a TTY (cron)."""

    def __init__(self, console: Console, periods: int):
        self.enabled = console.is_terminal
        self.bar = Progress(TextColumn("Computing"), BarColumn(), console=console, transient=True)
        self.total = periods * 2

    def __enter__(self):
        if not self.enabled:
            return None
        self.bar.start()
        task = self.bar.add_task("report", total=self.total)
        return lambda: self.bar.advance(task)

    def __exit__(self, *exc):
        if self.enabled:
            self.bar.stop()
        return False


def _period_command(report: str, period_option: object, doc: str) -> None:
    """Register the monthly / weekly / daily command: the same options but the period's."""

    def command(
        period=None,
        data: DataOpt = None, config: ConfigOpt = None, since: SinceOpt = None, periods: PeriodsOpt = None,
        rep: RepOpt = None, pipeline: PipelineOpt = None, format: FormatOpt = None, out: OutOpt = None,
        preset: PresetOpt = None, to: ToOpt = None, credentials: CredentialsOpt = None,
        email: EmailOpt = None, per_rep: PerRepOpt = False, attach: AttachOpt = None, dry_run: DryRunOpt = False,
        quiet: QuietOpt = False, verbose: VerboseOpt = False, force: ForceOpt = False,
        warnings_in_mail: WarningsInMailOpt = False,
        dry_run_dir: DryRunDirOpt = None, deals: DealsOpt = False, engine: EngineOpt = None,
    ) -> None:
        _report_command(report, period, data, config, since, periods, rep, pipeline, format, out, verbose,
                        mailing=Mailing(tuple(email or ()), per_rep, attach, dry_run, quiet, warnings_in_mail, dry_run_dir),
                        delivery=Delivery(to, credentials, force), preset=preset, deals=deals,
                        engine=engine.value if engine else None)

    command.__annotations__["period"] = period_option  # --month / --week / --date
    command.__name__ = command.__qualname__ = report
    command.__doc__ = doc
    app.command(report)(command)


_period_command(
    "monthly",
    Annotated[str | None, typer.Option("--month", metavar="YYYY-MM", help="YYYY-MM. Default: the last complete month.")],
    """Revenue vs plan, forecast, conversions, cycle, pipeline health for a month.

    Example: salesreport monthly --data sample_data --month 2026-10 --format json
    """)
_period_command(
    "quarterly",
    Annotated[str | None, typer.Option("--quarter", metavar="YYYY-Qn", help="2026-Q3, or FY2027-Q1 with a fiscal year ([report] fiscal_year_start). Default: the last complete quarter.")],
    """The monthly figures over a (fiscal) quarter: revenue vs the quarter's plan, QoQ growth, lost reasons.

    Example: salesreport quarterly --data sample_data --quarter 2026-Q3 --periods 4
    """)
_period_command(
    "weekly",
    Annotated[str | None, typer.Option("--week", metavar="YYYY-Www", help="YYYY-Www. Default: the last complete ISO week.")],
    """The week's funnel, sales actions per day and pipeline, for the team and per rep.

    Example: salesreport weekly --data sample_data --week 2026-W46 --periods 4

    Example: salesreport weekly --data sample_data --to gsheet:KEY --credentials key.json
    """)
_period_command(
    "daily",
    Annotated[str | None, typer.Option("--date", metavar="YYYY-MM-DD", help='YYYY-MM-DD or "today". Default: yesterday.')],
    """Each rep's sales actions and funnel moves of a day, beside the previous working day.

    Example: salesreport daily --data sample_data --date 2026-11-18 --rep "Anna Petrova"
    """)


@app.command()
def team(
    month: Annotated[str | None, typer.Option("--month", metavar="YYYY-MM", help="YYYY-MM. Default: the last complete month.")] = None,
    compare_at: Annotated[str | None, typer.Option("--compare-at", metavar="YYYY-MM-DD", help="YYYY-MM-DD: each figure before and after this date (an enablement programme's start).")] = None,
    data: DataOpt = None, config: ConfigOpt = None, since: SinceOpt = None,
    rep: RepOpt = None, pipeline: PipelineOpt = None, format: FormatOpt = None, out: OutOpt = None,
    preset: PresetOpt = None, to: ToOpt = None, credentials: CredentialsOpt = None,
    email: EmailOpt = None, per_rep: PerRepOpt = False, attach: AttachOpt = None, dry_run: DryRunOpt = False,
    quiet: QuietOpt = False, verbose: VerboseOpt = False, force: ForceOpt = False,
    warnings_in_mail: WarningsInMailOpt = False,
    dry_run_dir: DryRunDirOpt = None, engine: EngineOpt = None,
) -> None:
    """Ramp (days from hire to first action, demo, deal, quota), quota attainment, win rates per rep.

    Example: salesreport team --data sample_data --month 2026-10 --compare-at 2026-06-01
    """
    _report_command("team", month, data, config, since, 1, rep, pipeline, format, out, verbose, compare_at,
                    Mailing(tuple(email or ()), per_rep, attach, dry_run, quiet, warnings_in_mail, dry_run_dir),
                    Delivery(to, credentials, force),
                    preset, engine=engine.value if engine else None)


@app.command()
def check(
    data: DataOpt = None, config: ConfigOpt = None, pipeline: PipelineOpt = None, preset: PresetOpt = None,
    credentials: CredentialsOpt = None,
    format: Annotated[CheckFormat | None, typer.Option("--format", help="table or json.")] = None,
    verbose: VerboseOpt = False,
) -> None:
    """Validate the inputs and list data-quality findings; exit 1 if any is an error.

    Example: salesreport check --data sample_data
    """
    from .check import render_findings, run_check
    from .model import Finding

    try:
        findings = run_check(data, config, pipeline, credentials, preset)
    except SalesReportError as exc:
        if format is CheckFormat.json:  # a reader of the JSON sees the stopping error as a finding too
            code = "config" if isinstance(exc, ConfigError) else "input"
            render_findings([Finding("error", code, str(exc))], json_output=True, console=Console(highlight=False))
        _fail(exc, verbose)
        return
    render_findings(findings, json_output=format is CheckFormat.json, console=Console(highlight=False))
    if any(f.level == "error" for f in findings):
        raise typer.Exit(1)


@app.command()
def init(
    exports: Annotated[list[Path] | None, typer.Argument(help="The CRM's export file(s) or folder (CSV).", show_default=False, metavar="EXPORT")] = None,
    out: Annotated[Path, typer.Option("--out", metavar="FILE", help="Config file to write.")] = Path("salesreport.toml"),
    force: Annotated[bool, typer.Option("--force", help="Replace --out if it exists.")] = False,
    encoding: Annotated[str | None, typer.Option("--encoding", metavar="NAME", help="The exports' text encoding, if detection picks the wrong one.")] = None,
    timezone: Annotated[str | None, typer.Option("--timezone", metavar="ZONE", help="The sales team's IANA time zone, e.g. America/Mexico_City. Default: this machine's, as a guess.")] = None,
    verbose: VerboseOpt = False,
) -> None:
    """Write a commented starter salesreport.toml from a CRM export: the preset guessed
    from its headers, its stage names placed on the canonical funnel, the team's time
    zone and a placeholder plan.

    Example: salesreport init hubspot-crm-exports-all-deals-2026-11-20.csv --timezone Europe/Berlin
    """
    from .starter import write_starter

    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        starter, problem = write_starter(list(exports or []), out, force, encoding, timezone)
    except SalesReportError as exc:
        _fail(exc, verbose)
        return
    placed = sum(len(names) for names in starter.placed.values()) + len(starter.lost)
    layout = f"preset {starter.preset.name}" if starter.preset else "the canonical layout"
    lines = [f"Wrote {out}: {layout}, time zone {starter.timezone}"
             + (f", {placed} stage name(s) placed" if placed else "")
             + (f", {len(starter.unplaced)} left for you (marked ?)" if starter.unplaced else "") + "."]
    if starter.misfit:
        lines.append(starter.misfit)
    if starter.timezone_guessed:
        lines.append(f"Time zone {starter.timezone} is this machine's, a guess: CRM exports are mostly in UTC and "
                     "the report's days follow [report] timezone. Give the team's with --timezone ZONE, or edit it.")
    lines.append("Next: put your plan in [plan], check [funnel.stages], then run: salesreport check")
    if problem:
        lines.append(f"A report would stop here for now: {problem}")
    err.print("\n".join(lines), markup=False)


@app.command()
def sample(
    out: Annotated[Path, typer.Option("--out", metavar="FOLDER", help="Folder to write the CSVs and salesreport.toml into.")],
    deals: Annotated[int, typer.Option("--deals", min=1, metavar="N", help="How many deals.")] = 3000,
    seed: Annotated[int, typer.Option("--seed", metavar="N", help="Random seed: the same seed gives the same data.")] = 7,
    end: Annotated[str | None, typer.Option("--end", metavar="YYYY-MM-DD", help="Last day of the data, YYYY-MM-DD. Default: today.")] = None,
    verbose: VerboseOpt = False,
) -> None:
    """Generate a realistic demo data set: two years of deals, history, activities and reps.

    Example: salesreport sample --out demo --deals 5000 --seed 1
    """
    from .sample import generate

    try:
        end_day = date.fromisoformat(end) if end else date.today()
    except ValueError:
        _fail(UsageError(f'--end "{end}" is not a date; use YYYY-MM-DD.'), verbose)
        return
    try:
        counts = generate(out, deals=deals, seed=seed, end=end_day)
    except SalesReportError as exc:
        _fail(exc, verbose)
        return
    summary = ", ".join(f"{n:,} {table}" for table, n in counts.items())
    Console(stderr=True, highlight=False).print(f"Wrote {summary} to {out}/", markup=False)


@app.command()
def convert(
    out: Annotated[Path, typer.Option("--out", metavar="FOLDER|FILE.duckdb", help="A folder for the Parquet files, or a DuckDB database file (.duckdb).")],
    data: DataOpt = None, config: ConfigOpt = None, preset: PresetOpt = None, pipeline: PipelineOpt = None,
    credentials: CredentialsOpt = None, verbose: VerboseOpt = False,
) -> None:
    """Read the data once, mapped as the config says, and write its canonical tables as
    Parquet files or a DuckDB database: later reports read them with --data without
    parsing CSV again.

    Example: salesreport convert --data exports --out converted && salesreport weekly --data converted
    """
    try:
        counts = api.convert(data, out, config=config, pipeline=pipeline, preset=preset, credentials=credentials)
    except SalesReportError as exc:
        _fail(exc, verbose)
        return
    what = {"deals": "deals", "stage_history": "stage changes", "activities": "sales actions", "reps": "reps"}
    summary = ", ".join(f"{n:,} {what[table]}" for table, n in counts.items())
    kind = "a DuckDB database" if out.suffix.lower() in (".duckdb", ".db", ".ddb") else "Parquet files"
    Console(stderr=True, highlight=False, soft_wrap=True).print(
        f"Wrote {summary} to {out} ({kind}). Run a report on it with --data {out}.", markup=False)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"salesreport {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")] = False,
) -> None:
    """Monthly, weekly and daily B2B sales reports from CRM exports."""


def _exit_on_signals() -> None:
    """SIGTERM (a cron timeout, kill) unwinds like Ctrl-C: finally-blocks run, so no temp file is left."""
    def stop(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)


def main() -> None:
    _exit_on_signals()
    for stream in (sys.stdout, sys.stderr):  # a terminal or pipe that is not UTF-8: "?" for what it cannot show
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    try:
        app()
    except Exception as exc:
        if "--verbose" in sys.argv:
            raise
        Console(stderr=True, highlight=False, soft_wrap=True).print(
            f"Error: unexpected failure ({type(exc).__name__}). Run the same command with --verbose for "
            "the traceback and report it.", style="red", markup=False)
        sys.exit(1)
