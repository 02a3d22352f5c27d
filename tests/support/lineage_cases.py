"""Datasets of every service, as the harvest records them, and assets with a history: the inputs
of the golden events (tests/unit/lineage/golden/). Built from adc.model, so a change of the model
shows here."""

from __future__ import annotations

from datetime import UTC, date, datetime

from adc import naming
from adc.lineage.estate import Assets, Version
from adc.model import Classification, Field, ObservedDataset, SchemaStatus, Service

REGION, ACCOUNT = "eu-west-2", "123456789012"
T0 = datetime(2024, 5, 1, 6, 0, tzinfo=UTC)  # the first harvest
T1 = datetime(2024, 5, 3, 6, 0, tzinfo=UTC)  # a later harvest
OWNER_CHANGED = datetime(2024, 5, 2, 9, 30, tzinfo=UTC)


def personal(name: str, category: str, type_: str = "string") -> Field:
    return Field(name, type_, Classification.PERSONAL, category, f"name matches {category!r}")


def special(name: str, category: str, type_: str = "string") -> Field:
    return Field(name, type_, Classification.SPECIAL, category, f"name matches {category!r}")


def observed() -> dict[str, ObservedDataset]:
    curated = naming.s3("dcr-prod-applications-curated", "applications")
    return {
        "s3_jsonl_partitioned": ObservedDataset(
            naming.s3("dcr-prod-applications-raw", "applications"), Service.S3, "dcr-prod", "dcr-prod-applications-raw",
            region=REGION, kind="table", format="jsonl", location="s3://dcr-prod-applications-raw/applications",
            partition_keys=["source", "ingest_date"],
            fields=[personal("name", "name"), personal("dob", "date_of_birth", "date"),
                    personal("passport_no", "passport_number"), Field("status")],
            schema_status=SchemaStatus.INFERRED, object_count=3, size_bytes=4096,
            tags={"iar:asset-id": "IA-0001", "gscp:marking": "OFFICIAL-SENSITIVE"},
        ),
        "s3_unregistered": ObservedDataset(
            naming.s3("dcr-analytics-sandbox-7f3a", "tmp"), Service.S3, "dcr-prod", "dcr-analytics-sandbox-7f3a",
            region=REGION, kind="table", format="csv", fields=[personal("nino", "national_insurance_number")],
            schema_status=SchemaStatus.INFERRED,
        ),
        "glue_table": ObservedDataset(
            naming.glue(REGION, ACCOUNT, "casework_curated", "applications"), Service.GLUE, "dcr-prod",
            "casework_curated", region=REGION, kind="table", format="parquet", location=curated.uri,
            description="Curated residency applications", partition_keys=["year", "month", "day"],
            fields=[Field("application_id"), personal("name", "name"), personal("nationality", "nationality"),
                    Field("year", "int"), Field("month", "int"), Field("day", "int")],
            schema_status=SchemaStatus.CATALOGUE, symlinks=[curated],
        ),
        "glue_iceberg": ObservedDataset(
            naming.glue(REGION, ACCOUNT, "casework_curated", "case_events"), Service.GLUE, "dcr-prod",
            "casework_curated", region=REGION, kind="iceberg", format="parquet",
            location="s3://dcr-prod-applications-curated/case_events",
            fields=[Field("case_id"), Field("event_type"), Field("event_ts")], schema_status=SchemaStatus.CATALOGUE,
            symlinks=[naming.s3("dcr-prod-applications-curated", "case_events")],
        ),
        "glue_view": ObservedDataset(
            naming.glue(REGION, ACCOUNT, "corporate_mi", "complaints_summary"), Service.GLUE, "dcr-prod",
            "corporate_mi", region=REGION, kind="view",
            fields=[Field("received_date", "date"), Field("complaints", "bigint")],
            schema_status=SchemaStatus.CATALOGUE,
        ),
        "dynamodb": ObservedDataset(
            naming.dynamodb(REGION, ACCOUNT, "dcr-prod-appointment-bookings"), Service.DYNAMODB, "dcr-prod",
            "dcr-prod-appointment-bookings", region=REGION, kind="table",
            fields=[Field("booking_id", "S"), personal("phone", "phone_number", "S"),
                    special("accessibility_needs", "health", "S")],
            schema_status=SchemaStatus.INFERRED, properties={"ttl": "disabled"},
        ),
        "rds_postgres": ObservedDataset(
            naming.postgres("dcr-prod-casework-db.abc.eu-west-2.rds.amazonaws.com", 5432, "casework", "casework",
                            "applicant"),
            Service.RDS, "dcr-prod", "dcr-prod-casework-db", region=REGION, kind="table",
            fields=[Field("applicant_id", "integer"), personal("full_name", "name", "text"),
                    Field("criminal_record_flag", "boolean", Classification.CRIMINAL, "criminal_offence", "name")],
            schema_status=SchemaStatus.CATALOGUE,
            symlinks=[naming.rds_instance(REGION, ACCOUNT, "dcr-prod-casework-db")],
        ),
        "redshift": ObservedDataset(
            naming.redshift("dcr-analytics", REGION, 5439, "mi", "public", "case_volumes"), Service.REDSHIFT,
            "dcr-prod", "dcr-analytics", region=REGION, kind="table",
            fields=[Field("week", "date"), Field("cases", "bigint")], schema_status=SchemaStatus.CATALOGUE,
        ),
        "rds_instance_unreadable": ObservedDataset(
            naming.rds_instance(REGION, ACCOUNT, "dcr-prod-casework-db"), Service.RDS, "dcr-prod",
            "dcr-prod-casework-db", region=REGION, kind="database", schema_status=SchemaStatus.NONE,
            properties={"engine": "postgres"},
        ),
    }


