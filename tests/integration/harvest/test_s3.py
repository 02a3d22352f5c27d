"""S3 against the moto server: pagination, unreadable files, missing permissions, vanished buckets, regions."""

from __future__ import annotations

import json

import pytest

from adc.demo.estate import harvester_policy
from adc.demo.files import encode
from adc.harvest import runner
from tests.support.harvest import REGION, aws, bucket, current, harvest, scopes, sources
from tests.support.hostile import register_dump

ROWS = [{"applicant_id": f"A{i}", "email": f"p{i}@example.org", "score": i} for i in range(25)]


def test_more_than_1000_objects_in_one_dataset(moto, sqlite_register):
    objects = {f"events/day={i % 30:02d}/part-{i:05d}.jsonl": encode(ROWS[:2], "jsonl") for i in range(1100)}
    objects["aaa/first.csv"] = encode(ROWS, "csv")
    objects["zzz/last.csv"] = encode(ROWS, "csv")
    bucket(moto, "big-bucket", objects)
    summary = harvest(sqlite_register)
    datasets = current(sqlite_register)
    events = datasets[("s3://big-bucket", "events")]
    assert events["object_count"] == 1100
    assert events["size_bytes"] == 1100 * len(encode(ROWS[:2], "jsonl"))
    assert events["partition_keys"] == ["day"] and events["format"] == "jsonl"
    assert {k[1] for k in datasets if k[0] == "s3://big-bucket"} == {"aaa", "events", "zzz"}
    assert scopes(summary)[("s3", "big-bucket")]["datasets"] == 3


@pytest.mark.reliability("input")
def test_unreadable_files_keep_the_scope_complete(moto, register):
    good, broken = encode(ROWS, "parquet"), encode(ROWS, "parquet")[:-100]
    bucket(moto, "lake", {
        "mixed/day=01/part-0.parquet": good,
        "mixed/day=02/part-0.parquet": broken,  # the newest, tried first: the first file is the fallback
        "broken/part-0.parquet": broken,
        "binary/blob.csv": b"\x00\x01\x02" * 100,
    })
    summary = harvest(register)
    lake = scopes(summary)[("s3", "lake")]
    assert lake["status"] == "complete"
    assert sorted(lake["unreadable"]) == sorted([
        "s3://lake/binary/blob.csv: binary content where text was expected",
        "s3://lake/broken/part-0.parquet: no Parquet footer (truncated, or not a Parquet file)",
        "s3://lake/mixed/day=02/part-0.parquet: no Parquet footer (truncated, or not a Parquet file)",
    ])
    assert summary["unreadable"] == 3
    datasets = current(register)
    mixed = datasets[("s3://lake", "mixed")]
    assert mixed["schema_status"] == "inferred" and [f["name"] for f in mixed["fields"]] == ["applicant_id", "email",
                                                                                           "score"]
    assert any("mixed/day=02/part-0.parquet: unreadable" in p for p in mixed["problems"])
    assert datasets[("s3://lake", "broken")]["schema_status"] == "unreadable"
    assert datasets[("s3://lake", "binary")]["schema_status"] == "unreadable"


