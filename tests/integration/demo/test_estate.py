"""The DCR demo estate seeds into a moto server over HTTP, with IAM enforcement when asked."""

import boto3
import pytest
from botocore.exceptions import ClientError

from adc.demo import estate


def client(server, service, **keys):
    return estate.client(service, server.url, **keys)


def test_the_estate_has_everything_governance_md_describes(moto):
    result = estate.seed(moto.url)
    assert (result.buckets, result.glue_tables, result.dynamodb_tables, result.rds_instances) == (15, 9, 2, 1)
    s3 = client(moto, "s3")
    names = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert len(names) == 11  # the department's account; the agency's and the sealed unit's hold the rest
    assert "dcr-analytics-sandbox-7f3a" in names and estate.GHOST_BUCKET not in names
    payroll_tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket="dcr-prod-payroll-extracts")["TagSet"]}
    assert payroll_tags["iar:owner"] == "hr-systems-team"  # planted: differs from the register's IAO
    with pytest.raises(ClientError):
        s3.get_bucket_tagging(Bucket="dcr-analytics-sandbox-7f3a")  # no tags at all
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="dcr-prod-applications-curated")["Contents"]]
    assert "applications/year=2024/month=05/day=01/part-0000.parquet" in keys
    glue = client(moto, "glue")
    table = glue.get_table(DatabaseName="casework_curated", Name="applications")["Table"]
    columns = table["StorageDescriptor"]["Columns"]
    assert "nationality_secondary" not in {c["Name"] for c in columns}
    ttl = client(moto, "dynamodb").describe_time_to_live(TableName="dcr-prod-appointment-bookings")
    assert ttl["TimeToLiveDescription"]["TimeToLiveStatus"] == "DISABLED"


@pytest.mark.reliability("security")
def test_with_iam_enforced_the_harvester_reads_all_but_the_legal_holds(moto):
    keys = estate.seed(moto.url, enforce_iam=True).harvester
    s3 = client(moto, "s3", **keys)
    assert len(s3.list_buckets()["Buckets"]) == 11  # its own account's
    assert s3.list_objects_v2(Bucket="dcr-prod-app-logs")["KeyCount"] == 3
    with pytest.raises(ClientError, match="AccessDenied"):
        s3.list_objects_v2(Bucket=estate.UNREADABLE_BUCKET)
    with pytest.raises(ClientError, match="AccessDenied"):
        s3.put_object(Bucket="dcr-prod-app-logs", Key="x", Body=b"x")  # read-only
    with pytest.raises(ClientError):
        boto3.client("s3", endpoint_url=moto.url, region_name="eu-west-2").list_buckets()  # no IAM user, no access


@pytest.mark.reliability("security")
def test_the_harvester_reads_the_agency_and_the_sealed_unit_through_their_accounts_roles(moto):
    keys = estate.seed(moto.url, enforce_iam=True).harvester
    for account, buckets in ((estate.AGENCY_ACCOUNT, {"cra-prod-civil-records", "cra-prod-fraud-referrals"}),
                             (estate.SEALED_ACCOUNT, {"psu-prod-vetting-casefiles", "psu-prod-protective-monitoring"})):
        role = client(moto, "sts", **keys).assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/{estate.HARVESTER_ROLE}", RoleSessionName="test")["Credentials"]
        theirs = {"aws_access_key_id": role["AccessKeyId"], "aws_secret_access_key": role["SecretAccessKey"],
                  "aws_session_token": role["SessionToken"]}
        assert client(moto, "sts", **theirs).get_caller_identity()["Account"] == account
        s3 = client(moto, "s3", **theirs)
        assert {b["Name"] for b in s3.list_buckets()["Buckets"]} == buckets
        bucket = sorted(buckets)[0]
        assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] >= 1
        with pytest.raises(ClientError, match="AccessDenied"):
            s3.put_object(Bucket=bucket, Key="x", Body=b"x")  # read-only there too
