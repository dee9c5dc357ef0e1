"""The README documents every metric id and keeps its set-up commands in step with .ci/run."""

from __future__ import annotations

from pathlib import Path

from salesreport.engine.registry import METRICS
from salesreport.outputs.glossary import glossary_markdown

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_metric_id_is_in_the_glossary():
    missing = [m.id for m in METRICS if f"`{m.id}`" not in README]
    assert not missing


def test_glossary_is_the_registry_s_own():
    # regenerate: python -c "from salesreport.outputs.glossary import glossary_markdown as g; print(g())"
    assert glossary_markdown() in README


def test_ci_runs_exactly_the_readme_test_command():
    command = 'sh tests/system-packages.sh; python -m pip install -q -e ".[test,spark,postgres]" && python -m pytest -q'
    assert command in README
    assert command in (ROOT / ".ci" / "run").read_text()


def test_sample_data_config_is_committed():
    assert (ROOT / "sample_data" / "salesreport.toml").is_file()
    assert "pip install -e . && salesreport weekly --data sample_data" in README
