"""`salesreport init`: look at a CRM export and write a commented starter salesreport.toml.

The preset is guessed from the headers; the stage names found in the data go under the canonical stage the
preset maps them to, else the one their words suggest, else are left for the user; the time zone is this
machine's (tzlocal); the plan is a placeholder.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd

from .config import NOT_A_ZONE, is_time_zone, load_config, parse_config
from .errors import InputError, SalesReportError, UsageError
from .model import ACTION_TYPES, STAGES
from .outputs.files import write_atomic
from .sources.canonical import (
    NON_ACTIONS,
    SCHEMA,
    load_dataset,
    read_csv_text,
    read_header,
    read_preset,
)
from .sources.parse import amount_currencies
from .sources.placement import WORDS, guess_by_words, place_stages
from .sources.presets import PRESETS, Preset, guess_preset

ACTIVITY_WORDS: list[tuple[str, tuple[str, ...]]] = [
    ("message", ("message", "mensaje", "sms", "whatsapp", "telegram", "linkedin", "chat", "сообщ")),
    ("email", ("mail", "письм", "correo")),
    ("call", ("call", "звон", "llamad", "phone", "anruf", "dial")),
    ("meeting", ("meeting", "встреч", "reuni", "lunch", "visit", "demo")),
]
# header words that suggest a canonical deals column, for an export no preset knows
COLUMN_WORDS = {
    "deal_id": ("deal_id", "deal id", "id", "opportunity_id", "opportunity id", "record id", "lead id"),
    "created_at": ("created_at", "created", "create date", "created date", "creation date", "date created",
                   "engage_date", "created time", "дата создания"),
    "company": ("company", "account", "organization", "organisation", "client", "компания"),
    "owner": ("owner", "sales_agent", "deal owner", "responsible", "rep", "sales rep", "ответственный"),
    "amount": ("amount", "value", "close_value", "deal value", "budget", "sum", "сумма", "бюджет"),
    "stage": ("stage", "deal_stage", "deal stage", "pipeline stage", "этап", "стадия"),
    "status": ("status",),
    "closed_at": ("closed_at", "close_date", "close date", "closed date", "closing date", "дата закрытия"),
    "lost_reason": ("lost_reason", "lost reason", "loss reason", "reason"),
    "expected_close_date": ("expected_close_date", "expected close date", "expected close"),
    "pipeline": ("pipeline", "воронка"),
    "won": ("iswon", "is won", "won flag"),
    "closed": ("isclosed", "is closed", "closed flag"),
}
# the stem of a canonical column inside a header no rule above names (the last resort of _guess_columns)
COLUMN_STEMS = {"deal_id": r"^(external_?)?id(__c)?$|(deal|opportunity|record)_?id", "created_at": r"created",
                "stage": r"stage", "amount": r"amount", "owner": r"owner", "closed_at": r"close_?date"}
DEALS_SIGNATURE = {"stage_history": {"deal_id", "stage", "entered_at"}, "activities": {"owner", "type", "occurred_at"},
                   "reps": {"name", "role"}}


@dataclass
class Starter:
    """What `init` found in the exports and will write."""

    exports: list[str]
    preset: Preset | None = None
    preset_file: str = ""
    sources: dict[str, str] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)
    placed: dict[str, list[tuple[str, int, str]]] = field(default_factory=dict)  # stage → (name, count, how)
    unplaced: list[tuple[str, int]] = field(default_factory=list)
    lost: list[tuple[str, int]] = field(default_factory=list)
    activity_types: dict[str, list[str]] = field(default_factory=dict)
    activity_unplaced: list[tuple[str, int]] = field(default_factory=list)
    currency: str | None = None
    currencies: list[str] = field(default_factory=list)
    timezone: str = "UTC"
    timezone_guessed: bool = True  # this machine's zone, not one the user gave
    misfit: str = ""  # why the preset the headers suggest could not read the export


def local_timezone() -> str:
    """This machine's IANA time zone (TZ, /etc/localtime …) via tzlocal; UTC when it cannot tell."""
    try:
        import tzlocal

        name = tzlocal.get_localzone_name()
    except Exception:  # noqa: BLE001 - tzlocal raises several kinds on a misconfigured machine
        return "UTC"
    return name if name and "/" in name or name == "UTC" else "UTC"


def _csv_files(paths: list[Path]) -> list[Path]:
    files = []
    for path in paths:
        if not path.exists():
            raise InputError(f"{path}: no such file or folder. Give init the CRM's export file(s) or folder.")
        files.extend(sorted(path.glob("*.csv")) if path.is_dir() else [path])
    if not files:
        raise InputError(f"{', '.join(map(str, paths))}: no CSV file to look at. Export the deals as CSV first.")
    return files


