"""PostgreSQL as the engine's SQL backend ([engine] backend = "postgres"): a connection with the calls the engine
makes of DuckDB's — sql(...).fetchall() / .df(), execute, register, cursor — whose SQL, written once in DuckDB's
dialect, sqlglot transpiles to Postgres's (dialect.py). Temporary tables live in the server's session, so
nothing but each query's small result comes into this process.

The server is named as libpq names it: [engine] postgres = "host=… port=… dbname=… user=…" (or a
postgresql:// URI), else libpq's environment (PGHOST, PGPORT, PGDATABASE, PGUSER). The password never sits in
the config: PGPASSWORD, or the file ~/.pgpass (PGPASSFILE). psycopg and sqlglot are the optional extra
`salesreport[postgres]`."""

from __future__ import annotations

import re
from decimal import Decimal

from . import dialect
from .config import Config
from .errors import ConfigError, first_line

# a password written into the connection string: key=value form, or the user:password@ of a URI
_PASSWORD = re.compile(r"(^|\s)password\s*=|^postgres(?:ql)?://[^/@]*:[^/@]*@", re.IGNORECASE)


def connect(config: Config) -> PostgresConnection:
    """A connection to the server [engine] postgres (else libpq's environment) names, in autocommit."""
    conninfo = config.postgres or ""
    if _PASSWORD.search(conninfo):
        raise ConfigError('[engine] postgres holds a password. Remove it, and give it in the environment variable '
                          "PGPASSWORD or in the file ~/.pgpass (PGPASSFILE), where libpq reads it.")
    try:
        import psycopg
    except ImportError:
        raise ConfigError('[engine] backend = "postgres" needs psycopg: pip install "salesreport[postgres]".') from None
    try:
        con = psycopg.connect(conninfo, autocommit=True, application_name="salesreport", connect_timeout=10)
    except psycopg.Error as exc:  # the server's words name what is wrong; libpq never repeats a password
        raise ConfigError(f'[engine] backend = "postgres": could not connect ({first_line(exc)}). Check [engine] '
                          "postgres (or PGHOST, PGPORT, PGDATABASE, PGUSER) and that the server is running; the "
                          "password goes in PGPASSWORD or ~/.pgpass.") from None
    # wall-clock times stay as written (the engine's are naive), and the engine's SQL is read-only on the
    # canonical tables: it writes temporary tables only
    con.execute("SET TIME ZONE 'UTC'")
    return PostgresConnection(con)


def translate(sql: str) -> str:
    """One statement of the engine's DuckDB SQL in Postgres's dialect."""
    return dialect.translate(sql, "postgres")


def _value(value):
    """A value as DuckDB's Python API gives it: Postgres's numeric (an avg, a sum of integers) as a float, or an
    int when the engine asked for a count."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and value.as_tuple().exponent >= 0 else float(value)
    return value


class Result:
    """A query's rows, with the names of its columns."""

    def __init__(self, rows: list[tuple], names: list[str]):
        self._rows, self._names = rows, names

    def fetchall(self) -> list[tuple]:
        return self._rows

    def df(self):
        import pandas as pd

        return pd.DataFrame.from_records(self._rows, columns=self._names)


_TYPES = {"object": "TEXT", "string": "TEXT", "float64": "DOUBLE PRECISION", "int64": "BIGINT", "bool": "BOOLEAN",
          "datetime64[ns]": "TIMESTAMP", "datetime64[us]": "TIMESTAMP"}


class PostgresConnection(dialect.Connection):
    """The DuckDB connection calls the engine makes, on a Postgres session."""

    def __init__(self, con):
        self.con = con

    def close(self) -> None:
        self.con.close()

    def register(self, name: str, frame) -> None:
        """`frame` (a few hundred rows: the reps, their hire dates) as temporary table `name`."""
        import pandas as pd

        columns = ", ".join(f'"{c}" {_TYPES.get(str(t), "TEXT")}' for c, t in frame.dtypes.items())
        self.con.execute(f"DROP TABLE IF EXISTS {name}")
        self.con.execute(f"CREATE TEMP TABLE {name} ({columns})")
        with self.con.cursor().copy(f"COPY {name} FROM STDIN") as copy:
            for row in frame.itertuples(index=False):
                copy.write_row([None if pd.isna(v) else v.item() if hasattr(v, "item") else v for v in row])

    def run(self, statement: dialect.Statement) -> Result | None:
        import psycopg

        try:
            return self._run(statement)
        except psycopg.OperationalError as exc:  # the server went away, or refused the work (out of space, …)
            raise ConfigError(f'[engine] backend = "postgres": the server stopped answering ({first_line(exc)}). '
                              "Check that it is running and reachable, then run the report again.") from None

    def _run(self, statement: dialect.Statement) -> Result | None:
        if statement.kind in ("table", "view"):
            kind = statement.kind.upper()
            self.con.execute(f"DROP {kind} IF EXISTS {statement.name}")
            self.con.execute(f"CREATE TEMP {kind} {statement.name} AS {translate(statement.select)}")
            if kind == "TABLE":
                self.con.execute(f"ANALYZE {statement.name}")  # the planner's statistics: none without it
            return None
        if statement.kind == "empty":
            columns = ", ".join(f"{column} {kind}" for column, kind in statement.columns)
            self.con.execute(translate(f"CREATE TEMP TABLE {statement.name} ({columns})"))
            return None
        cursor = self.con.execute(translate(statement.select))
        if cursor.description is None:
            return None
        return Result([tuple(map(_value, row)) for row in cursor.fetchall()],
                      [column.name for column in cursor.description])
