"""Measurement behind the engine's choice of hand-written DuckDB SQL over Ibis (README, "Why SQL, not Ibis").

Not a test, and not run by CI: it needs `pip install "ibis-framework[duckdb]"`, which salesreport does not
depend on. Run: python benchmarks/ibis_vs_sql.py bench-data/deals-1000000

Three of the engine's typical questions, each asked once as the DuckDB SQL the engine runs and once as the
equivalent Ibis expression executed on the same DuckDB connection over the same tables:
- actions: sales actions per owner and action in a week (a filter and a group-by over 15M activities);
- first entries: per deal, the first entry into each ranked stage or a later one (a filtered aggregate);
- ordered events: each deal's stage changes in order, repeats removed (window row_number and lag).
It prints the import cost of each and, per question, the best of three wall times and whether the answers
are equal.
"""

from __future__ import annotations

import sys
import time

t0 = time.perf_counter()
import duckdb

DUCKDB_IMPORT = time.perf_counter() - t0
t0 = time.perf_counter()
import ibis
from ibis import _

IBIS_IMPORT = time.perf_counter() - t0

RANKS = 9
WEEK = ("2026-11-09", "2026-11-16")


def best(run, times: int = 3) -> tuple[float, object]:
    out, walls = None, []
    for _attempt in range(times):
        t = time.perf_counter()
        out = run()
        walls.append(time.perf_counter() - t)
    return min(walls), out


def arrow(result):
    return result.to_arrow_table() if hasattr(result, "to_arrow_table") else result.fetch_arrow_table()


def main(folder: str) -> None:
    con = duckdb.connect()
    con.execute(f"CREATE TABLE acts AS SELECT owner, type AS action, date_trunc('day', occurred_at::TIMESTAMP) "
                f"AS day FROM read_csv('{folder}/activities.csv', all_varchar = true)")
    con.execute(f"CREATE TABLE hist AS SELECT deal_id, stage, entered_at::TIMESTAMP AS entered_at, "
                f"hash(stage) % {RANKS} AS rank, row_number() OVER () AS seq "
                f"FROM read_csv('{folder}/stage_history.csv', all_varchar = true)")
    t = time.perf_counter()
    ib = ibis.duckdb.from_connection(con)
    acts, hist = ib.table("acts"), ib.table("hist")
    connect_s = time.perf_counter() - t

    sql = {
        "actions": f"SELECT owner, action, count(*) AS n FROM acts WHERE day >= TIMESTAMP '{WEEK[0]}' "
                   f"AND day < TIMESTAMP '{WEEK[1]}' GROUP BY ALL ORDER BY ALL",
        "first entries": "SELECT deal_id, " + ", ".join(
            f"min(entered_at) FILTER (rank >= {r}) AS t{r}" for r in range(RANKS)) +
            " FROM hist GROUP BY deal_id ORDER BY deal_id",
        "ordered events": "SELECT count(*), sum(k) FROM (SELECT deal_id, stage, row_number() OVER w AS k, "
                          "lag(stage) OVER w AS previous FROM hist WINDOW w AS (PARTITION BY deal_id "
                          "ORDER BY entered_at, seq)) WHERE previous IS NULL OR previous <> stage",
    }
    w = ibis.window(group_by=hist.deal_id, order_by=[hist.entered_at, hist.seq])
    events = hist.mutate(k=ibis.row_number().over(w) + 1, previous=hist.stage.lag().over(w))
    events = events.filter(events.previous.isnull() | (events.previous != events.stage))
    expressions = {
        "actions": acts.filter((_.day >= ibis.timestamp(WEEK[0])) & (_.day < ibis.timestamp(WEEK[1])))
                       .group_by(["owner", "action"]).aggregate(n=_.count()).order_by(["owner", "action"]),
        "first entries": hist.group_by("deal_id").aggregate(
            **{f"t{r}": hist.entered_at.min(where=hist.rank >= r) for r in range(RANKS)}).order_by("deal_id"),
        "ordered events": events.aggregate(n=events.count(), k=events.k.sum()),
    }
    print(f"import: duckdb {DUCKDB_IMPORT:.2f} s, ibis {IBIS_IMPORT:.2f} s (+ {connect_s:.2f} s to wrap the "
          "connection)")
    print(f"{'question':16} {'SQL s':>7} {'Ibis s':>7} {'compile s':>9}  equal")
    for name, query in sql.items():
        sql_s, a = best(lambda query=query: arrow(con.sql(query)))  # both answers come back as Arrow
        t = time.perf_counter()
        ibis.to_sql(expressions[name], dialect="duckdb")
        compile_s = time.perf_counter() - t
        ibis_s, b = best(lambda name=name: expressions[name].to_pyarrow())
        same = a.to_pylist() == b.rename_columns(a.column_names).to_pylist()
        print(f"{name:16} {sql_s:7.2f} {ibis_s:7.2f} {compile_s:9.3f}  {same}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "bench-data/deals-1000000")
