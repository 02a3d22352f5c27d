"""The register UI's app on the demo register (SQLite and PostgreSQL), logged in with a test login.

Real Airflow's login in front of the same app: tests/e2e/ui. A browser: tests/e2e/ui (Chromium).
"""

from __future__ import annotations

import csv
import io
import re
import time
import zipfile

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from adc.register import assets, history
from adc.register.tables import finding
from adc.ropa.tables import ICO_HEADINGS
from adc.ui import audit
from adc.ui.auth import CSRF_HEADER, CSRF_MAX_AGE, Csrf, Person
from tests.support.ui import HOSTILE, SECRET

PAGES = ["/adc/", "/adc/assets", "/adc/assets/IA-0031", "/adc/assets/IA-0900", "/adc/findings", "/adc/findings?status=",
         "/adc/activities", "/adc/activities/PA-004", "/adc/downloads"]
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt; {{ 7*7 }}"


def _routes(demo_register) -> list[tuple[str, str]]:
    """Every route of the app with its parameters filled in: (method, path)."""
    from adc.ui.app import create_app
    from tests.support.ui import identify

    filled = {"asset_id": "IA-0031", "finding_id": str(demo_register.hostile_finding), "activity_id": "PA-004",
              "step_id": demo_register.answered_step, "fmt": "csv"}
    result = []
    for route in create_app(identify=identify, csrf_secret=SECRET).routes:
        path = re.sub(r"\{(\w+)(:path)?\}", lambda m: filled[m.group(1)], route.path)
        result += [(method, "/adc" + path) for method in route.methods]
    return result


def _finding_id(demo_register, kind: str, subject: str) -> int:
    with demo_register.engine.connect() as conn:
        return conn.execute(select(finding.c.finding_id).where(finding.c.kind == kind, finding.c.subject == subject)
                            ).scalar_one()


def _csrf(page_html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page_html).group(1)


# --------------------------------------------------------------------------- login and roles


def test_every_route_needs_a_login(demo_register, client):
    anonymous = client(None)
    routes = _routes(demo_register)
    assert len(routes) >= 20
    for method, path in routes:
        response = anonymous.request(method, path)
        assert response.status_code == 401, (method, path, response.status_code)
    page = anonymous.get("/adc/assets")
    assert "Please log in" in page.text and 'href="/auth/login?next=/adc/"' in page.text
    assert anonymous.get("/adc/api/assets").json() == {"detail": "Not authenticated"}


@pytest.mark.reliability("input")
def test_every_page_answers_a_viewer_with_escaped_text_and_no_script(client):
    victor = client("victor")
    for path in PAGES:
        response = victor.get(path)
        assert response.status_code == 200, path
        assert "<script" not in response.text.lower(), path
        assert "Acknowledge</button>" not in response.text  # a viewer is offered no action
        assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
        assert response.headers["Cache-Control"] == "no-store"
    assert f"Hostile {ESCAPED}" in victor.get("/adc/assets").text
    asset = victor.get("/adc/assets/IA-0900").text
    assert f"IA-0900 Hostile {ESCAPED}" in asset and "Hostile &lt;script&gt;alert(1)&lt;/script&gt; 49" not in asset
    assert f"Needs the health data {ESCAPED}" in victor.get("/adc/activities/PA-004").text
    assert "read only" in victor.get("/adc/").text


def test_hostile_text_from_aws_and_people_stays_text(demo_register, client):
    page = client("dana").get(f"/adc/findings/{demo_register.hostile_finding}").text
    assert f"tmp/{ESCAPED}" in page  # the dataset's name, from AWS
    assert f"kept for now {ESCAPED}" in page  # the reason a person gave
    assert "<script>" not in page and "} 49" not in page
    evidence = client("dana").get(f"/adc/evidence/{demo_register.answered_step}").text
    assert "the text below matches it" in evidence


# --------------------------------------------------------------------------- the dashboard


