"""Schema inference from the bytes that hold it: footers, headers, the head of text files."""

import gzip
import json
import os

import pytest

from adc.demo.files import encode, to_parquet
from adc.harvest import schema
from adc.harvest.schema import Skipped, Unreadable, infer

ROWS = [{"id": i, "name": f"n{i}", "score": i / 2, "ok": i % 2 == 0, "day": "2024-05-01"} for i in range(25)]


class File:
    """A file behind ranged reads; records every range asked for."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.ranges: list[tuple[int, int]] = []

    def fetch(self, start: int, end: int) -> bytes:
        self.ranges.append((start, end))
        return self.data[start : end + 1]

    @property
    def bytes_read(self) -> int:
        return sum(end - start + 1 for start, end in self.ranges)


def read(data: bytes, declared: str | None, **kw) -> tuple[schema.Inferred, File]:
    file = File(data)
    return infer(file.fetch, len(data), declared, **kw), file


def test_parquet_schema_from_one_ranged_read_of_the_footer():
    data = to_parquet(ROWS)
    found, file = read(data, "parquet")
    assert found.columns == [("id", "bigint"), ("name", "string"), ("score", "double"), ("ok", "boolean"),
                             ("day", "string")]
    assert found.rows == []  # a footer has no values
    assert len(file.ranges) == 1 and file.ranges[0][1] == len(data) - 1


def test_a_large_parquet_footer_is_read_with_a_second_range(monkeypatch):
    monkeypatch.setattr(schema, "HEAD_BYTES", 64)
    data = to_parquet(ROWS)
    found, file = read(data, "parquet")
    assert len(found.columns) == 5
    assert len(file.ranges) == 2
    assert file.bytes_read < len(data) + 64  # the footer and the tail, never the row groups twice


def test_parquet_nested_and_decimal_types():
    import decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"tags": pa.array([["a"]]), "address": pa.array([{"line": "x", "n": 1}]),
                      "amount": pa.array([decimal.Decimal("1.50")], pa.decimal128(9, 2)),
                      "at": pa.array([0], pa.timestamp("ms"))})
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    found, _ = read(sink.getvalue().to_pybytes(), "parquet")
    assert dict(found.columns) == {"tags": "array<string>", "address": "struct<line:string,n:bigint>",
                                   "amount": "decimal(9,2)", "at": "timestamp"}


@pytest.mark.parametrize("damage", ["truncated", "not parquet", "tiny"])
def test_a_broken_parquet_file_is_unreadable(damage):
    data = to_parquet(ROWS)
    damaged = {"truncated": data[: len(data) // 2], "not parquet": b"hello world, not parquet" * 10, "tiny": b"PAR1"}
    data = damaged[damage]
    with pytest.raises(Unreadable):
        read(data, "parquet")


def test_csv_header_and_types_from_a_bounded_sample():
    found, file = read(encode(ROWS, "csv"), "csv", sample_rows=10)
    assert found.columns == [("id", "bigint"), ("name", "string"), ("score", "double"), ("ok", "boolean"),
                             ("day", "date")]
    assert len(found.rows) == 10
    assert file.ranges == [(0, len(encode(ROWS, "csv")) - 1)]


def test_csv_types_widen_and_keep_leading_zeros_as_text():
    data = b"a,b,c,d,e\n1,1,007,2024-05-01,true\n2.5,,012,2024-05-01T10:00:00Z,false\n"
    found, _ = read(data, "csv")
    assert dict(found.columns) == {"a": "double", "b": "bigint", "c": "string", "d": "timestamp", "e": "boolean"}


def test_tsv_semicolons_and_odd_headers():
    found, _ = read(encode(ROWS, "tsv"), "tsv")
    assert [c for c, _ in found.columns] == ["id", "name", "score", "ok", "day"]
    found, _ = read(b"a;b;a;\n1;2;3;4\n", "csv")
    assert [c for c, _ in found.columns] == ["a", "b", "a_2", "column_4"]


def test_only_the_first_64_kib_of_a_big_csv_is_read():
    big = encode([{"id": i, "text": "x" * 50} for i in range(5000)], "csv")
    found, file = read(big, "csv", sample_rows=1000)
    assert file.bytes_read == schema.HEAD_BYTES
    assert found.columns == [("id", "bigint"), ("text", "string")]
    assert all(row["text"] == "x" * 50 for row in found.rows)  # the cut last line was dropped


@pytest.mark.parametrize("fmt", ["jsonl", "json", "jsonl.gz", "csv.gz"])
def test_json_lines_json_arrays_and_gzip(fmt):
    found, _ = read(encode(ROWS, fmt), fmt)
    assert found.format == fmt
    assert dict(found.columns)["score"] == "double"
    assert [c for c, _ in found.columns] == ["id", "name", "score", "ok", "day"]


def test_json_records_merge_their_fields_and_types():
    data = b'{"a": 1, "b": null}\n{"a": 2.5, "c": {"x": [1]}}\n'
    found, _ = read(data, "jsonl")
    assert dict(found.columns) == {"a": "double", "b": "string", "c": "struct<x:array<bigint>>"}


def test_a_big_gzip_file_is_read_from_its_head():
    rows = [{"id": i, "blob": os.urandom(30).hex()} for i in range(20000)]  # incompressible: > 64 KiB of gzip
    data = gzip.compress("".join(json.dumps(r) + "\n" for r in rows).encode())
    found, file = read(data, "jsonl.gz", sample_rows=50)
    assert file.bytes_read == schema.HEAD_BYTES
    assert [c for c, _ in found.columns] == ["id", "blob"] and len(found.rows) == 50


@pytest.mark.parametrize(
    ("data", "declared"),
    [(b"\x00\x01\x02binary" * 100, "csv"), (b"not gzip at all", "csv.gz"), (gzip.compress(b'{"a": 1}\n' * 500)[:-30],
                                                                         "jsonl.gz"),
     (b"{broken json\n", "jsonl"), (b"[1, 2, 3]", "json")],
    ids=["binary csv", "not gzip", "truncated gzip", "broken json", "not records"],
)
def test_unreadable_files(data, declared):
    with pytest.raises(Unreadable):
        read(data, declared)


def test_a_bad_record_after_good_ones_is_a_problem_not_a_failure():
    found, _ = read(b'{"a": 1}\n{"a": 2}\n{oops\n', "jsonl")
    assert found.columns == [("a", "bigint")]
    assert "invalid JSON after 2 record(s)" in found.problem


def test_skipped_files():
    with pytest.raises(Skipped, match="empty"):
        infer(File(b"").fetch, 0, "csv")
    for declared in ("orc", "csv.bz2", "xlsx"):
        with pytest.raises(Skipped):
            read(b"whatever", declared)
    with pytest.raises(Skipped, match="unrecognised"):
        read(b"plain words, no structure", None)


def test_formats_are_sniffed_when_the_name_declares_none():
    assert read(to_parquet(ROWS), None)[0].format == "parquet"
    assert read(gzip.compress(encode(ROWS, "jsonl")), "gz")[0].format == "jsonl.gz"
    assert read(encode(ROWS, "json"), None)[0].format == "json"


def _avro_long(n: int) -> bytes:
    n = (n << 1) ^ (n >> 63)
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _avro_bytes(b: bytes) -> bytes:
    return _avro_long(len(b)) + b


def avro_container(record_schema: dict) -> bytes:
    """An Avro object container file's header (the Avro spec) followed by a fake block."""
    metadata = {b"avro.schema": json.dumps(record_schema).encode(), b"avro.codec": b"null"}
    header = b"Obj\x01" + _avro_long(len(metadata))
    header += b"".join(_avro_bytes(k) + _avro_bytes(v) for k, v in metadata.items()) + _avro_long(0)
    return header + os.urandom(16) + b"\x02\x10" + os.urandom(40)


