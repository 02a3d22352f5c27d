"""The register UI's security review (issue 11), on the demo register with the test login: which login
skips the CSRF guard, reading needs a permission, heavy reads are bounded, bad input is refused.

The test login (tests.support.ui.identify) authenticates as Airflow's get_user does and asks
adc.ui.auth.browser_session, as the plugin does, whether the session cookie is what logged in.
"""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select, update

from adc.register import history
from adc.register.tables import finding
from adc.ui import audit, queries
from adc.ui.auth import CSRF_HEADER
from adc.ui.visible import EVERYTHING
from tests.support.ui import SECRET, identify

ANSWER_WAIT = 15  # seconds a test waits for a request running in another thread


def _open_finding(demo_register, kind: str) -> int:
    with demo_register.engine.connect() as conn:
        return conn.execute(select(finding.c.finding_id).where(finding.c.kind == kind, finding.c.status == "open")
                            .order_by(finding.c.finding_id).limit(1)).scalar_one()


def _status(demo_register, finding_id: int) -> str:
    with demo_register.engine.connect() as conn:
        return conn.execute(select(finding.c.status).where(finding.c.finding_id == finding_id)).scalar_one()


def _csrf(page_html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page_html).group(1)


# --------------------------------------------------------------------------- which login skips CSRF


@pytest.mark.reliability("security")
@pytest.mark.parametrize("header", ["Bearer ", "Bearer    ", "bearer", "Basic YWxpY2U6eA==", "Token alice"])
def test_a_session_cookie_needs_the_csrf_token_whatever_authorization_header_comes_with_it(
        demo_register, client, header):
    """Only a Bearer token that the login authenticated skips CSRF: with the cookie and a header the login
    did not take as a token (no token after "Bearer", another scheme), the cookie logged in, so a
    change needs the page's token and a same-site Origin."""
    finding_id = _open_finding(demo_register, "classification_mismatch")
    alice = client("alice")
    token = _csrf(alice.get("/adc/findings").text)
    alice.headers["Authorization"] = header
    api = f"/adc/api/findings/{finding_id}/acknowledge"
    form = f"/adc/findings/{finding_id}/acknowledge"
    assert alice.post(api, json={"reason": "no token"}).status_code == 403
    assert alice.post(form, data={"reason": "no token"}).status_code == 403
    assert alice.post(form, data={"reason": "from elsewhere", "csrf_token": token},
                      headers={"Origin": "http://evil.example"}).status_code == 403
    assert alice.post(api, json={"reason": "from elsewhere"},
                      headers={CSRF_HEADER: token, "Origin": "http://evil.example"}).status_code == 403
    assert _status(demo_register, finding_id) == "open"
    assert client("alice", bearer=True).get("/adc/api/me").json()["user_id"] == "alice"  # a real token logs in


def test_a_token_whose_digits_are_not_ascii_is_refused_not_a_crash(demo_register, client):
    finding_id = _open_finding(demo_register, "classification_mismatch")
    alice = client("alice")
    for token in ("²³.abc", "١٢٣٤.abc"):
        response = alice.post(f"/adc/findings/{finding_id}/acknowledge", data={"reason": "x", "csrf_token": token})
        assert response.status_code == 403, token
    assert _status(demo_register, finding_id) == "open"


# --------------------------------------------------------------------------- reading needs a permission


@pytest.mark.reliability("security")
def test_a_login_without_permission_reads_nothing(demo_register, client):
    from adc.ui.app import create_app

    nina = client("nina")  # logged in, no permission from the auth manager
    routes = [(method, "/adc" + re.sub(r"\{(\w+)(:path)?\}", "1", route.path))
              for route in create_app(identify=identify, csrf_secret=SECRET).routes for method in route.methods]
    assert len(routes) >= 20
    for method, path in routes:
        response = nina.request(method, path)
        assert response.status_code == 403, (method, path, response.status_code)
        assert "IA-0" not in response.text and "PA-0" not in response.text, path
    page = nina.get("/adc/assets/IA-0031")
    assert "may not read the register" in page.text and "IA-0031" not in page.text
    assert client("nina", bearer=True).get("/adc/api/assets").json()["detail"].startswith("nina may not read")
    assert client("victor").get("/adc/assets/IA-0031").status_code == 200  # a viewer reads


# --------------------------------------------------------------------------- heavy reads


