"""The in-process DuckDB connection every stage shares: its settings, SQL quoting, results as Arrow.

duckdb loads only when a connection is made, so `--help` and small runs that never need one start fast.
"""

from __future__ import annotations

from contextlib import contextmanager

from .config import Config, memory_limit_for_duckdb
from .errors import ConfigError


def quote(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def connect(config: Config):
    """A DuckDB connection with [engine] memory_limit (it spills to disk beyond it) and temp_directory."""
    import duckdb

    con = duckdb.connect()
    con.sql("SET enable_progress_bar = false")  # DuckDB's own bar would land on stdout, where JSON goes
    con.sql("SET preserve_insertion_order = true")  # a table scanned by many threads keeps its file's order
    con.sql(f"SET memory_limit = {quote(memory_limit_for_duckdb(config))}")
    if config.temp_directory is not None:
        con.sql(f"SET temp_directory = {quote(str(config.temp_directory))}")
    return con


@contextmanager
def memory_guard(con, what: str):
    """Running out of [engine] memory_limit while doing `what` is a configuration error with its fix."""
    import duckdb

    try:
        yield
    except duckdb.OutOfMemoryException:
        limit = con.sql("SELECT current_setting('memory_limit')").fetchall()[0][0]
        raise ConfigError(
            f"{what}: this needs more memory than [engine] memory_limit allows ({limit}). Raise memory_limit "
            "in salesreport.toml, or set [engine] temp_directory to a folder with free space where the engine "
            "can spill."
        ) from None


def arrow(result):
    """A query result as a pyarrow Table (DuckDB 1.x and 2.x name the call differently)."""
    return result.to_arrow_table() if hasattr(result, "to_arrow_table") else result.fetch_arrow_table()
