"""An assumed role's credentials are renewed through STS when they expire, so a harvest that outlasts the
role's session goes on mid-listing: by boto3's default chain and through an Airflow connection alike."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from botocore.credentials import RefreshableCredentials

from adc.aws import AwsClients
from tests.support.harvest import REGION, aws, sources

ROLE = "arn:aws:iam::111111111111:role/adc-harvester"


@pytest.fixture(params=["default chain", "airflow connection"])
def source(request, moto, monkeypatch):
    if request.param == "default chain":
        return sources({"role_arn": ROLE}).sources[0]
    monkeypatch.setenv("AIRFLOW_CONN_AWS_MOTO", json.dumps({  # AwsBaseHook reads it; no Airflow runs
        "conn_type": "aws", "login": "testing", "password": "testing",
        "extra": {"endpoint_url": moto.url, "region_name": REGION}}))
    monkeypatch.delenv("AWS_ENDPOINT_URL")  # the connection alone says where AWS is
    return sources({"role_arn": ROLE, "aws_conn_id": "aws_moto"}).sources[0]


@pytest.mark.reliability("faults")
def test_an_assumed_role_is_assumed_again_when_its_credentials_expire_and_the_listing_goes_on(moto, source):
    seed = aws(moto, "sts").assume_role(RoleArn=ROLE, RoleSessionName="seed")["Credentials"]
    s3 = aws(moto, "s3", aws_access_key_id=seed["AccessKeyId"], aws_secret_access_key=seed["SecretAccessKey"],
             aws_session_token=seed["SessionToken"])
    s3.create_bucket(Bucket="their-bucket", CreateBucketConfiguration={"LocationConstraint": REGION})
    for n in range(3):
        s3.put_object(Bucket="their-bucket", Key=f"k{n}", Body=b"x")

    clients = AwsClients(source, REGION)
    credentials = clients._session.get_credentials()
    assert isinstance(credentials, RefreshableCredentials) and credentials.method == "assume-role"
    first = credentials.get_frozen_credentials()
    pages = clients.client("s3").get_paginator("list_objects_v2").paginate(
        Bucket="their-bucket", PaginationConfig={"PageSize": 1})
    keys = []
    for page in pages:
        keys += [item["Key"] for item in page["Contents"]]
        if len(keys) == 1:  # the role's session ends mid-listing
            credentials._expiry_time = datetime.now(UTC) - timedelta(seconds=1)
    assert keys == ["k0", "k1", "k2"]  # the same client listed on, with new credentials
    renewed = credentials.get_frozen_credentials()
    assert renewed.access_key != first.access_key  # STS's AssumeRole was called again
    assert credentials._expiry_time > datetime.now(UTC) + timedelta(minutes=30)
    assert clients.account == "111111111111"  # still the role's account
