"""A harvest run as a whole: coverage before absence, failed runs, retried units, accounts, duplicates."""

from __future__ import annotations

import re

import boto3
import pytest
from botocore.config import Config
from sqlalchemy import func, select

from adc import aws as adc_aws
from adc.harvest import runner
from adc.register.tables import harvest_run, harvest_scope, observation
from tests.support.harvest import ACCOUNT, REGION, aws, bucket, current, harvest, register_asset, scopes, sources

CSV = b"id,email\n1,a@example.org\n"


@pytest.mark.reliability("faults")
def test_a_run_whose_unit_never_finished_fails_and_changes_nothing(moto, register):
    bucket(moto, "kept", {"a/x.csv": CSV})
    harvest(register, run_id="r1")
    before = current(register)
    bucket(moto, "new-bucket", {"b/x.csv": CSV})
    plan = runner.start(register, sources(), "r2", ["src"], triggered_by="test")
    runner.run_unit(next(u for u in plan.units if u.scopes == ["new-bucket"]), config=sources(), engine=register,
                    run_id="r2")  # the other unit's task "crashed": it never recorded its scope
    never = re.escape("never harvested (their tasks failed): src|s3|eu-west-2|kept")
    with pytest.raises(runner.HarvestIncomplete, match=never):
        runner.finish(register, "r2", units=plan.units, errors=plan.errors)
    assert current(register) == before
    with register.connect() as conn:
        assert conn.execute(select(harvest_run.c.status).where(harvest_run.c.run_id == "r2")).scalar() == "failed"
        assert conn.execute(select(func.count()).select_from(observation)).scalar() == 0


def test_a_retried_unit_replaces_its_staging(moto, register):
    bucket(moto, "lake", {"a/x.csv": CSV, "b/x.csv": CSV})
    plan = runner.start(register, sources(), "r1", ["src"], triggered_by="test")
    (unit,) = plan.units
    for _ in range(2):  # a task retried after its first try had staged everything
        runner.run_unit(unit, config=sources(), engine=register, run_id="r1")
    summary = runner.finish(register, "r1", units=plan.units, errors=plan.errors)
    assert summary["merge"]["added"] == 2
    assert runner.run_unit(unit, config=sources(), engine=register, run_id="r1") == []  # the run is complete


def test_registered_scopes_a_complete_listing_lacks_are_recorded_absent(moto, register):
    glue = aws(moto, "glue")
    glue.create_database(DatabaseInput={"Name": "present_db"})
    register_asset(register, "IA-1", "glue://missing_db/t", "glue://present_db/missing_table")
    register_asset(register, "IA-2", "dynamodb://missing-table", "rds://missing-instance")
    register_asset(register, "IA-3", "dynamodb://excluded-table")
    register_asset(register, "IA-4", f"arn:aws:glue:eu-west-1:{ACCOUNT}:table/other_region_db")
    summary = harvest(register, sources({"services": ["glue", "dynamodb", "rds"], "exclude": ["excluded-*"]}))
    absent = {(s["service"], s["scope"]) for s in summary["coverage"]["scopes"] if s["status"] == "absent"}
    assert absent == {("glue", "missing_db"), ("dynamodb", "missing-table"), ("rds", "missing-instance")}
    assert scopes(summary)[("glue", "present_db")]["status"] == "complete"  # it vouches for missing_table


def test_a_bucket_is_absent_only_when_every_source_that_would_hold_it_listed_completely(moto, sqlite_register):
    register_asset(sqlite_register, "IA-42", "s3://ghost-bucket")
    config = sources({"name": "a", "services": ["s3"]}, {"name": "b", "services": ["s3"], "include": ["ghost-*"]})
    summary = harvest(sqlite_register, config, sources=["a"])
    assert summary["coverage"]["absent"] == 0  # b was not in this run: the bucket might be in b's account
    summary = harvest(sqlite_register, config)
    (ghost,) = [s for s in summary["coverage"]["scopes"] if s["status"] == "absent"]
    assert ghost["scope"] == "ghost-bucket" and "a, b" in ghost["error"]


@pytest.mark.reliability("faults")
def test_a_failed_listing_proves_nothing_absent_and_the_run_still_completes(moto, sqlite_register, monkeypatch):
    register_asset(sqlite_register, "IA-42", "s3://ghost-bucket", "glue://some_db")
    monkeypatch.setattr(adc_aws, "RETRY_CONFIG", Config(retries={"max_attempts": 1}, connect_timeout=2))
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")  # nothing listens there
    summary = harvest(sqlite_register)
    assert summary["status"] == "complete" and summary["coverage"]["absent"] == 0
    assert [(e["service"], e["error_kind"]) for e in summary["errors"]] == [("*", "EndpointUnreachable")]


def test_a_second_account_through_an_assumed_role(moto, sqlite_register):
    bucket(moto, "home-account-bucket", {"a/x.csv": CSV})
    role = "arn:aws:iam::111111111111:role/adc-harvester"
    credentials = aws(moto, "sts").assume_role(RoleArn=role, RoleSessionName="seed")["Credentials"]
    keys = {"aws_access_key_id": credentials["AccessKeyId"], "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"]}
    other = boto3.client("s3", endpoint_url=moto.url, region_name=REGION, **keys)
    other.create_bucket(Bucket="other-account-bucket", CreateBucketConfiguration={"LocationConstraint": REGION})
    other.put_object(Bucket="other-account-bucket", Key="t/x.csv", Body=CSV)
    boto3.client("glue", endpoint_url=moto.url, region_name=REGION, **keys).create_database(
        DatabaseInput={"Name": "their_db"})
    summary = harvest(sqlite_register, sources({"role_arn": role, "services": ["s3", "glue"]}))
    assert {s["scope"] for s in summary["coverage"]["scopes"]} == {"other-account-bucket", "their_db"}
    with sqlite_register.connect() as conn:
        covered = set(conn.execute(select(harvest_scope.c.namespace, harvest_scope.c.name)))
    assert ("arn:aws:glue:eu-west-2:111111111111", "table/their_db") in covered  # the role's account
    assert ("s3://other-account-bucket", "t") in current(sqlite_register)


def test_a_scope_two_sources_list_is_harvested_once(moto, register):
    bucket(moto, "shared", {"a/x.csv": CSV})
    config = sources({"name": "first", "services": ["s3"]}, {"name": "second", "services": ["s3"]})
    summary = harvest(register, config)
    assert [s["source"] for s in summary["coverage"]["scopes"]] == ["first"]
    assert [(e["source"], e["error_kind"]) for e in summary["errors"]] == [("second", "Duplicate")]
    assert summary["merge"]["added"] == 1
