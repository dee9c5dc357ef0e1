"""The same reports on PostgreSQL ([engine] backend = "postgres"): a real server on 127.0.0.1 holds the sample's
canonical tables in a schema, loaded with COPY as a data team's pipeline would; the engine's SQL (DuckDB's
dialect, transpiled by sqlglot) runs there, and every report's JSON equals the DuckDB run on the sample CSVs,
figure for figure. The password comes from PGPASSWORD, never from the config. Without a PostgreSQL server or
psycopg these tests skip and say why; CI installs both (the README's test command)."""

from __future__ import annotations

import pytest

import salesreport
from salesreport.config import parse_config
from salesreport.errors import ConfigError, InputError
from salesreport.postgres import translate

from .cli_run import run
from .postgres_server import PASSWORD, load_tables, missing, postgres_server
from .test_spark import CONFIG, SAMPLE, same

MISSING = missing()
needs_postgres = pytest.mark.skipif(MISSING is not None, reason=f"PostgreSQL cannot run here: {MISSING}")
pytestmark = pytest.mark.xdist_group("postgres")  # one worker, one server
REPORTS = [("monthly", {"month": "2026-10", "deals": True}), ("quarterly", {"quarter": "2026-Q3"}),
           ("weekly", {"week": "2026-W46"}), ("daily", {"date": "2026-11-18"}), ("team", {"month": "2026-10"}),
           ("monthly", {"month": "2026-10", "pipeline": "Upsell"})]


def test_the_engine_sql_reads_as_postgres_sql():
    sql = translate("SELECT pos, arg_max(owner, k) FILTER (entered_at < TIMESTAMP '2026-10-01 00:00:00') AS o, "
                    "coalesce(fsum(amount), 0) FROM (SELECT * FROM ev) GROUP BY pos")
    # no arg_max in Postgres: the first of the owners ordered by k, descending, over the rows DuckDB's would take
    assert "(ARRAY_AGG(owner ORDER BY k DESC NULLS LAST) FILTER(WHERE entered_at < " in sql
    assert "NOT k IS NULL AND NOT owner IS NULL)))[1] AS o" in sql
    assert "SUM(amount)" in sql and "FSUM" not in sql.upper()
    assert ") AS _q0 GROUP BY pos" in sql  # Postgres 15 wants a name for a subquery in FROM


def test_a_password_in_the_config_is_refused_before_connecting():
    for conninfo in ("host=db port=5432 user=reports password=secret", "postgresql://reports:secret@db/crm"):
        config = parse_config({"engine": {"backend": "postgres", "postgres": conninfo}})
        with pytest.raises(ConfigError, match="PGPASSWORD") as caught:
            from salesreport.sources.postgres import load_postgres_dataset

            load_postgres_dataset(config)
        assert "secret" not in str(caught.value)


