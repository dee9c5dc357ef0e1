"""examples/maven.toml on the real Maven data set (read from ../shared/datasets), checked against a direct count."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from .test_outputs import ROOT, run_cli

PIPELINE = ROOT.parent / "shared" / "datasets" / "maven-crm-sales-opportunities" / "sales_pipeline.csv"
pytestmark = pytest.mark.skipif(not PIPELINE.is_file(), reason="shared data sets are not beside this clone")


def test_monthly_report_on_the_maven_export_matches_a_direct_count():
    proc = run_cli("monthly", "--config", str(ROOT / "examples" / "maven.toml"), "--data", str(PIPELINE),
                   "--month", "2017-06", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    with Path(PIPELINE).open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    won_june = [r for r in rows if r["deal_stage"] == "Won" and r["close_date"].startswith("2017-06")]
    won_ytd = [r for r in rows if r["deal_stage"] == "Won" and "2017-01" <= r["close_date"][:7] <= "2017-06"]
    m = doc["metrics"]
    assert m["deals_signed"]["value"] == len(won_june)
    assert m["revenue_month"]["value"] == pytest.approx(sum(float(r["close_value"]) for r in won_june))
    assert m["revenue_ytd"]["value"] == pytest.approx(sum(float(r["close_value"]) for r in won_ytd))
    warnings = " ".join(doc["warnings"])
    assert "approximations" in warnings  # no stage history in this export
    prospecting = sum(1 for r in rows if not r["engage_date"])
    assert f"{prospecting} deal(s) have no created_at" in warnings
