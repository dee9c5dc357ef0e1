"""The canonical tables on PostgreSQL ([engine] backend = "postgres"): the tables deals, stage_history, activities
and reps of [engine] database (a schema; else the connection's current one), as a data team's pipeline loads
them, or `salesreport convert` would write them. The same tables the DuckDB sources make (DEALS, HISTORY, the
done sales actions) become temporary tables of the session, checked as far as canonical tables need: ids
present and unique, stage names and status words known, times and amounts that are times and amounts,
negative amounts. Only the reps (a few hundred rows) and the answers to the checks come into this process.

A column may be typed (timestamp, timestamptz, date; any number; boolean) or text: a text time is ISO
(`2026-03-01 09:30:00`, an offset allowed), a text amount a plain decimal. A time without a zone is a wall-clock
time in [report] timezone; a timestamptz is an instant, shown in that zone."""

from __future__ import annotations

from ..config import Config
from ..errors import ConfigError, InputError, first_line
from ..model import SCHEMA
from ..postgres import PostgresConnection, connect
from ..text import safe_line
from .canonical import Dataset, _finish_reps
from .warehouse import finish_actions, finish_deals, finish_history, keep_pipeline

TABLES = ("deals", "stage_history", "activities", "reps")
_ISO = r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:\d{2})?)?)?$"
_DECIMAL = r"^-?\d+(\.\d+)?$"
_NUMBERS = ("smallint", "integer", "bigint", "numeric", "real", "double precision")


def load_postgres_dataset(config: Config, pipeline: str | None = None) -> Dataset:
    """The canonical tables of [engine] database (else the current schema) as a Dataset on Postgres."""
    if config.database is not None and "." in config.database:
        raise ConfigError(f'[engine] database = "{config.database}": with backend = "postgres" it names one '
                          "schema of the database [engine] postgres connects to (no catalog before it).")
    con = connect(config)
    try:
        return _load(con, config, pipeline)
    except BaseException:
        con.close()
        raise


def _load(con: PostgresConnection, config: Config, pipeline: str | None) -> Dataset:
    schema = config.database or con.sql("SELECT current_schema()").fetchall()[0][0]
    found = {name: kind for name, kind in _raw(con, "SELECT table_name, table_type FROM information_schema.tables "
                                                    "WHERE table_schema = %s", (schema,))}
    tables = {t: f"{schema}.{t}" for t in TABLES if t in found}
    if "deals" not in tables:
        raise InputError(f'Postgres schema "{schema}": no table named deals (found: '
                         f"{', '.join(sorted(found)) or 'no tables'}). Load the canonical tables there (deals, "
                         "stage_history, activities, reps), or name their schema in [engine] database.")
    ds = Dataset(con=con, sources=dict(tables))
    # a table holds its rows in no order (a row's place on disk is not where it was written): deals are in the
    # order of their ids and each deal's history in time order
    order = {"deals": "deal_id", "stage_history": "deal_id, entered_at" + (
        ", ctid" if found.get("stage_history") == "BASE TABLE" else "")}
    typed = {t: _typed(con, schema, t, tables[t], config.timezone) for t in tables}
    _create(con, "deals_typed", f"SELECT row_number() OVER (ORDER BY {order['deals']}) - 1 AS pos, {typed['deals']} "
                                f"FROM {tables['deals']}", tables["deals"])
    finish_deals(con, tables["deals"], config, ds.warnings)
    if "stage_history" in tables:
        _create(con, "history_typed", f"SELECT row_number() OVER (ORDER BY {order['stage_history']}) - 1 AS seq, "
                                      f"{typed['stage_history']} FROM {tables['stage_history']}", tables["stage_history"])
        finish_history(con, tables["stage_history"], config)
        ds.has_history = True
    if "activities" in tables:
        _create(con, "activities_typed", f"SELECT {typed['activities']} FROM {tables['activities']}",
                tables["activities"])
        ds.actions = finish_actions(con, tables["activities"], ds.warnings)
    if "reps" in tables:
        by = "ctid" if found["reps"] == "BASE TABLE" else "name"  # a few rows, on a page or two as written
        reps = con.sql(f"SELECT {typed['reps']} FROM {tables['reps']} ORDER BY {by}").df()
        for column, (_, kind) in SCHEMA["reps"].items():
            if kind == "datetime":
                reps[column] = reps[column].astype("datetime64[ns]")
            elif kind == "amount":
                reps[column] = reps[column].astype("float64")
        ds.reps = _finish_reps(reps, tables["reps"], ds.warnings)
    if pipeline is not None:
        keep_pipeline(con, pipeline, ds.has_history, ds.actions is not None)
    return ds


