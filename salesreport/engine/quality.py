"""Data-quality findings (metric 16's deals, signed deals without amount, input warnings)."""

from __future__ import annotations

from datetime import date

import numpy as np

from ..model import Finding
from .formulas import zero_amount_after_qualified
from .funnel import Facts


def findings_for(facts: Facts, as_of: date, future: bool = True) -> list[Finding]:
    """Data-quality findings as of a day; loading errors are raised before this is reached. With `future`
    (check, as of today) deals created after the day are a finding; a report on a past period leaves them
    out: a deal created after the period is no fault of the data."""
    until = np.datetime64(as_of, "ns") + np.timedelta64(1, "D")
    d = facts.deals
    out = [Finding("warning", "input", w, list(facts.warning_ids.get(w, ()))) for w in facts.warnings]
    amount = d["amount"].to_numpy()
    signed = d["signed_at"].to_numpy() < until
    zero = zero_amount_after_qualified(facts, until)
    if zero.any():
        ids = list(d.loc[zero, "deal_id"])
        out.append(Finding("warning", "zero_amount_after_qualified",
                           f"{len(ids)} open or signed deal(s) reached qualified with no amount (metric 16). "
                           "Fill in their amounts in the CRM.", ids))
    credit = d["negative_amount"].to_numpy(dtype=bool) if "negative_amount" in d else np.zeros(len(d), bool)
    signed_no_amount = signed & np.isnan(amount) & ~credit  # a credit note left out has its own warning
    if signed_no_amount.any():
        ids = list(d.loc[signed_no_amount, "deal_id"])
        out.append(Finding("warning", "signed_without_amount",
                           f"{len(ids)} signed deal(s) have no amount and add nothing to revenue.", ids))
    later = d["created_at"].to_numpy() >= until
    if future and later.any():
        ids = list(d.loc[later, "deal_id"])
        out.append(Finding("warning", "created_in_future", f"{len(ids)} deal(s) are created after {as_of}.", ids))
    return out