def _config(tmp_path, conninfo: str, schema: str = "crm"):
    path = tmp_path / f"{schema}.toml"
    path.write_text(CONFIG.read_text(encoding="utf-8") + f'\n[engine]\nbackend = "postgres"\npostgres = "{conninfo}"\n'
                    f'database = "{schema}"\n', encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def server():
    if MISSING is not None:
        pytest.skip(f"PostgreSQL cannot run here: {MISSING}")
    with postgres_server() as running:
        tables = salesreport.load(SAMPLE, config=CONFIG)
        load_tables(running, "crm", {"deals": tables.deals, "stage_history": tables.stage_history,
                                     "activities": tables.activities, "reps": tables.reps})
        yield running


@pytest.fixture
def password(monkeypatch):
    monkeypatch.setenv("PGPASSWORD", PASSWORD)


@needs_postgres
@pytest.mark.parametrize("name, options", REPORTS)
def test_a_report_on_postgres_equals_the_duckdb_one(server, password, tmp_path, name, options):
    duck = getattr(salesreport, name)(data=SAMPLE, config=CONFIG, **options)
    postgres = getattr(salesreport, name)(config=_config(tmp_path, server.conninfo), **options)
    assert duck.to_dict()["metrics"] and not same(duck.to_dict(), postgres.to_dict())
    if name != "team":  # the deals behind the figures (the workbook's Deals sheet), and with --deals their ids
        assert postgres.deals.rows == duck.deals.rows and postgres.deals.total == duck.deals.total > 0


@needs_postgres
def test_the_command_line_runs_on_postgres(server, password, tmp_path):
    config = _config(tmp_path, server.conninfo)
    proc = run("weekly", "--config", str(config), "--week", "2026-W46", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert '"report": "weekly"' in proc.stdout
    proc = run("weekly", "--config", str(config), "--data", str(SAMPLE), cwd=tmp_path)
    assert proc.returncode == 1 and "leave --data out" in proc.stderr and "Traceback" not in proc.stderr


@needs_postgres
def test_without_the_password_the_message_says_where_it_goes(server, monkeypatch, tmp_path):
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-such-pgpass"))
    with pytest.raises(ConfigError, match=r"could not connect .*PGPASSWORD or ~/.pgpass"):
        salesreport.weekly(config=_config(tmp_path, server.conninfo), week="2026-W46")
    proc = run("weekly", "--config", str(_config(tmp_path, "host=127.0.0.1 port=1 user=reports")), cwd=tmp_path)
    assert proc.returncode == 1 and "could not connect" in proc.stderr and "Traceback" not in proc.stderr


@needs_postgres
def test_a_schema_without_deals_lists_what_it_has(server, password, tmp_path):
    import pandas as pd

    load_tables(server, "empty", {"reps": pd.DataFrame({"name": ["Anna"], "role": ["AE"]})})
    with pytest.raises(InputError, match=r'schema "empty": no table named deals \(found: reps\)'):
        salesreport.weekly(config=_config(tmp_path, server.conninfo, "empty"), week="2026-W46")


@needs_postgres
def test_a_text_column_with_a_value_that_is_no_time_is_named(server, password, tmp_path):
    import pandas as pd

    deals = pd.DataFrame({"deal_id": ["A", "B"], "owner": ["Anna", "Anna"], "stage": ["work_started"] * 2,
                          "created_at": ["2026-03-01 09:30:00", "the first of March"], "amount": ["100", "12.5"]})
    load_tables(server, "text", {"deals": deals})
    with pytest.raises(InputError, match='text.deals, column "created_at": "the first of March" is not an ISO date'):
        salesreport.weekly(config=_config(tmp_path, server.conninfo, "text"), week="2026-W46")
    deals["created_at"] = ["2026-03-01 09:30:00", "2026-02-30"]  # the grammar of a date, but no such day
    load_tables(server, "text", {"deals": deals})
    with pytest.raises(InputError, match=r'text.deals: date/time field value out of range: "2026-02-30"'):
        salesreport.weekly(config=_config(tmp_path, server.conninfo, "text"), week="2026-W46")


@needs_postgres
def test_text_times_with_an_offset_are_instants_and_timestamptz_too(server, password, tmp_path):
    """A time with an offset, as text or as timestamptz, is shown in [report] timezone (Europe/Berlin)."""
    import pandas as pd

    deals = pd.DataFrame({"deal_id": ["A", "B"], "owner": ["Anna", "Anna"], "stage": ["signed", "signed"],
                          "status": ["won", "won"], "amount": [100.0, 50.0],
                          "created_at": ["2026-09-01 09:00:00", "2026-09-01 09:00:00"],
                          "signed_at": ["2026-09-30T22:30:00Z", "2026-10-01 00:30:00+02:00"]})
    load_tables(server, "zones", {"deals": deals})
    october = salesreport.monthly(config=_config(tmp_path, server.conninfo, "zones"), month="2026-10")
    assert october.to_dict()["metrics"]["revenue_month"]["value"] == 150.0  # 00:30 on 1 October in Berlin, both
    load_tables(server, "zones", {"deals": deals}, {"deals": {"signed_at": "timestamptz"}})
    october = salesreport.monthly(config=_config(tmp_path, server.conninfo, "zones"), month="2026-10")
    assert october.to_dict()["metrics"]["revenue_month"]["value"] == 150.0


@needs_postgres
def test_an_unknown_stage_is_named(server, password, tmp_path):
    import pandas as pd

    deals = pd.DataFrame({"deal_id": ["A"], "owner": ["Anna"], "stage": ["Qualifizierung"],
                          "created_at": pd.to_datetime(["2026-03-01"])})
    load_tables(server, "odd", {"deals": deals})
    with pytest.raises(InputError, match='odd.deals, column "stage": Qualifizierung is not known'):
        salesreport.weekly(config=_config(tmp_path, server.conninfo, "odd"), week="2026-W46")


@needs_postgres
def test_a_server_that_goes_away_mid_run_is_a_message(server, password, tmp_path):
    """The connection dropped between two of the engine's statements: a message naming the server, no
    traceback."""
    import psycopg

    from salesreport.sources.postgres import load_postgres_dataset

    ds = load_postgres_dataset(parse_config({"engine": {"backend": "postgres", "postgres": server.conninfo,
                                                        "database": "crm"}}))
    with psycopg.connect(server.conninfo, password=PASSWORD, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'salesreport'")
    with pytest.raises(ConfigError, match=r'backend = "postgres": the server stopped answering .*running and reachable'):
        ds.con.sql("SELECT count(*) FROM deals")
