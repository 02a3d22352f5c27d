"""The Department for Civic Registration (DCR) estate, seeded into an AWS endpoint (moto).

Everything in ../shared/domain/GOVERNANCE.md is here: ten buckets with real CSV, JSON lines and
Parquet files in their partition layouts, three Glue databases (with a view and an Iceberg table),
two DynamoDB tables, the RDS instance, the tag conventions, and the planted inconsistencies. An
eleventh bucket, dcr-prod-legal-holds, is registered but closed to the harvester's IAM user: the
demo's "unreadable bucket".

Two more accounts hold the rest of the department (docs/organisations.md): the Civic Registration
Agency's, with two buckets (one SECRET), and the sealed Protective Security Unit's, with two SECRET
buckets. The harvester reaches both through a role it assumes there (``adc-harvester``, the same
read-only policy).

The generated values are synthetic (see people.py); seeding is deterministic.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Callable, TypedDict

import boto3
import httpx
from boto3.dynamodb.types import TypeSerializer
from sqlalchemy import create_engine, text

from adc.config import PROJECT_ROOT
from adc.demo.files import encode
from adc.demo.people import CONDITIONS, ETHNICITY, ORIENTATION, RELIGION, Faker

REGION = "eu-west-2"
ACCOUNT = "123456789012"  # moto's default account: the department's
AGENCY_ACCOUNT = "210987654321"  # the Civic Registration Agency's own account
SEALED_ACCOUNT = "310987654321"  # the Protective Security Unit's (sealed) account
HARVESTER_ROLE = "adc-harvester"  # the role the harvester assumes in the other accounts
DAYS = [date(2024, 5, 1) + timedelta(days=i) for i in range(3)]
UNREADABLE_BUCKET = "dcr-prod-legal-holds"
GHOST_BUCKET = "dcr-prod-legacy-registry-index"  # in the register, not in the estate
HARVESTER_USER = "adc-harvester"
ROWS_PER_FILE = 12


Rows = Callable[[Faker, date], list[dict[str, Any]]]


@dataclass
class Dataset:
    """Files under one table prefix: (key, rows) pairs come from the partition layout."""

    keys: list[str]  # object keys
    fmt: str
    rows: Rows


@dataclass
class Bucket:
    name: str
    tags: dict[str, str]
    datasets: list[Dataset]
    lifecycle_days: int | None = None  # expiry applied by the retention schedule
    versioning: bool = True
    kms: bool = False
    account: str = ACCOUNT


def _tags(asset: str, owner: str, marking: str, personal: bool, retention: str | None, activity: str | None,
          special: str | None = None, custodian: str | None = None) -> dict[str, str]:
    tags = {"iar:asset-id": asset, "iar:owner": owner, "gscp:marking": marking,
            "data:personal": str(personal).lower()}
    if retention:
        tags["retention:schedule"] = retention
    if activity:
        tags["ropa:activity"] = activity
    if special:
        tags["data:special"] = special
    if custodian:
        tags["iar:custodian"] = custodian
    return tags


# --------------------------------------------------------------------------- row makers


def application_rows(f: Faker, day: date) -> list[dict[str, Any]]:
    rows = []
    for i in range(ROWS_PER_FILE):
        rows.append({
            "application_id": f"APP-{day:%Y%m%d}-{i:04d}",
            "name": f.name(),
            "dob": f.dob(),
            "nationality": f.nationality(),
            "passport_no": f.passport(),
            "address": f.address(),
            "submitted_at": f.timestamp(day),
        })
    return rows


def curated_application_rows(f: Faker, day: date) -> list[dict[str, Any]]:
    rows = application_rows(f, day)
    for row in rows:
        row["nationality_secondary"] = f.choice(["", "", "Irish", "French"])  # not in the Glue schema
        row["case_id"] = "CASE-" + row["application_id"][4:]
    return rows


def decision_rows(f: Faker, day: date) -> list[dict[str, Any]]:
    return [{"case_id": f"CASE-{day:%Y%m%d}-{i:04d}", "decision": f.choice(["granted", "refused", "withdrawn"]),
             "decided_at": f.timestamp(day), "caseworker_id": f"CW{f.int(100, 999)}"} for i in range(ROWS_PER_FILE)]


def case_event_rows(f: Faker, day: date) -> list[dict[str, Any]]:
    return [{"case_id": f"CASE-{day:%Y%m%d}-{i:04d}", "event_type": f.choice(["opened", "docs_requested", "closed"]),
             "event_ts": f.timestamp(day)} for i in range(ROWS_PER_FILE)]


def enrolment_rows(f: Faker, day: date) -> list[dict[str, Any]]:
    return [{"enrolment_id": f"ENR-{day:%Y%m%d}-{i:04d}", "applicant_ref": f"APP-{day:%Y%m%d}-{i:04d}",
             "fingerprint_template_hash": f"{f.int(10**15, 10**16):x}", "face_image_uri":
             f"s3://dcr-prod-biometric-enrolment/images/{i:04d}.jpg", "captured_at": f.timestamp(day)}
            for i in range(ROWS_PER_FILE)]


def match_rows(f: Faker, day: date) -> list[dict[str, Any]]:
    return [{"enrolment_id": f"ENR-{day:%Y%m%d}-{i:04d}", "match_score": round(f.int(0, 1000) / 1000, 3),
             "matched": f.choice([True, False])} for i in range(ROWS_PER_FILE)]


def casework_note_rows(f: Faker, day: date) -> list[dict[str, Any]]:
    notes = ["Called applicant about missing documents.", "Applicant disclosed {c}; adjusted interview.",
             "Sponsor letter received.", "Medical evidence of {c} provided by GP."]
    return [{"case_id": f"CASE-{day:%Y%m%d}-{i:04d}", "note_id": f"N{i:05d}", "caseworker_id": f"CW{f.int(100, 999)}",
             "note_text": f.choice(notes).format(c=f.choice(CONDITIONS[:3])), "created_at": f.timestamp(day)}
            for i in range(ROWS_PER_FILE)]


def equality_rows(f: Faker, day: date) -> list[dict[str, Any]]:
    return [{"respondent_pseudo_id": f"R{f.int(10**6, 10**7)}",
             "age_band": f.choice(["18-24", "25-34", "35-49", "50+"]),
             "ethnicity": f.choice(ETHNICITY), "religion": f.choice(RELIGION),
             "disability": f.choice(["Yes", "No", "Prefer not to say"]), "sexual_orientation": f.choice(ORIENTATION)}
            for _ in range(ROWS_PER_FILE)]


def payroll_rows(f: Faker, day: date) -> list[dict[str, Any]]:
    return [{"employee_id": f"E{f.int(1000, 9999)}", "employee_name": f.name(), "ni_number": f.nino(),
             "gross_pay": f"{f.int(1800, 6500)}.00", "tax_code": "1257L",
             "union_subs_deduction": f.choice(["0.00", "12.50", "14.20"])} for _ in range(ROWS_PER_FILE)]


def stats_rows(f: Faker, day: date) -> list[dict[str, Any]]:
    return [{"period": p, "region": r, "applications_received": f.int(100, 5000), "decisions_made": f.int(100, 5000)}
            for p in ("2024Q1", "2024Q2") for r in ("London", "Wales", "Scotland", "North West")]


def alb_rows(f: Faker, day: date) -> list[dict[str, Any]]:
    return [{"timestamp": f.timestamp(day), "client_ip": f.ip(), "request": f.choice(["GET /apply", "POST /apply",
             "GET /status"]), "status": f.choice([200, 200, 302, 404]), "user_agent": "Mozilla/5.0"}
            for _ in range(ROWS_PER_FILE)]


def sandbox_rows(f: Faker, day: date) -> list[dict[str, Any]]:
    return [{"nino": f.nino(), "dob": f.dob(), "nationality": f.nationality(), "application_count": f.int(1, 4)}
            for _ in range(ROWS_PER_FILE)]


def complaint_rows(f: Faker, day: date) -> list[dict[str, Any]]:
    return [{"complaint_id": f"C{day:%Y%m%d}{i:03d}", "complainant_name": f.name(), "contact_email": None,
             "health_condition": f.choice(CONDITIONS), "ethnic_origin": f.choice(ETHNICITY), "religion":
             f.choice(RELIGION), "criminal_record_flag": f.choice([True, False]), "complaint_text":
             "Delay in processing my application."} for i in range(ROWS_PER_FILE)]


def legal_hold_rows(f: Faker, day: date) -> list[dict[str, Any]]:
    return [{"matter_id": f"LH{i:03d}", "custodian": f.name(), "held_since": day.isoformat()} for i in range(5)]


def civil_record_rows(f: Faker, day: date) -> list[dict[str, Any]]:
    return [{"record_id": f"CR-{day:%Y%m%d}-{i:04d}", "full_name": f.name(), "dob": f.dob(),
             "event_type": f.choice(["birth", "marriage", "death"]), "registered_on": day.isoformat()}
            for i in range(ROWS_PER_FILE)]


def fraud_referral_rows(f: Faker, day: date) -> list[dict[str, Any]]:
    return [{"referral_id": f"FR-{day:%Y%m%d}-{i:03d}", "subject_name": f.name(), "ni_number": f.nino(),
             "referred_on": day.isoformat(), "status": f.choice(["open", "closed"])} for i in range(4)]


def vetting_rows(f: Faker, day: date) -> list[dict[str, Any]]:
    return [{"vetting_id": f"V-{day:%Y%m%d}-{i:03d}", "candidate_name": f.name(), "dob": f.dob(),
             "level": f.choice(["SC", "DV"]), "decided_on": day.isoformat()} for i in range(4)]


def monitoring_rows(f: Faker, day: date) -> list[dict[str, Any]]:
    return [{"event_ts": f.timestamp(day), "user_id": f"U{f.int(100, 999)}", "client_ip": f.ip(),
             "action": f.choice(["login", "download", "print"])} for _ in range(ROWS_PER_FILE)]


# --------------------------------------------------------------------------- the buckets


def _daily(template: str) -> list[str]:
    return [template.format(d=d) for d in DAYS]


BUCKETS: list[Bucket] = [
    Bucket("dcr-prod-applications-raw",
           _tags("IA-0001", "alice", "OFFICIAL-SENSITIVE", True, "RS-01", "PA-001", custodian="casework-data-team"),
           [Dataset(_daily("applications/source=webform/ingest_date={d:%Y-%m-%d}/part-0000.jsonl"), "jsonl",
                    application_rows)], lifecycle_days=2192),
    Bucket("dcr-prod-applications-curated",
           _tags("IA-0002", "alice", "OFFICIAL-SENSITIVE", True, "RS-01", "PA-001", custodian="casework-data-team"),
           [Dataset(_daily("applications/year={d:%Y}/month={d:%m}/day={d:%d}/part-0000.parquet"), "parquet",
                    curated_application_rows),
            Dataset(_daily("decisions/decided_date={d:%Y-%m-%d}/part-0000.parquet"), "parquet", decision_rows),
            Dataset(["case_events/data/00000-0-events.parquet"], "parquet", case_event_rows)],
           lifecycle_days=2192, kms=True),
    Bucket("dcr-prod-biometric-enrolment",
           _tags("IA-0003", "bob", "OFFICIAL-SENSITIVE", True, "RS-02", "PA-002", special="biometric"),
           [Dataset(_daily("enrolments/site_id=LON01/date={d:%Y-%m-%d}/part-0000.parquet"), "parquet", enrolment_rows),
            Dataset(_daily("match_results/date={d:%Y-%m-%d}/part-0000.parquet"), "parquet", match_rows)],
           lifecycle_days=3653, kms=True),
    Bucket("dcr-prod-casework-notes-export",
           _tags("IA-0004", "alice", "OFFICIAL-SENSITIVE", True, "RS-01", "PA-001", special="health"),
           [Dataset(_daily("exports/{d:%Y}/{d:%m}/notes_{d:%Y%m%d}.csv"), "csv", casework_note_rows)],
           lifecycle_days=2192),
    Bucket("dcr-prod-equality-monitoring",
           _tags("IA-0005", "gita", "OFFICIAL-SENSITIVE", True, "RS-EQ", "PA-005",
                 special="racial_or_ethnic_origin,religious_or_philosophical_beliefs,health,sex_life_or_sexual_orientation"),
           [Dataset(["survey/wave=2024Q1/responses-0001.csv", "survey/wave=2024Q1/responses-0002.csv"], "csv",
                    equality_rows)], lifecycle_days=1096),
    # planted 6: the owner tag names a team, the register names the IAO
    Bucket("dcr-prod-payroll-extracts",
           _tags("IA-0006", "hr-systems-team", "OFFICIAL-SENSITIVE", True, "RS-09", "PA-006"),
           [Dataset(["payroll/period=2024-04/payroll-0001.csv", "payroll/period=2024-05/payroll-0001.csv"], "csv",
                    payroll_rows)], lifecycle_days=2192),
    Bucket("dcr-prod-published-stats",
           _tags("IA-0007", "gita", "OFFICIAL", False, "RS-PUB", None),
           [Dataset(["quarterly/applications_by_region_2024Q1.csv", "quarterly/applications_by_region_2024Q2.csv"],
                    "csv", stats_rows),
            Dataset(["annual/applications_2023.parquet"], "parquet", stats_rows)], lifecycle_days=None,
           versioning=True),
    Bucket("dcr-prod-app-logs",
           _tags("IA-0008", "alice", "OFFICIAL", True, "RS-10", "PA-003"),
           [Dataset(_daily("alb/{d:%Y}/{d:%m}/{d:%d}/alb-0000.jsonl.gz"), "jsonl.gz", alb_rows)],
           lifecycle_days=400, versioning=False),
    # planted 1: no tags, no register entry, personal data
    Bucket("dcr-analytics-sandbox-7f3a", {},
           [Dataset(["tmp/extract_for_dashboard_v2_FINAL.csv"], "csv", sandbox_rows)], versioning=False),
    # planted 3: tagged and registered as holding no personal data
    Bucket("dcr-prod-complaints-intake",
           _tags("IA-0031", "carol", "OFFICIAL", False, "RS-07", "PA-004"),
           [Dataset(_daily("intake/received_date={d:%Y-%m-%d}/complaints-0000.jsonl"), "jsonl", complaint_rows)],
           lifecycle_days=1096),
    Bucket(UNREADABLE_BUCKET,
           _tags("IA-0050", "legal-services", "OFFICIAL-SENSITIVE", True, "RS-LH", None),
           [Dataset(["holds/matters.csv"], "csv", legal_hold_rows)], kms=True),
    # the agency, in its own account (harvested through an assumed role): one bucket SECRET
    Bucket("cra-prod-civil-records",
           _tags("IA-0101", "kemi", "OFFICIAL-SENSITIVE", True, "RS-01", "PA-008", custodian="cra-records-team"),
           [Dataset(_daily("registrations/registered_on={d:%Y-%m-%d}/part-0000.parquet"), "parquet",
                    civil_record_rows)], lifecycle_days=2192, kms=True, account=AGENCY_ACCOUNT),
    Bucket("cra-prod-fraud-referrals",
           _tags("IA-0102", "kemi", "SECRET", True, "RS-01", "PA-008", custodian="cra-counter-fraud"),
           [Dataset(["referrals/referrals-0001.csv"], "csv", fraud_referral_rows)], lifecycle_days=2192, kms=True,
           account=AGENCY_ACCOUNT),
    # the sealed unit, in its own account: nothing of it may be seen outside it
    Bucket("psu-prod-vetting-casefiles",
           _tags("IA-0201", "sam", "SECRET", True, "RS-01", "PA-009", custodian="psu-vetting"),
           [Dataset(["casefiles/vetting-0001.csv"], "csv", vetting_rows)], lifecycle_days=2192, kms=True,
           account=SEALED_ACCOUNT),
    Bucket("psu-prod-protective-monitoring",
           _tags("IA-0202", "sam", "SECRET", True, "RS-10", "PA-009", custodian="psu-monitoring"),
           [Dataset(_daily("events/{d:%Y}/{d:%m}/{d:%d}/events-0000.jsonl"), "jsonl", monitoring_rows)],
           lifecycle_days=400, kms=True, account=SEALED_ACCOUNT),
]
OTHER_ACCOUNTS = (AGENCY_ACCOUNT, SEALED_ACCOUNT)

# --------------------------------------------------------------------------- Glue

S3_TYPES = {str: "string", int: "bigint", float: "double", bool: "boolean"}


@dataclass
class GlueTable:
    database: str
    name: str
    location: str | None
    columns: list[tuple[str, str]]
    partitions: list[tuple[str, str]] = field(default_factory=list)
    fmt: str = "parquet"
    table_type: str = "EXTERNAL_TABLE"
    parameters: dict[str, str] = field(default_factory=dict)
    view_sql: str | None = None


_APPLICATION_COLUMNS = [("application_id", "string"), ("name", "string"), ("dob", "string"),
                        ("nationality", "string"), ("passport_no", "string"), ("address", "string"),
                        ("submitted_at", "string"), ("case_id", "string")]  # planted 7: no nationality_secondary

GLUE_TABLES: list[GlueTable] = [
    GlueTable("casework_curated", "applications", "s3://dcr-prod-applications-curated/applications/",
              _APPLICATION_COLUMNS, [("year", "string"), ("month", "string"), ("day", "string")]),
    GlueTable("casework_curated", "decisions", "s3://dcr-prod-applications-curated/decisions/",
              [("case_id", "string"), ("decision", "string"), ("decided_at", "string"), ("caseworker_id", "string")],
              [("decided_date", "string")]),
    GlueTable("casework_curated", "case_events", "s3://dcr-prod-applications-curated/case_events/",
              [("case_id", "string"), ("event_type", "string"), ("event_ts", "string")], fmt="iceberg",
              parameters={"table_type": "ICEBERG", "metadata_location":
                          "s3://dcr-prod-applications-curated/case_events/metadata/00001.metadata.json"}),
    GlueTable("biometrics_meta", "enrolments", "s3://dcr-prod-biometric-enrolment/enrolments/",
              [("enrolment_id", "string"), ("applicant_ref", "string"), ("fingerprint_template_hash", "string"),
               ("face_image_uri", "string"), ("captured_at", "string")], [("site_id", "string"), ("date", "string")]),
    GlueTable("biometrics_meta", "match_results", "s3://dcr-prod-biometric-enrolment/match_results/",
              [("enrolment_id", "string"), ("match_score", "double"), ("matched", "boolean")], [("date", "string")]),
    GlueTable("corporate_mi", "complaints_raw", "s3://dcr-prod-complaints-intake/intake/",
              [("complaint_id", "string"), ("complainant_name", "string"), ("contact_email", "string"),
               ("health_condition", "string"), ("ethnic_origin", "string"), ("religion", "string"),
               ("criminal_record_flag", "boolean"), ("complaint_text", "string")], [("received_date", "string")],
              fmt="json"),
    GlueTable("corporate_mi", "staff_payroll", "s3://dcr-prod-payroll-extracts/payroll/",
              [("employee_id", "string"), ("employee_name", "string"), ("ni_number", "string"),
               ("gross_pay", "string"), ("tax_code", "string"), ("union_subs_deduction", "string")],
              [("period", "string")], fmt="csv"),
    GlueTable("corporate_mi", "published_stats_quarterly", "s3://dcr-prod-published-stats/quarterly/",
              [("period", "string"), ("region", "string"), ("applications_received", "bigint"),
               ("decisions_made", "bigint")], fmt="csv"),
    GlueTable("corporate_mi", "complaints_summary", None,
              [("received_date", "string"), ("complaints", "bigint")], table_type="VIRTUAL_VIEW",
              view_sql="SELECT received_date, count(*) AS complaints FROM corporate_mi.complaints_raw GROUP BY 1"),
]

GLUE_DATABASES = {
    "casework_curated": "Curated residency casework (PA-001)",
    "biometrics_meta": "Biometric enrolment metadata (PA-002)",
    "corporate_mi": "Corporate management information",
}

SERDES = {
    "parquet": ("org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
                "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"),
    "csv": ("org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe", "org.apache.hadoop.mapred.TextInputFormat"),
    "json": ("org.openx.data.jsonserde.JsonSerDe", "org.apache.hadoop.mapred.TextInputFormat"),
    "iceberg": ("org.apache.iceberg.mr.hive.HiveIcebergSerDe", "org.apache.iceberg.mr.hive.HiveIcebergInputFormat"),
}


def _glue_table_input(t: GlueTable) -> dict[str, Any]:
    table: dict[str, Any] = {
        "Name": t.name,
        "TableType": t.table_type,
        "Parameters": {"classification": t.fmt, **t.parameters},
        "PartitionKeys": [{"Name": n, "Type": ty} for n, ty in t.partitions],
    }
    descriptor: dict[str, Any] = {"Columns": [{"Name": n, "Type": ty} for n, ty in t.columns]}
    if t.location:
        serde, input_format = SERDES[t.fmt]
        descriptor.update(Location=t.location, InputFormat=input_format,
                          SerdeInfo={"SerializationLibrary": serde})
    if t.view_sql:
        table["ViewOriginalText"] = t.view_sql
        table["ViewExpandedText"] = t.view_sql
    table["StorageDescriptor"] = descriptor
    return table


# --------------------------------------------------------------------------- DynamoDB and RDS


class DynamoTable(TypedDict):
    name: str
    keys: list[tuple[str, str, str]]  # attribute, key type, attribute type
    tags: dict[str, str]
    ttl: str | None
    item: Callable[[Faker, int], dict[str, Any]]


class RdsInstance(TypedDict):
    id: str
    db_name: str
    tags: dict[str, str]


_SERIALIZER = TypeSerializer()  # an item's values as DynamoDB attribute values
DYNAMO_TABLES: list[DynamoTable] = [
    {
        "name": "dcr-prod-case-status",
        "keys": [("case_id", "HASH", "S"), ("event_ts", "RANGE", "S")],
        "tags": _tags("IA-0010", "alice", "OFFICIAL-SENSITIVE", True, "RS-01", "PA-001"),
        "ttl": "expires_at",
        "item": lambda f, i: {"case_id": f"CASE-20240501-{i:04d}", "event_ts": f.timestamp(DAYS[0]),
                              "applicant_ref": f"APP-20240501-{i:04d}", "status": f.choice(["open", "closed"]),
                              "caseworker_id": f"CW{f.int(100, 999)}", "expires_at": 1893456000},
    },
    {
        # planted 5: accessibility_needs is health data; TTL is off although RS-05 says 12 months
        "name": "dcr-prod-appointment-bookings",
        "keys": [("booking_id", "HASH", "S")],
        "tags": _tags("IA-0011", "carol", "OFFICIAL-SENSITIVE", True, "RS-05", "PA-003"),
        "ttl": None,
        "item": lambda f, i: (lambda n: {"booking_id": f"B{i:05d}", "name": n, "phone": f.phone(),
                                         "email": f.email(n), "site_id": "LON01",
                                         "accessibility_needs": f.choice(["wheelchair access", "BSL interpreter",
                                                                          "none", "hearing loop"])})(f.name()),
    },
]

RDS_INSTANCE: RdsInstance = {
    "id": "dcr-prod-casework-db",
    "db_name": "casework",
    "tags": _tags("IA-0012", "alice", "OFFICIAL-SENSITIVE", True, "RS-01", "PA-001"),
}

# The casework database's schemas, for a PostgreSQL stand-in of the RDS instance.
CASEWORK_DDL = [
    "CREATE SCHEMA IF NOT EXISTS casework",
    "CREATE SCHEMA IF NOT EXISTS audit",
    "CREATE TABLE IF NOT EXISTS casework.applicant (applicant_id text primary key, full_name text, date_of_birth date,"
    " nationality text, email text, phone_number text, postcode text)",
    "CREATE TABLE IF NOT EXISTS casework.application (application_id text primary key, applicant_id text,"
    " submitted_at timestamptz, status text)",
    "CREATE TABLE IF NOT EXISTS casework.document (document_id text primary key, application_id text,"
    " document_type text, passport_number text)",
    "CREATE TABLE IF NOT EXISTS casework.decision (decision_id text primary key, application_id text,"
    " outcome text, decided_by text, decided_at timestamptz)",
    "CREATE TABLE IF NOT EXISTS audit.access_log (event_id bigint primary key, user_id text, ip_address text,"
    " action text, at timestamptz)",
]


# --------------------------------------------------------------------------- seeding


def client(service: str, endpoint_url: str, **credentials: str) -> Any:
    credentials = credentials or {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    return boto3.client(service, endpoint_url=endpoint_url, region_name=REGION, **credentials)


def seed_bucket(s3, bucket: Bucket, faker: Faker) -> int:
    """Create one bucket with its files, tags and settings; returns the number of objects."""
    s3.create_bucket(Bucket=bucket.name, CreateBucketConfiguration={"LocationConstraint": REGION})
    if bucket.tags:
        s3.put_bucket_tagging(Bucket=bucket.name,
                              Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in bucket.tags.items()]})
    if bucket.versioning:
        s3.put_bucket_versioning(Bucket=bucket.name, VersioningConfiguration={"Status": "Enabled"})
    algorithm = {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/dcr-prod"} if bucket.kms else {
        "SSEAlgorithm": "AES256"}
    if bucket.tags:  # the sandbox was made by hand: no encryption default, no public access block
        s3.put_bucket_encryption(Bucket=bucket.name, ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": algorithm}]})
        s3.put_public_access_block(Bucket=bucket.name, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True})
    if bucket.lifecycle_days:
        s3.put_bucket_lifecycle_configuration(Bucket=bucket.name, LifecycleConfiguration={"Rules": [{
            "ID": f"retention-{bucket.tags.get('retention:schedule', 'default')}", "Status": "Enabled",
            "Filter": {"Prefix": ""}, "Expiration": {"Days": bucket.lifecycle_days}}]})
    count = 0
    for dataset in bucket.datasets:
        for i, key in enumerate(dataset.keys):
            rows = dataset.rows(faker, DAYS[i % len(DAYS)])
            s3.put_object(Bucket=bucket.name, Key=key, Body=encode(rows, dataset.fmt))
            count += 1
    return count


def seed_glue(glue) -> int:
    for name, description in GLUE_DATABASES.items():
        glue.create_database(DatabaseInput={"Name": name, "Description": description})
    for table in GLUE_TABLES:
        glue.create_table(DatabaseName=table.database, TableInput=_glue_table_input(table))
    return len(GLUE_TABLES)


def seed_dynamodb(dynamodb, faker: Faker) -> int:
    for spec in DYNAMO_TABLES:
        arn = dynamodb.create_table(
            TableName=spec["name"],
            KeySchema=[{"AttributeName": n, "KeyType": kt} for n, kt, _ in spec["keys"]],
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": at} for n, _, at in spec["keys"]],
            BillingMode="PAY_PER_REQUEST",
        )["TableDescription"]["TableArn"]
        dynamodb.tag_resource(ResourceArn=arn, Tags=[{"Key": k, "Value": v} for k, v in spec["tags"].items()])
        if spec["ttl"]:
            dynamodb.update_time_to_live(TableName=spec["name"], TimeToLiveSpecification={
                "Enabled": True, "AttributeName": spec["ttl"]})
        for i in range(ROWS_PER_FILE):
            item = spec["item"](faker, i)
            dynamodb.put_item(TableName=spec["name"], Item={k: _SERIALIZER.serialize(v) for k, v in item.items()})
    return len(DYNAMO_TABLES)


def seed_rds(rds) -> int:
    rds.create_db_instance(
        DBInstanceIdentifier=RDS_INSTANCE["id"], DBInstanceClass="db.t3.medium", Engine="postgres",
        EngineVersion="15.4", DBName=RDS_INSTANCE["db_name"], MasterUsername="casework_admin",
        MasterUserPassword="not-a-real-password-1", AllocatedStorage=20, StorageEncrypted=True,
        Tags=[{"Key": k, "Value": v} for k, v in RDS_INSTANCE["tags"].items()],
    )
    return 1


def harvester_policy() -> dict[str, Any]:
    """The least-privilege read-only policy (docs/iam-policy.json) the harvester runs with."""
    return json.loads((PROJECT_ROOT / "docs" / "iam-policy.json").read_text())


def create_harvester(iam, *, deny_buckets: list[str]) -> dict[str, str]:
    """An IAM user holding exactly the harvester policy, plus a deny on buckets it must not read
    (another team's bucket, in real life usually a KMS key or bucket policy). Returns its keys."""
    iam.create_user(UserName=HARVESTER_USER)
    iam.put_user_policy(UserName=HARVESTER_USER, PolicyName="adc-harvester-read-only",
                        PolicyDocument=json.dumps(harvester_policy()))
    if deny_buckets:
        resources = [f"arn:aws:s3:::{b}" for b in deny_buckets] + [f"arn:aws:s3:::{b}/*" for b in deny_buckets]
        iam.put_user_policy(UserName=HARVESTER_USER, PolicyName="owned-by-legal-services", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": resources}]}))
    iam.put_user_policy(UserName=HARVESTER_USER, PolicyName="assume-the-harvester-role", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                       "Resource": [f"arn:aws:iam::{a}:role/{HARVESTER_ROLE}" for a in OTHER_ACCOUNTS]}]}))
    key = iam.create_access_key(UserName=HARVESTER_USER)["AccessKey"]
    return {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}


