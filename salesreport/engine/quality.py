"""Data-quality findings (metric 16's deals, signed deals without amount, input warnings)."""

from __future__ import annotations

from datetime import date

import numpy as np

from ..model import Finding
from .formulas import sql_instant, zero_amount_after_qualified
from .funnel import Facts


def findings_for(facts: Facts, as_of: date, future: bool = True) -> list[Finding]:
    """Data-quality findings as of a day; loading errors are raised before this is reached. With `future`
    (check, as of today) deals created after the day are a finding; a report on a past period leaves them
    out: a deal created after the period is no fault of the data."""
    instant = np.datetime64(as_of, "ns") + np.timedelta64(1, "D")  # the first instant after the day
    until = sql_instant(instant)
    out = [Finding("warning", "input", w, list(facts.warning_ids.get(w, ()))) for w in facts.warnings]
    zero = zero_amount_after_qualified(facts, instant)
    if zero:
        out.append(Finding("warning", "zero_amount_after_qualified",
                           f"{len(zero)} open or signed deal(s) reached qualified with no amount (metric 16). "
                           "Fill in their amounts in the CRM.", zero))
    # a credit note left out of revenue has a warning of its own
    signed_no_amount = _ids(facts, f"signed_at < {until} AND amount IS NULL AND NOT credit")
    if signed_no_amount:
        out.append(Finding("warning", "signed_without_amount",
                           f"{len(signed_no_amount)} signed deal(s) have no amount and add nothing to revenue.",
                           signed_no_amount))
    later = _ids(facts, f"created_at >= {until}")
    if future and later:
        out.append(Finding("warning", "created_in_future", f"{len(later)} deal(s) are created after {as_of}.", later))
    return out


def _ids(facts: Facts, where: str) -> list[str]:
    """The ids of the deals matching `where`, in the order of the deals table."""
    return [deal_id for (deal_id,) in facts.con.sql(f"SELECT deal_id FROM deal WHERE {where} ORDER BY pos").fetchall()]
