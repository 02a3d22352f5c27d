"""The register UI shows each person only what the one visibility rule lets them see (docs/organisations.md),
on every route, on SQLite and PostgreSQL.

A small register of three organisations: the department (dept), an agency below it (cra) and a
sealed unit below it (psu), with assets, datasets, findings, processing activities, reviews and
history in each, at different markings. dana (dept, SECRET) and victor (dept, OFFICIAL-SENSITIVE)
see the department and the agency up to their clearance, carol (cra, OFFICIAL) the agency's
OFFICIAL items, alice (psu, TOP SECRET) the sealed unit only, and admin, whom organisations.yaml
does not list, nothing. A hidden item answers exactly as one that does not exist.

``VISIBILITY_TESTS`` at the end names, for every route of the app, the test here that proves it:
a new route without one fails ``test_every_route_has_a_visibility_test``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import insert, select, update

from adc.register import history, reconcile
from adc.register.db import make_engine, migrate
from adc.register.tables import asset, finding
from adc.ropa.tables import activity_asset, processing_activity, review, review_step
from adc.ui import audit
from adc.ui.app import create_app
from adc.ui.auth import Csrf, Person
from tests.support.organisations import organisations_yaml
from tests.support.register_staging import bucket_scope, harvest, s3
from tests.support.register_staging import register as register_assets
from tests.support.ui import SECRET, DemoRegister, identify, module_register_url

ORGANISATIONS = organisations_yaml(
    "{user: dana, organisations: [dept], clearance: SECRET, data_protection: true}",
    "{user: victor, organisations: [dept], clearance: OFFICIAL-SENSITIVE}",
    "{user: carol, organisations: [cra]}",
    "{user: alice, organisations: [psu], clearance: TOP SECRET}",
)
SOURCES = textwrap.dedent("""\
    sources:
      - {name: dept, region: eu-west-2, services: [s3], organisation: dept}
      - {name: cra, region: eu-west-2, services: [s3], organisation: cra}
      - {name: psu, region: eu-west-2, services: [s3], organisation: psu, marking: SECRET}