def test_the_dashboard_shows_assets_findings_reviews_and_coverage(client):
    page = client("dana").get("/adc/").text
    assert "15 information assets" in page
    assert re.search(r"the register covers\s+<strong>\d+ of \d+</strong> datasets", page)
    for text in ("Classification mismatch", "Unregistered dataset", "Missing asset", "PA-004 Complaints handling",
                 "overdue", "OFFICIAL-SENSITIVE", "special category"):
        assert text in page, text
    assert page.count("<svg class=\"chart\"") == 6
    data = client("dana", bearer=True).get("/adc/api/dashboard").json()
    assert data["assets"]["total"] == 15 and data["assets"]["by_status"]["missing"] == 2
    assert data["findings"]["open"]["classification_mismatch"]["high"] == 3
    assert [r["activity_id"] for r in data["reviews"]["overdue"]] == ["PA-004"]
    [point] = data["coverage"]
    assert point["datasets"] > 20 and point["unregistered"] == 2 and 0 < point["share"] < 1


# --------------------------------------------------------------------------- assets


@pytest.mark.parametrize(("query", "expected"), [
    ({"text": "ia-003"}, ["IA-0031"]),  # an id prefix, any case
    ({"text": "PAYROLL"}, ["IA-0006"]),  # words of the name
    ({"location": "s3://dcr-prod-payroll-extracts/payroll/period=2024-05"}, ["IA-0006"]),  # covered by the bucket
    ({"location": "glue://corporate_mi"}, ["IA-0006", "IA-0007", "IA-0031"]),  # tables under the database
    ({"location": "legal-holds"}, ["IA-0050"]),  # not a URI: a part of one
    ({"owner": "carol"}, ["IA-0011", "IA-0031"]),
    ({"classification": "official", "personal": "no"}, ["IA-0007", "IA-0031", "IA-0900"]),
    ({"personal": "special"}, ["IA-0003", "IA-0004", "IA-0005"]),
    ({"status": "missing"}, ["IA-0042", "IA-0900"]),
    ({"text": "%"}, []),  # LIKE wildcards are text
])
def test_assets_are_found_by_name_location_owner_classification_and_personal_data(client, query, expected):
    found = client("victor", bearer=True).get("/adc/api/assets", params=query).json()
    assert [a["asset_id"] for a in found["assets"]] == expected
    assert found["total"] == len(expected)


def test_assets_page_by_key_and_every_asset_appears_once(demo_register, client):
    api = client("victor", bearer=True)
    seen, after = [], ""
    while True:
        page = api.get("/adc/api/assets", params={"limit": 4, "after": after}).json()
        seen += [a["asset_id"] for a in page["assets"]]
        if not page["next_after"]:
            break
        after = page["next_after"]
    with demo_register.engine.connect() as conn:
        assert seen == [a["asset_id"] for a in assets.all_assets(conn)]
    html = client("victor").get("/adc/assets", params={"personal": "yes"}).text
    assert "Next page" not in html and "in all." in html


def test_an_asset_shows_locations_schema_activities_findings_lineage_and_history(client):
    page = client("dana").get("/adc/assets/IA-0031").text
    assert "glue://corporate_mi/complaints_raw" in page
    assert "complainant_name" in page and "special category" in page  # the schema's column classifications
    assert "PA-004 Complaints handling" in page
    assert "does not declare what its datasets hold" in page
    assert "also known as" in page and "s3://dcr-prod-complaints-intake/intake" in page  # the Glue table's files
    assert "import: register.csv" in page
    data = client("dana", bearer=True).get("/adc/api/assets/IA-0002").json()
    relations = {(n["relation"], n["dataset"]) for n in data["neighbours"]}
    assert ("also known as", "s3://dcr-prod-applications-curated/applications") in relations
    assert client("dana").get("/adc/assets/IA-9999").status_code == 404


# --------------------------------------------------------------------------- findings and acknowledging


def test_findings_filter_by_status_kind_severity_and_asset(demo_register, client):
    api = client("victor", bearer=True)
    open_ = api.get("/adc/api/findings").json()["findings"]
    assert {f["status"] for f in open_} == {"open"}
    ranks = ["high", "medium", "low"]
    assert [ranks.index(f["severity"]) for f in open_] == sorted(ranks.index(f["severity"]) for f in open_)
    assert [f["asset_id"] for f in api.get("/adc/api/findings", params={"kind": "missing_asset"}).json()["findings"]
            ] == ["IA-0042", "IA-0900"]
    assert {f["kind"] for f in api.get("/adc/api/findings", params={"asset": "IA-0006"}).json()["findings"]} == {
        "classification_mismatch", "owner_mismatch"}
    live = api.get("/adc/api/findings", params={"status": "live", "kind": "unregistered_dataset"}).json()
    assert {f["status"] for f in live["findings"]} == {"open", "acknowledged"}
    paged = api.get("/adc/api/findings", params={"status": "", "limit": 3}).json()
    rest = api.get("/adc/api/findings", params={"status": "", "limit": 100, "after": paged["next_after"]}).json()
    assert len(paged["findings"]) + len(rest["findings"]) == paged["total"]


