"""Lineage on a real register (SQLite and PostgreSQL): harvests at chosen times, assets with a
history, and an OpenLineage HTTP consumer on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sqlalchemy import insert, update

from adc import naming
from adc.model import Classification, Field, ObservedDataset, ScopeOutcome, ScopeStatus, Service
from adc.register import history, store
from adc.register.tables import asset, asset_location

REGION, ACCOUNT = "eu-west-2", "123456789012"  # the tests' ADC_DEFAULT_AWS_* (tests/conftest.py)


def day(d: int, hour: int = 6, minute: int = 0) -> datetime:
    return datetime(2024, 5, d, hour, minute, tzinfo=UTC)


def s3_dataset(bucket: str, prefix: str, *columns: str) -> ObservedDataset:
    fields = [Field(c, classification=Classification.PERSONAL if c in ("email", "name") else Classification.NONE,
                    category=c if c in ("email", "name") else None) for c in columns]
    return ObservedDataset(naming.s3(bucket, prefix), Service.S3, "src", bucket, region=REGION, format="csv",
                           fields=fields, object_count=2, size_bytes=100)


def glue_table(database: str, table: str, location: ObservedDataset, *columns: str) -> ObservedDataset:
    """A Glue table over an S3 dataset: its location is a symlink."""
    return ObservedDataset(naming.glue(REGION, ACCOUNT, database, table), Service.GLUE, "src", f"glue/{database}",
                           region=REGION, format="csv", fields=[Field(c) for c in columns],
                           location=location.id.uri, symlinks=[location.id])


def scope(key: str) -> ScopeOutcome:
    """A complete listing of a bucket, or of a Glue database ("glue/<database>")."""
    if key.startswith("glue/"):
        database = key.removeprefix("glue/")
        return ScopeOutcome("src", Service.GLUE, REGION, database, naming.glue_database(REGION, ACCOUNT, database),
                            ScopeStatus.COMPLETE)
    return ScopeOutcome("src", Service.S3, REGION, key, naming.s3(key), ScopeStatus.COMPLETE)


def harvest_at(engine, monkeypatch, run_id: str, at: datetime, units: dict[str, list[ObservedDataset]],
               triggered_by: str = "cli") -> dict:
    """A complete harvest run through register.store, its clock reading ``at``; ``units`` maps a
    scope (see scope()) to what its listing found."""
    monkeypatch.setattr(store, "now", lambda: at)
    store.start_run(engine, run_id, ["src"], triggered_by=triggered_by)
    for key, datasets in units.items():
        store.record_unit(engine, run_id, scope(key), datasets)
    return store.finish_run(engine, run_id)


def two_harvests(engine, monkeypatch) -> None:
    """Day 1: applications and staff. Day 3: applications gains a column, staff is gone, visits is new."""
    harvest_at(engine, monkeypatch, "h1", day(1), {"b": [s3_dataset("b", "applications", "name"),
                                                         s3_dataset("b", "staff", "email")]})
    harvest_at(engine, monkeypatch, "h2", day(3), {"b": [s3_dataset("b", "applications", "name", "status"),
                                                         s3_dataset("b", "visits", "x")]})


def register_asset(engine, asset_id: str, location: str, at: datetime, **values) -> None:
    """An asset as the register records one: its row, its location and a 'created' history row."""
    identity = naming.parse_location(location, region=REGION, account=ACCOUNT)
    row = {"asset_id": asset_id, "name": f"Asset {asset_id}", "owner": "alice",
           "security_classification": "OFFICIAL", "personal_data": True, "retention_schedule": "RS-01",
           "created_at": at, "updated_at": at, **values}
    with engine.begin() as conn:
        conn.execute(insert(asset).values(**row))
        conn.execute(insert(asset_location).values(asset_id=asset_id, uri=location, namespace=identity.namespace,
                                                   name=identity.name))
        history.record(conn, entity_kind="asset", entity_id=asset_id, action="created", actor="alice",
                       cause_kind="import", changes={**history.diff({}, row), "location": [None, [location]]}, at=at)


def change_asset(engine, asset_id: str, at: datetime, **values) -> None:
    with engine.begin() as conn:
        before = dict(conn.execute(asset.select().where(asset.c.asset_id == asset_id)).mappings().one())
        conn.execute(update(asset).where(asset.c.asset_id == asset_id).values(**values, updated_at=at))
        history.record(conn, entity_kind="asset", entity_id=asset_id, action="updated", actor="dana",
                       cause_kind="ui", changes=history.diff(before, values), at=at)


@dataclass
class Receiver:
    """An OpenLineage HTTP consumer on 127.0.0.1 that keeps the bodies it was sent."""

    bodies: list[bytes] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def events(self) -> list[dict]:
        return [json.loads(body) for body in self.bodies]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def http_transport(monkeypatch, url: str) -> None:
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "http")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__URL", url)
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__RETRY", json.dumps({"total": 0}))  # fail at once in tests


def start_receiver() -> Receiver:
    received = Receiver()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real consumer

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.bodies.append(body)
            self.send_response(201)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    received.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=received.server.serve_forever, daemon=True).start()
    return received
