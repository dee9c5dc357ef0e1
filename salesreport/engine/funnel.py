"""Funnel facts: first entries (reached = skipped stages count), stage stays, close dates — SQL in DuckDB.

build_facts puts the deals and the stage history into an in-process DuckDB connection and derives, once per
data set, the fact tables SPEC §2 defines (FACTS_SQL, DEAL_SQL); the metric groups (formulas.py, team.py)
then ask their period questions ("reached X by T", "open at T") as SQL over them. Timestamps are naive
wall-clock times in the report's time zone.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime
from functools import cached_property

import numpy as np
import pandas as pd

from ..config import Config
from ..duck import memory_guard
from ..model import LOST_CODE, RANKED_STAGES, STAGE_RANK, STAGES
from ..sources.canonical import Dataset
from ..sources.tables import DEALS, HISTORY, NO_STAGE

SIGNED_IDX = STAGES.index("signed")
WORK_STARTED_IDX = STAGES.index("work_started")
NEW_IDX = STAGES.index("new")
SAMPLE_IDS = 5
_BUILDS = itertools.count()  # each build of the facts names its own owner type


class Facts:
    """The funnel facts of a data set: the fact tables in DuckDB (`con`: deal, ev, the view stays over ev, and
    acts; see FACTS_SQL and DEAL_SQL; a deal is its row of `deal`, never a frame), the reps and the warnings
    found so far (the data set's, then the facts' own)."""

    def __init__(self, con, actions_in: str | None, reps: pd.DataFrame, warnings: list[str]):
        self.con = con
        self._actions_in = actions_in
        self.reps = reps  # name, role, hire_date, left_at, monthly_quota, team
        self.warnings = warnings
        self.warning_ids: dict[str, tuple[str, ...]] = {}  # the deals a warning is about, all of them
        self.currency: str | None = None  # the one currency of the amounts, when the data names it

    @property
    def has_actions(self) -> bool:
        """Whether the data set has activities at all (without them, action figures are unknown, not 0)."""
        return self._actions_in is not None

    @cached_property
    def acts(self) -> str:
        """The name of the SQL table of done sales actions: owner, action, day, deal_id ('' for none)."""
        if self._actions_in is None:
            self.con.sql("CREATE TEMP TABLE acts (owner VARCHAR, action VARCHAR, day TIMESTAMP, deal_id VARCHAR)")
            return "acts"
        return self._actions_in

    @cached_property
    def date_range(self) -> tuple[date, date] | None:
        """The first and the last day the data speaks of (created, stage changes, signed, lost, actions);
        None without deals."""
        (first, *lasts), = self.con.sql(
            "SELECT min(created_at), max(created_at), max(signed_at), max(lost_at), "
            f"(SELECT max(entered_at) FROM ev), (SELECT max(day) FROM {self.acts}) FROM deal").fetchall()
        lasts = [t for t in lasts if t is not None]
        if first is None or not lasts:
            return None
        return _day(first), max(_day(t) for t in lasts)

    def role_of(self, owners: pd.Index | pd.Series) -> pd.Series:
        roles = self.reps.set_index("name")["role"] if len(self.reps) else pd.Series(dtype=object)
        # object before filling: without reps every role is missing, a float column pandas will not fill with text
        return pd.Series(owners, index=owners).map(roles).astype(object).fillna("unknown")


def _day(value) -> date:
    return value.date() if isinstance(value, datetime) else value


def build_facts(ds: Dataset, config: Config) -> Facts:
    """Turn a parsed Dataset into Facts, deriving status, close dates and history as SPEC §2 says. The facts
    take the data set over: its deals and stage history tables are dropped once the fact tables hold what
    they said (a data set is read for one build of the facts).

    The work is relational: the deals and the stage history go into DuckDB, and one set of SQL statements
    (FACTS_SQL) derives status, close dates, the events, the stays and the first entries. The data set's
    actions are asked for last: a large activities export is read then (Dataset.actions)."""
    warnings: list[str] = []  # the facts' own, after the data set's
    # a cursor of the data set's database: it sees the deals, history and actions tables, and its temp
    # tables are its own
    con = ds.con.cursor()
    (no_created, n), = con.sql(
        f"SELECT count(*) FILTER (created_at IS NULL), coalesce(max(pos) + 1, 0) FROM {DEALS}").fetchall()
    ids = _first_ids(con, DEALS, "created_at IS NULL") if no_created else []
    if no_created:
        warnings.append(
            f"{no_created} deal(s) have no created_at and are left out of every dated figure "
            f"(e.g. {', '.join(ids)}). Fill in the creation date in the deals export."
        )
    # a credit note left out of revenue ([input] negative_amounts): its amount is no missing amount
    con.sql("CREATE TEMP VIEW deals_in AS SELECT pos, deal_id, owner, stage_idx, status, signed_at, lost_at, "
            "closed_at, created_at, amount, expected_close_date, competitor, negative_amount AS credit, company, "
            f"lost_reason FROM {DEALS} WHERE created_at IS NOT NULL")
    if ds.has_history:
        con.sql(f"CREATE TEMP VIEW history_in AS SELECT seq, deal_id, entered_at, stage_idx, owner FROM {HISTORY}")
        (nh,), = con.sql(f"SELECT coalesce(max(seq) + 1, 0) FROM {HISTORY}").fetchall()
    else:
        con.sql("CREATE TEMP TABLE history_in (seq BIGINT, deal_id VARCHAR, entered_at TIMESTAMP, "
                "stage_idx TINYINT, owner VARCHAR)")
        nh = 0
    if not nh:
        warnings.append(
            "No stage_history table: each deal's history is derived from its row (current stage at "
            "created_at, signed at signed_at), so conversions, stage days and the sales cycle are "
            "approximations. Export the stage history for exact figures."
        )
    # the owners as an ENUM: 2 bytes a row in every fact table (the events, each deal's first-entry owners)
    # instead of a string of 16 or more, and cheaper to group by
    owner_type = f"facts_owner_{next(_BUILDS)}"
    con.sql(f"CREATE TYPE {owner_type} AS ENUM (SELECT DISTINCT owner FROM (SELECT owner FROM deals_in UNION ALL "
            "SELECT owner FROM history_in) WHERE owner IS NOT NULL)")
    with memory_guard(con, "Computing the funnel facts"):
        # the deals table goes once d holds its rows (168 MB at 1M deals), the stage history once ev0 holds
        # it (146 MB), both before d2 and the events are built; d2 once the warnings have read it
        drop_history = f"DROP VIEW history_in; DROP TABLE {HISTORY}" if ds.has_history else "DROP TABLE history_in"
        for statement in FACTS_SQL.format(n=n, nh=nh, owner=owner_type, rank_of_stage=RANK_OF_STAGE,
                                          deals=DEALS, drop_history=drop_history, **_CODES).split(";"):
            if statement.strip():
                con.sql(statement)
        con.sql(DEAL_SQL.format(fe=_first_entries_sql(), lost=LOST_CODE, first_entries=", ".join(
            f"fe.t{r}, fe.o{r}" for r in range(len(RANKED_STAGES)))))
    warning_ids: dict[str, tuple[str, ...]] = {}
    warnings += _facts_warnings(con, warning_ids)
    con.sql("DROP TABLE d2")
    # a large activities export is read now (Dataset.actions), the deals and the history gone: its actions are
    # never held beside them or beside the deal table's build (at 1M deals 190 MB less at the peak)
    actions = ds.actions

    reps = ds.reps if ds.reps is not None else pd.DataFrame(
        {"name": pd.Series(dtype=object), "role": pd.Series(dtype=object), "team": pd.Series(dtype=object),
         "hire_date": pd.Series(dtype="datetime64[ns]"), "left_at": pd.Series(dtype="datetime64[ns]"),
         "monthly_quota": pd.Series(dtype="float64"), "email": pd.Series(dtype=object)}
    )
    owners = {owner for (owner,) in con.sql("SELECT DISTINCT owner FROM ev WHERE rank >= 0").fetchall()}
    owners |= {owner for (owner,) in con.sql("SELECT DISTINCT owner FROM deal").fetchall()}
    if actions is not None:  # the owners with an action
        owners |= {owner for (owner,) in con.sql(  # distinct as the ENUM, then as text: 0.18 → 0.07 s at 1M deals
            f"SELECT owner::VARCHAR FROM (SELECT DISTINCT owner FROM {actions}) AS o").fetchall()}
    owners.discard("")
    unknown = sorted(owners - set(reps["name"]))
    if unknown and ds.reps is not None:
        warnings.append(
            f"Owner(s) not in the reps table, reported under role \"unknown\": {', '.join(unknown[:10])}"
            f"{' …' if len(unknown) > 10 else ''}. Add them to reps.csv with their role."
        )
    elif ds.reps is None:
        warnings.append("No reps table: every rep's role is \"unknown\", so the SDR and AE figures are empty.")
    facts = Facts(con, actions, reps, [*ds.warnings, *warnings])
    facts.warning_ids = {**ds.warning_ids, **warning_ids}
    facts.currency = ds.currency
    return facts


_CODES = {"loss_time": "CASE WHEN rank < 0 AND entered_at = date_trunc('day', entered_at) "
                       "THEN date_trunc('day', entered_at) + INTERVAL 1 DAY - INTERVAL 1 MICROSECOND "
                       "ELSE entered_at END",
          "signed": SIGNED_IDX, "lost": LOST_CODE, "work_started": WORK_STARTED_IDX, "new": NEW_IDX,
          "no_stage": NO_STAGE}


def pick(index: str, values) -> str:
    """SQL: the value at the 0-based `index` of `values` (NULL past either end) — a CASE, which every SQL engine
    runs alike, where a list literal's subscript starts at 1 in DuckDB and at 0 in Spark."""
    return f"CASE {index} " + " ".join(f"WHEN {i} THEN {v}" for i, v in enumerate(values)) + " END"


