"""The deals and the stage history as tables of the data set's DuckDB database, checked and finished in SQL.

Both readers end here: the fast path leaves a typed table in DuckDB (fastcsv.typed_table), the general parser a
typed frame, registered as one (frame_table). From there one set of checks runs over the whole table at once:
an empty or repeated deal id, the currencies, negative amounts, stage names to funnel codes, status words, an
empty stage or date in the history. Python sees only the distinct stage names, status words and currencies,
and the few rows a message names. What comes out are the tables DEALS and HISTORY, which the engine reads; a
million deals never become a frame.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..config import Config
from ..duck import quote
from ..errors import InputError
from ..model import LOST_CODE, SCHEMA, STAGES
from ..text import safe_line
from .fastcsv import TypedTable
from .parse import STATUS_WORDS, row_label

DEALS, HISTORY = "deals", "history"  # the finished tables
NO_STAGE = -2  # a deal row with an empty stage cell
UNPLACED = -3  # a stage name nothing places on the funnel (placement.py found no evidence either)
_READ = "deals_read"  # the deals as read: every canonical column, the status derived from won / closed flags
_SQL_KINDS = {"text": "VARCHAR", "amount": "DOUBLE", "bool": "BOOLEAN"}
READ_ONLY = ("currency", "won", "closed", "probability", "stage_order")  # deal columns DEALS does not keep


def frame_table(con, df: pd.DataFrame, table: str, name: str) -> TypedTable:
    """A frame of the general parser (canonical columns, typed) as table `name` of `con`; `_row` keeps each
    row's label for messages."""
    schema = SCHEMA[table]
    cells = []
    for column in df.columns:
        kind = schema.get(column, (False, "text"))[1]
        cells.append(f'"{column}"' if kind == "datetime" else f'CAST("{column}" AS {_SQL_KINDS[kind]}) AS "{column}"')
    con.register(f"{name}_frame", df.assign(_row=df.index.to_numpy(dtype=np.int64)))
    try:
        con.execute(f"CREATE TABLE {name} AS SELECT {', '.join(cells)}, _row FROM {name}_frame")
    finally:
        con.unregister(f"{name}_frame")
    return TypedTable(name, dict(df.attrs.get("headers", {})), row="_row")


def _columns(con, name: str) -> set[str]:
    return {column for column, *_ in con.execute(f"SELECT * FROM {name} LIMIT 0").description}


def _every_column(con, raw: TypedTable, table: str) -> list[str]:
    """SELECT items of each canonical column of `table`: as read, or its empty value where the file lacks it."""
    present = _columns(con, raw.name)
    empty = {"text": "''", "datetime": "NULL::TIMESTAMP", "amount": "NULL::DOUBLE", "bool": "NULL::BOOLEAN"}
    return [column if column in present else f"{empty[kind]} AS {column}"
            for column, (_, kind) in SCHEMA[table].items()]


def read_deals(con, raw: TypedTable) -> None:
    """The view of the deals as read (_READ): every canonical column, `pos` (the row's place in the file) and
    `_row` (its label in messages); a deal without a status gets one from its won / closed flags when the
    export has them ([columns.deals] won = "IsWon", closed = "IsClosed"): won, closed and not won is lost,
    else open."""
    present = _columns(con, raw.name)
    columns = _every_column(con, raw, "deals")
    if "won" in present or "closed" in present:
        won = "coalesce(won, false)" if "won" in present else "false"
        closed = f"(coalesce(closed, false) OR {won})" if "closed" in present else won
        columns[list(SCHEMA["deals"]).index("status")] = (
            f"CASE WHEN status <> '' THEN status WHEN {won} THEN 'won' WHEN {closed} THEN 'lost' ELSE 'open' END "
            "AS status" if "status" in present else
            f"CASE WHEN {won} THEN 'won' WHEN {closed} THEN 'lost' ELSE 'open' END AS status")
    currency = "amount_currency" if "amount_currency" in present else "'' AS amount_currency"
    con.execute(f"CREATE VIEW {_READ} AS SELECT rowid AS pos, {raw.row} AS _row, {', '.join(columns)}, {currency} "
                f"FROM {raw.name}")