def test_avro_schema_from_the_container_header():
    data = avro_container({"type": "record", "name": "r", "fields": [
        {"name": "id", "type": "long"}, {"name": "email", "type": ["null", "string"]},
        {"name": "born", "type": {"type": "int", "logicalType": "date"}},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
    ]})
    found, _ = read(data, "avro")
    assert found.columns == [("id", "bigint"), ("email", "string"), ("born", "date"), ("tags", "array<string>")]
    assert read(data, None)[0].format == "avro"
    with pytest.raises(Unreadable):
        read(b"Obj\x01" + b"\xff" * 3, "avro")


PERSON = ["Jane Doe", "jane.doe@example.com", "SW1A 1AA", "AB123456C"]


@pytest.mark.reliability("security")
@pytest.mark.parametrize("first_row", [
    ",".join(PERSON), "Jane Doe,07700 900123", "Jane Doe,+447700900123", "Jane Doe,192.0.2.1",
    "Jane Doe,2001:db8::1", "Jane Doe,SW1A1AA", "Jane Doe,ab 12 34 56 c", "Jane Doe,10 Downing Street London SW1A 2AA",
], ids=["email postcode ni", "phone", "phone +44", "ipv4", "ipv6", "postcode", "ni spaced", "address"])
def test_a_headerless_csv_whose_first_row_is_personal_data_names_no_column_after_it(first_row):
    data = f"{first_row}\nJohn Roe,{first_row.split(',', 1)[1]}\n".encode()
    found, _ = read(data, "csv")
    width = first_row.count(",") + 1
    assert [c for c, _ in found.columns] == [f"column_{i + 1}" for i in range(width)]
    assert found.problem == "no header row (the first row holds values): columns are named by position"
    assert [row["column_1"] for row in found.rows] == ["Jane Doe", "John Roe"]  # the first row is sampled as data
    for value in first_row.split(","):
        assert value not in repr((found.columns, found.problem))


def test_a_header_of_names_stays_a_header():
    found, _ = read(b"name,email,postcode,ni_number,phone,ip\nJane Doe,jane.doe@example.com,SW1A 1AA,AB123456C,"
                    b"07700 900123,192.0.2.1\n", "csv")
    assert [c for c, _ in found.columns] == ["name", "email", "postcode", "ni_number", "phone", "ip"]
    assert found.problem is None and len(found.rows) == 1