RANK_OF_STAGE = pick("stage_idx", [STAGE_RANK[s] for s in STAGES])  # a stage index's funnel rank

# SPEC §2 in SQL. deals_in(pos, deal_id, owner, stage_idx, status, signed_at, lost_at, closed_at, created_at,
# and the columns the formulas and the lists read) and history_in(seq, deal_id, entered_at, stage_idx, owner)
# in (the deals table goes once d holds it, the history once ev0 does); out:
#   d2     one row per deal: status, signed_at, lost_at (filled from history, closed_at, else the last change:
#          won and lost alike), the flags of what was filled, and the deal's other columns
#   ev     the stage changes in order (k): given rows, else derived from the deal, plus a signed/lost entry
#          where the history lacks it; rows repeating the current stage removed; rank −1 = lost. A loss
#          dated by day only (midnight) sorts at the end of its day: it ends the stay it happened in, even
#          one entered later that day (SPEC: a loss ends a stay, whatever its length). With each row, in
#          the same window pass: reached_before, the furthest rank of the rows before it (−1: none), and
#          ended_at, the time of the next row (what ends the stay the row begins); and the earliest time of
#          the rows after it, later_at, and of the ranked ones, later_ranked_at: the row is the deal's latest
#          (ranked) row before an instant T exactly when it is before T and they are not (engine.formulas)
#   stays  each stay in a funnel stage that ended (by the next change or by being lost): days between dates;
#          a view over ev (read once a period, for the stage days: no table of 44 MB at 1M deals)
# A deal's position, the events' order and a stay's days are INTEGERs (4 bytes a row less than BIGINT in each
# fact table: 2^31 deals); the history's rows keep BIGINT seq numbers.
FACTS_SQL = """
CREATE TEMP TABLE d AS
SELECT pos::INTEGER AS pos, deal_id, owner::{owner} AS owner, stage_idx, created_at, status,
       CASE status WHEN 'won' THEN coalesce(signed_at, closed_at) END AS signed_at,
       CASE status WHEN 'lost' THEN coalesce(lost_at, closed_at) END AS lost_at,
       amount, expected_close_date, competitor, credit, company, lost_reason
FROM (SELECT pos, deal_id, owner, stage_idx, created_at, signed_at, lost_at, closed_at,
             CASE WHEN status <> '' THEN status WHEN stage_idx = {signed} THEN 'won'
                  WHEN stage_idx = {lost} THEN 'lost' WHEN signed_at IS NOT NULL THEN 'won'
                  WHEN lost_at IS NOT NULL THEN 'lost' ELSE 'open' END AS status,
             amount, expected_close_date, competitor, credit, company, lost_reason
      FROM deals_in);

DROP VIEW deals_in;
DROP TABLE {deals};

CREATE TEMP TABLE orphans AS
SELECT h.deal_id, h.seq FROM history_in h WHERE NOT EXISTS (SELECT 1 FROM d WHERE d.deal_id = h.deal_id);

CREATE TEMP TABLE ev0 AS
SELECT d.pos, h.entered_at, h.stage_idx, CASE WHEN h.owner = '' THEN d.owner ELSE h.owner::{owner} END AS owner,
       h.seq
FROM history_in h JOIN d USING (deal_id)
UNION ALL
SELECT pos, created_at,
       (CASE WHEN stage_idx = {no_stage} AND status = 'open' THEN {new}
             WHEN status <> 'open' OR stage_idx < 0 OR stage_idx = {signed} THEN {work_started}
             ELSE stage_idx END)::TINYINT,
       owner, {nh} + pos::BIGINT
FROM d WHERE NOT EXISTS (SELECT 1 FROM history_in h WHERE h.deal_id = d.deal_id);

{drop_history};

CREATE TEMP TABLE d2 AS
SELECT d.pos, d.deal_id, d.owner, d.status,
       CASE WHEN d.status = 'won' THEN coalesce(d.signed_at, h.signed_at, h.last_seen) END AS signed_at,
       CASE WHEN d.status = 'lost' THEN coalesce(d.lost_at, h.lost_at, h.last_seen) END AS lost_at,
       d.status = 'won' AND coalesce(d.signed_at, h.signed_at) IS NULL AS undated_won,
       d.status = 'lost' AND coalesce(d.lost_at, h.lost_at) IS NULL AS undated_lost,
       coalesce(h.has_signed, false) AS has_signed, coalesce(h.has_lost, false) AS has_lost,
       d.created_at, d.amount, d.expected_close_date, d.competitor, d.credit, d.company, d.lost_reason
FROM d LEFT JOIN (
    SELECT pos, min(entered_at) FILTER (stage_idx = {signed}) AS signed_at,
           max(entered_at) FILTER (stage_idx = {lost}) AS lost_at, max(entered_at) AS last_seen,
           bool_or(stage_idx = {signed}) AS has_signed, bool_or(stage_idx = {lost}) AS has_lost
    FROM ev0 GROUP BY pos) h ON h.pos = d.pos;

DROP TABLE d;

CREATE TEMP TABLE ev AS
SELECT pos, entered_at, stage_idx, owner, rank, (row_number() OVER w)::INTEGER AS k,
       coalesce(max(rank) OVER (PARTITION BY pos ORDER BY k ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
                -1)::TINYINT AS reached_before,
       lead(entered_at) OVER w AS ended_at,
       min(entered_at) OVER (PARTITION BY pos ORDER BY k ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING)
           AS later_at,
       min(CASE WHEN rank >= 0 THEN entered_at END) OVER (
           PARTITION BY pos ORDER BY k ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS later_ranked_at
FROM (
    SELECT *, row_number() OVER order_of AS k, lag(stage_idx) OVER order_of AS previous
    FROM (
        SELECT *, CASE WHEN stage_idx >= 0 THEN {rank_of_stage} ELSE -1 END::TINYINT AS rank
        FROM (SELECT * FROM ev0
              UNION ALL
              SELECT pos, signed_at, {signed}::TINYINT, owner, {nh} + {n} + pos::BIGINT FROM d2
              WHERE status = 'won' AND signed_at IS NOT NULL AND NOT has_signed
              UNION ALL
              SELECT pos, lost_at, {lost}::TINYINT, owner, {nh} + 2 * {n} + pos::BIGINT FROM d2
              WHERE status = 'lost' AND lost_at IS NOT NULL AND NOT has_lost))
    WINDOW order_of AS (PARTITION BY pos ORDER BY {loss_time}, CASE WHEN rank < 0 THEN 99 ELSE rank END, seq))
WHERE previous IS NULL OR previous <> stage_idx
WINDOW w AS (PARTITION BY pos ORDER BY k);

CREATE TEMP VIEW stays AS
SELECT pos, k, stage_idx, ended_at, date_diff('day', entered_at::DATE, ended_at::DATE)::INTEGER AS days
FROM ev WHERE rank >= 0 AND stage_idx <> {signed} AND ended_at IS NOT NULL;

DROP TABLE ev0;
"""