def stage_names(con, history: TypedTable | None) -> list[str]:
    """Every stage name the deals and the history use (a million rows name a few dozen)."""
    found = [name for (name,) in con.sql(f"SELECT DISTINCT stage FROM {_READ}").fetchall()]
    if history is not None:
        found += [name for (name,) in con.sql(f"SELECT DISTINCT stage FROM {history.name}").fetchall()]
    return found


def placement_evidence(con, history: TypedTable | None) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """What placement.place_stages reads: the deals' stage, status, probability and stage order, and the
    history's deal, stage and date (only when a stage name needs placing)."""
    deals = con.sql(f"SELECT stage, status, probability, stage_order FROM {_READ} ORDER BY pos").df()
    if history is None:
        return deals, None
    return deals, con.sql(f"SELECT deal_id, stage, entered_at FROM {history.name} ORDER BY rowid").df()


def _stage_name(code: str, raw: str = "''") -> str:
    """SQL: a stage code as its canonical name (lost, '' for none; `raw`, the name as read, where nothing
    placed it)."""
    names = ", ".join(f"'{s}'" for s in STAGES)
    return (f"CASE WHEN {code} >= 0 THEN [{names}][{code} + 1] WHEN {code} = {LOST_CODE} THEN 'lost' "
            f"WHEN {code} = {UNPLACED} THEN {raw} ELSE '' END")


# the canonical tables as the mapping made them: stage names as canonical stage ids, amounts in the plan's
# currency, status as won / lost / open words; what `load` shows a notebook and `convert` writes
# (times as TIMESTAMP, microseconds, whichever reader typed them)
CANONICAL_DEALS = (f"SELECT deal_id, company, owner, amount, created_at::TIMESTAMP AS created_at, "
                   f"{_stage_name('stage_idx', 'stage')} AS stage, status, signed_at::TIMESTAMP AS signed_at, "
                   "lost_at::TIMESTAMP AS lost_at, closed_at::TIMESTAMP AS closed_at, lost_reason, "
                   "expected_close_date::TIMESTAMP AS expected_close_date, competitor, pipeline "
                   f"FROM {DEALS} ORDER BY pos")
CANONICAL_HISTORY = (f"SELECT deal_id, {_stage_name('stage_idx')} AS stage, entered_at::TIMESTAMP AS entered_at, "
                     f"owner FROM {HISTORY} ORDER BY seq")


def canonical_actions(actions: str) -> str:
    """SQL: the done sales actions as canonical activities (their day as the time; every one done)."""
    return (f"SELECT owner::VARCHAR AS owner, action::VARCHAR AS type, day AS occurred_at, deal_id, true AS done "
            f"FROM {actions}")


def stage_lookup(config: Config) -> dict[str, int]:
    """Stage name (stripped, lower case) → index into STAGES, LOST_CODE, NO_STAGE (empty) or UNPLACED."""
    lookup: dict[str, int] = {s: i for i, s in enumerate(STAGES)}
    for stage, crm_names in config.stage_names.items():
        for n in crm_names:
            lookup[n.strip().lower()] = STAGES.index(stage)
    for n in config.lost_names:
        lookup[n.strip().lower()] = LOST_CODE
    lookup["lost"] = LOST_CODE
    lookup[""] = NO_STAGE
    for n in config.unplaced_stages:
        lookup.setdefault(n.strip().lower(), UNPLACED)
    return lookup


def _case(column: str, values: dict[str, object], otherwise: str = "NULL") -> str:
    """SQL mapping each distinct value of `column` as `values` says."""
    if not values:
        return otherwise
    whens = " ".join(f"WHEN {quote(k)} THEN {v}" for k, v in values.items())
    return f"CASE {column} {whens} ELSE {otherwise} END"