@pytest.mark.reliability("security")
@pytest.mark.parametrize("keys", [
    ["jane.doe@example.com"], ["AB123456C"], ["SW1A1AA"], ["SW1A 1AA"], ["07700900123"], ["192.0.2.1"],
    ["2001:db8::1"], ["Jane Doe"], ["2024-05-01"], ["a", "b.c"], [f"u{i}" for i in range(schema.MAP_KEYS + 1)],
], ids=["email", "ni", "postcode", "postcode spaced", "phone", "ipv4", "ipv6", "name", "date", "one dotted key",
        "too many keys"])
def test_a_json_object_keyed_by_data_is_a_map_that_names_no_key(keys):
    records = [{"id": i, "by_key": {key: i}} for i, key in enumerate(keys)]
    data = "".join(json.dumps(r) + "\n" for r in records).encode()
    found, _ = read(data, "jsonl", sample_rows=len(records))
    assert dict(found.columns) == {"id": "bigint", "by_key": "map<string,bigint>"}
    assert not any(key in repr(found.columns) for key in keys if key != "a")


KEYED_PROBLEM = ("{} top-level key(s) look like personal data (an email, postcode, NI number, phone number or IP "
                 "address) and are not column names: they are the keys of the map column {}")


@pytest.mark.reliability("security")
@pytest.mark.parametrize("fmt", ["jsonl", "json"])
@pytest.mark.parametrize("key", [
    "jane.doe@example.com", "AB123456C", "SW1A1AA", "SW1A 1AA", "07700900123", "+447700900123", "192.0.2.1",
    "2001:db8::1",
], ids=["email", "ni", "postcode", "postcode spaced", "phone", "phone +44", "ipv4", "ipv6"])
def test_a_top_level_key_that_looks_like_personal_data_is_no_column_name(key, fmt):
    records = [{key: "Jane Doe", "id": 1}, {"id": 2, "john.roe@example.com": "John Roe"}, {"id": 3}]
    found, _ = read(encode(records, fmt), fmt)
    assert found.columns == [("id", "bigint"), ("_keyed_by_data", "map<string,string>")]
    assert found.problem == KEYED_PROBLEM.format(2, "_keyed_by_data")
    assert [row["id"] for row in found.rows] == [1, 2, 3]  # every record is still sampled
    recorded = repr((found.columns, found.format, found.problem))
    assert not [value for value in (key, "Jane Doe", "john.roe@example.com", "John Roe") if value in recorded]


def test_ordinary_top_level_keys_stay_column_names():
    records = [{"id": 1, "first name": "Jane", "2024-05-01": 3, "email": "jane.doe@example.com", "ip": "192.0.2.1"}]
    found, _ = read(encode(records, "jsonl"), "jsonl")
    assert [c for c, _ in found.columns] == ["id", "first name", "2024-05-01", "email", "ip"]
    assert found.problem is None


def test_keys_by_data_beside_a_column_of_that_name_and_a_broken_record():
    data = b'{"_keyed_by_data": "mine", "AB123456C": {"visits": 2}}\n{"CD123456A": {"visits": 1}}\n{oops\n'
    found, _ = read(data, "jsonl")
    assert found.columns == [("_keyed_by_data", "string"), ("__keyed_by_data", "map<string,struct<visits:bigint>>")]
    assert found.problem == ("invalid JSON after 2 record(s) (Expecting property name enclosed in double quotes); "
                             + KEYED_PROBLEM.format(2, "__keyed_by_data"))


def test_declared_names_stay_column_names_whatever_they_look_like():
    names, problem = schema.record_columns([{"jane.doe@example.com": "x", "AB123456C": 1}],
                                           declared=["jane.doe@example.com", "sort"])
    assert names == {"jane.doe@example.com": ["x"], "sort": [], "_keyed_by_data": [{"AB123456C": 1}]}
    assert problem == KEYED_PROBLEM.format(1, "_keyed_by_data")


def test_a_map_of_any_values_and_maps_inside_arrays_and_structs():
    assert schema.json_type([{"jane@example.com": {"n": 1}, "john@example.com": {"n": 2.5}}]) \
        == "map<string,struct<n:double>>"
    assert schema.json_type([[{"2024-05-01": "x"}], [{"2024-05-02": None}]]) == "array<map<string,string>>"
    assert schema.json_type([{"counts": {"AB123456C": 1}}]) == "struct<counts:map<string,bigint>>"


def test_json_objects_keyed_by_names_are_structs_merged_across_records():
    records = [{"member": {"first_name": "Jane", "addressLine-1": "x", "données": 1}},
               {"member": {"first_name": "John", "_extra": True}}]
    assert schema.json_type(r["member"] for r in records) \
        == "struct<first_name:string,addressLine-1:string,données:bigint,_extra:boolean>"
    names = [f"f{i}" for i in range(schema.MAP_KEYS)]
    assert schema.json_type([dict.fromkeys(names, 1)]) == "struct<" + ",".join(f"{n}:bigint" for n in names) + ">"