@pytest.mark.reliability("security")
def test_one_audit_pack_builds_at_a_time_for_each_person(demo_register, client, monkeypatch):
    real_build = audit.build
    started, release = threading.Event(), threading.Event()

    def victors_build_waits(*args, **kwargs):
        if kwargs["generated_by"] == "victor":
            started.set()
            assert release.wait(ANSWER_WAIT)
        return real_build(*args, **kwargs)

    monkeypatch.setattr(audit, "build", victors_build_waits)
    app = demo_register.app()  # one api-server: each request below is a browser tab (or a script) of its own
    first_client, second, dana = (client(user, app=app) for user in ("victor", "victor", "dana"))
    with ThreadPoolExecutor(1) as pool:
        try:
            first = pool.submit(first_client.get, "/adc/download/audit-pack.zip")
            assert started.wait(ANSWER_WAIT)
            busy = second.get("/adc/download/audit-pack.zip")
            assert busy.status_code == 429 and int(busy.headers["Retry-After"]) > 0
            assert "still being built" in busy.text
            api_busy = client("victor", bearer=True, app=app).get("/adc/download/audit-pack.zip")
            assert api_busy.status_code == 429 and api_busy.headers["Retry-After"]
            other = dana.get("/adc/download/audit-pack.zip")  # another person is not held up
            assert other.status_code == 200 and audit.verify(other.content) == []
        finally:
            release.set()
        assert first.result(ANSWER_WAIT).status_code == 200
    again = second.get("/adc/download/audit-pack.zip")  # the first one done, the next may start
    assert again.status_code == 200 and audit.verify(again.content) == []


def test_a_failed_audit_pack_lets_the_next_one_start(demo_register, client, monkeypatch):
    real_build = audit.build
    calls = []

    def fails_once(*args, **kwargs):
        calls.append(kwargs["generated_by"])
        if len(calls) == 1:
            raise OSError("disk full")
        return real_build(*args, **kwargs)

    monkeypatch.setattr(audit, "build", fails_once)
    victor = client("victor")  # one app: the same api-server both times
    with pytest.raises(OSError):
        victor.get("/adc/download/audit-pack.zip")
    assert victor.get("/adc/download/audit-pack.zip").status_code == 200


def test_the_reconciliation_report_asks_the_database_only_for_what_the_latest_run_resolved(demo_register, client):
    engine = demo_register.engine
    resolved_earlier = _open_finding(demo_register, "owner_mismatch")
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with engine.begin() as conn:
        before = conn.execute(select(finding).where(finding.c.finding_id == resolved_earlier)).mappings().one()
        conn.execute(update(finding).where(finding.c.finding_id == resolved_earlier)
                     .values(status="resolved", resolved_by="an-earlier-run"))
    event.listen(engine, "before_cursor_execute", seen)
    try:
        report = client("victor").get("/adc/download/reconciliation.csv").text
    finally:
        event.remove(engine, "before_cursor_execute", seen)
        with engine.begin() as conn:
            conn.execute(update(finding).where(finding.c.finding_id == resolved_earlier)
                         .values(status=before["status"], resolved_by=before["resolved_by"]))
    assert not any(line.startswith(f"{resolved_earlier},") for line in report.splitlines())
    wheres = [s.split("WHERE", 1)[1] for s in statements if "FROM finding" in s and "WHERE" in s]
    assert any("resolved_by" in where for where in wheres), wheres


def test_each_list_on_an_asset_page_is_bounded_with_its_total(demo_register):
    with demo_register.engine.connect() as conn:
        full = queries.asset_page(conn, EVERYTHING, "IA-0006")
        page = queries.asset_page(conn, EVERYTHING, "IA-0006", limit=1)
        linked = queries.asset_page(conn, EVERYTHING, "IA-0008", limit=1)
    assert full.finding_total == len(full.findings) >= 2
    assert len(page.findings) == 1 and page.finding_total == full.finding_total
    assert page.findings[0]["finding_id"] == full.findings[0]["finding_id"]  # the most severe first
    assert len(page.history) == 1 and page.history_total == full.history_total >= 1
    assert page.history[0]["history_id"] == full.history[0]["history_id"]  # the newest first
    assert len(linked.activities) == 1 and linked.activity_total == 2
    assert len(page.locations) == 1 and page.location_total == full.location_total


