"""The whole DCR demo estate (../shared/domain/GOVERNANCE.md), harvested from the moto server.

The golden file golden/dcr_estate.json holds every dataset as the harvest describes it; regenerate
it with `pytest --update-golden` after a deliberate change, and review the diff. The tests below spell
out what GOVERNANCE.md promises, so a regenerated golden file cannot quietly lose it.
"""

from __future__ import annotations

import json

import pytest

from adc import naming
from adc.demo import estate
from adc.model import Classification
from tests.support.golden import assert_golden
from tests.support.harvest import GOLDEN, REGION, current, estate_projection, fields, harvest, register_asset, scopes

P, S, C = Classification.PERSONAL, Classification.SPECIAL, Classification.CRIMINAL


def test_the_estate_harvests_completely_and_matches_the_golden_file(dcr, register):
    summary = harvest(register)
    assert summary["status"] == "complete" and summary["errors"] == []
    assert {s: (c["scopes"], c["complete"], c["datasets"]) for s, c in summary["services"].items()} == {
        "s3": (11, 11, 15), "glue": (3, 3, 9), "dynamodb": (2, 2, 2), "rds": (1, 1, 1)}
    # sorted keys: PostgreSQL (JSONB) and SQLite hand back a dataset's tags in different orders
    assert_golden(GOLDEN, json.dumps(estate_projection(register), indent=1, sort_keys=True) + "\n")


@pytest.fixture(scope="module")
def dcr_datasets(dcr_estate, tmp_path_factory) -> dict:
    """The estate harvested once into a SQLite register, for the checks that only read the result
    (the golden test above runs on SQLite and PostgreSQL)."""
    from adc.register.db import make_engine, migrate

    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('dcr') / 'register.db'}")
    migrate(engine)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL", dcr_estate.url)
        harvest(engine)
    yield current(engine)
    engine.dispose()


def test_every_layout_and_format_in_governance_md(dcr_datasets):
    s3 = {(k[0].removeprefix("s3://"), k[1]): d for k, d in dcr_datasets.items() if k[0].startswith("s3://")}
    expected = {
        ("dcr-prod-applications-raw", "applications"): ("jsonl", "hive", ["source", "ingest_date"]),
        ("dcr-prod-applications-curated", "applications"): ("parquet", "hive", ["year", "month", "day"]),
        ("dcr-prod-applications-curated", "decisions"): ("parquet", "hive", ["decided_date"]),
        ("dcr-prod-applications-curated", "case_events"): ("parquet", "prefix", []),  # Iceberg data/
        ("dcr-prod-biometric-enrolment", "enrolments"): ("parquet", "hive", ["site_id", "date"]),
        ("dcr-prod-biometric-enrolment", "match_results"): ("parquet", "hive", ["date"]),
        ("dcr-prod-casework-notes-export", "exports"): ("csv", "date", ["year", "month"]),
        ("dcr-prod-equality-monitoring", "survey"): ("csv", "hive", ["wave"]),
        ("dcr-prod-payroll-extracts", "payroll"): ("csv", "hive", ["period"]),
        ("dcr-prod-published-stats", "quarterly"): ("csv", "prefix", []),
        ("dcr-prod-published-stats", "annual"): ("parquet", "prefix", []),
        ("dcr-prod-app-logs", "alb"): ("jsonl.gz", "date", ["year", "month", "day"]),
        ("dcr-analytics-sandbox-7f3a", "tmp"): ("csv", "prefix", []),
        ("dcr-prod-complaints-intake", "intake"): ("jsonl", "hive", ["received_date"]),
        ("dcr-prod-legal-holds", "holds"): ("csv", "prefix", []),
    }
    assert {k: (d["format"], d["properties"]["layout"], d["partition_keys"]) for k, d in s3.items()} == expected
    assert all(d["schema_status"] == "inferred" for d in s3.values())
    assert s3[("dcr-prod-applications-raw", "applications")]["object_count"] == 3  # one dataset, never one per file
    assert s3[("dcr-analytics-sandbox-7f3a", "tmp")]["tags"] == {}  # planted 1: no tags
    assert s3[("dcr-prod-payroll-extracts", "payroll")]["tags"]["iar:owner"] == "hr-systems-team"  # planted 6


