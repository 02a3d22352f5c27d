"""A dataset reads as at least as marked as the assets covering it, kept on the dataset
(observed_dataset.covering_marking, adc.register.markings) by every write that can change it: an IAR
import, triage, the harvest merge; and filled by migration 0008 for what was harvested before it
(SQLite and PostgreSQL)."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select, update

from adc import visibility
from adc.model import GSCP
from adc.naming import DatasetId
from adc.organisations import load_organisations
from adc.register import markings, store, triage
from adc.register.db import make_engine, migrate
from adc.register.forms import REGISTER
from adc.register.tables import asset, asset_location, observed_dataset
from tests.integration.register.test_triage import SANDBOX, finding_id, reconciled  # noqa: F401 - the fixture
from tests.support.organisations import declare, organisations_yaml
from tests.support.register_staging import bucket_scope, harvest, s3
from tests.support.register_staging import register as import_assets

ORGANISATIONS = organisations_yaml(
    "{user: victor, organisations: [dept], clearance: OFFICIAL-SENSITIVE}",
    "{user: dana, organisations: [dept], clearance: SECRET, data_protection: true}",
)


@pytest.fixture
def organised(register, tmp_path, monkeypatch):
    declare(tmp_path, monkeypatch, ORGANISATIONS)
    return register


def seen(engine, user: str) -> set[str]:
    """The current datasets ``user`` may see, as namespace/name."""
    visible = visibility.datasets(load_organisations().reader(user))
    return {f"{d['id']['namespace']}/{d['id']['name']}" for d in store.current_datasets(engine, visible=visible)}


def markings_of(engine) -> dict[tuple[str, str, bool], str | None]:
    """covering_marking of every version: (namespace/name, current) -> marking (versions of one dataset agree)."""
    with engine.connect() as conn:
        rows = conn.execute(select(observed_dataset.c.namespace, observed_dataset.c.name,
                                   observed_dataset.c.valid_to.is_(None), observed_dataset.c.covering_marking))
        return {(f"{ns}/{name}", bool(current)): marking for ns, name, current, marking in rows}


STATS = {"s3://dept-stats/stats/2024", "s3://dept-stats/stats/2025"}
CASES = {"s3://dept-cases/cases"}


def _harvest_dept(engine, *extra_columns: str) -> None:
    harvest(engine,
            (bucket_scope("dept-stats"), [s3("dept-stats", "stats/2024", "id", *extra_columns),
                                          s3("dept-stats", "stats/2025", "id")]),
            (bucket_scope("dept-cases"), [s3("dept-cases", "cases", "id")]))


def _statistics(engine, classification: str, location: str = "s3://dept-stats/stats") -> None:
    import_assets(engine, {"asset_id": "IA-0001", "name": "Statistics", "location": location,
                      "classification": classification})


def test_an_import_that_marks_the_covering_asset_secret_hides_its_datasets_at_once_and_lowering_shows_them(organised):
    _statistics(organised, "OFFICIAL")
    _harvest_dept(organised)
    _harvest_dept(organised, "amount")  # stats/2024 changed: a second version, the first kept
    assert seen(organised, "victor") == STATS | CASES
    assert markings_of(organised) == {("s3://dept-stats/stats/2024", True): "OFFICIAL",
                                      ("s3://dept-stats/stats/2024", False): "OFFICIAL",
                                      ("s3://dept-stats/stats/2025", True): "OFFICIAL",
                                      ("s3://dept-cases/cases", True): None}

    _statistics(organised, "SECRET")  # the next IAR import reclassifies it
    assert seen(organised, "victor") == CASES
    assert seen(organised, "dana") == STATS | CASES  # cleared to SECRET
    assert {marking for (uri, _), marking in markings_of(organised).items() if uri in STATS} == {"SECRET"}

    _statistics(organised, "OFFICIAL-SENSITIVE")  # lowered: within victor's clearance again
    assert seen(organised, "victor") == STATS | CASES
    assert {marking for (uri, _), marking in markings_of(organised).items() if uri in STATS} == {"OFFICIAL-SENSITIVE"}

    _statistics(organised, "SECRET", location="s3://dept-cases")  # moved: what it leaves is no longer covered
    assert seen(organised, "victor") == STATS
    assert {uri: marking for (uri, _), marking in markings_of(organised).items()} == {
        "s3://dept-stats/stats/2024": None, "s3://dept-stats/stats/2025": None, "s3://dept-cases/cases": "SECRET"}


def test_the_strongest_covering_asset_marks_a_dataset_and_the_weaker_one_does_not_lower_it(organised):
    import_assets(organised, {"asset_id": "IA-0001", "name": "Bucket", "location": "s3://dept-stats",
                              "classification": "SECRET"},
                  {"asset_id": "IA-0002", "name": "Statistics", "location": "s3://dept-stats/stats/2024",
                   "classification": "OFFICIAL"})
    _harvest_dept(organised)
    assert seen(organised, "victor") == CASES
    import_assets(organised, {"asset_id": "IA-0001", "name": "Bucket", "location": "s3://dept-stats",
                              "classification": "OFFICIAL"})
    assert markings_of(organised)[("s3://dept-stats/stats/2024", True)] == "OFFICIAL"
    assert seen(organised, "victor") == STATS | CASES


def test_a_newly_harvested_dataset_under_a_secret_asset_is_hidden_at_once(organised):
    _statistics(organised, "SECRET")
    _harvest_dept(organised)
    assert seen(organised, "victor") == CASES
    assert markings_of(organised)[("s3://dept-stats/stats/2025", True)] == "SECRET"
    # a new version (its columns changed) and a gone one carry it too
    harvest(organised, (bucket_scope("dept-stats"), [s3("dept-stats", "stats/2024", "id", "amount")]))
    versions = markings_of(organised)
    assert versions[("s3://dept-stats/stats/2024", True)] == versions[("s3://dept-stats/stats/2025", True)] == "SECRET"
    with organised.connect() as conn:
        gone = conn.execute(select(observed_dataset.c.gone, observed_dataset.c.covering_marking).where(
            observed_dataset.c.name == "stats/2025", observed_dataset.c.valid_to.is_(None))).one()
    assert tuple(gone) == (True, "SECRET")
    assert seen(organised, "victor") == CASES


def test_triage_registering_a_dataset_as_secret_hides_it_at_once(reconciled, tmp_path, monkeypatch):  # noqa: F811
    declare(tmp_path, monkeypatch, ORGANISATIONS)
    assert "s3://sandbox/tmp" in seen(reconciled, "victor")
    done = triage.apply(reconciled, triage.Answer(finding_id(reconciled, SANDBOX), REGISTER, {
        "owner": "gita", "classification": "SECRET", "personal_data": "yes"}, "dana"))
    assert done["outcome"].startswith("registered as ")
    assert "s3://sandbox/tmp" not in seen(reconciled, "victor")
    assert "s3://sandbox/tmp" in seen(reconciled, "dana")


def test_the_covering_marking_follows_dataset_id_covers(register):
    """Random locations and datasets, nested and side by side (a name that merely starts like a location's,
    '//', a whole namespace), assets without a classification or with one that is no GSCP marking: each
    dataset's marking is the strongest of the assets DatasetId.covers finds."""
    rnd = random.Random(8)
    # (no name ends with '/': no dataset's does, and sqlfn.covers does not take 'a/' to lie under 'a')
    names = ["", "a", "a/b", "a/b/c", "a/bc", "a-b", "a//b", "/a", "ab/c", "b", "b/a/c/d"]
    namespaces = ["s3://one", "s3://two"]
    locations = [(f"IA-{i:04d}", DatasetId(rnd.choice(namespaces), rnd.choice(names)),
                  rnd.choice([*GSCP, None, "RESTRICTED"])) for i in range(25)]
    datasets = {DatasetId(ns, name) for ns in namespaces for name in names}
    at = datetime.now(UTC)
    with register.begin() as conn:
        conn.execute(insert(asset), [{"asset_id": asset_id, "name": asset_id, "security_classification": marking,
                                      "created_at": at, "updated_at": at} for asset_id, _, marking in locations])
        conn.execute(insert(asset_location), [{"asset_id": asset_id, "uri": str(identity),
                                               "namespace": identity.namespace, "name": identity.name}
                                              for asset_id, identity, _ in locations])
        conn.execute(insert(observed_dataset), [_version(identity, at) for identity in sorted(datasets)])
        markings.refresh(conn)
    with register.connect() as conn:
        found = _by_identity(conn)
    for identity in datasets:
        covering = [m for _, location, m in locations if m is not None and location.covers(identity)]
        # a classification that is no GSCP marking reads as the strongest
        expected = max(covering, key=lambda m: GSCP.index(m) if m in GSCP else len(GSCP)) if covering else None
        assert found[identity] == (GSCP[-1] if expected == "RESTRICTED" else expected), identity

    # under one location: only what lies there is looked at, and it comes out the same
    with register.begin() as conn:
        conn.execute(update(observed_dataset).values(covering_marking="OFFICIAL"))
        markings.refresh(conn, under={DatasetId("s3://one", "a")})
        after = _by_identity(conn)
    assert after == {identity: found[identity] if DatasetId("s3://one", "a").covers(identity) else "OFFICIAL"
                     for identity in datasets}

    # under more locations than a scoped refresh is worth: every dataset
    with register.begin() as conn:
        markings.refresh(conn, under={DatasetId("s3://three", f"p{i}") for i in range(markings.MOST_LOCATIONS + 1)})
        assert _by_identity(conn) == found


