"""The canonical tables on another SQL engine (Spark, Postgres), finished as the DuckDB sources finish them:
from the typed relations a backend's source makes — deals_typed (pos and every canonical deal column),
history_typed (seq and every stage-history column), activities_typed — to the tables the engine reads (DEALS,
HISTORY, the done sales actions), checked as far as canonical tables need: ids present and unique, stage
names and status words known, negative amounts. Written once in the engine's SQL (DuckDB's dialect), run
through the backend's connection (spark.SparkConnection, postgres.PostgresConnection); only the answers to
the checks come into this process."""

from __future__ import annotations

from ..config import Config
from ..duck import quote
from ..errors import InputError
from ..model import ACTION_TYPES, SCHEMA
from ..text import safe_line
from .canonical import warn_unmapped_types
from .tables import (
    DEALS,
    HISTORY,
    READ_ONLY,
    negative_amounts_warning,
    no_such_pipeline,
    stage_codes_case,
    status_case,
)

ACTIONS = "actions"


def finish_deals(con, source: str, config: Config, warnings: list[str]) -> None:
    """deals_typed checked and finished as table DEALS."""
    (n, empty, repeated), = con.sql("SELECT count(*), count(*) FILTER (WHERE deal_id = ''), "
                                    "count(*) - count(DISTINCT deal_id) FROM deals_typed").fetchall()
    if n == 0:
        raise InputError(f"{source}: the deals table has no rows. Write it again with its deals "
                         "(salesreport convert does).")
    if empty:
        raise InputError(f'{source}, column "deal_id": {empty} deal(s) have no id. Every deal needs a unique id.')
    if repeated:
        (deal_id,), = con.sql("SELECT deal_id FROM deals_typed GROUP BY deal_id HAVING count(*) > 1 "
                              "ORDER BY min(pos) LIMIT 1").fetchall()
        raise InputError(f'{source}, column "deal_id": the id "{safe_line(deal_id, 80)}" is used more than once. '
                         "Deal ids must be unique.")
    stages = [s for (s,) in con.sql("SELECT DISTINCT stage FROM deals_typed WHERE stage <> ''").fetchall()]
    stage_idx = stage_codes_case(stages, config, source)
    status = status_case([s for (s,) in con.sql("SELECT DISTINCT lower(status) FROM deals_typed").fetchall()],
                         source)
    (negatives,), = con.sql("SELECT count(*) FILTER (WHERE amount < 0) FROM deals_typed").fetchall()
    kept = "amount"
    if negatives and not config.keep_negative_amounts:
        warnings.append(negative_amounts_warning(source, negatives))
        kept = "CASE WHEN amount < 0 THEN NULL ELSE amount END"
    keep = [c for c in SCHEMA["deals"] if c not in ("amount", "status", *READ_ONLY)]
    con.sql(f"CREATE TEMP TABLE {DEALS} AS SELECT pos, {', '.join(keep)}, {kept} AS amount, {status} AS status, "
            f"CAST({stage_idx} AS TINYINT) AS stage_idx, coalesce(amount < 0, false) AS negative_amount "
            "FROM deals_typed")


def finish_history(con, source: str, config: Config) -> None:
    """history_typed checked and finished as table HISTORY."""
    stages = [s for (s,) in con.sql("SELECT DISTINCT stage FROM history_typed").fetchall()]
    if "" in stages:
        raise InputError(f'{source}, column "stage": a stage-history row has no stage. Write the table again.')
    (undated,), = con.sql("SELECT count(*) FILTER (WHERE entered_at IS NULL) FROM history_typed").fetchall()
    if undated:
        raise InputError(f'{source}, column "entered_at": {undated} stage-history row(s) have no date.')
    stage_idx = stage_codes_case(stages, config, source)
    con.sql(f"CREATE TEMP TABLE {HISTORY} AS SELECT seq, deal_id, CAST({stage_idx} AS TINYINT) AS stage_idx, "
            "entered_at, owner FROM history_typed")


def finish_actions(con, source: str, warnings: list[str]) -> str:
    """activities_typed as the table of done sales actions (owner, action, day, deal_id), its name returned;
    the types that are no sales action, warned."""
    sales = ", ".join(f"'{t}'" for t in ACTION_TYPES)
    others = dict(con.sql(f"SELECT lower(type), count(*) FROM activities_typed WHERE lower(type) NOT IN ({sales}) "
                          "GROUP BY 1").fetchall())
    warn_unmapped_types(source, others, warnings)
    con.sql(f"CREATE TEMP TABLE {ACTIONS} AS SELECT owner, lower(type) AS action, "
            "CAST(CAST(occurred_at AS DATE) AS TIMESTAMP) AS day, deal_id FROM activities_typed "
            f"WHERE lower(type) IN ({sales}) AND coalesce(done, true) AND occurred_at IS NOT NULL")
    return ACTIONS


def keep_pipeline(con, pipeline: str, history: bool, actions: bool) -> None:
    """Keep the deals of `pipeline` in DEALS, and the history (`history`) and the done sales actions (`actions`:
    those of no deal too) of those deals; a pipeline no deal is in stops the run, listing those there are. Each
    table is made anew from a kept copy (a temporary table is replaced, never deleted from, on any engine)."""
    name = quote(pipeline.lower())
    (kept,), = con.sql(f"SELECT count(*) FILTER (WHERE lower(pipeline) = {name}) FROM {DEALS}").fetchall()
    if not kept:
        found = sorted(p for (p,) in con.sql(f"SELECT DISTINCT pipeline FROM {DEALS} WHERE pipeline <> ''").fetchall())
        raise no_such_pipeline(pipeline, found)
    keep = {DEALS: f"lower(pipeline) = {name}"}
    if history:
        keep[HISTORY] = f"deal_id IN (SELECT deal_id FROM {DEALS}_kept)"
    if actions:
        keep[ACTIONS] = f"deal_id = '' OR deal_id IN (SELECT deal_id FROM {DEALS}_kept)"
    for table, where in keep.items():
        con.sql(f"CREATE TEMP TABLE {table}_kept AS SELECT * FROM {table} WHERE {where}")
    for table in keep:
        con.sql(f"CREATE TEMP TABLE {table} AS SELECT * FROM {table}_kept")
