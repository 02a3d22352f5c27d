"""The demo, without Airflow: the DCR estate (IAM enforced, as in the demo) harvested by the real
harvest, reconciled with the demo IAR, on SQLite and PostgreSQL. The same checks as make demo-check's
reconciliation stage: every planted inconsistency with its kind and severity, nothing unexpected."""

from __future__ import annotations

import pytest

from adc.config import SourcesFile
from adc.demo import estate
from adc.demo.content import REGISTER_CSV
from adc.demo.verify import DEMO_FINDINGS, Report, reconciliation_checks
from adc.harvest import runner
from adc.register import assets, reconcile


@pytest.fixture
def demo_estate(moto, monkeypatch):
    """A fresh moto server with the demo estate, read with the harvester's least-privilege keys."""
    seeded = estate.seed(moto.url, enforce_iam=True)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", seeded.harvester["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", seeded.harvester["aws_secret_access_key"])
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    return moto


def test_the_demo_estate_against_the_demo_register(demo_estate, register):
    assert assets.import_file(register, REGISTER_CSV).created == 14
    config = SourcesFile.model_validate({"sources": [{"name": "dcr-prod", "region": estate.REGION}]})
    assert runner.harvest(register, config)["status"] == "complete"
    result = reconcile.reconcile(register, policy=reconcile.Policy.from_sources(config))
    assert result.changes["opened"] == len(DEMO_FINDINGS) and result.changes["missing"] == 1
    report = Report()
    reconciliation_checks(report, register, reconcile.Policy.from_sources(config))
    assert report.ok, report.render()