def test_a_big_asset_page_shows_the_first_of_each_list_and_how_many_more(register):
    """An asset with more locations, datasets, columns, neighbours and history than its page lists."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from adc.ui.app import create_app
    from tests.support.register_staging import bucket_scope, harvest, s3
    from tests.support.register_staging import register as register_assets

    n = queries.MAX_ROWS + 5
    register_assets(register, {"asset_id": "IA-0777", "name": "Wide",
                               "location": "; ".join(["s3://wide"] + [f"s3://wide-{i}" for i in range(n)])},
                    *({"asset_id": f"IA-{1000 + i}", "name": f"Part {i}", "location": f"s3://wide/d{i:03d}"}
                      for i in range(n)))
    columns = [f"c{i:03d}" for i in range(queries.MAX_COLUMNS + 7)]
    harvest(register, (bucket_scope("wide"), [s3("wide", "a-wide", *columns)]
                       + [s3("wide", f"d{i:03d}", "id") for i in range(queries.MAX_DATASETS + 3)]))
    with register.begin() as conn:
        history.record_many(conn, [{"entity_kind": "asset", "entity_id": "IA-0777", "action": "updated",
                                    "actor": "test", "cause_kind": "test", "changes": {"name": [str(i), str(i + 1)]},
                                    "at": datetime(2030, 1, 1, tzinfo=UTC) + timedelta(minutes=i)}
                                   for i in range(n)])
    outer = FastAPI()
    outer.mount("/adc", create_app(identify=identify, csrf_secret=SECRET, reader=lambda: register,
                                   writer=lambda: register))
    browser = TestClient(outer, base_url="http://testserver")
    browser.cookies.set("_token", "victor:session-1")
    html = browser.get("/adc/assets/IA-0777", headers={"Accept": "text/html"}).text
    for more in ("… and 6 more locations", "… and 4 more datasets", "… and 7 more columns",
                 "… and 5 more lineage neighbours", "… and 6 more older changes"):
        assert more in html, more
    browser.headers["Authorization"] = "Bearer victor"
    data = browser.get("/adc/api/assets/IA-0777").json()
    assert (len(data["locations"]), data["location_total"]) == (queries.MAX_ROWS, n + 1)
    assert (len(data["datasets"]), data["dataset_total"]) == (queries.MAX_DATASETS, queries.MAX_DATASETS + 4)
    wide = data["datasets"][0]
    assert (len(wide["fields"]), wide["field_total"]) == (queries.MAX_COLUMNS, len(columns))
    assert (len(data["neighbours"]), data["neighbour_total"]) == (queries.MAX_ROWS, n)
    assert (len(data["history"]), data["history_total"]) == (queries.MAX_ROWS, n + 1)
    assert data["history"][0]["changes"] == {"name": [str(n - 1), str(n)]}  # the newest first


# --------------------------------------------------------------------------- bad input


@pytest.mark.reliability("security")
@pytest.mark.parametrize("after", ["²:1", "0:²", "١:٢", "0:١٢", "1:99999999999999999999999", "x", "1:"])
def test_a_findings_page_key_that_is_not_ascii_digits_is_400(client, after):
    api = client("victor", bearer=True).get("/adc/api/findings", params={"status": "", "after": after})
    assert api.status_code == 400 and "is not a place in the findings list" in api.json()["detail"], after
    assert client("victor").get("/adc/findings", params={"status": "", "after": after}).status_code == 400


@pytest.mark.parametrize("as_of", ["\r\n2001-01-01", "2001-01-01\r\nSet-Cookie: x=1", "\n2001-01-01", "2001-01-01\t",
                                   "２００１-01-01"])
@pytest.mark.reliability("security")
def test_a_line_break_in_as_of_is_400_and_never_reaches_a_header(client, as_of):
    response = client("victor").get("/adc/download/audit-pack.zip", params={"as_of": as_of})
    assert response.status_code == 400 and "is not a date (YYYY-MM-DD)" in response.text
    assert all("\r" not in value and "\n" not in value for value in response.headers.values())
    assert "content-disposition" not in response.headers


def test_an_audit_pack_as_of_a_date_with_spaces_is_named_by_the_date(client):
    response = client("victor").get("/adc/download/audit-pack.zip", params={"as_of": " 2001-01-01 "})
    assert response.headers["content-disposition"] == 'attachment; filename="adc-audit-pack-2001-01-01.zip"'


def test_a_numeric_user_id_from_fab_acknowledges_and_is_named_as_text(demo_register, client):
    finding_id = _open_finding(demo_register, "classification_mismatch")
    frank = client("frank")  # FAB: user.get_id() is the int 7
    assert frank.get("/adc/api/me").json()["user_id"] == "7"
    page = frank.get(f"/adc/findings/{finding_id}")
    response = frank.post(f"/adc/findings/{finding_id}/acknowledge", follow_redirects=False,
                          data={"reason": "the catalogue is right", "csrf_token": _csrf(page.text)})
    assert response.status_code == 303
    with demo_register.engine.connect() as conn:
        row = conn.execute(select(finding).where(finding.c.finding_id == finding_id)).mappings().one()
        trail = history.of(conn, "finding", str(finding_id))
    assert (row["status"], row["acknowledged_by"], trail[-1]["actor"]) == ("acknowledged", "7", "7")
    pack = client("frank", bearer=True).get("/adc/download/audit-pack.zip")
    assert pack.status_code == 200 and audit.verify(pack.content) == []
