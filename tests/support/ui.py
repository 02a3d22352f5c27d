"""The register UI on the demo register (SQLite and PostgreSQL), with a test login instead of Airflow's.

Helpers for tests/integration/ui (conftest.py has the fixtures).

``demo_register`` builds, once per module and database, what `make demo` shows: the DCR estate
harvested for real from the session's moto server, the demo IAR and RoPA, a reconciliation, a review
cycle with answers, and hostile text in every place people or AWS can write it (an asset, a tag, a
finding's reason, a review comment). ``client(user)`` is the app mounted under /adc, as Airflow mounts
it, logged in as a demo user through a session cookie (or ``bearer=True``: a token, as scripts do).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import pytest
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.testclient import TestClient

from adc.ui.auth import Person, browser_session

HOSTILE = "<script>alert(1)</script> {{ 7*7 }}"
SECRET = b"test-secret-of-at-least-16-bytes"
# nina has a login and no permission at all (an auth manager's user without a role)
ROLES = {"admin": "admin", "dana": "op", "alice": "user", "carol": "user", "frank": "user", "victor": "viewer",
         "nina": None}
FAB_IDS = {"frank": 7}  # FAB's user.get_id() is an int
SESSION = "_token"  # the cookie Airflow's UI sets


def identify(request: Request,
             bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(HTTPBearer(auto_error=False))]) -> Person:
    """A stand-in for Airflow's login (core_api.security.get_user): a Bearer token in the Authorization
    header, else the session cookie, names a demo user; the auth manager's answers come from ROLES."""
    session = browser_session(request, bearer, SESSION)
    if session is None:
        user = bearer.credentials
    elif session:
        user = session.split(":", 1)[0]
    else:
        raise HTTPException(401, "Not authenticated")
    if user not in ROLES:
        raise HTTPException(403, "Invalid JWT token")
    return Person(user_id=FAB_IDS.get(user, user), name=user.title(), can_read=ROLES[user] is not None,
                  can_change=ROLES[user] not in ("viewer", None), session=session)


@dataclass
class DemoRegister:
    url: str
    engine: object  # the register's engine
    hostile_asset: str
    hostile_finding: int  # an unregistered dataset whose name and tag hold HOSTILE
    answered_step: str  # PA-004's owner step, answered with HOSTILE in its comment

    def app(self) -> FastAPI:
        from adc.ui.app import create_app

        outer = FastAPI()
        outer.mount("/adc", create_app(identify=identify, csrf_secret=SECRET, reader=lambda: self.engine,
                                       writer=lambda: self.engine, login_url="/auth/login?next=/adc/"))
        return outer

    def client(self, user: str | None = "dana", *, bearer: bool = False, app: FastAPI | None = None) -> TestClient:
        """A browser (or with ``bearer``, a script) logged in as ``user``, on a new app or on ``app``."""
        client = TestClient(app or self.app(), base_url="http://testserver")
        if user and bearer:
            client.headers["Authorization"] = f"Bearer {user}"
        elif user:
            client.cookies.set(SESSION, f"{user}:session-1")
        client.headers["Accept"] = "text/html"
        return client


def module_register_url(database: str, folder: Path, postgres_databases) -> str:
    """A new register for a module's shared fixture: SQLite in ``folder``, or a throwaway PostgreSQL
    database (the test skips where no server answers)."""
    if database == "sqlite":
        return f"sqlite:///{folder / 'register.db'}"
    if postgres_databases is None:
        pytest.skip("no PostgreSQL reachable (ADC_TEST_POSTGRES_URL, see tests/conftest.py)")
    return postgres_databases.create()


def build(engine) -> DemoRegister:
    from adc.config import SourcesFile
    from adc.demo import estate
    from adc.demo import ropa as demo_ropa
    from adc.demo.content import REGISTER_CSV, ROPA_CSV
    from adc.harvest import runner
    from adc.register import assets, findings, reconcile
    from adc.ropa.forms import CHANGE
    from adc.ropa.outcomes import Answer, record
    from adc.ropa.reviews import issue
    from tests.support.register_staging import bucket_scope, harvest, s3

    assets.import_file(engine, REGISTER_CSV, actor="demo")
    demo_ropa.load(engine, ROPA_CSV)
    record_, problems = assets.validate({"asset_id": "IA-0900", "name": f"Hostile {HOSTILE}",
                                         "description": HOSTILE, "owner": "alice", "classification": "OFFICIAL",
                                         "personal_data": "no", "location": "s3://dcr-e2e-hostile"})
    assert not problems, problems
    assets.import_records(engine, [record_], actor="test", cause="ui tests")
    config = SourcesFile.model_validate({"sources": [{"name": "dcr-prod", "region": estate.REGION}]})
    assert runner.harvest(engine, config)["status"] == "complete"
    # a dataset nobody registered whose name and tag carry HOSTILE (a harvest of one more bucket)
    harvest(engine, (bucket_scope("dcr-e2e-sandbox", source="dcr-prod"),
                     [s3("dcr-e2e-sandbox", f"tmp/{HOSTILE}", "nino", "dob", tags={"note": HOSTILE},
                         source="dcr-prod")]))
    reconcile.reconcile(engine, policy=reconcile.Policy.from_sources(config))
    with engine.connect() as conn:
        hostile = next(f for f in findings.list_findings(conn, kind="unregistered_dataset")
                       if f["namespace"] == "s3://dcr-e2e-sandbox")
    findings.acknowledge(engine, hostile["finding_id"], reason=f"kept for now {HOSTILE}", by="dana")
    [asked] = [q for q in issue(engine, dag_run_id="ui-tests", team=("dana", "erin"))
               if q["review_label"].startswith("PA-004")]
    record(engine, Answer(step_id=asked["step_id"], option=CHANGE, responded_by="carol",
                          responded_at=datetime.now(UTC),
                          params={"comment": f"Needs the health data {HOSTILE}",
                                  "proposed_changes": {"retention_schedule": "RS-07 (3 years)"}}),
           team=("dana", "erin"))
    return DemoRegister(url=str(engine.url), engine=engine, hostile_asset="IA-0900",
                        hostile_finding=hostile["finding_id"], answered_step=asked["step_id"])
