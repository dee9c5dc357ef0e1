"""JSON output: the stable contract of SPEC §8."""

from __future__ import annotations

import json
from typing import Any

from ..model import MetricValue, PeriodReport, Report


def metric_dict(mv: MetricValue) -> dict[str, Any]:
    out: dict[str, Any] = {
        "value": mv.value,
        "unit": mv.unit.value,
        "target": mv.target,
        "status": mv.status.value if mv.status else None,
        "previous": mv.previous,
    }
    if mv.target_max is not None:
        out["target_max"] = mv.target_max
    if mv.deal_ids is not None:
        out["deal_ids"] = list(mv.deal_ids)
        if mv.deal_ids_truncated:
            out["deal_ids_truncated"] = True
    if mv.basis is not None:
        out["basis"] = mv.basis
    if mv.label is not None:
        out["label"] = mv.label
    return out


def period_dict(pr: PeriodReport) -> dict[str, Any]:
    p = pr.period
    return {
        "period": {"label": p.label, "start": p.start.isoformat(), "end": p.end.isoformat()},
        "metrics": {k: metric_dict(v) for k, v in pr.metrics.items()},
        "by_rep": {
            name: {"role": block.role, **({"rank": block.rank} if block.rank is not None else {}),
                   "metrics": {k: metric_dict(v) for k, v in block.metrics.items()}}
            for name, block in pr.by_rep.items()
        },
    }


def report_dict(report: Report) -> dict[str, Any]:
    current = period_dict(report.current)
    return {
        "report": report.name,
        "period": current["period"],
        "timezone": report.timezone,
        "currency": report.currency,
        "metrics": current["metrics"],
        "by_rep": current["by_rep"],
        "periods": [{"report": report.name, **period_dict(pr)} for pr in report.periods[:-1]],
        "warnings": list(report.warnings),
        **({"sections": {key: {"title": s.title, "columns": s.columns, "rows": s.rows,
                               "units": [u.value if u else None for u in s.units] if s.units else None}
                         for key, s in report.sections.items()}} if report.sections else {}),
    }


def render_json(report: Report) -> str:
    return json.dumps(report_dict(report), ensure_ascii=False, indent=2) + "\n"
