import pytest

from adc import naming
from adc.naming import DatasetId, LocationError, parse_location

REGION, ACCOUNT = "eu-west-2", "123456789012"


def test_identities_follow_the_openlineage_naming_spec():
    assert naming.s3("bucket", "a/b/").uri == "s3://bucket/a/b"
    assert naming.glue(REGION, ACCOUNT, "db", "t") == DatasetId("arn:aws:glue:eu-west-2:123456789012", "table/db/t")
    assert naming.postgres("h", 5432, "d", "s", "t").uri == "postgres://h:5432/d.s.t"
    assert naming.redshift("c", REGION, 5439, "d", "s", "t").uri == "redshift://c.eu-west-2:5439/d.s.t"


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("s3://dcr-prod-legacy-registry-index", DatasetId("s3://dcr-prod-legacy-registry-index", "")),
        ("s3://b/applications/", DatasetId("s3://b", "applications")),
        ("glue://casework_curated/applications", naming.glue(REGION, ACCOUNT, "casework_curated", "applications")),
        ("glue://biometrics_meta", DatasetId(f"arn:aws:glue:{REGION}:{ACCOUNT}", "table/biometrics_meta")),
        ("dynamodb://dcr-prod-case-status", naming.dynamodb(REGION, ACCOUNT, "dcr-prod-case-status")),
        ("rds://dcr-prod-casework-db", naming.rds_instance(REGION, ACCOUNT, "dcr-prod-casework-db")),
        ("arn:aws:glue:eu-west-1:210987654321:table/db/t",
         DatasetId("arn:aws:glue:eu-west-1:210987654321", "table/db/t")),
        ("postgresql://h:5432/casework.casework.applicant",
         DatasetId("postgres://h:5432", "casework.casework.applicant")),
    ],
)
def test_register_locations_resolve_to_the_harvest_identity(uri, expected):
    assert parse_location(uri, region=REGION, account=ACCOUNT) == expected


@pytest.mark.parametrize("uri", ["", "ftp://x/y", "s3://", "glue://a/b/c", "dynamodb://a/b"])
def test_bad_locations_are_refused_with_the_uri_named(uri):
    with pytest.raises(LocationError):
        parse_location(uri, region=REGION, account=ACCOUNT)


def test_short_forms_need_a_default_account():
    with pytest.raises(LocationError, match="ADC_DEFAULT_AWS_ACCOUNT"):
        parse_location("glue://db/t", region=REGION, account=None)


def test_a_bucket_covers_its_prefixes_and_a_database_its_tables():
    assert naming.s3("b").covers(naming.s3("b", "x/y"))
    assert naming.s3("b", "x").covers(naming.s3("b", "x/y"))
    assert not naming.s3("b", "x").covers(naming.s3("b", "xy"))
    assert naming.glue_database(REGION, ACCOUNT, "db").covers(naming.glue(REGION, ACCOUNT, "db", "t"))
    assert not naming.glue_database(REGION, ACCOUNT, "db").covers(naming.glue(REGION, ACCOUNT, "db2", "t"))