def _stage_codes(con, relation: str, config: Config, source: str, header: str) -> dict[str, int]:
    """Each stage name of `relation` (pos, _row, stage) → its code (stage_lookup); an unknown name stops the
    run, naming the names, the first row and the lines to add."""
    lookup = stage_lookup(config)
    rows = con.sql(f"SELECT stage, count(*), min(pos), arg_min(_row, pos) FROM {relation} GROUP BY stage "
                   "ORDER BY count(*) DESC, min(pos)").fetchall()
    codes = {name: lookup.get(name.strip().lower()) for name, *_ in rows}
    unknown = [(name, count, pos, row) for name, count, pos, row in rows if codes[name] is None]
    if unknown:
        listed = ", ".join(f'"{safe_line(n, 80)}" ({c} rows)' for n, c, _, _ in unknown[:20])
        snippet = "\n".join(f'#   <stage id> = ["{safe_line(n, 80)}"]' for n, *_ in unknown[:20])
        first = min(unknown, key=lambda u: u[2])[3]
        raise InputError(
            f'{source}, column "{header}": unknown stage name(s) {listed}, first at row {row_label(first)}. '
            f"Map each onto a canonical stage ({', '.join(STAGES)}) or list it under [funnel] lost, in "
            f"salesreport.toml:\n[funnel.stages]\n{snippet}"
        )
    return codes


def _first_row(con, relation: str, where: str) -> int | None:
    """The label of the first row of `relation` where `where` holds, or None."""
    (row,), = con.sql(f"SELECT arg_min(_row, pos) FROM {relation} WHERE {where}").fetchall()
    return row


def finish_deals(con, raw: TypedTable, source: str, config: Config, warnings: list[str],
                 flagged: dict[str, tuple[str, ...]]) -> str | None:
    """The deals checked and finished as table DEALS; returns the one currency their amounts name (None:
    none, or converted). A warning about some deals puts their ids in `flagged`, by message."""
    header = raw.headers.get
    (n, empty_ids), = con.sql(f"SELECT count(*), count(*) FILTER (deal_id = '') FROM {_READ}").fetchall()
    if n == 0:
        raise InputError(f"{source}: the deals table has a header but no rows. Export it again with its deals.")
    if empty_ids:
        row = _first_row(con, _READ, "deal_id = ''")
        raise InputError(
            f'{source}, row {row_label(row)}, column "{header("deal_id", "deal_id")}": '
            "the deal id is empty. Every deal needs a unique id; fill it in or remove the row."
        )
    # a plain count first: the rows of a repeated id, in file order, only when there is one (an ordered list per
    # deal costs 0.9 s over a million deals, the count 0.1 s)
    (ids,), = con.sql(f"SELECT count(DISTINCT deal_id) FROM {_READ}").fetchall()
    repeated = con.sql(f"SELECT deal_id, list(_row ORDER BY pos)[1:2], sum(count(*)) OVER () FROM {_READ} "
                       "GROUP BY deal_id HAVING count(*) > 1 ORDER BY min(pos) LIMIT 1").fetchall() if ids < n else []
    if repeated:
        (deal_id, (first, again), shared), = repeated
        raise InputError(
            f'{source}, rows {row_label(first)} and {row_label(again)}, column "{header("deal_id", "deal_id")}": '
            f'the id "{safe_line(deal_id, 80)}" is used twice ({int(shared)} rows share an id). '
            "Deal ids must be unique: remove the duplicate rows or export again."
        )
    amount, currency = _in_plan_currency(con, source, header("amount", "amount"), config, warnings)
    (negatives, ids, shown), = con.sql(
        f"SELECT count(*), list(deal_id ORDER BY pos), list(struct_pack(i := deal_id, a := a) ORDER BY pos)[1:5] "
        f"FROM (SELECT pos, deal_id, {amount} AS a FROM {_READ}) WHERE a < 0").fetchall()
    kept = amount
    if negatives and not config.keep_negative_amounts:
        examples = ", ".join(f"{safe_line(s['i'], 40)} ({s['a']:g})" for s in shown)
        message = (f'{source}, column "{header("amount", "amount")}": {negatives} deal(s) have a negative amount '
                   f"(credit notes?), e.g. {examples}; they are left out of revenue and deal sizes, as deals "
                   'without an amount. Set [input] negative_amounts = "keep" in salesreport.toml to count them.')
        warnings.append(message)
        flagged[message] = tuple(ids)
        kept = f"CASE WHEN {amount} < 0 THEN NULL ELSE {amount} END"
    codes = _stage_codes(con, _READ, config, source, header("stage", "stage"))
    stage_idx = _case("stage", {name: NO_STAGE if code == UNPLACED else code for name, code in codes.items()})
    status = _statuses(con, source, header("status", "status"))
    # what the currency, the flags and placement's evidence said is in amount, status and stage_idx now
    columns = [c for c in SCHEMA["deals"] if c not in ("amount", "status", *READ_ONLY)]
    con.execute(f"CREATE TABLE {DEALS} AS SELECT pos, {', '.join(columns)}, {kept} AS amount, "
                f"{_case('status', status)} AS status, {stage_idx}::TINYINT AS stage_idx, "
                f"coalesce({amount} < 0, false) AS negative_amount FROM {_READ}")
    con.execute(f"DROP VIEW {_READ}; DROP TABLE {raw.name}")
    return currency