@pytest.mark.reliability("security")
def test_without_get_object_datasets_are_listed_and_their_schemas_skipped(moto, sqlite_register, as_user):
    bucket(moto, "no-reading", {"t/year=2024/a.csv": encode(ROWS, "csv")})
    policy = harvester_policy()
    policy["Statement"] = [s for s in policy["Statement"] if s["Sid"] != "S3ReadHeadersFootersAndSamples"]
    iam = aws(moto, "iam")
    iam.create_user(UserName="lister")
    iam.put_user_policy(UserName="lister", PolicyName="list-only", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="lister")["AccessKey"]
    from adc.demo.estate import enforce_iam_now

    enforce_iam_now(moto.url)
    as_user({"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]})
    summary = harvest(sqlite_register, sources({"services": ["s3"]}))
    assert scopes(summary)[("s3", "no-reading")]["status"] == "complete"
    dataset = current(sqlite_register)[("s3://no-reading", "t")]
    assert (dataset["schema_status"], dataset["object_count"], dataset["fields"]) == ("skipped", 1, [])
    assert any("no permission to read objects" in p for p in dataset["problems"])


PERSON = ("Jane Doe", "jane.doe@example.com", "SW1A 1AA", "AB123456C")


@pytest.mark.reliability("security")
def test_personal_data_in_a_headerless_csv_or_json_keys_is_never_a_column_or_member_name(moto, register):
    bucket(moto, "minimal", {
        "people/part-0.csv": (",".join(PERSON) + "\nJohn Roe,john.roe@example.com,EC1A 1BB,CD123456A\n").encode(),
        "counts/part-0.jsonl": b'{"day": "2024-05-01", "by_email": {"jane.doe@example.com": 3}}\n',
    })
    summary = harvest(register, sources({"services": ["s3"]}))
    assert scopes(summary)[("s3", "minimal")]["status"] == "complete"
    datasets = current(register)
    people, counts = datasets[("s3://minimal", "people")], datasets[("s3://minimal", "counts")]
    assert [(f["name"], f["category"]) for f in people["fields"]] == [
        ("column_1", None), ("column_2", "email"), ("column_3", "postcode"), ("column_4", "national_insurance_number")]
    assert people["problems"] == [
        "people/part-0.csv: no header row (the first row holds values): columns are named by position"]
    assert [(f["name"], f["type"]) for f in counts["fields"]] == [("day", "string"), ("by_email", "map<string,bigint>")]
    recorded = json.dumps([people, counts, summary], default=str)
    assert not [value for value in PERSON if value in recorded]


@pytest.mark.reliability("security")
def test_json_lines_records_keyed_by_personal_data_name_no_column_after_a_key(moto, register):
    bucket(moto, "minimal", {"visits/part-0.jsonl": (
        b'{"id": 1, "jane.doe@example.com": {"visits": 3, "name": "Jane Doe"}}\n'
        b'{"id": 2, "AB123456C": {"visits": 1, "name": "John Roe"}}\n')})
    summary = harvest(register, sources({"services": ["s3"]}))
    assert scopes(summary)[("s3", "minimal")]["status"] == "complete"
    visits = current(register)[("s3://minimal", "visits")]
    assert [(f["name"], f["type"]) for f in visits["fields"]] == [
        ("id", "bigint"), ("_keyed_by_data", "map<string,struct<visits:bigint,name:string>>")]
    assert visits["problems"] == [
        "visits/part-0.jsonl: 2 top-level key(s) look like personal data (an email, postcode, NI number, phone "
        "number or IP address) and are not column names: they are the keys of the map column _keyed_by_data"]
    recorded = "\n".join([*register_dump(register), json.dumps(summary, default=str)])
    assert not [v for v in ("jane.doe@example.com", "AB123456C", "Jane Doe", "John Roe") if v in recorded]


def test_a_bucket_gone_between_plan_and_unit_is_a_failed_scope(moto, register):
    from adc.register import store

    store.start_run(register, "r1", ["src"])
    unit = runner.Unit("src", REGION, "s3", "123456789012", ["deleted-meanwhile"])
    (outcome,) = runner.run_unit(unit, config=sources(), engine=register, run_id="r1")
    assert (outcome.status, outcome.error_kind) == ("failed", "NoSuchBucket")
    summary = runner.finish(register, "r1", units=[unit], errors=[])
    assert summary["coverage"]["failed"] == 1 and summary["errors"][0]["error_kind"] == "NoSuchBucket"


def test_buckets_are_harvested_in_their_own_region(moto, sqlite_register):
    bucket(moto, "london-data", {"t/a.csv": encode(ROWS, "csv")}, region="eu-west-2")
    bucket(moto, "dublin-data", {"t/a.csv": encode(ROWS, "csv")}, region="eu-west-1")
    summary = harvest(sqlite_register, sources({"regions": ["eu-west-2", "eu-west-1"], "services": ["s3"]}))
    regions = {s["scope"]: s["region"] for s in summary["coverage"]["scopes"]}
    assert regions == {"london-data": "eu-west-2", "dublin-data": "eu-west-1"}
    assert current(sqlite_register)[("s3://dublin-data", "t")]["region"] == "eu-west-1"
    # a source in one region leaves the other region's bucket alone (and does not call it absent)
    summary = harvest(sqlite_register, sources({"region": "eu-west-2", "services": ["s3"]}))
    assert [s["scope"] for s in summary["coverage"]["scopes"]] == ["london-data"]


def test_bucket_settings_and_retention_per_prefix(moto, sqlite_register):
    bucket(moto, "settings", {"logs/a.jsonl": encode(ROWS, "jsonl"), "keep/a.jsonl": encode(ROWS, "jsonl")})
    s3 = aws(moto, "s3")
    s3.put_bucket_versioning(Bucket="settings", VersioningConfiguration={"Status": "Suspended"})
    s3.put_bucket_encryption(Bucket="settings", ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    s3.put_bucket_lifecycle_configuration(Bucket="settings", LifecycleConfiguration={"Rules": [
        {"ID": "logs-90", "Status": "Enabled", "Filter": {"Prefix": "logs/"}, "Expiration": {"Days": 90}}]})
    s3.put_bucket_tagging(Bucket="settings", Tagging={"TagSet": [{"Key": "iar:asset-id", "Value": "IA-9"}]})
    harvest(sqlite_register, sources({"services": ["s3"]}))
    logs = current(sqlite_register)[("s3://settings", "logs")]
    keep = current(sqlite_register)[("s3://settings", "keep")]
    assert logs["properties"]["bucket"]["encryption"] == "AES256"
    assert logs["properties"]["bucket"]["versioning"] == "suspended"
    assert logs["properties"]["retention_control"] == {
        "kind": "s3_lifecycle", "active": True, "detail": "lifecycle rule 'logs-90' expires objects after 90 days"}
    assert keep["properties"]["retention_control"]["active"] is False
    assert keep["tags"] == {"iar:asset-id": "IA-9"}
    assert keep["classification"] == "personal"  # emails in the sample (and the applicant_id name)


def test_a_second_harvest_marks_a_deleted_dataset_gone(moto, register):
    bucket(moto, "changing", {"a/x.csv": encode(ROWS, "csv"), "b/x.csv": encode(ROWS, "csv")})
    harvest(register, sources({"services": ["s3"]}))
    aws(moto, "s3").delete_object(Bucket="changing", Key="b/x.csv")
    summary = harvest(register, sources({"services": ["s3"]}))
    assert summary["merge"] == {"added": 0, "changed": 0, "unchanged": 1, "gone": 1}
    assert ("s3://changing", "b") not in current(register)