def _by_identity(conn) -> dict[DatasetId, str | None]:
    return {DatasetId(ns, name): marking for ns, name, marking in conn.execute(
        select(observed_dataset.c.namespace, observed_dataset.c.name, observed_dataset.c.covering_marking))}


def _version(identity: DatasetId, at: datetime, **values) -> dict:
    return {"namespace": identity.namespace, "name": identity.name, "service": "s3", "source": "test",
            "scope": identity.namespace, "classification": "none", "content_hash": "test",
            "record": {"id": {"namespace": identity.namespace, "name": identity.name}}, "first_seen_run": "h1",
            "first_seen_at": at, "last_seen_run": "h1", "last_seen_at": at, "valid_to": None, **values}


def test_the_migration_fills_what_was_harvested_before_it(register_url):
    engine = make_engine(register_url)
    migrate(engine, "0007")
    at = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(insert(asset), [
            {"asset_id": "IA-0001", "name": "Watch list", "security_classification": "SECRET", "created_at": at,
             "updated_at": at},
            {"asset_id": "IA-0002", "name": "Cases", "security_classification": "OFFICIAL", "created_at": at,
             "updated_at": at},
            {"asset_id": "IA-0003", "name": "Unmarked", "security_classification": None, "created_at": at,
             "updated_at": at}])
        conn.execute(insert(asset_location), [
            {"asset_id": "IA-0001", "uri": "s3://dept/watch", "namespace": "s3://dept", "name": "watch"},
            {"asset_id": "IA-0002", "uri": "s3://dept", "namespace": "s3://dept", "name": ""},
            {"asset_id": "IA-0003", "uri": "s3://other", "namespace": "s3://other", "name": ""}])
        rows = [_version(DatasetId("s3://dept", "watch/list"), at, valid_to=at),  # an older version
                _version(DatasetId("s3://dept", "watch/list"), at),
                _version(DatasetId("s3://dept", "watchers"), at),  # starts like watch, not under it
                _version(DatasetId("s3://other", "x"), at),
                _version(DatasetId("s3://elsewhere", "y"), at)]
        conn.execute(insert(observed_dataset), rows)  # every column but covering_marking: 0007's table
    migrate(engine)
    assert markings_of(engine) == {("s3://dept/watch/list", False): "SECRET", ("s3://dept/watch/list", True): "SECRET",
                                   ("s3://dept/watchers", True): "OFFICIAL", ("s3://other/x", True): None,
                                   ("s3://elsewhere/y", True): None}
    engine.dispose()