def _statuses(con, source: str, header: str) -> dict[str, str]:
    """Each status cell → won / lost / open ('' to derive it); a word that is no status stops the run."""
    found = con.sql(f"SELECT status, min(pos), arg_min(_row, pos) FROM {_READ} GROUP BY status").fetchall()
    words = {cell: STATUS_WORDS.get(cell.lower().strip()) for cell, _, _ in found}
    bad = [(pos, row, cell) for cell, pos, row in found if words[cell] is None]
    if bad:
        _, row, cell = min(bad)
        raise InputError(
            f'{source}, row {row_label(row)}, column "{header}": "{safe_line(cell, 80)}" is not a status. '
            "Use open, won or lost (or leave it empty to derive it from the stage)."
        )
    return {cell: quote(word) for cell, word in words.items()}


def _in_plan_currency(con, source: str, header: str, config: Config, warnings: list[str]) -> tuple[str, str | None]:
    """SQL for the amounts in one currency: the deal's currency column, else the symbol or code in the amount
    cell; several currencies are converted with [plan] rates into [plan] currency, and refused without them.
    Also the currency the amounts are then in, when the data names one."""
    code = "CASE WHEN upper(currency) <> '' THEN upper(currency) ELSE amount_currency END"
    found = dict(con.sql(f"SELECT code, count(*) FROM (SELECT pos, {code} AS code FROM {_READ} "
                         "WHERE amount IS NOT NULL) WHERE code <> '' GROUP BY code ORDER BY count(*) DESC, min(pos)"
                         ).fetchall())
    plan = (config.currency or "").upper()
    codes = list(found)
    if len(codes) == 0 or (len(codes) == 1 and codes[0] == plan):
        return "amount", (codes[0] if codes else None)
    missing = [c for c in codes if c != plan and c not in config.rates]
    if len(codes) > 1 and (not plan or missing):
        listed = ", ".join(f"{c} ({n} deals)" for c, n in found.items())
        into = plan or codes[0]
        need = ", ".join(f"{c} = <value of 1 {c} in {into}>" for c in codes if c != into and c not in config.rates)
        raise InputError(
            f'{source}, column "{header}": the amounts are in several currencies: {listed}. Say which currency the '
            f'report is in and how to convert the others, in salesreport.toml: [plan] currency = "{into}" '
            f"and rates = {{ {need} }}."
        )
    if missing:  # one currency, not the plan's, and no rate: keep the amounts as they are
        if plan:
            warnings.append(f"{source}: the amounts are in {missing[0]}, the plan in {plan}; they are reported as "
                            f"they are. Add [plan] rates = {{ {missing[0]} = <value in {plan}> }} to convert them.")
        return "amount", missing[0]
    rates = {c: repr(float(r)) for c, r in config.rates.items() if c != plan}
    return f"amount * {_case(f'({code})', rates, '1.0')}", plan