""")

# asset id: (name, location, organisation (None: the department), marking)
ASSETS = {
    "IA-0001": ("Payroll", "s3://dept-payroll", None, "OFFICIAL"),
    "IA-0002": ("Investigations", "s3://dept-investigations", "dept", "SECRET"),
    "IA-0003": ("Agency register", "s3://cra-register", "cra", "OFFICIAL"),
    "IA-0004": ("Agency casework", "s3://cra-casework", "cra", "OFFICIAL-SENSITIVE"),
    "IA-0005": ("Watch list", "s3://psu-watch", "psu", "SECRET"),
    "IA-0006": ("Watch archive", "s3://psu-archive", "psu", "SECRET"),  # listed, empty: absent, but withheld
    "IA-0007": ("Old ledgers", "s3://dept-ledgers", None, "OFFICIAL"),  # listed, empty: missing
    "IA-0008": ("Payroll watch", "s3://dept-payroll/annex", "psu", "SECRET"),  # inside a department bucket
}
SEES = {  # what each person's view holds of ASSETS
    "dana": {"IA-0001", "IA-0002", "IA-0003", "IA-0004", "IA-0007"},
    "victor": {"IA-0001", "IA-0003", "IA-0004", "IA-0007"},
    "carol": {"IA-0003"},
    "alice": {"IA-0005", "IA-0006", "IA-0008"},
    "admin": set(),  # not in organisations.yaml
}
# activity id: (name, organisation, linked assets)
ACTIVITIES = {
    "PA-001": ("Paying staff", None, ["IA-0001", "IA-0008"]),
    "PA-002": ("Registering with the agency", "cra", ["IA-0003"]),
    "PA-003": ("Screening against the watch list", "psu", ["IA-0005"]),
}
ACTIVITIES_SEEN = {"dana": {"PA-001", "PA-002"}, "victor": {"PA-001", "PA-002"}, "carol": {"PA-002"},
                   "alice": {"PA-003"}, "admin": set()}
SECRETS = ("Watch list", "Watch archive", "Payroll watch", "psu-watch", "psu-archive", "psu-drop", "Screening")


def _dataset(bucket: str, prefix: str, organisation: str, marking: str | None = None):
    dataset = s3(bucket, prefix, "id", "year", source=organisation)
    dataset.organisation, dataset.marking = organisation, marking
    return dataset


@dataclass
class Estate:
    ui: DemoRegister  # the app over this register with the test login (no hostile text planted here)
    folder: Path  # organisations.yaml and sources.yaml
    steps: dict[str, str]  # activity id -> its review's owner step
    annex_finding: int  # about IA-0001 (the department's) and its SECRET annex dataset

    @property
    def engine(self):
        return self.ui.engine

    def findings(self) -> dict[int, dict]:
        with self.engine.connect() as conn:
            return {row["finding_id"]: dict(row) for row in conn.execute(select(finding)).mappings()}

    def client(self, user: str, *, bearer: bool = False) -> TestClient:
        return self.ui.client(user, bearer=bearer)


def build(engine, folder: Path) -> Estate:
    register_assets(engine, *({"asset_id": asset_id, "name": name, "location": location, "classification": marking}
                              for asset_id, (name, location, _, marking) in ASSETS.items()))
    with engine.begin() as conn:
        for asset_id, (_, _, organisation, _) in ASSETS.items():
            conn.execute(update(asset).where(asset.c.asset_id == asset_id).values(organisation=organisation))
    harvest(engine,
            (bucket_scope("dept-payroll", source="dept"), [_dataset("dept-payroll", "payroll", "dept"),
                                                          _dataset("dept-payroll", "annex", "dept", "SECRET")]),
            (bucket_scope("dept-investigations", source="dept"),
             [_dataset("dept-investigations", "cases", "dept", "SECRET")]),
            (bucket_scope("dept-ledgers", source="dept"), []),
            (bucket_scope("dept-sandbox", source="dept"), [_dataset("dept-sandbox", "tmp", "dept")]),
            (bucket_scope("cra-register", source="cra"), [_dataset("cra-register", "people", "cra")]),
            (bucket_scope("cra-casework", source="cra"),
             [_dataset("cra-casework", "cases", "cra", "OFFICIAL-SENSITIVE")]),
            (bucket_scope("cra-sandbox", source="cra"), [_dataset("cra-sandbox", "tmp", "cra")]),
            (bucket_scope("psu-watch", source="psu"), [_dataset("psu-watch", "subjects", "psu", "SECRET")]),
            (bucket_scope("psu-archive", source="psu"), []),
            (bucket_scope("psu-drop", source="psu"), [_dataset("psu-drop", "tmp", "psu", "SECRET")]))
    reconcile.reconcile(engine)
    at = datetime.now(UTC)
    with engine.begin() as conn:
        annex = conn.execute(insert(finding).values(
            kind="schema_drift", subject="s3://dept-payroll/annex", severity="medium", status="open",
            asset_id="IA-0001", namespace="s3://dept-payroll", name="annex", summary="the annex changed its columns",
            first_seen_run="test", first_seen_at=at, last_seen_run="test", last_seen_at=at)).inserted_primary_key[0]
        history.record(conn, entity_kind="finding", entity_id=str(annex), action="opened", actor="adc",
                       cause_kind="reconcile", changes={"status": [None, "open"]}, at=at)
        steps = {}
        for activity_id, (name, organisation, linked) in ACTIVITIES.items():
            conn.execute(insert(processing_activity).values(
                activity_id=activity_id, name=name, owner="frank", organisation=organisation,
                next_review_due=date.today() - timedelta(days=30), created_at=at, updated_at=at))
            conn.execute(insert(activity_asset), [{"activity_id": activity_id, "asset_id": a} for a in linked])
            history.record(conn, entity_kind="activity", entity_id=activity_id, action="created", actor="test",
                           cause_kind="test", changes={"name": [None, name]}, at=at)
            review_id = f"{activity_id}/{date.today().isoformat()}"
            conn.execute(insert(review).values(review_id=review_id, activity_id=activity_id, cycle_due=date.today(),
                                               status="open", reasons=["overdue"], opened_at=at))
            history.record(conn, entity_kind="review", entity_id=review_id, action="opened", actor="adc",
                           cause_kind="review", changes={"status": [None, "open"]}, at=at)
            pack = f"# Review of {activity_id} {name}\n"
            steps[activity_id] = f"{review_id}/owner/1"
            conn.execute(insert(review_step).values(
                step_id=steps[activity_id], review_id=review_id, kind="owner", attempt=1, assigned_to=["frank"],
                subject=f"Review {activity_id}", pack=pack, pack_sha256=hashlib.sha256(pack.encode()).hexdigest(),
                issued_at=at, status="pending"))
    (folder / "organisations.yaml").write_text(ORGANISATIONS)
    (folder / "sources.yaml").write_text(SOURCES)
    ui = DemoRegister(url=str(engine.url), engine=engine, hostile_asset="", hostile_finding=0, answered_step="")
    return Estate(ui, folder, steps, annex)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def estate(request, tmp_path_factory, postgres_databases) -> Iterator[Estate]:
    """The register of three organisations (built once per module and database)."""
    folder = tmp_path_factory.mktemp("visibility")
    url = module_register_url(request.param, folder, postgres_databases)
    engine = make_engine(url)
    migrate(engine)
    yield build(engine, folder)
    engine.dispose()
    if request.param == "postgres":
        postgres_databases.drop(url)


@pytest.fixture(autouse=True)
def organisations(estate, monkeypatch) -> None:
    """organisations.yaml and sources.yaml of the three organisations, as the app reads them."""
    monkeypatch.setenv("ADC_ORGANISATIONS", str(estate.folder / "organisations.yaml"))
    monkeypatch.setenv("ADC_SOURCES", str(estate.folder / "sources.yaml"))


def _findings_seen(estate) -> dict[str, set[int]]:
    """What each person's view holds of the findings reconciliation raised (and the annex's, planted)."""
    ids = {(f["kind"], f["asset_id"] or f["namespace"] or f["source"]): i for i, f in estate.findings().items()}
    dept_sandbox, cra_sandbox = ids["unregistered_dataset", "s3://dept-sandbox"], ids["unregistered_dataset", "s3://cra-sandbox"]
    ledgers, annex = ids["missing_asset", "IA-0007"], estate.annex_finding
    psu = {ids["unregistered_dataset", "s3://psu-drop"], ids["absence_withheld", "psu"]}
    return {"dana": {dept_sandbox, cra_sandbox, ledgers, annex}, "victor": {dept_sandbox, cra_sandbox, ledgers},
            "carol": {cra_sandbox}, "alice": psu, "admin": set()}


def _csrf(user: str) -> str:
    return Csrf(SECRET).token(Person(user, user.title(), True, f"{user}:session-1"))


def _as_if_missing(client: TestClient, path: str, hidden: str, missing: str, method: str = "GET", *,
                   status: int = 404, **kwargs) -> None:
    """``path`` (``{}`` for the id) answers for the hidden id exactly as for an id that does not exist."""
    seen = client.request(method, path.format(hidden), **kwargs)
    absent = client.request(method, path.format(missing), **kwargs)
    assert seen.status_code == absent.status_code == status, (path, hidden, seen.status_code, absent.status_code)
    assert missing not in seen.text and seen.text == absent.text.replace(missing, hidden)
    assert ({k: v for k, v in seen.headers.items() if k != "content-length"}
            == {k: v for k, v in absent.headers.items() if k != "content-length"})


def _csv_column(text: str, column: str) -> list[str]:
    return [row[column] for row in csv.DictReader(io.StringIO(text))]


PEOPLE = sorted(SEES)


# --------------------------------------------------------------------------- assets


@pytest.mark.parametrize("user", PEOPLE)
def test_each_person_finds_only_the_assets_they_may_see(estate, user):
    api = estate.client(user, bearer=True)
    found = api.get("/adc/api/assets", params={"limit": 500}).json()
    assert {a["asset_id"] for a in found["assets"]} == SEES[user] and found["total"] == len(SEES[user])
    page = estate.client(user).get("/adc/assets").text
    assert set(re.findall(r"IA-000\d", page)) == SEES[user]
    assert f"{len(SEES[user])} in all" in page or not SEES[user]
    # a search never reaches past the rule: by name, location, marking or owner
    for query in ({"text": "watch"}, {"location": "s3://psu-watch"}, {"classification": "SECRET"}, {"owner": "alice"}):
        hits = {a["asset_id"] for a in api.get("/adc/api/assets", params=query).json()["assets"]}
        assert hits <= SEES[user], (query, hits)


@pytest.mark.parametrize("user", PEOPLE)
def test_an_asset_someone_may_not_see_answers_404_as_one_that_does_not_exist(estate, user):
    page, api = estate.client(user), estate.client(user, bearer=True)
    for asset_id in sorted(set(ASSETS) - SEES[user]):
        _as_if_missing(page, "/adc/assets/{}", asset_id, "IA-9999")
        _as_if_missing(api, "/adc/api/assets/{}", asset_id, "IA-9999")
    for asset_id in SEES[user]:
        assert page.get(f"/adc/assets/{asset_id}").status_code == 200


def test_an_asset_page_lists_only_the_datasets_findings_activities_and_neighbours_one_may_see(estate, monkeypatch):
    dana = estate.client("dana", bearer=True).get("/adc/api/assets/IA-0001").json()
    victor = estate.client("victor", bearer=True).get("/adc/api/assets/IA-0001").json()
    assert [d["name"] for d in dana["datasets"]] == ["annex", "payroll"] and dana["dataset_total"] == 2
    assert [d["name"] for d in victor["datasets"]] == ["payroll"] and victor["dataset_total"] == 1  # annex: SECRET
    assert [f["finding_id"] for f in dana["findings"]] == [estate.annex_finding] and dana["finding_total"] == 1
    assert victor["findings"] == [] and victor["finding_total"] == 0  # it concerns the SECRET annex
    assert [a["activity_id"] for a in victor["activities"]] == ["PA-001"]
    assert [h["action"] for h in victor["history"]] == ["created"]
    page = estate.client("victor").get("/adc/assets/IA-0001").text
    assert "annex" not in page and "IA-0008" not in page and "PA-001" in page
    assert estate.client("carol", bearer=True).get("/adc/api/assets/IA-0003").json()["activities"] == [
        {"activity_id": "PA-002", "name": "Registering with the agency", "owner": "frank", "status": "active",
         "next_review_due": (date.today() - timedelta(days=30)).isoformat()}]
    # the sealed unit's asset inside the payroll bucket is no neighbour of anyone outside it
    assert dana["neighbours"] == [] and dana["neighbour_total"] == 0
    monkeypatch.delenv("ADC_ORGANISATIONS")
    whole = estate.client("dana", bearer=True).get("/adc/api/assets/IA-0001").json()
    assert [n["assets"] for n in whole["neighbours"]] == [["IA-0008"]]


# --------------------------------------------------------------------------- findings


@pytest.mark.parametrize("user", PEOPLE)
def test_each_person_lists_only_the_findings_they_may_see(estate, user):
    seen = _findings_seen(estate)[user]
    found = estate.client(user, bearer=True).get("/adc/api/findings", params={"status": "", "limit": 500}).json()
    assert {f["finding_id"] for f in found["findings"]} == seen and found["total"] == len(seen)
    page = estate.client(user).get("/adc/findings", params={"status": ""}).text
    assert set(map(int, re.findall(r'href="/adc/findings/(\d+)"', page))) == seen
    # asking for the findings of an asset one may not see finds none (IA-0007 has one)
    for asset_id in set(ASSETS) - SEES[user]:
        assert estate.client(user, bearer=True).get("/adc/api/findings", params={
            "asset": asset_id, "status": ""}).json()["total"] == 0


@pytest.mark.parametrize("user", PEOPLE)
def test_a_finding_someone_may_not_see_answers_404_and_cannot_be_acknowledged(estate, user):
    seen = _findings_seen(estate)[user]
    hidden = sorted(set(estate.findings()) - seen)
    page, api = estate.client(user), estate.client(user, bearer=True)
    refused = 403 if user == "victor" else 404  # a viewer may change nothing, seen or not
    for finding_id in hidden:
        _as_if_missing(page, "/adc/findings/{}", str(finding_id), "999999")
        form = {"reason": "not mine to see", "csrf_token": _csrf(user)}
        _as_if_missing(page, "/adc/findings/{}/acknowledge", str(finding_id), "999999", "POST", data=form,
                       status=refused)
        _as_if_missing(api, "/adc/api/findings/{}/acknowledge", str(finding_id), "999999", "POST",
                       json={"reason": "not mine to see"}, status=refused)
    assert all(f["status"] == "open" for f in estate.findings().values())
    for finding_id in seen:
        assert page.get(f"/adc/findings/{finding_id}").status_code == 200


def test_a_person_acknowledges_a_finding_they_may_see(estate):
    [cra_sandbox] = _findings_seen(estate)["carol"]
    try:
        done = estate.client("carol", bearer=True).post(f"/adc/api/findings/{cra_sandbox}/acknowledge",
                                                       json={"reason": "the agency registers it next week"})
        assert done.status_code == 200 and done.json()["acknowledged_by"] == "carol"
    finally:
        with estate.engine.begin() as conn:
            conn.execute(update(finding).where(finding.c.finding_id == cra_sandbox).values(
                status="open", acknowledged_by=None, acknowledged_at=None, reason=None))


# --------------------------------------------------------------------------- activities, reviews, evidence


@pytest.mark.parametrize("user", PEOPLE)
def test_activities_reviews_and_evidence_show_only_what_one_may_see(estate, user):
    seen = ACTIVITIES_SEEN[user]
    page = estate.client(user)
    listing = page.get("/adc/activities").text
    assert set(re.findall(r'href="/adc/activities/(PA-\d+)"', listing)) == seen
    for activity_id in sorted(set(ACTIVITIES) - seen):
        _as_if_missing(page, "/adc/activities/{}", activity_id, "PA-999")
        _as_if_missing(page, "/adc/evidence/{}", estate.steps[activity_id], "PA-999/2001-01-01/owner/1")
    for activity_id in seen:
        assert page.get(f"/adc/activities/{activity_id}").status_code == 200
        assert page.get(f"/adc/evidence/{estate.steps[activity_id]}").status_code == 200


def test_a_pack_marked_above_ones_clearance_reads_as_one_that_does_not_exist(estate):
    """An owner's pack shows the activity's linked assets: one marked SECRET is SECRET, whatever the
    activity (adc.ropa.packs.marking_of). victor and carol see PA-002 but not that pack; dana does."""
    review_id = estate.steps["PA-002"].rsplit("/", 2)[0]
    step_id, pack = f"{review_id}/owner/2", "# Review of PA-002, with a SECRET asset\n"
    with estate.engine.begin() as conn:
        conn.execute(insert(review_step).values(
            step_id=step_id, review_id=review_id, kind="owner", attempt=2, assigned_to=["frank"],
            subject="Review PA-002", pack=pack, pack_sha256=hashlib.sha256(pack.encode()).hexdigest(),
            issued_at=datetime.now(UTC), status="superseded", marking="SECRET"))
    try:
        assert estate.client("dana").get(f"/adc/evidence/{step_id}").status_code == 200
        for user in ("victor", "carol"):
            _as_if_missing(estate.client(user), "/adc/evidence/{}", step_id, "PA-999/2001-01-01/owner/1")
            assert estate.client(user).get(f"/adc/evidence/{estate.steps['PA-002']}").status_code == 200
    finally:
        with estate.engine.begin() as conn:
            conn.execute(review_step.delete().where(review_step.c.step_id == step_id))


def test_a_linked_asset_one_may_not_see_reads_as_one_the_register_does_not_hold(estate):
    victor = estate.client("victor").get("/adc/activities/PA-001").text
    assert re.search(r'IA-0008 <span class="tag bad">not in the register</span>', victor)
    assert "Payroll watch" not in victor and 'href="/adc/assets/IA-0001"' in victor


# --------------------------------------------------------------------------- the dashboard


def test_a_sealed_unit_that_shares_its_counts_shows_them_and_nothing_else_to_the_organisation_above(
        estate, tmp_path, monkeypatch):
    for user in PEOPLE:  # the file as the module declares it: the sealed unit shares nothing
        assert estate.client(user, bearer=True).get("/adc/api/dashboard").json()["shared_counts"] == {}
    sharing = tmp_path / "organisations.yaml"
    sharing.write_text(ORGANISATIONS.replace("sealed: true}", "sealed: true, shares_counts: true}"))
    monkeypatch.setenv("ADC_ORGANISATIONS", str(sharing))
    counts = {"Protective Security Unit": {"assets": 3, "datasets": 2, "live findings": 2, "activities": 1}}
    for user in ("dana", "victor"):  # the department, above the unit, whatever their clearance
        assert estate.client(user, bearer=True).get("/adc/api/dashboard").json()["shared_counts"] == counts
        page = estate.client(user).get("/adc/").text
        assert "Sealed organisations: counts only" in page and "Protective Security Unit" in page
        assert not [secret for secret in SECRETS if secret in page]
    for user in ("carol", "alice", "admin"):  # the agency is not above it; alice stands in it; admin is nobody
        assert estate.client(user, bearer=True).get("/adc/api/dashboard").json()["shared_counts"] == {}


@pytest.mark.parametrize("user", PEOPLE)
def test_the_dashboards_counts_and_charts_hold_only_what_one_may_see(estate, user):
    findings_seen = _findings_seen(estate)[user]
    data = estate.client(user, bearer=True).get("/adc/api/dashboard").json()
    assert data["assets"]["total"] == len(SEES[user])
    # IA-0007 is missing; IA-0006's absence is withheld, with most of the sealed unit's assets
    assert data["assets"]["by_status"]["missing"] == len(SEES[user] & {"IA-0007"})
    assert sum(data["assets"]["by_marking"].values()) == len(SEES[user])
    assert sum(data["findings"]["by_status"].values()) == len(findings_seen)
    assert sum(n for kind in data["findings"]["open"].values() for n in kind.values()) == len(findings_seen)
    assert {a["activity_id"] for a in data["reviews"]["overdue"]} == ACTIVITIES_SEEN[user]
    assert sum(data["reviews"]["under_way"].values()) == len(ACTIVITIES_SEEN[user])
    [point] = data["coverage"]
    datasets = {"dana": 7, "victor": 5, "carol": 2, "alice": 2, "admin": 0}[user]
    unregistered = {"dana": 2, "victor": 2, "carol": 1, "alice": 1, "admin": 0}[user]
    missing = {"dana": 1, "victor": 1, "carol": 0, "alice": 0, "admin": 0}[user]
    scopes = {"dana": 7, "victor": 7, "carol": 3, "alice": 3, "admin": 0}[user]
    assert (point["datasets"], point["unregistered"], point["missing_assets"], point["scopes_complete"]) == (
        datasets, unregistered, missing, scopes)
    page = estate.client(user).get("/adc/").text
    assert f"{len(SEES[user])} information assets" in page
    if user != "alice":
        assert not any(secret in page for secret in SECRETS)


def test_without_organisations_yaml_everyone_sees_everything_as_before(estate, monkeypatch):
    monkeypatch.delenv("ADC_ORGANISATIONS")
    for user in PEOPLE:
        data = estate.client(user, bearer=True).get("/adc/api/dashboard").json()
        assert data["assets"]["total"] == len(ASSETS)
        [point] = data["coverage"]  # as the reconciliation recorded it
        assert (point["datasets"], point["unregistered"], point["missing_assets"], point["scopes_complete"]) == (
            9, 3, 1, 10)
        assert estate.client(user, bearer=True).get("/adc/api/findings", params={"status": ""}).json()["total"] == len(
            estate.findings())


# --------------------------------------------------------------------------- downloads


@pytest.mark.parametrize("user", PEOPLE)
def test_downloads_hold_only_what_one_may_see(estate, user):
    client = estate.client(user)
    register = client.get("/adc/download/register.csv").text
    assert set(_csv_column(register, "asset_id")) == SEES[user]
    book = load_workbook(io.BytesIO(client.get("/adc/download/register.xlsx").content), read_only=True)
    assert {row[0] for row in book["Register"].iter_rows(min_row=2, values_only=True)} == SEES[user]
    ropa = client.get("/adc/download/ropa.xlsx").content
    assert {row[0] for row in load_workbook(io.BytesIO(ropa), read_only=True)["ADC"].iter_rows(
        min_row=2, values_only=True)} == ACTIVITIES_SEEN[user]
    ropa_csv = client.get("/adc/download/ropa.csv").text
    assert ropa_csv.count("\n") == 1 + len(ACTIVITIES_SEEN[user])  # the ICO's columns: no id to show
    findings_seen = _findings_seen(estate)[user]
    report = client.get("/adc/download/reconciliation.csv").text
    assert set(map(int, _csv_column(report, "finding_id"))) == findings_seen
    html = client.get("/adc/download/reconciliation.html").text
    assert f"Live findings ({len(findings_seen)})" in html
    if user != "alice":
        assert all(secret not in text for secret in SECRETS for text in (register, ropa_csv, report, html))


# --------------------------------------------------------------------------- the audit pack


def _pack(data: bytes) -> dict[str, bytes]:
    assert audit.verify(data) == []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _holds_only(estate, files: dict[str, bytes], user: str) -> None:
    """Every file of the pack holds only what ``user`` may see."""
    findings_seen = _findings_seen(estate)[user]
    assert set(_csv_column(files["register.csv"].decode(), "asset_id")) == SEES[user]
    assert set(_csv_column(files["ropa.csv"].decode(), "Activity ID")) == ACTIVITIES_SEEN[user]
    assert {r.split("/")[0] for r in _csv_column(files["reviews.csv"].decode(), "review_id")} == ACTIVITIES_SEEN[user]
    steps = _csv_column(files["review_steps.csv"].decode(), "step_id")
    assert steps == [estate.steps[a] for a in sorted(ACTIVITIES_SEEN[user])]
    assert {n for n in files if n.startswith("evidence/")} == {audit.evidence_file(s) for s in steps}
    assert set(map(int, _csv_column(files["findings.csv"].decode(), "finding_id"))) == findings_seen
    trail = list(csv.DictReader(io.StringIO(files["history.csv"].decode())))
    entities = {(row["entity_kind"], row["entity_id"]) for row in trail}
    assert {e for k, e in entities if k == "asset"} == SEES[user]
    assert {int(e) for k, e in entities if k == "finding"} == findings_seen
    assert {e for k, e in entities if k == "activity"} == ACTIVITIES_SEEN[user]
    assert {e.split("/")[0] for k, e in entities if k == "review"} == ACTIVITIES_SEEN[user]
    rows = json.loads(files["pack.json"])["rows"]
    assert (rows["register.csv"], rows["findings.csv"], rows["history.csv"]) == (
        len(SEES[user]), len(findings_seen), len(trail))


@pytest.mark.parametrize("user", PEOPLE)
def test_the_audit_pack_holds_only_what_one_may_see_and_says_whom_it_is_for(estate, user):
    files = _pack(estate.client(user).get("/adc/download/audit-pack.zip").content)
    _holds_only(estate, files, user)
    readme, info = files["README.txt"].decode(), json.loads(files["pack.json"])
    assert (info["generated_by"], info["prepared_for"]) == (user, user)
    if user == "admin":
        assert "Prepared for admin: it holds nothing: organisations.yaml does not list admin." in readme
    else:
        assert f"Prepared for {user}: it holds only what {user} may see under organisations.yaml: the items of " \
            in readme
    assert info["holds"] in readme
    if user == "victor":
        assert "the items of cra, dept marked up to OFFICIAL-SENSITIVE" in readme
    if user != "alice":
        assert all(secret.encode() not in data for secret in SECRETS for data in files.values())


def test_without_organisations_yaml_the_pack_holds_everything_and_says_so(estate, monkeypatch):
    monkeypatch.delenv("ADC_ORGANISATIONS")
    files = _pack(estate.client("victor").get("/adc/download/audit-pack.zip").content)
    assert set(_csv_column(files["register.csv"].decode(), "asset_id")) == set(ASSETS)
    assert "Prepared for victor: it holds everything in the register (there is no organisations.yaml)." in \
        files["README.txt"].decode()


def test_the_cli_writes_the_pack_as_someone_with_as(estate, tmp_path):
    url = estate.engine.url.render_as_string(hide_password=False)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "ADC_REGISTER_URL": url,
           "ADC_ORGANISATIONS": str(estate.folder / "organisations.yaml"),
           "ADC_SOURCES": str(estate.folder / "sources.yaml")}

    def pack(*args: str) -> dict[str, bytes]:
        output = tmp_path / f"pack-{len(args)}.zip"
        done = subprocess.run([sys.executable, "-m", "adc.cli", "audit-pack", "-o", str(output), "--by", "eve", *args],
                              capture_output=True, text=True, timeout=120, env=env)
        assert done.returncode == 0, done.stderr
        return _pack(output.read_bytes())

    as_carol = pack("--as", "carol")
    _holds_only(estate, as_carol, "carol")
    assert "Prepared for carol: it holds only what carol may see under organisations.yaml" in \
        as_carol["README.txt"].decode()
    assert json.loads(as_carol["pack.json"])["generated_by"] == "eve"
    operator = pack()
    assert set(_csv_column(operator["register.csv"].decode(), "asset_id")) == set(ASSETS)
    assert "Prepared for the register's operator: it holds everything in the register" in \
        operator["README.txt"].decode()


# --------------------------------------------------------------------------- routes without register data, and errors


def test_routes_without_register_data_show_nothing_of_anyone(estate):
    victor = estate.client("victor")
    for path in ("/adc/api/me", "/adc/static/adc.css", "/adc/downloads"):
        response = victor.get(path)
        assert response.status_code == 200 and not any(secret in response.text for secret in SECRETS), path
        assert "IA-0" not in response.text and "PA-0" not in response.text, path


@pytest.mark.parametrize("text", ["organisations: [", "organisations:\n  - {id: dept, name: D, parent: nowhere}\n"])
def test_a_bad_organisations_yaml_answers_503_with_its_one_line_error_and_shows_nothing(estate, tmp_path, monkeypatch,
                                                                                       text):
    bad = tmp_path / "organisations.yaml"
    bad.write_text(text)
    monkeypatch.setenv("ADC_ORGANISATIONS", str(bad))
    page = estate.client("dana").get("/adc/assets")
    assert page.status_code == 503 and "organisations.yaml" in page.text and "Traceback" not in page.text
    assert "IA-0" not in page.text and "<!doctype html>" in page.text.lower()
    api = estate.client("dana", bearer=True).get("/adc/api/dashboard")
    assert api.status_code == 503
    assert api.json()["detail"].startswith("the register cannot tell what you may see until this is corrected: ")
    assert "organisations.yaml" in api.json()["detail"]
    assert estate.client("dana").get("/adc/download/audit-pack.zip").status_code == 503
    assert estate.client("dana", bearer=True).get("/adc/api/me").status_code == 200  # no register data


# --------------------------------------------------------------------------- every route has a visibility test


# (method, route) -> the test here that shows the route gives each person only what they may see
VISIBILITY_TESTS: dict[tuple[str, str], Callable[..., None]] = {
    ("GET", "/"): test_the_dashboards_counts_and_charts_hold_only_what_one_may_see,
    ("GET", "/static/adc.css"): test_routes_without_register_data_show_nothing_of_anyone,
    ("GET", "/assets"): test_each_person_finds_only_the_assets_they_may_see,
    ("GET", "/assets/{asset_id}"): test_an_asset_someone_may_not_see_answers_404_as_one_that_does_not_exist,
    ("GET", "/findings"): test_each_person_lists_only_the_findings_they_may_see,
    ("GET", "/findings/{finding_id}"): test_a_finding_someone_may_not_see_answers_404_and_cannot_be_acknowledged,
    ("POST", "/findings/{finding_id}/acknowledge"):
        test_a_finding_someone_may_not_see_answers_404_and_cannot_be_acknowledged,
    ("GET", "/activities"): test_activities_reviews_and_evidence_show_only_what_one_may_see,
    ("GET", "/activities/{activity_id}"): test_activities_reviews_and_evidence_show_only_what_one_may_see,
    ("GET", "/evidence/{step_id:path}"): test_a_pack_marked_above_ones_clearance_reads_as_one_that_does_not_exist,
    ("GET", "/downloads"): test_routes_without_register_data_show_nothing_of_anyone,
    ("GET", "/download/register.{fmt}"): test_downloads_hold_only_what_one_may_see,
    ("GET", "/download/ropa.{fmt}"): test_downloads_hold_only_what_one_may_see,
    ("GET", "/download/reconciliation.{fmt}"): test_downloads_hold_only_what_one_may_see,
    ("GET", "/download/audit-pack.zip"): test_the_audit_pack_holds_only_what_one_may_see_and_says_whom_it_is_for,
    ("GET", "/api/me"): test_routes_without_register_data_show_nothing_of_anyone,
    ("GET", "/api/dashboard"): test_the_dashboards_counts_and_charts_hold_only_what_one_may_see,
    ("GET", "/api/assets"): test_each_person_finds_only_the_assets_they_may_see,
    ("GET", "/api/assets/{asset_id}"): test_an_asset_someone_may_not_see_answers_404_as_one_that_does_not_exist,
    ("GET", "/api/findings"): test_each_person_lists_only_the_findings_they_may_see,
    ("POST", "/api/findings/{finding_id}/acknowledge"):
        test_a_finding_someone_may_not_see_answers_404_and_cannot_be_acknowledged,
}


def test_every_route_has_a_visibility_test():
    routes = {(method, route.path) for route in create_app(identify=identify, csrf_secret=SECRET).routes
              for method in route.methods}
    assert sorted(routes - set(VISIBILITY_TESTS)) == [], "a route without a visibility test: add one above"
    assert sorted(set(VISIBILITY_TESTS) - routes) == [], "a visibility test for a route the app no longer has"
    assert all(globals()[test.__name__] is test for test in VISIBILITY_TESTS.values())
