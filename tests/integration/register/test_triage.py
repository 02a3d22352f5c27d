"""Triage: questions for new high-severity findings, answers validated then applied with a history row
naming the person, refusals recorded; and the adc_triage DAG's operator applying an answer."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from airflow.sdk.exceptions import AirflowSkipException
from sqlalchemy import func, select

# imported with the module, not in a test: Airflow configures logging when first loaded, and would
# drop the handler caplog adds for the test
from adc.airflow.reconcile import absence_question
from adc.airflow.triage import questions
from adc.register import assets, findings, history, reconcile, triage
from adc.register.forms import ADD, DISMISS, REGISTER, RETIRE, UPDATE
from adc.register.tables import asset, finding
from adc.register.tables import history as history_table
from tests.support.register_staging import asset_row, demo_register, demo_units, harvest, live

SANDBOX = ("unregistered_dataset", "s3://sandbox/tmp")


@pytest.fixture
def reconciled(register, monkeypatch):
    monkeypatch.setenv("ADC_DATA_PROTECTION_TEAM", "dana,erin")
    demo_register(register)
    harvest(register, *demo_units())
    reconcile.reconcile(register)
    return register


def finding_id(engine, key) -> int:
    return live(engine)[key]["finding_id"]


def answer(engine, key, option, by="dana", **params) -> dict:
    return triage.apply(engine, triage.Answer(finding_id(engine, key), option, params, by))


def snapshot(engine) -> dict:
    with engine.connect() as conn:
        return {"assets": [tuple(r) for r in conn.execute(select(asset).order_by(asset.c.asset_id))],
                "findings": [tuple(r) for r in conn.execute(select(finding).order_by(finding.c.finding_id))]}


def test_each_new_high_finding_is_asked_once(reconciled):
    asked = triage.requests(reconciled, asked_by_run="adc_triage:run-1", team=("dana", "erin"))
    assert [q["subject"].split(":")[0] for q in asked] == [
        "Classification mismatch (high)", "Classification mismatch (high)", "Classification mismatch (high)",
        "Unregistered dataset (high)"]
    sandbox = asked[-1]
    assert sandbox["options"] == [REGISTER, ADD, DISMISS]
    assert sandbox["assigned_users"] == [{"id": "dana", "name": "dana"}, {"id": "erin", "name": "erin"}]
    assert sandbox["params"]["location"] == "s3://sandbox/tmp" and sandbox["params"]["personal_data"] == "yes"
    assert "nino" in sandbox["body"] and "**Evidence**" in sandbox["body"]
    complaints = next(q for q in asked if "IA-0031" in q["subject"])
    assert complaints["params"]["special_categories"] == "racial_or_ethnic_origin,health"
    assert complaints["params"]["criminal_offence_data"] == "yes"
    assert triage.requests(reconciled, asked_by_run="adc_triage:run-2", team=("dana",)) == []
    with reconciled.connect() as conn:
        rows = history.of(conn, "finding", str(sandbox["finding_id"]))
    assert rows[-1]["action"] == "triage_requested" and rows[-1]["cause"] == "adc_triage:run-1"


def test_markdown_from_aws_cannot_format_or_link():
    text = triage.md("[click](http://evil.example) ![x](y) **bold** <b>{{ 7*7 }}</b>")
    # a link shows as typed in a code span (tests/unit/ropa/test_ropa_packs.py renders it); the rest is escaped
    assert text == r"`[click](http://evil.example)` \!\[x\](y) \*\*bold\*\* \<b\>{{ 7\*7 }}\</b\>"


def test_register_as_a_new_asset(reconciled):
    done = answer(reconciled, SANDBOX, REGISTER, owner="gita", classification="official-sensitive",
                  personal_data="yes", name="Dashboard extract", reason="analyst's extract, now owned",
                  location="s3://sandbox")
    assert done["outcome"] == "registered as IA-0051"  # the next free IA-nnnn after the demo's IA-0050
    created = asset_row(reconciled, "IA-0051")
    assert (created["owner"], created["security_classification"], created["personal_data"]) == (
        "gita", "OFFICIAL-SENSITIVE", True)
    with reconciled.connect() as conn:
        (row,) = history.of(conn, "asset", "IA-0051")
        resolved = findings.list_findings(conn, kind="unregistered_dataset")[0]
    assert (row["action"], row["actor"], row["cause_kind"]) == ("created", "dana", "triage")
    assert row["changes"]["location"] == [None, ["s3://sandbox"]]
    assert (resolved["status"], resolved["resolved_by"]) == ("resolved", "dana")
    harvest(reconciled, *demo_units())
    reconcile.reconcile(reconciled)
    assert SANDBOX not in live(reconciled)  # registered: the next reconciliation agrees


def test_add_to_an_existing_asset(reconciled):
    answer(reconciled, SANDBOX, ADD, asset_id="IA-0001")
    assert assets_locations(reconciled, "IA-0001") == ["s3://apps", "s3://sandbox/tmp"]
    with reconciled.connect() as conn:
        change = history.of(conn, "asset", "IA-0001")[-1]
    assert change["actor"] == "dana" and change["changes"]["location"][1] == ["s3://apps", "s3://sandbox/tmp"]


def assets_locations(engine, asset_id):
    with engine.connect() as conn:
        return assets.get(conn, asset_id)["locations"]


def test_update_the_classification(reconciled):
    key = ("classification_mismatch", "IA-0011")
    answer(reconciled, key, UPDATE, personal_data="yes", special_categories="health", criminal_offence_data="no",
           reason="accessibility needs are health data")
    assert asset_row(reconciled, "IA-0011")["special_categories"] == "health"
    harvest(reconciled, *demo_units())
    reconcile.reconcile(reconciled)
    assert key not in live(reconciled)


@pytest.mark.parametrize("option, params, why", [
    (REGISTER, {"classification": "OFFICIAL", "personal_data": "yes"}, "owner: required"),
    (REGISTER, {"owner": "gita", "classification": "RESTRICTED", "personal_data": "yes"}, "not a GSCP marking"),
    (REGISTER, {"owner": "gita", "personal_data": "yes", "classification": "OFFICIAL", "location": "s3://elsewhere"},
     "does not contain the dataset"),
    (REGISTER, {"owner": "gita", "personal_data": "perhaps", "classification": "OFFICIAL"}, "not yes/no"),
    (REGISTER, {"owner": "gita", "personal_data": "yes", "classification": "OFFICIAL", "asset_id": "IA-0001"},
     "already exists"),
    (ADD, {"asset_id": "IA-9999"}, "no asset 'IA-9999'"),
    (DISMISS, {}, "give a reason"),
    (RETIRE, {"reason": "gone"}, "is not an answer to a unregistered_dataset finding"),
])
def test_a_bad_answer_is_refused_recorded_and_changes_nothing(reconciled, option, params, why):
    before = snapshot(reconciled)
    with pytest.raises(triage.TriageRefused, match=why):
        answer(reconciled, SANDBOX, option, by="erin", **params)
    assert snapshot(reconciled) == before
    with reconciled.connect() as conn:
        refusal = history.of(conn, "finding", str(finding_id(reconciled, SANDBOX)))[-1]
    assert (refusal["action"], refusal["actor"]) == ("triage_refused", "erin")
    assert why.split(":")[0] in refusal["changes"]["refused"][1]


def test_an_answer_to_a_finding_already_dealt_with_is_refused(reconciled):
    fid = finding_id(reconciled, SANDBOX)
    triage.apply(reconciled, triage.Answer(fid, DISMISS, {"reason": "test data"}, "dana"))
    with pytest.raises(triage.TriageRefused, match="already dismissed"):
        triage.apply(reconciled, triage.Answer(fid, DISMISS, {"reason": "again"}, "erin"))
    harvest(reconciled, *demo_units())
    reconcile.reconcile(reconciled)
    assert live(reconciled)[SANDBOX]["status"] == "dismissed"  # kept dismissed, not recreated


@pytest.mark.reliability("security")
@pytest.mark.parametrize("by", ["carol", "victor"])
def test_only_the_data_protection_team_may_answer_triage(reconciled, by):
    """Checked again when applying: a question assigned to someone else (a forged XCom) changes nothing."""
    before = snapshot(reconciled)
    with pytest.raises(triage.TriageRefused, match=f"{by} is not in the data protection team"):
        answer(reconciled, SANDBOX, DISMISS, by=by, reason="not mine to say")
    assert snapshot(reconciled) == before
    assert live(reconciled)[SANDBOX]["status"] == "open"


@pytest.mark.reliability("security")
def test_an_answer_about_a_finding_the_run_never_asked_about_is_refused(reconciled):
    fid = finding_id(reconciled, SANDBOX)
    triage.requests(reconciled, asked_by_run="adc_triage:run-1", team=("dana",))
    with pytest.raises(triage.TriageRefused, match="adc_triage:run-2 did not ask about finding"):
        triage.apply(reconciled, triage.Answer(fid, DISMISS, {"reason": "x"}, "dana", asked_by_run="adc_triage:run-2"))
    assert live(reconciled)[SANDBOX]["status"] == "open"
    triage.apply(reconciled, triage.Answer(fid, DISMISS, {"reason": "x"}, "dana", asked_by_run="adc_triage:run-1"))
    assert live(reconciled)[SANDBOX]["status"] == "dismissed"


def test_the_triage_task_applies_the_answer_when_the_person_responds(reconciled):
    from adc.airflow.operators import TriageTask

    (question,) = [q for q in triage.requests(reconciled, asked_by_run="adc_triage:t", team=("dana",))
                   if q["finding_id"] == finding_id(reconciled, SANDBOX)]
    task = TriageTask(task_id="triage", **question)
    result = task.execute_complete(context={"run_id": "t"}, event={
        "chosen_options": [REGISTER], "responded_at": datetime.now(UTC),
        "params_input": {"owner": "gita", "classification": "OFFICIAL", "personal_data": "yes",
                         "name": "Dashboard extract"},
        "responded_by_user": {"id": "erin", "name": "erin"},
    })
    assert result["outcome"].startswith("registered as IA-") and result["by"] == "erin"
    with reconciled.connect() as conn:
        by_erin = conn.execute(select(func.count()).select_from(history_table).where(
            history_table.c.actor == "erin", history_table.c.cause_kind == "triage")).scalar_one()
        assert by_erin == 2  # asset, finding


def test_the_triage_task_renders_nothing_from_the_register(reconciled):
    from adc.airflow.operators import TriageTask

    task = TriageTask(task_id="triage", finding_id=1, subject="{{ 7*7 }}", body="tag: {{ 7*7 }}",
                                 options=[DISMISS])
    task.render_template_fields(context={"ds": "2024-01-01"})
    assert (task.subject, task.body) == ("{{ 7*7 }}", "tag: {{ 7*7 }}")


@pytest.mark.reliability("security")
def test_with_nobody_in_the_data_protection_team_adc_asks_nothing_and_says_why(reconciled, monkeypatch, caplog):
    monkeypatch.setenv("ADC_DATA_PROTECTION_TEAM", " ")
    with pytest.raises(AirflowSkipException, match="the data protection team is empty"):
        questions("adc_triage:run-1")
    with pytest.raises(AirflowSkipException, match="the data protection team is empty"):
        absence_question({"absence": {"src": {"decision": "pending"}}})
    refusals = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(refusals) == 2 and all("team that may answer it names nobody" in line for line in refusals)
    with reconciled.connect() as conn:  # nothing was marked as asked: a team set later is asked
        assert not conn.execute(select(history_table).where(history_table.c.action == "triage_requested")).all()