def _raw(con: PostgresConnection, sql: str, params: tuple = ()) -> list[tuple]:
    """Rows of Postgres's own SQL (not the engine's: no translation), with parameters."""
    return con.con.execute(sql, params).fetchall()


def _typed(con: PostgresConnection, schema: str, table: str, source: str, tz: str) -> str:
    """SQL selecting every canonical column of `table`: text trimmed ('' for none), times as wall-clock times
    in `tz`, amounts as doubles, flags as booleans; a column the table lacks is empty. A value that is no time,
    number or flag stops the run, naming the table, the column and the value."""
    present = {name.lower(): (name, kind) for name, kind in _raw(
        con, "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = %s AND "
             "table_name = %s", (schema, table))}
    zone = "'" + tz.replace("'", "''") + "'"
    cells = []
    for column, (_, kind) in SCHEMA[table].items():
        name, type_ = present.get(column, (None, None))
        cell = None if name is None else '"' + name.replace('"', '""') + '"'
        if cell is None:
            empty = {"datetime": "NULL::timestamp", "amount": "NULL::double precision", "bool": "NULL::boolean"}
            cells.append(f"{empty.get(kind, chr(39) * 2)} AS {column}")
        elif kind == "text":
            cells.append(f"coalesce(btrim({cell}::text), '') AS {column}")
        elif kind == "datetime" and type_ == "timestamp with time zone":
            cells.append(f"({cell} AT TIME ZONE {zone}) AS {column}")
        elif kind == "datetime" and type_ in ("timestamp without time zone", "date"):
            cells.append(f"{cell}::timestamp AS {column}")
        elif kind == "amount" and type_ in _NUMBERS:
            cells.append(f"{cell}::double precision AS {column}")
        elif kind == "bool" and type_ == "boolean":
            cells.append(f"{cell} AS {column}")
        else:  # text: checked, then cast
            text = f"nullif(btrim({cell}::text), '')"
            pattern = {"datetime": _ISO, "amount": _DECIMAL, "bool": "^(true|false|t|f|yes|no|y|n|1|0)$"}[kind]
            bad = _raw(con, f"SELECT {text} FROM {source} WHERE {text} !~* %s LIMIT 1", (pattern,))
            if bad:
                what = {"datetime": "an ISO date and time", "amount": "a plain number", "bool": "true or false"}[kind]
                raise InputError(f'{source}, column "{name}": "{safe_line(bad[0][0], 60)}" is not {what}. Store '
                                 f"the column as {what} (or as a typed column), or fix the value.")
            if kind == "datetime":  # an offset names an instant: shown in the report's zone
                cells.append(f"CASE WHEN {text} ~ '(Z|[+-]\\d{{2}}(:\\d{{2}})?)$' THEN ({text}::timestamptz AT TIME "
                             f"ZONE {zone}) ELSE {text}::timestamp END AS {column}")
            else:
                cells.append(f"{text}::{'double precision' if kind == 'amount' else 'boolean'} AS {column}")
    return ", ".join(cells)


def _create(con: PostgresConnection, name: str, select: str, source: str) -> None:
    """Temporary table `name` of Postgres's own SQL; a value a cast refuses (a date that does not exist, a time
    out of range) stops the run with the server's words, which name the value."""
    import psycopg

    con.con.execute(f"DROP TABLE IF EXISTS {name}")
    try:
        con.con.execute(f"CREATE TEMP TABLE {name} AS {select}")
    except psycopg.DataError as exc:
        raise InputError(f"{source}: {first_line(exc)}. Fix the value in the table, or load it again.") from None
    con.con.execute(f"ANALYZE {name}")
