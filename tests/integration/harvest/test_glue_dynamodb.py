"""Glue and DynamoDB against the moto server: pagination, views, Iceberg, globs, TTL, samples."""

from __future__ import annotations

import json

import pytest

from adc.model import Classification
from tests.support.harvest import ACCOUNT, REGION, aws, current, fields, harvest, scopes, sources
from tests.support.hostile import register_dump

GLUE = f"arn:aws:glue:{REGION}:{ACCOUNT}"
DYNAMODB = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}"


def glue_table(glue, database: str, name: str, **extra) -> None:
    table = {"Name": name, "StorageDescriptor": {"Columns": [{"Name": "email", "Type": "string"}],
                                                 "Location": f"s3a://warehouse/{database}/{name}/"}, **extra}
    glue.create_table(DatabaseName=database, TableInput=table)


def test_more_than_100_glue_tables_in_a_database(moto, sqlite_register):
    glue = aws(moto, "glue")
    glue.create_database(DatabaseInput={"Name": "many"})
    for i in range(120):
        glue_table(glue, "many", f"t{i:03d}")
    summary = harvest(sqlite_register, sources({"services": ["glue"]}))
    many = scopes(summary)[("glue", "many")]
    assert (many["status"], many["datasets"]) == ("complete", 120)
    t042 = current(sqlite_register)[(GLUE, "table/many/t042")]
    assert t042["location"] == "s3://warehouse/many/t042"  # s3a:// is the same place
    assert t042["symlinks"] == [{"namespace": "s3://warehouse", "name": "many/t042"}]
    assert fields(t042)["email"] == (Classification.PERSONAL, "email")


def test_tables_left_out_by_globs_make_a_partial_scope(moto, sqlite_register):
    glue = aws(moto, "glue")
    for database in ("sales", "scratch"):
        glue.create_database(DatabaseInput={"Name": database})
    for name in ("orders", "tmp_orders"):
        glue_table(glue, "sales", name)
    glue_table(glue, "scratch", "anything")
    config = sources({"services": ["glue"], "include": ["*"], "exclude": ["scratch", "*.tmp_*"]})
    summary = harvest(sqlite_register, config)
    coverage = scopes(summary)
    assert set(coverage) == {("glue", "sales")}  # scratch is excluded as a whole
    assert (coverage[("glue", "sales")]["status"], coverage[("glue", "sales")]["datasets"]) == ("partial", 1)
    assert "1 table(s) left out" in coverage[("glue", "sales")]["error"]
    assert (GLUE, "table/sales/tmp_orders") not in current(sqlite_register)
    # an include glob can pick tables out of a database that is not included as a whole
    summary = harvest(sqlite_register, sources({"services": ["glue"], "include": ["scratch.any*"]}))
    assert scopes(summary)[("glue", "scratch")]["status"] == "complete"


def test_a_glue_database_deleted_after_the_plan_is_a_failed_scope(moto, register):
    from adc.harvest import runner
    from adc.register import store

    store.start_run(register, "r1", ["src"])
    unit = runner.Unit("src", REGION, "glue", ACCOUNT, ["gone_db"])
    (outcome,) = runner.run_unit(unit, config=sources(), engine=register, run_id="r1")
    assert (outcome.status, outcome.error_kind) == ("failed", "EntityNotFoundException")
    assert outcome.covers.name == "table/gone_db"


def test_dynamodb_list_tables_paginates_and_tables_are_batched_into_units(moto, sqlite_register):
    dynamodb = aws(moto, "dynamodb")
    for i in range(105):
        dynamodb.create_table(TableName=f"t{i:03d}", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                              AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                              BillingMode="PAY_PER_REQUEST")
    from adc.harvest import runner

    plan = runner.make_plan(sources({"services": ["dynamodb"]}), ["src"], set(), runner.Clients())
    assert sum(len(u.scopes) for u in plan.units) == 105
    assert [len(u.scopes) for u in plan.units] == [20, 20, 20, 20, 20, 5]
    summary = harvest(sqlite_register, sources({"services": ["dynamodb"]}))
    assert summary["services"]["dynamodb"]["complete"] == 105