def finish_history(con, raw: TypedTable, source: str, config: Config) -> None:
    """The stage history checked and finished as table HISTORY (seq, deal_id, stage_idx, entered_at, owner):
    a row without a date or a stage stops the run; entries into a stage not on the funnel are left out (a
    warning said which)."""
    owner = "owner" if "owner" in _columns(con, raw.name) else "''"
    rows = f"(SELECT rowid AS pos, {raw.row} AS _row, deal_id, stage, entered_at, {owner} AS owner FROM {raw.name})"
    missing = _first_row(con, rows, "entered_at IS NULL")
    if missing is not None:
        raise InputError(
            f'{source}, row {row_label(missing)}, column "{raw.headers.get("entered_at", "entered_at")}": the date '
            "is empty. Every stage change needs the date it happened; fill it in or remove the row."
        )
    header = raw.headers.get("stage", "stage")
    codes = _stage_codes(con, rows, config, source, header)
    if NO_STAGE in codes.values():
        empty = [name for name, code in codes.items() if code == NO_STAGE]
        row = _first_row(con, rows, f"stage IN ({', '.join(map(quote, empty))})")
        raise InputError(f'{source}, row {row_label(row)}, column "{header}": the stage is empty. '
                         "Fill it in or remove the row.")
    con.execute(f"CREATE TABLE {HISTORY} AS SELECT pos AS seq, deal_id, stage_idx, entered_at, owner FROM "
                f"(SELECT *, {_case('stage', codes)}::TINYINT AS stage_idx FROM {rows}) WHERE stage_idx <> {UNPLACED}")
    con.execute(f"DROP TABLE {raw.name}")


def stage_codes_case(names: list[str], config: Config, source: str) -> str:
    """SQL of a canonical table's stage names (on any engine): each name's code (stage_lookup), an empty one
    NO_STAGE; a name the lookup lacks stops the run."""
    lookup = stage_lookup(config)
    unknown = sorted(n for n in names if n.lower() not in lookup)
    if unknown:
        raise InputError(f'{source}, column "stage": {", ".join(safe_line(n, 40) for n in unknown[:5])} '
                         f"{'is' if len(unknown) == 1 else 'are'} not known. Use the canonical stage ids "
                         "(work_started … signed, lost), or place the names in [funnel.stages] of salesreport.toml.")
    return "CASE lower(stage) " + " ".join(f"WHEN {quote(n.lower())} THEN {lookup[n.lower()]}" for n in names) + \
        f" ELSE {NO_STAGE} END"


def status_case(statuses: list[str], source: str) -> str:
    """SQL of a canonical table's status words (lower case, on any engine): won / lost / open ('' to derive
    it); a word that is no status stops the run."""
    bad = sorted(s for s in statuses if s not in STATUS_WORDS and s != "")
    if bad:
        raise InputError(f'{source}, column "status": "{safe_line(bad[0], 40)}" is not a status. Use open, won or '
                         "lost (or leave it empty).")
    return ("CASE lower(status) " + " ".join(f"WHEN {quote(s)} THEN '{STATUS_WORDS[s]}'" for s in statuses if s)
            + " ELSE '' END")


def negative_amounts_warning(source: str, negatives: int) -> str:
    """The warning of a canonical table's negative amounts, left out of revenue (on any engine)."""
    return (f'{source}, column "amount": {negatives} deal(s) have a negative amount (credit notes?); they are left '
            "out of revenue and deal sizes, as deals without an amount. Set [input] negative_amounts = \"keep\" in "
            "salesreport.toml to count them.")


def no_such_pipeline(pipeline: str, found: list[str]) -> InputError:
    """The message for a --pipeline no deal is in, listing those there are (on any engine)."""
    return InputError(f'No deal is in pipeline "{pipeline}" (pipelines found: '
                      f'{", ".join(found) or "none: no pipeline column"}). Check the name given to --pipeline.')


def keep_pipeline(con, pipeline: str) -> None:
    """Keep the deals of `pipeline` (and the history of those deals) in DEALS and HISTORY; a pipeline no deal
    is in stops the run, listing those there are."""
    (kept,), = con.sql(f"SELECT count(*) FROM {DEALS} WHERE lower(pipeline) = lower({quote(pipeline)})").fetchall()
    if not kept:
        found = sorted(p for (p,) in con.sql(f"SELECT DISTINCT pipeline FROM {DEALS} WHERE pipeline <> ''").fetchall())
        raise no_such_pipeline(pipeline, found)
    con.execute(f"DELETE FROM {DEALS} WHERE lower(pipeline) <> lower({quote(pipeline)})")
    if HISTORY in {name for (name,) in con.sql("SELECT table_name FROM duckdb_tables()").fetchall()}:
        con.execute(f"DELETE FROM {HISTORY} WHERE deal_id NOT IN (SELECT deal_id FROM {DEALS})")
