"""RDS and Redshift against the moto server; their tables through the SQL inspector on the local PostgreSQL."""

from __future__ import annotations

import pytest

from adc.demo import estate
from adc.harvest import rds
from adc.model import Classification
from tests.support.harvest import ACCOUNT, REGION, aws, current, fields, harvest, scopes, sources

P, S = Classification.PERSONAL, Classification.SPECIAL
NO_POSTGRES = "no PostgreSQL reachable for the SQL inspector (set ADC_TEST_POSTGRES_URL)"


@pytest.fixture
def casework_database(postgres_databases):
    """A PostgreSQL database holding the casework schemas: the RDS instance's stand-in."""
    if postgres_databases is None:
        pytest.skip(NO_POSTGRES)
    url = postgres_databases.create()
    estate.seed_casework_database(url)
    yield url
    postgres_databases.drop(url)


def casework_instance(moto) -> str:
    """The RDS instance; returns its endpoint address."""
    estate.seed_rds(aws(moto, "rds"))
    return aws(moto, "rds").describe_db_instances()["DBInstances"][0]["Endpoint"]["Address"]


def test_an_rds_instance_without_access_is_one_dataset(moto, sqlite_register):
    casework_instance(moto)
    harvest(sqlite_register, sources({"services": ["rds"]}))
    (instance,) = current(sqlite_register).values()
    assert (instance["id"]["namespace"], instance["id"]["name"]) == (f"arn:aws:rds:{REGION}:{ACCOUNT}",
                                                                     "db:dcr-prod-casework-db")
    assert (instance["kind"], instance["schema_status"], instance["format"]) == ("database", "none", "postgres")
    assert instance["properties"]["encrypted"] is True and instance["tags"]["iar:asset-id"] == "IA-0012"


def test_rds_tables_through_the_sql_inspector_are_named_by_the_rds_endpoint(moto, register, casework_database):
    endpoint = casework_instance(moto)
    config = sources({"services": ["rds"], "databases": {"dcr-prod-casework-db": {"url": casework_database}}})
    summary = harvest(register, config)
    assert scopes(summary)[("rds", "dcr-prod-casework-db")]["datasets"] == 6  # the instance and five tables
    database = casework_database.rsplit("/", 1)[1]
    namespace = f"postgres://{endpoint}:5432"  # the endpoint, not 127.0.0.1 where the test connected
    tables = {k[1]: d for k, d in current(register).items() if k[0] == namespace}
    assert set(tables) == {f"{database}.casework.{t}" for t in ("applicant", "application", "document", "decision")} | {
        f"{database}.audit.access_log"}
    applicant = fields(tables[f"{database}.casework.applicant"])
    assert {n for n, (c, _) in applicant.items() if c == P} == {
        "applicant_id", "full_name", "date_of_birth", "nationality", "email", "phone_number", "postcode"}
    assert fields(tables[f"{database}.audit.access_log"])["ip_address"] == (P, "ip_address")
    assert fields(tables[f"{database}.casework.document"])["passport_number"] == (P, "passport_number")
    applicant_record = tables[f"{database}.casework.applicant"]
    assert {f["name"]: f["type"] for f in applicant_record["fields"]}["date_of_birth"] == "date"
    assert applicant_record["properties"]["schema"] == "casework"
    assert applicant_record["tags"]["iar:asset-id"] == "IA-0012"  # the instance's tags


def test_schema_globs_pick_schemas(moto, sqlite_register, casework_database):
    casework_instance(moto)
    config = sources({"services": ["rds"], "databases": {"dcr-prod-casework-db": {"url": casework_database,
                                                                                  "schemas": ["audit"]}}})
    harvest(sqlite_register, config)
    names = sorted(k[1].split(".", 1)[1] for k in current(sqlite_register) if k[0].startswith("postgres://"))
    assert names == ["audit.access_log"]


def test_an_unreachable_database_is_a_problem_of_the_instance_not_a_failure(moto, sqlite_register):
    casework_instance(moto)
    config = sources({"services": ["rds"], "databases": {
        "dcr-prod-casework-db": {"url": "postgresql+psycopg://nobody@127.0.0.1:1/casework"}}})
    summary = harvest(sqlite_register, config)
    scope = scopes(summary)[("rds", "dcr-prod-casework-db")]
    assert scope["status"] == "complete" and len(scope["unreadable"]) == 1
    assert scope["unreadable"][0].startswith("database 'casework': OperationalError")
    (instance,) = current(sqlite_register).values()
    assert any("schema inspection failed" in p for p in instance["problems"])


def test_a_missing_airflow_connection_is_a_problem(moto, sqlite_register):
    casework_instance(moto)
    config = sources({"services": ["rds"], "databases": {"dcr-prod-casework-db": {"conn_id": "no_such_conn"}}})
    harvest(sqlite_register, config)
    (instance,) = current(sqlite_register).values()
    assert instance["problems"] == ["schema inspection skipped: no Airflow connection 'no_such_conn'"]


def test_rds_listing_paginates(moto, sqlite_register, monkeypatch):
    monkeypatch.setattr(rds, "PAGE_SIZE", 20)  # DescribeDBInstances' smallest page
    client = aws(moto, "rds")
    for i in range(25):
        client.create_db_instance(DBInstanceIdentifier=f"db{i:02d}", DBInstanceClass="db.t3.micro", Engine="postgres",
                                  MasterUsername="u", MasterUserPassword="not-a-password-1", AllocatedStorage=20)
    summary = harvest(sqlite_register, sources({"services": ["rds"]}))
    assert summary["services"]["rds"]["complete"] == 25


def test_a_redshift_cluster_and_its_tables(moto, sqlite_register, casework_database):
    aws(moto, "redshift").create_cluster(
        ClusterIdentifier="dcr-analytics", NodeType="dc2.large", MasterUsername="admin",
        MasterUserPassword="Password123", DBName="analytics", Encrypted=True,
        Tags=[{"Key": "iar:asset-id", "Value": "IA-0070"}])
    config = sources({"services": ["redshift"], "databases": {"dcr-analytics": {"url": casework_database,
                                                                                 "schemas": ["audit"]}}})
    harvest(sqlite_register, config)
    datasets = current(sqlite_register)
    cluster = datasets[(f"arn:aws:redshift:{REGION}:{ACCOUNT}", "cluster:dcr-analytics")]
    assert cluster["kind"] == "cluster" and cluster["properties"]["encrypted"] is True
    assert cluster["tags"] == {"iar:asset-id": "IA-0070"}
    database = casework_database.rsplit("/", 1)[1]
    assert (f"redshift://dcr-analytics.{REGION}:5439", f"{database}.audit.access_log") in datasets