def version(dataset: ObservedDataset, *, at: datetime = T0, gone: bool = False,
            previous_gone: bool | None = None, content_hash: str = "c0ffee") -> Version:
    return Version(dataset.id, dataset.to_dict(), "gone" if gone else content_hash, at, gone, previous_gone)


def asset_row(asset_id: str, **values) -> dict:
    row = {
        "asset_id": asset_id, "name": f"Asset {asset_id}", "description": None, "owner": "alice",
        "custodian": None, "security_classification": "OFFICIAL-SENSITIVE", "personal_data": True,
        "special_categories": None, "criminal_offence_data": False, "retention_schedule": "RS-01",
        "disposal_action": "destroy", "status": "active", "last_reviewed": date(2024, 3, 1),
        "next_review_due": date(2025, 3, 1), "created_at": datetime(2024, 4, 1, tzinfo=UTC),
    }
    return {**row, **values}


def assets() -> Assets:
    """IA-0001 (the raw bucket; its owner changed from bob to alice), IA-0010 (the curated bucket, so
    the Glue tables over it through their symlinks), IA-0020 (the casework database), IA-0030 (the
    bookings table, registered after the first harvest)."""
    rows = [
        asset_row("IA-0001", name="Residency applications (raw)", owner="alice", custodian="ian"),
        asset_row("IA-0010", name="Residency applications (curated)", owner="alice", last_reviewed=None),
        asset_row("IA-0020", name="Casework database", owner="carol", criminal_offence_data=True,
                  special_categories="health"),
        asset_row("IA-0030", name="Appointment bookings", owner="carol", personal_data=True,
                  retention_schedule="RS-05", created_at=datetime(2024, 5, 2, tzinfo=UTC)),
    ]
    locations = [
        {"asset_id": "IA-0001", "uri": "s3://dcr-prod-applications-raw", "namespace": "s3://dcr-prod-applications-raw",
         "name": ""},
        {"asset_id": "IA-0010", "uri": "s3://dcr-prod-applications-curated",
         "namespace": "s3://dcr-prod-applications-curated", "name": ""},
        {"asset_id": "IA-0020", "uri": "rds://dcr-prod-casework-db", "namespace": f"arn:aws:rds:{REGION}:{ACCOUNT}",
         "name": "db:dcr-prod-casework-db"},
        {"asset_id": "IA-0030", "uri": "dynamodb://dcr-prod-appointment-bookings",
         "namespace": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}", "name": "table/dcr-prod-appointment-bookings"},
    ]
    history = [
        {"entity_id": "IA-0001", "at": datetime(2024, 4, 1, tzinfo=UTC),
         "changes": {"owner": [None, "bob"], "location": [None, ["s3://dcr-prod-applications-raw"]]}},
        {"entity_id": "IA-0001", "at": OWNER_CHANGED, "changes": {"owner": ["bob", "alice"]}},
        {"entity_id": "IA-0001", "at": datetime(2024, 5, 2, 10, tzinfo=UTC), "changes": {"last_seen_note": [1, 2]}},
    ]
    return Assets(rows, locations, history)