def inspect(paths: list[Path], out_dir: Path, encoding: str | None = None, timezone: str | None = None) -> Starter:
    starter = Starter(exports=[str(p) for p in paths], timezone=timezone or local_timezone(),
                      timezone_guessed=timezone is None)
    if not paths:
        return starter
    files = _csv_files(paths)
    headers = {f: read_header(f, encoding) for f in files}
    guesses = ((guess_preset(h), f) for f, h in headers.items())
    preset, main = next(((p, f) for p, f in guesses if p is not None), (None, files[0]))
    config = parse_config({"input": {"encoding": encoding}} if encoding else {})
    tables = None
    if preset is not None:
        try:
            tables, _ = read_preset(preset, str(main), config, [])
        except InputError as exc:  # the export looks like the CRM's but lacks what the preset needs
            starter.misfit = (f"{main.name} looks like {preset.title.split(' (')[0]}'s export, but the preset "
                              f"cannot read it: {exc} The columns below are guesses: check each.")
    if tables is not None:
        starter.preset, starter.preset_file = preset, main.name
        starter.sources = {"deals": _relative(main, out_dir)}
        history = tables.get("stage_history")
        stages = _names(tables["deals"], "stage", history)
        deals = tables["deals"]
        types = tables["activities"]["type"] if "activities" in tables else None
    else:
        roles = {f: _canonical_role(h) for f, h in headers.items()}
        deals_file = next((f for f, r in roles.items() if r == "deals"), main)
        starter.sources = {"deals": _relative(deals_file, out_dir)} | {
            r: _relative(f, out_dir) for f, r in roles.items() if r and r != "deals"}
        raw = read_csv_text(deals_file, encoding)
        if roles.get(deals_file) != "deals":
            starter.columns = _guess_columns(list(raw.columns))
        deals = raw.rename(columns={v: k for k, v in starter.columns.items() if v})
        by_role = {r: f for f, r in roles.items() if r}
        history = read_csv_text(by_role["stage_history"], encoding) if "stage_history" in by_role else None
        stages = _names(deals, "stage", history)
        types = read_csv_text(by_role["activities"], encoding)["type"] if "activities" in by_role else None
    _place_stages(starter, stages, preset, deals, history)
    if types is not None:
        _place_activity_types(starter, types, preset)
    _currencies(starter, deals)
    return starter


def _relative(path: Path, folder: Path) -> str:
    return Path(os.path.relpath(path.resolve(), folder.resolve())).as_posix()


def _canonical_role(headers: list[str]) -> str | None:
    found = {h.strip().lower() for h in headers}
    if {"deal_id", "created_at"} <= found:
        return "deals"
    return next((t for t, need in DEALS_SIGNATURE.items() if need <= found), None)


def _guess_columns(headers: list[str]) -> dict[str, str]:
    """For each canonical deals column, the export header that most likely holds it ("" when none): a known
    header, else one close to the column's name, else one that contains its stem (External_Id__c, StageName,
    DateTimeCreated__c: a custom export of a CRM's object)."""
    lower = {h.strip().lower(): h for h in headers}
    taken: set[str] = set()
    out = {}
    for column, words in COLUMN_WORDS.items():
        hit = next((lower[w] for w in words if w in lower and lower[w] not in taken), None)
        if hit is None:
            close = difflib.get_close_matches(column, [h for h in lower if lower[h] not in taken], n=1, cutoff=0.75)
            hit = lower[close[0]] if close else ""
        if not hit and column in COLUMN_STEMS:
            hit = next((h for key, h in lower.items() if h not in taken and re.search(COLUMN_STEMS[column], key)), "")
        if hit:
            taken.add(hit)
        out[column] = hit
    return out


def _names(deals: pd.DataFrame, column: str, history: pd.DataFrame | None) -> pd.Series:
    """Stage names with their deal counts (history names too, counted 0 when no deal is in them now)."""
    current = deals[column].fillna("").astype(str).str.strip() if column in deals else pd.Series(dtype=str)
    counts = current[current != ""].value_counts()
    if history is not None and "stage" in history:
        seen = history["stage"].fillna("").astype(str).str.strip()
        extra = pd.Series(0, index=pd.Index(sorted(set(seen[seen != ""]) - set(counts.index))), dtype="int64")
        counts = pd.concat([counts, extra])
    return counts