def test_glue_tables_link_to_their_s3_datasets(dcr_datasets):
    datasets = dcr_datasets
    glue = {k[1]: d for k, d in datasets.items() if d["service"] == "glue"}
    links = {name: [(s["namespace"], s["name"]) for s in d["symlinks"]] for name, d in glue.items()}
    for table in estate.GLUE_TABLES:
        name = f"table/{table.database}/{table.name}"
        if table.location:
            target = naming.parse_location(table.location)
            assert links[name] == [(target.namespace, target.name)]
            assert (target.namespace, target.name) in datasets, f"{name} points at a dataset the harvest saw"
        else:
            assert links[name] == [] and glue[name]["kind"] == "view"
    assert glue["table/casework_curated/case_events"]["properties"]["iceberg"] is True
    assert glue["table/corporate_mi/complaints_summary"]["properties"]["view"] is True
    # planted 7: the files have a column the catalogue lacks
    curated = datasets[("s3://dcr-prod-applications-curated", "applications")]
    assert "nationality_secondary" in fields(curated)
    assert "nationality_secondary" not in fields(glue["table/casework_curated/applications"])


def test_personal_special_and_criminal_columns_are_labelled_with_reasons(dcr_datasets):
    d = dcr_datasets
    complaints = fields(d[("s3://dcr-prod-complaints-intake", "intake")])
    assert complaints["complainant_name"] == (P, "name")
    assert complaints["health_condition"] == (S, "health")
    assert complaints["ethnic_origin"] == (S, "racial_or_ethnic_origin")
    assert complaints["religion"] == (S, "religious_or_philosophical_beliefs")
    assert complaints["criminal_record_flag"] == (C, "criminal_offence")
    assert fields(d[("s3://dcr-prod-payroll-extracts", "payroll")])["union_subs_deduction"] == (
        S, "trade_union_membership")
    bookings = d[(f"arn:aws:dynamodb:{REGION}:123456789012", "table/dcr-prod-appointment-bookings")]
    assert fields(bookings)["accessibility_needs"] == (S, "health")
    assert {"name", "phone", "email"} <= {n for n, (c, _) in fields(bookings).items() if c == P}
    equality = fields(d[("s3://dcr-prod-equality-monitoring", "survey")])
    assert [equality[c][1] for c in ("ethnicity", "religion", "disability", "sexual_orientation")] == [
        "racial_or_ethnic_origin", "religious_or_philosophical_beliefs", "health", "sex_life_or_sexual_orientation"]
    notes = d[("s3://dcr-prod-casework-notes-export", "exports")]
    note_text = next(f for f in notes["fields"] if f["name"] == "note_text")
    assert (note_text["classification"], note_text["category"]) == (S, "health")
    assert note_text["reason"].startswith("free text:")  # from the sample, which is nowhere in the record
    assert fields(d[("s3://dcr-prod-app-logs", "alb")])["client_ip"] == (P, "ip_address")
    assert d[("s3://dcr-prod-published-stats", "quarterly")]["classification"] == "none"  # the control case
    biometric = fields(d[("s3://dcr-prod-biometric-enrolment", "enrolments")])
    assert biometric["fingerprint_template_hash"] == (S, "biometric")
    sandbox = fields(d[("s3://dcr-analytics-sandbox-7f3a", "tmp")])
    assert sandbox["nino"] == (P, "national_insurance_number") and sandbox["dob"] == (P, "date_of_birth")


def test_no_sample_value_is_stored(dcr_datasets):
    """Values the estate holds never appear in the register's records (names and counts only)."""
    stored = json.dumps(list(dcr_datasets.values()))
    for value in ("Okafor", "QQ", "@example.org", "192.0.2.", "asthma", "depression", "07700 900", "SW1A 1AA",
                  "Muslim", "Heterosexual", "wheelchair access"):
        assert value not in stored, value


