"""Far-future placeholder dates ("never": 9999-12-31) are read as empty with a warning, wherever they stand."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from salesreport.cli import app

from .conftest import make_data

runner = CliRunner()


def test_placeholder_dates_are_empty_with_a_warning(tmp_path):
    folder = make_data(
        tmp_path / "data",
        deals=[
            {"deal_id": "D1", "owner": "Anna", "created_at": "2026-03-02", "stage": "offer_sent", "amount": "100",
             "expected_close_date": "9999-12-31"},
            {"deal_id": "D2", "owner": "Anna", "created_at": "2026-03-02", "stage": "signed", "amount": "50",
             "signed_at": "2026-03-04", "expected_close_date": "31.12.9999"},
        ],
        reps=[{"name": "Anna", "role": "SDR", "hire_date": "2025-01-01", "left_at": "9999-12-31"}],
    )
    result = runner.invoke(app, ["monthly", "--data", str(folder), "--month", "2026-03", "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["metrics"]["revenue_month"]["value"] == 50
    assert "Anna" in report["by_rep"]  # left_at 9999-12-31 is no leaving date: still employed
    warnings = " ".join(report["warnings"])
    assert 'deals.csv, column "expected_close_date": 2 date(s) after 2262-04-11 such as "9999-12-31"' in warnings
    assert 'reps.csv, column "left_at": 1 date(s) after 2262-04-11' in warnings
