"""`salesreport convert`: read any input once — a CRM export through its preset, a Google Sheet, canonical CSVs —
apply the config's mapping, and write the canonical tables as Parquet files or a DuckDB database, so that many
reports run on them without parsing CSV again (a folder of Parquet or a .duckdb file is itself a --data).

What is written is what the engine reads: deals (stage names as canonical stage ids, amounts in the plan's
currency, status as won / lost / open), the stage history (canonical stage ids), the activities as their done
sales actions (the day as the time), and the reps. Times are the report's wall-clock times ([report]
timezone), written without a zone: read them with the same time zone. Every file is replaced atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .config import Config
from .duck import quote
from .errors import DeliveryError, first_line
from .sources.canonical import DATABASE_SUFFIXES, TIMEZONE_KEY, Dataset, load_dataset
from .sources.tables import CANONICAL_DEALS, CANONICAL_HISTORY, canonical_actions

TABLES = ("deals", "stage_history", "activities", "reps")


def canonical_queries(ds: Dataset) -> dict[str, str]:
    """Each canonical table the data set has, as SQL over its connection (reps: a registered frame)."""
    queries = {"deals": CANONICAL_DEALS}
    if ds.has_history:
        queries["stage_history"] = CANONICAL_HISTORY
    if ds.actions is not None:
        queries["activities"] = canonical_actions(ds.actions)
    if ds.reps is not None:
        ds.con.register("reps_frame", ds.reps)
        # times as TIMESTAMP (microseconds): pandas' nanoseconds are a Parquet type Spark refuses
        columns = [f'"{c}"::TIMESTAMP AS "{c}"' if str(t).startswith("datetime64") else f'"{c}"'
                   for c, t in ds.reps.dtypes.items()]
        queries["reps"] = f"SELECT {', '.join(columns)} FROM reps_frame"
    return queries


def convert(data: str | None, out: Path, config: Config, pipeline: str | None = None,
            credentials: Path | None = None) -> dict[str, int]:
    """Read `data` as a report would and write its canonical tables to `out`: a DuckDB database when its name
    ends in .duckdb (.db, .ddb), else a folder of Parquet files. Returns the rows written per table."""
    ds = load_dataset(data, config, pipeline, credentials)
    queries = canonical_queries(ds)
    counts = {table: ds.con.sql(f"SELECT count(*) FROM ({query})").fetchall()[0][0] for table, query in queries.items()}
    if out.suffix.lower() in DATABASE_SUFFIXES:
        _write_database(ds, queries, out, config.timezone)
    else:
        _write_parquet(ds, queries, out, config.timezone)
    return counts


def _write_parquet(ds: Dataset, queries: dict[str, str], folder: Path, timezone: str) -> None:
    """One Parquet file per table, each written beside its place; only when every one is written are they
    renamed over the old ones (a failure leaves the folder as it was, never half this data and half the last),
    and a table the data set lacks is removed from the folder (it would be read as this data's)."""
    import duckdb

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DeliveryError(f"--out {folder}: cannot make the folder ({exc.strerror}). Choose a folder you may "
                            "write to.") from None
    written: dict[Path, str] = {}
    try:
        for table in (t for t in TABLES if t in queries):
            target = folder / f"{table}.parquet"
            fd, temp = tempfile.mkstemp(prefix=f".{table}.", suffix=".parquet.tmp", dir=folder)
            os.close(fd)
            written[target] = temp
            ds.con.execute(f"COPY ({queries[table]}) TO {quote(temp)} (FORMAT parquet, COMPRESSION zstd, "
                           f"KV_METADATA {{{TIMEZONE_KEY}: {quote(timezone)}}})")  # the zone of its times
    except (OSError, duckdb.Error) as exc:
        for temp in written.values():
            Path(temp).unlink(missing_ok=True)
        raise DeliveryError(f"--out {folder}: could not be written ({_reason(exc)}). Nothing was replaced "
                            "there; free some space or choose another folder.") from None
    for target, temp in written.items():
        os.replace(temp, target)
    for table in (t for t in TABLES if t not in queries):
        (folder / f"{table}.parquet").unlink(missing_ok=True)


def _write_database(ds: Dataset, queries: dict[str, str], target: Path, timezone: str) -> None:
    """A new DuckDB database file with the tables, renamed over `target` when complete."""
    import duckdb

    if not target.parent.is_dir():
        raise DeliveryError(f"--out {target}: the folder {target.parent} does not exist. Create it or choose "
                            "another --out.")
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    os.unlink(temp)  # DuckDB makes the file itself
    try:
        ds.con.execute(f"ATTACH {quote(temp)} AS converted")
        for table, query in queries.items():
            ds.con.execute(f"CREATE TABLE converted.{table} AS {query}")
        ds.con.execute(f"CREATE TABLE converted.salesreport_meta AS SELECT '{TIMEZONE_KEY}' AS key, "
                       f"{quote(timezone)} AS value")  # the zone of its times
        ds.con.execute("DETACH converted")
        os.replace(temp, target)
    except (OSError, duckdb.Error) as exc:
        for leftover in (temp, f"{temp}.wal"):
            Path(leftover).unlink(missing_ok=True)
        raise DeliveryError(f"--out {target}: could not be written ({_reason(exc)}). The previous file, if any, is "
                            "unchanged.") from None


def _reason(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or first_line(exc)