def test_a_user_acknowledges_a_finding_from_the_page_and_history_names_them(demo_register, client):
    finding_id = _finding_id(demo_register, "owner_mismatch", "IA-0006")
    alice = client("alice")
    page = alice.get("/adc/findings")
    assert page.status_code == 200 and f'id="reason-{finding_id}"' in page.text
    response = alice.post(f"/adc/findings/{finding_id}/acknowledge", follow_redirects=False,
                          data={"reason": f"HR confirms frank owns it {HOSTILE}", "csrf_token": _csrf(page.text),
                                "next": "/adc/findings?status=open"})
    assert response.status_code == 303
    assert response.headers["location"] == f"/adc/findings?status=open&done=acknowledged-{finding_id}"
    assert f"Finding {finding_id} acknowledged" in alice.get(response.headers["location"]).text
    with demo_register.engine.connect() as conn:
        row = conn.execute(select(finding).where(finding.c.finding_id == finding_id)).mappings().one()
        trail = history.of(conn, "finding", str(finding_id))
    assert (row["status"], row["acknowledged_by"], row["reason"]) == (
        "acknowledged", "alice", f"HR confirms frank owns it {HOSTILE}")
    assert (trail[-1]["action"], trail[-1]["actor"], trail[-1]["cause_kind"]) == ("acknowledged", "alice", "ui")
    assert f"HR confirms frank owns it {ESCAPED}" in alice.get(f"/adc/findings/{finding_id}").text
    again = alice.post(f"/adc/findings/{finding_id}/acknowledge", data={
        "reason": "twice", "csrf_token": _csrf(page.text)})
    assert again.status_code == 409 and "only a finding that is open" in again.text
    missing = alice.post("/adc/findings/999999/acknowledge", data={"reason": "x", "csrf_token": _csrf(page.text)})
    assert missing.status_code == 404 and "no finding 999999" in missing.text
    assert alice.get("/adc/findings/999999").status_code == 404


@pytest.mark.reliability("security")
def test_acknowledging_is_refused_to_viewers_forged_forms_and_other_sites(demo_register, client):
    finding_id = _finding_id(demo_register, "retention_mismatch", "IA-0011")
    path = f"/adc/findings/{finding_id}/acknowledge"
    alice = client("alice")
    token = _csrf(alice.get("/adc/findings").text)
    victor = client("victor")
    viewer_token = Csrf(SECRET).token(Person("victor", "Victor", False, "victor:session-1"))
    assert victor.post(path, data={"reason": "x", "csrf_token": viewer_token}).status_code == 403
    assert client("victor", bearer=True).post(f"/adc/api/findings/{finding_id}/acknowledge",
                                              json={"reason": "x"}).status_code == 403
    assert alice.post(path, data={"reason": "no token"}).status_code == 403
    assert alice.post(path, data={"reason": "forged", "csrf_token": token[:-2] + "00"}).status_code == 403
    expired = Csrf(SECRET).token(Person("alice", "Alice", True, "alice:session-1"), now=time.time() - CSRF_MAX_AGE - 5)
    assert alice.post(path, data={"reason": "old page", "csrf_token": expired}).status_code == 403
    other_session = client("alice")
    other_session.cookies.set("_token", "alice:session-2")
    assert other_session.post(path, data={"reason": "other session", "csrf_token": token}).status_code == 403
    assert alice.post(path, data={"reason": "from elsewhere", "csrf_token": token},
                      headers={"Origin": "http://evil.example"}).status_code == 403
    assert alice.post(path, data={"reason": "  ", "csrf_token": token}).status_code == 400
    with demo_register.engine.connect() as conn:
        assert conn.execute(select(finding.c.status).where(finding.c.finding_id == finding_id)).scalar() == "open"
    # a script with the session sends the token as a header; a Bearer token needs none
    assert alice.post(f"/adc/api/findings/{finding_id}/acknowledge", json={"reason": "x"}).status_code == 403
    ok = client("alice", bearer=True).post(f"/adc/api/findings/{finding_id}/acknowledge",
                                           json={"reason": "TTL is switched on next sprint"})
    assert ok.status_code == 200 and ok.json()["acknowledged_by"] == "alice"
    schema = _finding_id(demo_register, "schema_drift",
                         "arn:aws:glue:eu-west-2:123456789012:table/casework_curated/applications <> files")
    by_header = alice.post(f"/adc/api/findings/{schema}/acknowledge", json={"reason": "catalogue fix queued"},
                           headers={CSRF_HEADER: token})
    assert by_header.status_code == 200


