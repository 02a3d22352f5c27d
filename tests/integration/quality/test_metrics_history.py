"""Every harvest records each dataset's metrics (counts and times from its metadata, never values), and
`adc quality history` shows the series, through the visibility rule. On SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
from dataclasses import astuple

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select, true

from adc import naming
from adc.cli import main
from adc.quality.history import history
from adc.register.tables import dataset_metrics
from tests.support.harvest import ACCOUNT, REGION, aws, bucket, harvest, sources
from tests.support.organisations import declare, organisations_yaml

URI = "s3://dcr-casework/applications"
SECRET = "Ada Lovelace"  # a value in the data: never in the register's metrics


def parquet(rows: int, nulls: int) -> bytes:
    """``rows`` rows, ``nulls`` of them with no nationality; two row groups."""
    table = pa.table({"case_id": [f"C{i}" for i in range(rows)],
                      "full_name": [SECRET] * rows,
                      "nationality": [None if i < nulls else "GB" for i in range(rows)]})
    out = io.BytesIO()
    pq.write_table(table, out, row_group_size=max(1, rows // 2))
    return out.getvalue()


def estate(moto, days: range, rows: int = 10, nulls: int = 3) -> None:
    bucket(moto, "dcr-casework", {f"applications/day={d:02d}/part-0.parquet": parquet(rows, nulls) for d in days})


def rows(engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(dataset_metrics).order_by(dataset_metrics.c.at)).mappings()]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_harvest_records_counts_from_the_parquet_footer_it_samples(register, moto):
    estate(moto, range(1, 4))
    summary = harvest(register, sources({"services": ["s3"]}))
    (row,) = rows(register)
    assert (row["namespace"], row["name"], row["run_id"]) == ("s3://dcr-casework", "applications", summary["run_id"])
    newest = max(o["LastModified"] for o in aws(moto, "s3").list_objects_v2(Bucket="dcr-casework")["Contents"])
    assert row["newest"] is not None and abs((row["newest"] - newest).total_seconds()) < 1
    assert row["at"] is not None
    size = sum(len(parquet(10, 3)) for _ in range(3))
    # the golden row: one file's footer sampled, its rows and its per-column nulls, only counts
    assert {k: row[k] for k in row if k not in ("run_id", "at", "newest")} == {
        "namespace": "s3://dcr-casework", "name": "applications", "object_count": 3, "size_bytes": size,
        "row_count": 10, "sampled_files": 1, "column_count": 3,  # the file's: partition keys are not fields
        "columns": {"case_id": {"null_count": 0, "rows": 10}, "full_name": {"null_count": 0, "rows": 10},
                    "nationality": {"null_count": 3, "rows": 10}},
    }
    assert SECRET not in json.dumps(row, default=str)  # no value of any column


def test_two_harvests_two_rows_in_order_and_vanished_objects_show(register, moto, capsys):
    estate(moto, range(1, 6))
    first = harvest(register, sources({"services": ["s3"]}))["run_id"]
    s3 = aws(moto, "s3")
    for day in range(1, 5):
        s3.delete_object(Bucket="dcr-casework", Key=f"applications/day={day:02d}/part-0.parquet")
    s3.put_object(Bucket="dcr-casework", Key="applications/day=05/part-0.parquet", Body=parquet(10, 9))
    second = harvest(register, sources({"services": ["s3"]}))["run_id"]

    series = history(register, URI, visible=true())
    assert series is not None and [m["run_id"] for m in series] == [first, second]
    assert [m["object_count"] for m in series] == [5, 1]  # the objects mostly vanished
    assert [m["columns"]["nationality"]["null_count"] for m in series] == [3, 9]  # a column gone mostly null
    assert series[0]["at"] < series[1]["at"]

    code, out, err = run(capsys, "quality", "history", URI, "--json")
    assert code == 0, err
    shown = json.loads(out)
    assert [m["run_id"] for m in shown] == [first, second]
    assert set(shown[0]) == {"at", "run_id", "sampled_files", "row_count", "object_count", "size_bytes",
                             "column_count", "columns", "newest"}
    assert shown[1]["object_count"] == 1 and shown[1]["row_count"] == 10 and shown[1]["sampled_files"] == 1
    assert SECRET not in out and "GB" not in out

    code, out, err = run(capsys, "quality", "history", URI)
    assert code == 0 and out.splitlines()[0] == URI and len(out.splitlines()) == 3
    assert "objects 1" in out.splitlines()[2] and "nulls 9" in out.splitlines()[2]


def test_a_failed_run_records_no_metrics(register, moto, monkeypatch):
    estate(moto, range(1, 3))
    monkeypatch.setattr("adc.register.store._complete", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
    with pytest.raises(RuntimeError):
        harvest(register, sources({"services": ["s3"]}))
    assert rows(register) == []


def test_glue_and_dynamodb_record_what_their_metadata_holds(register, moto):
    glue = aws(moto, "glue")
    glue.create_database(DatabaseInput={"Name": "casework"})
    glue.create_table(DatabaseName="casework", TableInput={
        "Name": "applications", "StorageDescriptor": {"Columns": [{"Name": "case_id", "Type": "string"},
                                                                 {"Name": "nationality", "Type": "string"}]}})
    dynamodb = aws(moto, "dynamodb")
    dynamodb.create_table(TableName="sessions", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                          BillingMode="PAY_PER_REQUEST")
    for i in range(3):
        dynamodb.put_item(TableName="sessions", Item={"id": {"S": f"s{i}"}})
    harvest(register, sources({"services": ["glue", "dynamodb"]}))
    by_id = {(r["namespace"], r["name"]): r for r in rows(register)}
    table = by_id[astuple(naming.glue(REGION, ACCOUNT, "casework", "applications"))]
    assert table["column_count"] == 2 and table["newest"] is not None  # GetTables' UpdateTime
    assert table["row_count"] is None and table["columns"] is None and table["sampled_files"] is None
    items = by_id[astuple(naming.dynamodb(REGION, ACCOUNT, "sessions"))]
    assert items["row_count"] == items["object_count"]  # DescribeTable's ItemCount
    assert items["newest"] is None and items["columns"] is None


def test_a_person_who_may_not_see_it_gets_the_error_an_unknown_uri_gets(register, moto, tmp_path, monkeypatch,
                                                                       capsys):
    declare(tmp_path, monkeypatch, organisations_yaml("{user: victor, organisations: [dept]}",
                                                      "{user: sam, organisations: [psu], clearance: TOP SECRET}"))
    estate(moto, range(1, 3))
    harvest(register, sources({"services": ["s3"], "organisation": "psu", "marking": "SECRET"}))

    code, out, _ = run(capsys, "quality", "history", URI, "--json", "--as", "sam")
    assert code == 0 and len(json.loads(out)) == 1
    hidden = run(capsys, "quality", "history", URI, "--json", "--as", "victor")
    unknown = run(capsys, "quality", "history", "s3://dcr-casework/nothing", "--json", "--as", "sam")
    assert hidden[0] == unknown[0] == 2 and hidden[1] == unknown[1] == ""
    assert hidden[2].strip() == f"adc: error: no dataset {URI}"
    assert unknown[2].strip() == "adc: error: no dataset s3://dcr-casework/nothing"
    assert len(hidden[2].strip().splitlines()) == 1
