"""Stage harvests for register tests: observed datasets and scope coverage written through the real
store API (start_run / record_unit / record_scope / finish_run), as the harvest writes them."""

from __future__ import annotations

from itertools import count

from sqlalchemy import select

from adc import naming
from adc.harvest.classify import by_name
from adc.model import Field, ObservedDataset, SchemaStatus, ScopeOutcome, ScopeStatus, Service
from adc.register import LIVE, assets, findings, store
from adc.register.tables import asset, asset_location, finding, history, observed_dataset, reconciliation_run

REGION, ACCOUNT = "eu-west-2", "123456789012"
_runs = count(1)

def column(name: str, type_: str = "string") -> Field:
    """A field classified by its name, by the harvest's own rules."""
    found = by_name(name)
    if found is None:
        return Field(name, type_)
    classification, category, reason = found
    return Field(name, type_, classification, category, reason)


def s3(bucket: str, prefix: str, *columns: str, tags: dict | None = None, retention: dict | None = None,
       partitions: tuple[str, ...] = (), schema_status: SchemaStatus = SchemaStatus.INFERRED,
       source: str = "src") -> ObservedDataset:
    return ObservedDataset(
        naming.s3(bucket, prefix), Service.S3, source, bucket, region=REGION, format="parquet",
        location=f"s3://{bucket}/{prefix}", fields=[column(c) for c in columns], partition_keys=list(partitions),
        schema_status=schema_status, tags=dict(tags or {}),
        properties={"retention_control": retention or {"kind": "lifecycle", "active": True}},
        object_count=3, size_bytes=300)


def glue(database: str, table: str, *columns: str, location: str | None = None, source: str = "src",
         partitions: tuple[str, ...] = ()) -> ObservedDataset:
    links = [naming.parse_location(location)] if location else []
    return ObservedDataset(
        naming.glue(REGION, ACCOUNT, database, table), Service.GLUE, source, database, region=REGION,
        location=location, fields=[column(c) for c in columns], partition_keys=list(partitions),
        schema_status=SchemaStatus.CATALOGUE, symlinks=links,
        properties={"retention_control": {"kind": "unknown"}})


def bucket_scope(bucket: str, status: ScopeStatus = ScopeStatus.COMPLETE, *, source: str = "src",
                 error_kind: str | None = None, unreadable: list[str] | None = None) -> ScopeOutcome:
    return ScopeOutcome(source, Service.S3, REGION, bucket, naming.s3(bucket), status, error_kind=error_kind,
                        error=f"{error_kind}: denied" if error_kind else None, unreadable=unreadable or [])


def glue_scope(database: str, status: ScopeStatus = ScopeStatus.COMPLETE, *, source: str = "src") -> ScopeOutcome:
    return ScopeOutcome(source, Service.GLUE, REGION, database, naming.glue_database(REGION, ACCOUNT, database), status)


def harvest(engine, *units: tuple[ScopeOutcome, list[ObservedDataset]], run_id: str | None = None) -> str:
    """One complete harvest run of these scopes; returns its run id."""
    run_id = run_id or f"harvest-{next(_runs):04d}"
    store.start_run(engine, run_id, sorted({outcome.source for outcome, _ in units}))
    for outcome, datasets in units:
        if datasets:
            store.record_unit(engine, run_id, outcome, iter(datasets))
        else:
            store.record_scope(engine, run_id, outcome)
    store.finish_run(engine, run_id)
    return run_id


def register(engine, *rows: dict, actor: str = "test") -> None:
    """Import assets given as file rows (only the columns that matter; the rest get defaults)."""
    defaults = {"owner": "alice", "classification": "OFFICIAL", "personal_data": "no"}
    records = []
    for row in rows:
        record, problems = assets.validate({**defaults, **row})
        assert not problems, problems
        records.append(record)
    assets.import_records(engine, records, actor=actor, cause="test")


# --------------------------------------------------------------------------- the demo's shape in miniature


def demo_register(engine) -> None:
    register(
        engine,
        {"asset_id": "IA-0001", "name": "Applications", "location": "s3://apps", "personal_data": "yes",
         "retention_schedule": "RS-01"},
        {"asset_id": "IA-0031", "name": "Complaints", "location": "s3://complaints; glue://mi/complaints_raw",
         "owner": "carol", "retention_schedule": "RS-07"},
        {"asset_id": "IA-0042", "name": "Legacy index", "location": "s3://ghost", "personal_data": "yes"},
        {"asset_id": "IA-0050", "name": "Legal holds", "location": "s3://legal", "personal_data": "yes"},
        {"asset_id": "IA-0011", "name": "Bookings", "location": "s3://bookings", "personal_data": "yes",
         "retention_schedule": "RS-05"},
        {"asset_id": "IA-0006", "name": "Payroll", "location": "s3://payroll", "personal_data": "yes",
         "owner": "frank"},
        {"asset_id": "IA-0002", "name": "Curated", "location": "s3://curated; glue://cur", "personal_data": "yes"},
    )


def demo_units(**overrides):
    units = {
        "apps": (bucket_scope("apps"), [s3("apps", "applications", "id", "name", "dob", tags={"iar:owner": "alice"})]),
        "complaints": (bucket_scope("complaints"), [s3("complaints", "intake", "complaint_id", "complainant_name",
                                                       "health_condition", "ethnic_origin", "criminal_record_flag")]),
        "mi": (glue_scope("mi"), [glue("mi", "complaints_raw", "complaint_id", "complainant_name", "health_condition",
                                       "ethnic_origin", "criminal_record_flag", location="s3://complaints/intake")]),
        "ghost": (bucket_scope("ghost"), []),  # registered, listed completely, empty: the harvest's "Absent"
        "legal": (bucket_scope("legal", ScopeStatus.FAILED, error_kind="AccessDenied"), []),
        "sandbox": (bucket_scope("sandbox"), [s3("sandbox", "tmp", "nino", "dob", "nationality")]),
        "bookings": (bucket_scope("bookings"), [s3("bookings", "bookings", "booking_id", "name", "phone",
                                                   "accessibility_needs", retention={"kind": "dynamodb_ttl",
                                                                                      "active": False})]),
        "payroll": (bucket_scope("payroll"), [s3("payroll", "payroll", "employee_id", "ni_number", "union_subs",
                                                 tags={"iar:owner": "hr-systems-team"}, partitions=("period",))]),
        "curated": (bucket_scope("curated"), [s3("curated", "applications", "id", "name", "nationality_secondary",
                                                 "year", partitions=("year",))]),
        "cur": (glue_scope("cur"), [glue("cur", "applications", "id", "name", location="s3://curated/applications/",
                                         partitions=("year",))]),
    }
    units.update(overrides)
    return [u for u in units.values() if u is not None]


def live(engine) -> dict[tuple[str, str], dict]:
    with engine.connect() as conn:
        return {(f["kind"], f["subject"]): f for f in findings.list_findings(conn, status=list(LIVE))}


def state(engine) -> dict[str, list[tuple]]:
    """Everything reconciliation may write, row by row."""
    tables = (asset, asset_location, finding, history, reconciliation_run, observed_dataset)
    with engine.connect() as conn:
        return {t.name: [tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns))] for t in tables}


def asset_row(engine, asset_id: str) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(select(asset).where(asset.c.asset_id == asset_id)).mappings().one())
