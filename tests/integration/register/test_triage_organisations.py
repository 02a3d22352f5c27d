"""Triage under organisations.yaml: a finding's question goes to its organisation's data protection team,
only that team's answer applies, and Airflow is shown only the finding's number and a link."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from adc.config import SourcesFile
from adc.organisations import DataProtectionTeams
from adc.register import reconcile, triage
from adc.register.forms import DISMISS, REGISTER
from adc.register.tables import asset, observed_dataset
from tests.integration.register.test_triage import SANDBOX, finding_id, reconciled  # noqa: F401 - the fixture
from tests.support.organisations import declare, organisations_yaml, undeclare
from tests.support.register_staging import live

ORGANISATIONS = organisations_yaml(
    "{user: dana, organisations: [dept], clearance: SECRET, data_protection: true}",
    "{user: sam, organisations: [psu], clearance: TOP SECRET, data_protection: true}",
)
COMPLAINTS = ("classification_mismatch", "IA-0031")


@pytest.fixture
def sealed_asset(reconciled, tmp_path, monkeypatch):  # noqa: F811 - the imported fixture
    """IA-0031 (a high classification mismatch) belongs to the sealed unit."""
    declare(tmp_path, monkeypatch, ORGANISATIONS)
    with reconciled.begin() as conn:
        conn.execute(update(asset).where(asset.c.asset_id == "IA-0031").values(organisation="psu"))
    return reconciled


def _key(engine) -> tuple[str, str]:
    kind, asset_id = COMPLAINTS
    return next(key for key, row in live(engine).items() if key[0] == kind and row["asset_id"] == asset_id)


def test_a_sealed_units_finding_goes_to_its_own_team_with_only_a_link(sealed_asset):
    asked = triage.requests(sealed_asset, asked_by_run="adc_triage:run-1", team=DataProtectionTeams.from_env())
    fid = finding_id(sealed_asset, _key(sealed_asset))
    [question] = [q for q in asked if q["finding_id"] == fid]
    assert question["assigned_users"] == [{"id": "sam", "name": "sam"}]
    assert question["subject"] == f"Triage finding {fid} (high)"
    assert f"(/adc/findings/{fid})" in question["body"] and "IA-0031" not in question["body"]
    # the form's prefilled values show in Required Actions too: no location, no name, only an asset's id
    assert all(set(q["params"]) <= {"asset_id"} for q in asked) and "s3://" not in str(asked)
    assert all(q["assigned_users"] == [{"id": "dana", "name": "dana"}] for q in asked if q is not question)

    with pytest.raises(triage.TriageRefused, match="dana is not in the data protection team"):
        triage.apply(sealed_asset, triage.Answer(fid, DISMISS, {"reason": "test data"}, "dana"))
    assert triage.apply(sealed_asset, triage.Answer(fid, DISMISS, {"reason": "test data"}, "sam"))["by"] == "sam"


def test_an_asset_registered_from_a_sealed_units_dataset_stays_the_sealed_units(sealed_asset):
    with sealed_asset.begin() as conn:
        conn.execute(update(observed_dataset).where(observed_dataset.c.namespace == "s3://sandbox")
                     .values(organisation="psu"))
    fid = finding_id(sealed_asset, SANDBOX)
    triage.requests(sealed_asset, asked_by_run="adc_triage:run-1", team=DataProtectionTeams.from_env())
    done = triage.apply(sealed_asset, triage.Answer(fid, REGISTER, {"owner": "sam", "classification": "SECRET",
                                                                     "personal_data": "yes"}, "sam"))
    asset_id = done["outcome"].removeprefix("registered as ")
    with sealed_asset.connect() as conn:
        assert conn.execute(select(asset.c.organisation).where(asset.c.asset_id == asset_id)).scalar() == "psu"


def test_the_mass_absence_question_names_no_source_where_organisations_are_declared(tmp_path, monkeypatch):
    result = {"harvest_run_id": "h1", "absence": {"psu-vault": {
        "missing": 9, "assets": 10, "share": 0.9, "threshold": 0.25, "decision": "pending", "decided_by": None}}}
    undeclare(tmp_path, monkeypatch)
    assert "**psu-vault**: 9 of 10 assets" in reconcile.absence_question(result)
    declare(tmp_path, monkeypatch, ORGANISATIONS)
    body = reconcile.absence_question(result)
    assert "psu-vault" not in body and "(/adc/findings?kind=absence_withheld)" in body


def test_a_mass_absence_is_decided_only_by_people_on_every_withheld_sources_team(tmp_path, monkeypatch):
    declare(tmp_path, monkeypatch, ORGANISATIONS)
    teams = DataProtectionTeams.from_env()
    sources = SourcesFile.model_validate({"sources": [
        {"name": "dept-prod", "region": "eu-west-2"},
        {"name": "psu-prod", "region": "eu-west-2", "organisation": "psu"}]})

    def held(*names: str, decision: str = "pending") -> dict:
        return {"absence": {name: {"decision": decision} for name in names}}

    assert reconcile.absence_deciders(held("dept-prod"), teams, sources) == ("dana",)
    assert reconcile.absence_deciders(held("psu-prod"), teams, sources) == ("sam",)
    assert reconcile.absence_deciders(held("dept-prod", "psu-prod"), teams, sources) == ()  # nobody sees both
    assert reconcile.absence_deciders(held("psu-prod", decision="rejected"), teams, sources) == ()