@dataclass
class SeedResult:
    buckets: int
    objects: int
    glue_tables: int
    dynamodb_tables: int
    rds_instances: int
    harvester: dict[str, str] | None = None  # keys of the least-privilege user, when IAM is enforced


def seed(endpoint_url: str, *, enforce_iam: bool = False, seed_value: int = 20240501) -> SeedResult:
    """Seed the whole DCR estate into the AWS endpoint (a moto server).

    With ``enforce_iam`` the server then checks every request against IAM: the harvester's keys
    (returned) carry only docs/iam-policy.json, and dcr-prod-legal-holds is closed to it.
    """
    faker = Faker(seed_value)
    keys = {account: _acting_in(endpoint_url, account) for account in (ACCOUNT, *OTHER_ACCOUNTS)}
    s3 = {account: client("s3", endpoint_url, **credentials) for account, credentials in keys.items()}
    objects = sum(seed_bucket(s3[bucket.account], bucket, faker) for bucket in BUCKETS)
    for account in OTHER_ACCOUNTS:
        create_harvester_role(client("iam", endpoint_url, **keys[account]))
    glue_tables = seed_glue(client("glue", endpoint_url))
    dynamo_tables = seed_dynamodb(client("dynamodb", endpoint_url), faker)
    rds_instances = seed_rds(client("rds", endpoint_url))
    harvester = None
    if enforce_iam:
        harvester = create_harvester(client("iam", endpoint_url), deny_buckets=[UNREADABLE_BUCKET])
        enforce_iam_now(endpoint_url)
    return SeedResult(len(BUCKETS), objects, glue_tables, dynamo_tables, rds_instances, harvester)


