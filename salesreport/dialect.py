"""The engine's SQL, written once in DuckDB's dialect, on another SQL engine: a statement transpiled by sqlglot,
and the statements a connection handles itself (temporary tables, the owner ENUM DuckDB keeps them in).

Each backend (spark.py, postgres.py) makes a connection with the calls the engine makes of DuckDB's —
sql(...).fetchall() / .df(), execute, register, cursor — from `Statement` and `translate`."""

from __future__ import annotations

import re
from dataclasses import dataclass

_CREATE = re.compile(r"^\s*CREATE\s+(OR\s+REPLACE\s+)?TEMP(?:ORARY)?\s+(TABLE|VIEW)\s+(\w+)\s+AS\s+(.*)$",
                     re.DOTALL | re.IGNORECASE)
_SCHEMA = re.compile(r"^\s*CREATE\s+TEMP(?:ORARY)?\s+TABLE\s+(\w+)\s*\((.*)\)\s*$", re.DOTALL | re.IGNORECASE)
_DROP = re.compile(r"^\s*DROP\s+(?:TABLE|VIEW)\s+(?:IF\s+EXISTS\s+)?(\w+)\s*$", re.IGNORECASE)
_TYPE = re.compile(r"^\s*(CREATE|DROP)\s+TYPE\b", re.IGNORECASE)
_ENUM_CAST = re.compile(r"::\s*facts_owner_\d+")  # the facts' owner ENUM (DuckDB): a plain string elsewhere


@dataclass
class Statement:
    """What one statement of the engine asks: `kind` is "type" (an ENUM: nothing to do elsewhere), "table" or
    "view" (CREATE TEMP … AS `select`), "empty" (CREATE TEMP TABLE name (`columns`: [(name, type)])), "drop"
    (of table or view `name`) or "query"; for these two `select` is the whole statement."""

    kind: str
    name: str = ""
    select: str = ""
    columns: tuple[tuple[str, str], ...] = ()


def parse(sql: str) -> Statement:
    """The kind of one statement of the engine's SQL."""
    if _TYPE.match(sql):
        return Statement("type")
    created = _CREATE.match(sql)
    if created:
        _, kind, name, select = created.groups()
        return Statement(kind.lower(), name, select)
    empty = _SCHEMA.match(sql)
    if empty:
        name, columns = empty.groups()
        return Statement("empty", name, columns=tuple(tuple(c.split()[:2]) for c in columns.split(",")))
    dropped = _DROP.match(sql)
    if dropped:
        return Statement("drop", dropped.group(1), sql)
    return Statement("query", select=sql)


def translate(sql: str, dialect: str) -> str:
    """One statement of the engine's DuckDB SQL in `dialect` (sqlglot's name: "spark", "postgres"):
    - fsum (DuckDB's exactly rounded sum) is a plain sum;
    - the owner ENUM is a string;
    - where the engine has no arg_max (Postgres), the first of the values ordered by the key, descending;
    - a subquery in FROM gets a name where the engine wants one (Postgres before 16)."""
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(_ENUM_CAST.sub("::VARCHAR", sql), read="duckdb")

    def first_by(value, key, where=None):
        """arg_max(value, key) [FILTER (WHERE where)] as (array_agg(value ORDER BY key DESC) FILTER …)[1]."""
        # as DuckDB's arg_max, over the rows where both are known
        keep = exp.and_(*(exp.Not(this=exp.Is(this=e.copy(), expression=exp.Null())) for e in (key, value)))
        if where is not None:
            keep = exp.and_(where.copy(), keep)
        ordered = exp.Order(expressions=[exp.Ordered(this=key.copy(), desc=True)])
        agg = exp.ArrayAgg(this=exp.Order(this=value.copy(), expressions=ordered.expressions))
        return exp.Bracket(this=exp.Paren(this=exp.Filter(this=agg, expression=exp.Where(this=keep))),
                           expressions=[exp.Literal.number(0)])  # sqlglot counts from 0

    aliases = iter(range(1 << 30))

    def rewrite(node):
        if dialect == "postgres" and isinstance(node, exp.Subquery) and not node.alias and \
                isinstance(node.parent, (exp.From, exp.Join)):  # Postgres 15 wants a name for each
            node.set("alias", exp.TableAlias(this=exp.to_identifier(f"_q{next(aliases)}")))
            return node
        if isinstance(node, exp.Anonymous) and node.name.lower() == "fsum":
            return exp.Sum(this=node.expressions[0])
        if dialect == "postgres":
            if isinstance(node, exp.Filter) and isinstance(node.this, exp.ArgMax):
                return first_by(node.this.this, node.this.expression, node.expression.this)
            if isinstance(node, exp.ArgMax):
                return first_by(node.this, node.expression)
        return node

    return tree.transform(rewrite).sql(dialect=dialect)


class Connection:
    """The calls the engine makes of a DuckDB connection — cursor, execute (statements separated by ;), sql —
    on another engine: a backend answers each parsed statement but an ENUM type (the owners stay strings)."""

    def cursor(self):
        return self

    def execute(self, sql: str):
        out = None
        for statement in (s for s in sql.split(";") if s.strip()):
            out = self.sql(statement)
        return out

    def sql(self, sql: str):
        statement = parse(sql)
        return None if statement.kind == "type" else self.run(statement)

    def run(self, statement: Statement):
        """The answer to one statement: a result with fetchall() and df() for a query, else None."""
        raise NotImplementedError
