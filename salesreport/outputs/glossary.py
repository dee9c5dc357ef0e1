"""The README's metric glossary, generated from the registry (a test keeps README and registry equal)."""

from __future__ import annotations

from ..engine.registry import COMPETITOR_PREFIX, METRICS, REPORTS, metric_def
from ..model import MetricValue
from .format import fmt_target


def glossary_markdown() -> str:
    """The glossary table: number, id, formula, unit, target and reports of every registered metric."""
    lines = ["| # | id | formula | unit | target | reports |", "|---:|---|---|---|---|---|"]
    family = metric_def(f"{COMPETITOR_PREFIX}<competitor>", "<competitor>")
    for m in sorted(METRICS, key=lambda m: (m.number, METRICS.index(m))):
        target = fmt_target(MetricValue(id=m.id, value=None, unit=m.unit, target=m.target,
                                        target_max=m.target_max), m.direction.value)
        if target and not m.team_status:
            target += " per rep"
        reports = ", ".join(r for r in REPORTS if r in m.reports)
        lines.append(f"| {m.number} | `{m.id}` | {m.formula} | {m.unit.value} | {target} | {reports} |")
        if m.id == "win_rate":
            lines.append(f"| {family.number} | `{family.id}` | {family.formula}; one per competitor named on "
                         f"deals, with the number of deals behind it | ratio |  | team |")
    return "\n".join(lines)