def test_dynamodb_keys_ttl_tags_and_sampled_attributes(moto, sqlite_register):
    dynamodb = aws(moto, "dynamodb")
    arn = dynamodb.create_table(
        TableName="people",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "n", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "n", "AttributeType": "N"}],
        BillingMode="PAY_PER_REQUEST")["TableDescription"]["TableArn"]
    dynamodb.tag_resource(ResourceArn=arn, Tags=[{"Key": "iar:asset-id", "Value": "IA-1"}])
    dynamodb.update_time_to_live(TableName="people", TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"})
    for i in range(3):
        dynamodb.put_item(TableName="people", Item={"pk": {"S": f"p{i}"}, "n": {"N": str(i)},
                                                     "contact": {"S": f"p{i}@example.org"}, "ttl": {"N": "1893456000"},
                                                     "prefs": {"M": {"x": {"BOOL": True}}}})
    harvest(sqlite_register, sources({"services": ["dynamodb"], "sample_rows": 2}))
    people = current(sqlite_register)[(DYNAMODB, "table/people")]
    assert [f["name"] for f in people["fields"]] == ["pk", "n", "contact", "ttl", "prefs"]
    assert {f["name"]: f["type"] for f in people["fields"]}["prefs"] == "struct<x:boolean>"
    assert fields(people)["contact"] == (Classification.PERSONAL, "email")  # from the sample: the name says nothing
    assert people["tags"] == {"iar:asset-id": "IA-1"}
    assert people["properties"]["ttl"] == {"status": "ENABLED", "attribute": "ttl"}
    assert people["properties"]["retention_control"]["active"] is True
    assert people["properties"]["key_schema"][1] == {"name": "n", "key_type": "RANGE", "type": "number"}
    assert people["schema_status"] == "inferred"


@pytest.mark.reliability("security")
def test_dynamodb_maps_keyed_by_personal_data_are_recorded_as_maps_without_their_keys(moto, register):
    dynamodb = aws(moto, "dynamodb")
    dynamodb.create_table(TableName="tallies", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                          BillingMode="PAY_PER_REQUEST")
    dynamodb.put_item(TableName="tallies", Item={
        "pk": {"S": "Jane Doe"},
        "by_email": {"M": {"jane.doe@example.com": {"N": "3"}, "john.roe@example.com": {"N": "1"}}},
        "by_ni_number": {"M": {"AB123456C": {"M": {"visits": {"N": "2"}}}}},
        "prefs": {"M": {"dark_mode": {"BOOL": True}}},
    })
    summary = harvest(register, sources({"services": ["dynamodb"]}))
    tallies = current(register)[(DYNAMODB, "table/tallies")]
    assert {f["name"]: f["type"] for f in tallies["fields"]} == {
        "pk": "string", "by_email": "map<string,bigint>", "by_ni_number": "map<string,struct<visits:bigint>>",
        "prefs": "struct<dark_mode:boolean>"}
    recorded = json.dumps([tallies, summary], default=str)
    assert not [value for value in ("Jane Doe", "jane.doe@example.com", "AB123456C") if value in recorded]


@pytest.mark.reliability("security")
def test_dynamodb_attributes_named_by_personal_data_name_no_column_after_them(moto, register):
    dynamodb = aws(moto, "dynamodb")
    dynamodb.create_table(TableName="visits", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                          BillingMode="PAY_PER_REQUEST")
    for item in ({"id": {"S": "v1"}, "day": {"S": "2024-05-01"}, "jane.doe@example.com": {"S": "Jane Doe"}},
                 {"id": {"S": "v2"}, "SW1A 1AA": {"S": "John Roe"}, "192.0.2.1": {"S": "Joan Poe"}}):
        dynamodb.put_item(TableName="visits", Item=item)
    summary = harvest(register, sources({"services": ["dynamodb"]}))
    visits = current(register)[(DYNAMODB, "table/visits")]
    assert {f["name"]: f["type"] for f in visits["fields"]} == {
        "id": "string", "day": "string", "_keyed_by_data": "map<string,string>"}
    assert visits["problems"] == [
        "3 top-level key(s) look like personal data (an email, postcode, NI number, phone number or IP address) "
        "and are not column names: they are the keys of the map column _keyed_by_data"]
    recorded = "\n".join([*register_dump(register), json.dumps(summary, default=str)])
    personal = ("jane.doe@example.com", "SW1A 1AA", "192.0.2.1", "Jane Doe", "John Roe", "Joan Poe")
    assert not [value for value in personal if value in recorded]


def test_each_region_is_listed_on_its_own(moto, sqlite_register):
    for region in ("eu-west-2", "eu-west-1"):
        aws(moto, "dynamodb", region).create_table(
            TableName=f"bookings-{region}", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
        aws(moto, "glue", region).create_database(DatabaseInput={"Name": f"db_{region.replace('-', '_')}"})
    config = sources({"regions": ["eu-west-2", "eu-west-1"], "services": ["dynamodb", "glue"]})
    summary = harvest(sqlite_register, config)
    assert {(s["scope"], s["region"]) for s in summary["coverage"]["scopes"]} == {
        ("bookings-eu-west-2", "eu-west-2"), ("bookings-eu-west-1", "eu-west-1"),
        ("db_eu_west_2", "eu-west-2"), ("db_eu_west_1", "eu-west-1")}
    assert (f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}", "table/bookings-eu-west-1") in current(sqlite_register)


def test_glue_tables_carry_their_database_tags_and_their_own_when_asked(moto, sqlite_register):
    glue = aws(moto, "glue")
    glue.create_database(DatabaseInput={"Name": "hr"})
    glue.tag_resource(ResourceArn=f"{GLUE}:database/hr", TagsToAdd={"iar:asset-id": "IA-6", "iar:owner": "frank"})
    glue_table(glue, "hr", "payroll")
    glue.tag_resource(ResourceArn=f"{GLUE}:table/hr/payroll", TagsToAdd={"iar:owner": "hr-systems-team"})
    harvest(sqlite_register, sources({"services": ["glue"]}))
    payroll = (GLUE, "table/hr/payroll")
    assert current(sqlite_register)[payroll]["tags"] == {"iar:asset-id": "IA-6", "iar:owner": "frank"}
    harvest(sqlite_register, sources({"services": ["glue"], "glue_table_tags": True}))
    assert current(sqlite_register)[payroll]["tags"] == {"iar:asset-id": "IA-6", "iar:owner": "hr-systems-team"}