def _place_stages(starter: Starter, counts: pd.Series, preset: Preset | None, deals: pd.DataFrame,
                  history: pd.DataFrame | None) -> None:
    """The preset's own names first, then what the export says (placement.place_stages), the words last."""
    known = {}
    if preset is not None:
        known = {n.lower(): s for s, names in preset.stage_names.items() for n in names}
        known |= {n.lower(): "lost" for n in preset.lost_names}
    names = [str(n) for n in counts.index if str(n).lower() not in STAGES]  # a canonical id needs no mapping
    where = {n: (known[n.lower()], "preset") for n in names if n.lower() in known}
    for p in place_stages([n for n in names if n not in where], deals, history):
        where[p.name] = (p.stage, p.evidence)
    placed: dict[str, list[tuple[str, int, str]]] = {s: [] for s in STAGES}
    for name in names:  # in the order found: the deals' stages by count, then the history's
        stage, how = where[name]
        count = int(counts[name])
        if stage == "lost":
            starter.lost.append((name, count))
        elif stage is None:
            starter.unplaced.append((name, count))
        else:
            placed[stage].append((name, count, how))
    starter.placed = {s: names for s, names in placed.items() if names}


def _place_activity_types(starter: Starter, types: pd.Series, preset: Preset | None) -> None:
    known = {n.lower(): k for k, names in (preset.activity_names if preset else {}).items() for n in names}
    names = types.fillna("").astype(str).str.strip()
    counts = names.groupby(names.str.lower()).agg(["first", "size"]).sort_values("size", ascending=False)
    for name, count in zip(counts["first"], counts["size"], strict=True):  # one line per name, any case
        if name == "" or name.lower() in ACTION_TYPES or name.lower() in NON_ACTIONS:
            continue
        kind = known.get(name.lower()) or guess_by_words(name, ACTIVITY_WORDS)
        if kind is None:
            starter.activity_unplaced.append((str(name), int(count)))
        else:
            starter.activity_types.setdefault(kind, []).append(name)


def _currencies(starter: Starter, deals: pd.DataFrame) -> None:
    code = deals["currency"].fillna("").astype(str).str.strip().str.upper() if "currency" in deals else None
    if code is None or not (code != "").any():
        code = amount_currencies(deals["amount"]) if "amount" in deals else pd.Series(dtype=str)
    found = code[code != ""].value_counts()
    if len(found):
        starter.currency = str(found.index[0])
        starter.currencies = [str(c) for c in found.index[1:]]


def render(starter: Starter, dayfirst_note: str = "") -> str:
    from .outputs.html import environment

    env = environment()
    env.autoescape = False  # TOML, not HTML: strings are escaped by the toml filter
    env.filters["toml"] = lambda v: json.dumps(str(v), ensure_ascii=False)
    notes = {}
    for stage, names in starter.placed.items():
        guessed = [n for n, _, how in names if how == WORDS]
        evidence = [f"{n} ({how}, {count} deals)" for n, count, how in names if how not in ("preset", WORDS)]
        notes[stage] = "; ".join([*([f"guessed from the name, check: {', '.join(guessed)}"] if guessed else []),
                                  *([f"placed from the export, check: {', '.join(evidence)}"] if evidence else [])])
    currency_note = ("the most common currency in the export" + (f"; also {', '.join(starter.currencies)}"
                                                                  if starter.currencies else ""))
    return env.get_template("salesreport.toml.j2").render(
        today=date.today().isoformat(), exports=starter.exports or ["no export"], preset=starter.preset.name if starter.preset else "",
        preset_title=starter.preset.title if starter.preset else "", preset_file=starter.preset_file,
        known_presets=list(PRESETS), sources=starter.sources, timezone=starter.timezone,
        timezone_note="this machine's time zone: a guess; CRM exports are mostly in UTC, the team often is not"
        if starter.timezone_guessed else "given to init --timezone", currency=starter.currency,
        currency_note=currency_note, currencies=starter.currencies, lost=starter.lost, placed=starter.placed,
        placed_notes=notes, unplaced=starter.unplaced, activity_types=starter.activity_types,
        activity_unplaced=starter.activity_unplaced, columns=starter.columns,
        required=[c for c, (req, _) in SCHEMA["deals"].items() if req], dayfirst_note=dayfirst_note,
        misfit=starter.misfit,
    )


def write_starter(paths: list[Path], out: Path, force: bool, encoding: str | None = None,
                  timezone: str | None = None) -> tuple[Starter, str | None]:
    """Write the starter config; return what was found and the first problem a run would still stop at."""
    if out.exists() and not force:
        raise InputError(f"{out} exists already; init does not overwrite it. Pass --force to replace it, or "
                         "--out another file.")
    if timezone is not None and not is_time_zone(timezone):
        raise UsageError(f"--timezone {timezone!r} {NOT_A_ZONE}")
    starter = inspect(paths, out.parent, encoding, timezone)
    write_atomic(out, render(starter))
    try:
        load_dataset(None, load_config(out)).read_activities()  # a large activities export too (read late)
    except SalesReportError as exc:
        if "dayfirst" in str(exc):  # dates that read both ways: say where to decide
            write_atomic(out, render(starter, dayfirst_note="the dates read both ways: true for 18/11/2026, "
                                                            "false for 11/18/2026"))
        return starter, str(exc)
    return starter, None