# deal: one row per deal for the formulas and the lists — d2 (the amount NULL: none), the first entries (fe:
# per ranked stage r, the first entry into r or a later-ranked stage, t<r>, and its owner, o<r>), the signer
# (who a signed deal's revenue belongs to: the owner of its signed entry, else the deal's owner) and the lost
# owner (the owner of its latest lost entry, else the deal's owner)
DEAL_SQL = """
CREATE TEMP TABLE deal AS
SELECT d2.pos, d2.deal_id, d2.owner, d2.status, d2.signed_at, d2.lost_at, d2.created_at, d2.amount,
       d2.expected_close_date, d2.competitor, d2.credit, d2.company, d2.lost_reason, {first_entries},
       CASE WHEN coalesce(fe.o8, '') = '' THEN d2.owner ELSE fe.o8 END AS signer,
       coalesce(l.lost_owner, d2.owner) AS lost_owner
FROM d2 LEFT JOIN ({fe}) fe USING (pos)
     LEFT JOIN (SELECT pos, arg_max(owner, k) AS lost_owner FROM ev WHERE stage_idx = {lost} GROUP BY pos) l
     USING (pos)
"""


def _first_entries_sql() -> str:
    """Per deal, for each ranked stage r, the earliest entry into r or a later-ranked stage (ties: the
    lower rank, then the earlier row) as t<r>, and the owner of that entry as o<r>. Among ranked entries the
    order k is exactly (time, rank, row), so the first entry into r is the first row of rank ≥ r in k order:
    the row where the deal's furthest rank so far (reached_before) first reaches r. Each such record row is
    the first entry of the ranks it passes, reached_before < r ≤ rank — exactly one row for each r."""
    # max of a CASE rather than a FILTER: the same values (one row matches), and 20 % quicker at 1M deals
    columns = ", ".join(f"max(CASE WHEN reached_before < {r} AND rank >= {r} THEN entered_at END) AS t{r}, "
                        f"max(CASE WHEN reached_before < {r} AND rank >= {r} THEN owner END) AS o{r}"
                        for r in range(len(RANKED_STAGES)))
    return f"SELECT pos, {columns} FROM ev WHERE rank > reached_before GROUP BY pos"


