"""A real PostgreSQL server for tests: initdb into a temporary folder, listening on 127.0.0.1 only, a password
(SCRAM) for its one user; and a loader that writes canonical tables into a schema with COPY, as a data team's
pipeline would. The server's binaries come from the system (apt's postgresql; the README's test command
installs it); as root, the server runs as the system user postgres (it refuses to run as root)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .smtp_server import free_port

USER, PASSWORD = "reports", "a long passphrase for the tests"


def binaries() -> Path | None:
    """The folder of initdb and pg_ctl, or None when no PostgreSQL server is installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def missing() -> str | None:
    """Why no server can start here, or None."""
    if binaries() is None:
        return "no PostgreSQL server installed (apt-get install postgresql)"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser (PostgreSQL refuses to run as root)"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install -e '.[postgres]')"
    if os.geteuid() == 0:
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root, and no system user postgres to run the server as"
    return None


@dataclass
class Server:
    port: int

    @property
    def conninfo(self) -> str:
        """The connection string without the password (it goes in PGPASSWORD)."""
        return f"host=127.0.0.1 port={self.port} dbname=postgres user={USER}"


def _as_server_user(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@contextmanager
def postgres_server():
    """A running server with its data in a temporary folder of its own (pytest's are root's alone, and the
    server may not run as root); stopped (immediately) and removed on leaving."""
    bindir = binaries()
    folder = Path(tempfile.mkdtemp(prefix="salesreport-postgres-"))
    (folder / "pw").write_text(PASSWORD + "\n", encoding="utf-8")
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        shutil.chown(folder / "pw", "postgres")
    data = folder / "data"
    subprocess.run(_as_server_user([str(bindir / "initdb"), "-D", str(data), "-U", USER, "--auth=scram-sha-256",
                                    f"--pwfile={folder / 'pw'}", "--no-sync", "-E", "UTF8", "--locale=C"]),
                   check=True, capture_output=True)
    port = free_port()
    options = f"-h 127.0.0.1 -p {port} -k {folder} -c fsync=off -c full_page_writes=off"
    subprocess.run(_as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l",
                                    str(folder / "log"), "-w", "-t", "60", "start"]), check=True, capture_output=True)
    try:
        yield Server(port)
    finally:
        subprocess.run(_as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True, check=False)
        shutil.rmtree(folder, ignore_errors=True)


def _type(dtype) -> str:
    name = str(dtype)
    if name.startswith("datetime64"):
        return "timestamp"
    return {"float64": "double precision", "int64": "bigint", "bool": "boolean"}.get(name, "text")


def load_tables(server: Server, schema: str, tables: dict, types: dict[str, dict[str, str]] | None = None) -> None:
    """Each frame of `tables` (name → DataFrame) as table schema.name, its columns typed by their dtypes (or as
    `types` says: table → column → SQL type), written with COPY; the schema made anew."""
    import pandas as pd
    import psycopg

    with psycopg.connect(server.conninfo, password=PASSWORD, autocommit=True) as con:
        con.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        con.execute(f"CREATE SCHEMA {schema}")
        for name, frame in tables.items():
            given = (types or {}).get(name, {})
            columns = ", ".join(f'"{c}" {given.get(c, _type(t))}' for c, t in frame.dtypes.items())
            con.execute(f"CREATE TABLE {schema}.{name} ({columns})")
            with con.cursor().copy(f"COPY {schema}.{name} FROM STDIN") as copy:
                for row in frame.astype(object).itertuples(index=False):
                    copy.write_row([None if pd.isna(v) else v for v in row])