def _acting_in(endpoint_url: str, account: str) -> dict[str, str]:
    """Credentials that act in ``account``: moto puts what an assumed role's session creates in the
    role's account, so the agency's and the sealed unit's buckets live apart from the department's."""
    if account == ACCOUNT:
        return {}
    credentials = client("sts", endpoint_url).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/estate-admin", RoleSessionName="seed")["Credentials"]
    return {"aws_access_key_id": credentials["AccessKeyId"], "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"]}


def create_harvester_role(iam) -> None:
    """In another account: the role the department's harvester assumes, holding the same read-only policy."""
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/{HARVESTER_USER}"},
        "Action": "sts:AssumeRole"}]}
    iam.create_role(RoleName=HARVESTER_ROLE, AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(RoleName=HARVESTER_ROLE, PolicyName="adc-harvester-read-only",
                        PolicyDocument=json.dumps(harvester_policy()))


def enforce_iam_now(endpoint_url: str) -> None:
    """Switch the moto server to checking every later request against IAM."""
    httpx.post(
        f"{endpoint_url}/moto-api/reset-auth", content=b"0",
        headers={"Content-Type": "text/plain"},  # moto reads the raw body; a form body arrives empty
        timeout=10,
    ).raise_for_status()


def seed_casework_database(url: str) -> None:
    """Create the casework database's schemas in a PostgreSQL stand-in for the RDS instance."""
    engine = create_engine(url)
    with engine.begin() as conn:
        for statement in CASEWORK_DDL:
            conn.execute(text(statement))
    engine.dispose()