def _first_ids(con, table: str, where: str, order: str = "pos") -> list[str]:
    """The ids of the first SAMPLE_IDS rows of `table` where `where` holds, to name in a warning."""
    return [deal_id for (deal_id,) in con.sql(f"SELECT deal_id FROM {table} WHERE {where} ORDER BY {order} "
                                              f"LIMIT {SAMPLE_IDS}").fetchall()]


def _facts_warnings(con, flagged: dict[str, tuple[str, ...]]) -> list[str]:
    """What FACTS_SQL found amiss: orphan history rows, closed deals without a date, backward moves (whose
    deals go into `flagged`, by message: check lists them all)."""
    out = []
    (orphans,), = con.sql("SELECT count(*) FROM orphans").fetchall()
    if orphans:
        ids = [deal_id for (deal_id,) in con.sql(f"SELECT deal_id FROM orphans GROUP BY deal_id ORDER BY min(seq) "
                                                 f"LIMIT {SAMPLE_IDS}").fetchall()]
        out.append(f"{orphans} stage-history row(s) name deals not in the deals table and are ignored "
                   f"(e.g. {', '.join(ids)}).")
    for flag, wording in (
        ("undated_won", ("won deal(s) have no signed date; their last stage change is taken instead, as for a "
                         "lost deal without a date (e.g. {ids}). Fill in signed_at (or closed_at).")),
        ("undated_lost", ("lost deal(s) have no lost date; their last stage change is taken instead "
                          "(e.g. {ids}). Fill in lost_at (or closed_at).")),
    ):
        (count,), = con.sql(f"SELECT count(*) FROM d2 WHERE {flag}").fetchall()
        if count:
            out.append(f"{count} " + wording.format(ids=", ".join(_first_ids(con, "d2", flag))))
    # a ranked entry below a rank reached before it: the history moves backwards somewhere there
    backwards = [deal_id for (deal_id,) in con.sql(
        "SELECT d2.deal_id FROM d2 JOIN (SELECT DISTINCT pos FROM ev WHERE rank >= 0 AND rank < reached_before) b "
        "USING (pos) ORDER BY d2.pos").fetchall()]
    if backwards:
        message = (f"{len(backwards)} deal(s) have a stage history that moves backwards; 'reached' keeps their "
                   f"furthest stage (e.g. {', '.join(backwards[:SAMPLE_IDS])}).")
        out.append(message)
        flagged[message] = tuple(backwards)
    return out


def active_reps(reps: pd.DataFrame, start: np.datetime64, until: np.datetime64) -> pd.Series:
    """Reps active in [start, until): hired before `until` (or no hire_date), not left before `start`."""
    hired = reps["hire_date"].isna() | (reps["hire_date"] < until)
    stayed = reps["left_at"].isna() | (reps["left_at"] >= start)
    return hired & stayed