# --------------------------------------------------------------------------- processing activities


def test_activities_show_reviews_answers_and_the_evidence_shown(demo_register, client):
    listing = client("victor").get("/adc/activities").text
    assert "PA-004 Complaints handling" in listing and "overdue" in listing
    page = client("victor").get("/adc/activities/PA-004").text
    assert "awaiting approval" in page and "Needs changes" in page and "retention_schedule" in page
    assert "A. Business function" in page and "AD. Reasons for not adhering to policy document" in page
    assert f"/adc/evidence/{demo_register.answered_step}" in page
    evidence = client("victor").get(f"/adc/evidence/{demo_register.answered_step}").text
    assert "Review of PA-004 Complaints handling" in evidence
    assert client("victor").get("/adc/evidence/PA-999/x/owner/1").status_code == 404


# --------------------------------------------------------------------------- downloads


def test_downloads_reuse_the_exporters(demo_register, client):
    victor = client("victor")
    register_csv = victor.get("/adc/download/register.csv")
    assert register_csv.headers["content-disposition"].startswith('attachment; filename="register-')
    assert register_csv.text == assets.export_text(demo_register.engine, "csv")
    workbook = load_workbook(io.BytesIO(victor.get("/adc/download/register.xlsx").content), read_only=True)
    assert workbook["Register"].max_row == 16
    ropa = load_workbook(io.BytesIO(victor.get("/adc/download/ropa.xlsx").content), read_only=True)
    assert [c.value for c in next(ropa["Template"].iter_rows(max_row=1))] == list(ICO_HEADINGS)
    assert next(csv.reader(io.StringIO(victor.get("/adc/download/ropa.csv").text))) == list(ICO_HEADINGS)
    report = victor.get("/adc/download/reconciliation.html").text
    assert "Reconciliation report" in report and "<script>alert(1)" not in report
    assert victor.get("/adc/download/reconciliation.csv").text.startswith("finding_id,kind,severity")
    assert victor.get("/adc/download/register.pdf").status_code == 404


def test_the_audit_pack_downloads_with_matching_checksums(demo_register, client):
    response = client("victor").get("/adc/download/audit-pack.zip")
    assert response.headers["content-type"] == "application/zip"
    assert audit.verify(response.content) == []
    with zipfile.ZipFile(io.BytesIO(response.content)) as pack:
        assert pack.read("register.csv").decode() == assets.export_text(demo_register.engine, "csv")
        assert '"generated_by": "victor"' in pack.read("pack.json").decode()
        names = pack.namelist()
    assert {"README.txt", "ropa.xlsx", "ropa.csv", "reviews.csv", "review_steps.csv", "findings.csv", "history.csv",
            "SHA256SUMS"} <= set(names)
    assert any(name.startswith("evidence/PA-004/") for name in names)
    old = client("victor").get("/adc/download/audit-pack.zip", params={"as_of": "2001-01-01"})
    with zipfile.ZipFile(io.BytesIO(old.content)) as pack:
        assert pack.read("register.csv").decode().count("\n") == 1  # the header: nothing existed yet
    bad = client("victor").get("/adc/download/audit-pack.zip", params={"as_of": "yesterday"})
    assert bad.status_code == 400 and "is not a date (YYYY-MM-DD)" in bad.text