def test_the_properties_other_areas_read(dcr_datasets):
    d = dcr_datasets
    assert all(set(x["properties"]["retention_control"]) == {"kind", "active", "detail"} for x in d.values())
    curated = d[("s3://dcr-prod-applications-curated", "applications")]["properties"]
    assert curated["bucket"] == {"encryption": "aws:kms", "versioning": "enabled", "public_access_block": True,
                                 "lifecycle_rules": curated["bucket"]["lifecycle_rules"]}
    assert curated["bucket"]["lifecycle_rules"][0]["expiration_days"] == 2192
    assert curated["retention_control"]["kind"] == "s3_lifecycle" and curated["retention_control"]["active"] is True
    sandbox = d[("s3://dcr-analytics-sandbox-7f3a", "tmp")]["properties"]
    assert sandbox["bucket"]["encryption"] == "none" and sandbox["bucket"]["public_access_block"] is False
    assert sandbox["retention_control"] == {"kind": "none", "active": False,
                                            "detail": "the bucket has no lifecycle rules"}
    bookings = d[(f"arn:aws:dynamodb:{REGION}:123456789012", "table/dcr-prod-appointment-bookings")]["properties"]
    assert bookings["ttl"]["status"] == "DISABLED"  # planted 5
    assert bookings["retention_control"]["kind"] == "dynamodb_ttl" and bookings["retention_control"]["active"] is False
    assert bookings["key_schema"] == [{"name": "booking_id", "key_type": "HASH", "type": "string"}]
    assert bookings["item_count"] == estate.ROWS_PER_FILE
    case_status = d[(f"arn:aws:dynamodb:{REGION}:123456789012", "table/dcr-prod-case-status")]["properties"]
    assert case_status["ttl"] == {"status": "ENABLED", "attribute": "expires_at"}
    rds = d[(f"arn:aws:rds:{REGION}:123456789012", "db:dcr-prod-casework-db")]
    assert rds["kind"] == "database" and rds["tags"]["iar:asset-id"] == "IA-0012"
    assert {"engine", "endpoint", "port", "encrypted"} <= set(rds["properties"])
    assert rds["properties"]["encrypted"] is True
    glue = d[(f"arn:aws:glue:{REGION}:123456789012", "table/corporate_mi/staff_payroll")]["properties"]
    assert {"table_type", "serde", "input_format", "view", "iceberg", "parameters"} <= set(glue)
    assert glue["parameters"] == {"classification": "csv"}


@pytest.mark.reliability("faults", "security")
def test_with_iam_enforced_the_legal_holds_bucket_fails_and_the_run_goes_on(moto, register, as_user):
    keys = estate.seed(moto.url, enforce_iam=True).harvester
    as_user(keys)
    register_asset(register, "IA-0050", f"s3://{estate.UNREADABLE_BUCKET}")
    summary = harvest(register)
    assert summary["status"] == "complete"
    held = scopes(summary)[("s3", estate.UNREADABLE_BUCKET)]
    assert (held["status"], held["error_kind"]) == ("failed", "AccessDenied")
    assert summary["services"]["s3"] == {"scopes": 11, "datasets": 14, "complete": 10, "partial": 0, "failed": 1,
                                         "absent": 0}
    assert [e["scope"] for e in summary["errors"]] == [estate.UNREADABLE_BUCKET]
    assert summary["merge"]["added"] == 26


def test_the_ghost_bucket_is_recorded_absent_from_a_complete_listing(dcr, register):
    register_asset(register, "IA-0042", f"s3://{estate.GHOST_BUCKET}")
    register_asset(register, "IA-0001", "s3://dcr-prod-applications-raw/applications")
    summary = harvest(register)
    ghost = scopes(summary)[("s3", estate.GHOST_BUCKET)]
    assert (ghost["status"], ghost["datasets"], ghost["error_kind"]) == ("absent", 0, "Absent")
    assert summary["services"]["s3"]["absent"] == 1
    from sqlalchemy import select

    from adc.register.tables import harvest_scope

    with register.connect() as conn:
        row = conn.execute(select(harvest_scope).where(harvest_scope.c.namespace == f"s3://{estate.GHOST_BUCKET}")
                           ).mappings().one()
    assert (row["status"], row["name"], row["datasets"]) == ("complete", "", 0)  # covers the whole bucket
