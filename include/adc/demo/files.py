"""Serialise rows as the file formats a data lake holds (used by the demo estate and the tests)."""

from __future__ import annotations

import csv
import gzip
import io
import json
from typing import Any, Iterable

import pyarrow as pa
import pyarrow.parquet as pq


def to_csv(rows: list[dict[str, Any]], delimiter: str = ",") -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), delimiter=delimiter, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def to_jsonl(rows: Iterable[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(row, sort_keys=False) + "\n" for row in rows).encode("utf-8")


def to_json_array(rows: list[dict[str, Any]]) -> bytes:
    return json.dumps(rows, indent=1).encode("utf-8")


def to_parquet(rows: list[dict[str, Any]]) -> bytes:
    table = pa.Table.from_pylist(rows)
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="snappy")
    return sink.getvalue()


def gzipped(data: bytes) -> bytes:
    # mtime=0 keeps the bytes identical run to run
    return gzip.compress(data, mtime=0)


ENCODERS = {
    "csv": to_csv,
    "tsv": lambda rows: to_csv(rows, delimiter="\t"),
    "jsonl": to_jsonl,
    "json": to_json_array,
    "parquet": to_parquet,
    "csv.gz": lambda rows: gzipped(to_csv(rows)),
    "jsonl.gz": lambda rows: gzipped(to_jsonl(rows)),
}


def encode(rows: list[dict[str, Any]], fmt: str) -> bytes:
    return ENCODERS[fmt](rows)
