"""Schemas from the few bytes that hold them: Parquet footers, Avro headers, the head of a text file.

:func:`infer` reads one file through ``fetch(start, end)`` (an inclusive byte range, i.e. an S3
ranged GET) and never more than it needs:

- Parquet: the last 64 KiB (one GET for almost every file), more only when the footer is larger.
- Avro: the container header at the start of the file (the writer's schema).
- CSV/TSV: the first 64 KiB: the header row names the columns (unless it holds values), types come
  from at most ``sample_rows`` rows below it.
- JSON and JSON lines: records from the first 64 KiB, field names and types merged across them
  (nested objects keyed by data are maps, whose keys are not recorded; top-level keys that look like
  personal data are gathered into one such map, see :func:`record_columns`).
- gzip: the first 64 KiB of compressed bytes, decompressed as far as they go.

It returns the columns and, for text formats, the sample rows, which the caller classifies and then
drops: sample values are never stored, logged or emitted. Problems with the file raise
:class:`Unreadable` (the file is broken) or :class:`Skipped` (nothing to read, or a format without
schema support); their messages name the problem, never the content.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
import struct
import zlib
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import islice
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pyarrow.types as pt

from adc.harvest.classify import looks_personal

HEAD_BYTES = 64 * 1024
TEXT_LIMIT = 256 * 1024  # decompressed text read from a gzip head
AVRO_HEADER_LIMIT = 1024 * 1024
PARQUET_FOOTER_LIMIT = 16 * 1024 * 1024

Fetch = Callable[[int, int], bytes]


class Unreadable(Exception):
    """The file could not be read as its format (truncated, corrupt, binary where text was expected)."""


class Skipped(Exception):
    """No schema was attempted (an empty file, a format ADC does not read)."""


@dataclass
class Inferred:
    columns: list[tuple[str, str]]  # (name, type) in file order
    format: str
    rows: list[dict[str, Any]] = field(default_factory=list)  # in-memory sample, for classification only
    problem: str | None = None  # read, but with a caveat (e.g. a broken record after good ones)
    # Parquet only, from the footer: the file's rows, and per top-level column the nulls its row
    # groups' statistics count (a column some row group has no null count for is left out). Counts only.
    row_count: int | None = None
    null_counts: dict[str, int] | None = None


def infer(fetch: Fetch, size: int, declared: str | None, *, sample_rows: int = 100) -> Inferred:
    """Read the schema of one file of ``size`` bytes whose name declares format ``declared``."""
    if size <= 0:
        raise Skipped("empty file")
    base, _, compression = (declared or "").partition(".")
    if base == "parquet" and not compression:
        return _parquet(fetch, size)
    if base in ("orc", "xml", "xlsx", "text") or compression not in ("", "gz") or base in ("bz2", "zst", "lz4", "zip"):
        raise Skipped(f"no schema inference for {declared} files")
    head = fetch(0, min(size, HEAD_BYTES) - 1)
    truncated = size > len(head)
    if base == "avro" or (not base and head[:4] == b"Obj\x01"):
        return _avro(fetch, size, head)
    if not base and head[:4] == b"PAR1":
        return _parquet(fetch, size)
    gzipped = compression == "gz" or base == "gz" or (not base and head[:2] == b"\x1f\x8b")
    if gzipped:
        head, truncated = _gunzip(head, truncated)
        base = "" if base == "gz" else base
    text = _text(head, truncated)
    base = base or _sniff_text(text)
    name = base + (".gz" if gzipped else "")
    if base in ("csv", "tsv"):
        return _delimited(text, name, "\t" if base == "tsv" else None, sample_rows)
    if base in ("json", "jsonl"):
        return _json(text, name, truncated, sample_rows)
    raise Skipped("unrecognised format")


# --------------------------------------------------------------------------- Parquet


def _parquet(fetch: Fetch, size: int) -> Inferred:
    if size < 12:
        raise Unreadable("too small to be a Parquet file")
    tail = fetch(max(0, size - HEAD_BYTES), size - 1)
    if tail[-4:] != b"PAR1":
        raise Unreadable("no Parquet footer (truncated, or not a Parquet file)")
    footer_length = struct.unpack("<I", tail[-8:-4])[0]
    if footer_length + 12 > size:
        raise Unreadable("Parquet footer length exceeds the file (truncated)")
    if footer_length > PARQUET_FOOTER_LIMIT:
        raise Unreadable(f"Parquet footer of {footer_length} bytes is over the {PARQUET_FOOTER_LIMIT} byte limit")
    if footer_length + 8 > len(tail):
        tail = fetch(size - footer_length - 8, size - 1)
    footer = tail[-(footer_length + 8) :]

    try:
        # The footer alone, behind the leading magic, is a file as far as reading metadata goes.
        parquet = pq.ParquetFile(pa.BufferReader(b"PAR1" + footer))
        schema, metadata = parquet.schema_arrow, parquet.metadata
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise Unreadable(f"Parquet footer unreadable: {str(exc).splitlines()[0][:200]}") from None
    return Inferred([(f.name, arrow_type(f.type)) for f in schema], "parquet",
                    row_count=metadata.num_rows, null_counts=_null_counts(metadata, set(schema.names)))


def _null_counts(metadata: Any, names: set[str]) -> dict[str, int]:
    """Nulls per top-level, non-nested column, summed over the row groups' statistics (never their
    min or max: those are values)."""
    leaves = {j: path for j in range(metadata.num_columns) if (path := metadata.schema.column(j).path) in names}
    counts: dict[str, int] = {}
    missing: set[str] = set()
    for i in range(metadata.num_row_groups):
        group = metadata.row_group(i)
        for j, path in leaves.items():
            statistics = group.column(j).statistics
            if statistics is None or not statistics.has_null_count:
                missing.add(path)
            else:
                counts[path] = counts.get(path, 0) + statistics.null_count
    return {name: count for name, count in counts.items() if name not in missing}


def arrow_type(t: Any) -> str:
    """An Arrow type in the Hive/Glue type vocabulary, so schemas compare across services."""
    simple = (
        (pt.is_boolean, "boolean"), (pt.is_int8, "tinyint"), (pt.is_int16, "smallint"), (pt.is_int32, "int"),
        (pt.is_int64, "bigint"), (pt.is_uint8, "smallint"), (pt.is_uint16, "int"), (pt.is_uint32, "bigint"),
        (pt.is_uint64, "bigint"), (pt.is_float16, "float"), (pt.is_float32, "float"), (pt.is_float64, "double"),
        (pt.is_string, "string"), (pt.is_large_string, "string"), (pt.is_binary, "binary"),
        (pt.is_large_binary, "binary"), (pt.is_fixed_size_binary, "binary"), (pt.is_date, "date"),
        (pt.is_timestamp, "timestamp"), (pt.is_null, "void"),
    )
    for test, name in simple:
        if test(t):
            return name
    if pt.is_decimal(t):
        return f"decimal({t.precision},{t.scale})"
    if pt.is_list(t) or pt.is_large_list(t) or pt.is_fixed_size_list(t):
        return f"array<{arrow_type(t.value_type)}>"
    if pt.is_map(t):
        return f"map<{arrow_type(t.key_type)},{arrow_type(t.item_type)}>"
    if pt.is_struct(t):
        members = (t.field(i) for i in range(t.num_fields))
        return "struct<" + ",".join(f"{m.name}:{arrow_type(m.type)}" for m in members) + ">"
    if pt.is_dictionary(t):
        return arrow_type(t.value_type)
    return str(t)


# --------------------------------------------------------------------------- Avro


def _avro(fetch: Fetch, size: int, head: bytes) -> Inferred:
    if head[:4] != b"Obj\x01":
        raise Unreadable("no Avro container header")
    try:
        metadata = _avro_metadata(head)
    except IndexError:
        if len(head) >= size or len(head) >= AVRO_HEADER_LIMIT:
            raise Unreadable("Avro header truncated") from None
        metadata = _avro_metadata(fetch(0, min(size, AVRO_HEADER_LIMIT) - 1))
    try:
        schema = json.loads(metadata[b"avro.schema"])
    except (KeyError, ValueError):
        raise Unreadable("Avro header has no readable schema") from None
    if not isinstance(schema, dict) or schema.get("type") != "record":
        raise Unreadable("Avro schema is not a record")
    return Inferred([(f["name"], avro_type(f["type"])) for f in schema.get("fields", [])], "avro")


def _avro_metadata(data: bytes) -> dict[bytes, bytes]:
    """The header's metadata map (Avro spec: a map of bytes, in blocks, after the 4-byte magic)."""
    position = 4

    def long() -> int:
        nonlocal position
        shift = result = 0
        while True:
            byte = data[position]
            position += 1
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return (result >> 1) ^ -(result & 1)
            shift += 7

    def blob() -> bytes:
        nonlocal position
        length = long()
        if length < 0 or position + length > len(data):
            raise IndexError
        position += length
        return data[position - length : position]

    metadata = {}
    while (count := long()) != 0:
        if count < 0:
            count = -count
            long()  # the block's size in bytes
        for _ in range(count):
            key = blob()
            metadata[key] = blob()
    return metadata


_AVRO_PRIMITIVES = {"null": "void", "boolean": "boolean", "int": "int", "long": "bigint", "float": "float",
                    "double": "double", "bytes": "binary", "string": "string"}
_AVRO_LOGICAL = {"date": "date", "timestamp-millis": "timestamp", "timestamp-micros": "timestamp",
                 "local-timestamp-millis": "timestamp", "local-timestamp-micros": "timestamp", "uuid": "string"}


def avro_type(t: Any) -> str:
    if isinstance(t, str):
        return _AVRO_PRIMITIVES.get(t, t)
    if isinstance(t, list):  # a union: ["null", "string"] is an optional string
        branches = [b for b in t if b != "null"]
        return avro_type(branches[0]) if len(branches) == 1 else "union<" + ",".join(map(avro_type, branches)) + ">"
    kind = t.get("type")
    if t.get("logicalType") == "decimal":
        return f"decimal({t.get('precision')},{t.get('scale', 0)})"
    if t.get("logicalType") in _AVRO_LOGICAL:
        return _AVRO_LOGICAL[t["logicalType"]]
    if kind == "array":
        return f"array<{avro_type(t['items'])}>"
    if kind == "map":
        return f"map<string,{avro_type(t['values'])}>"
    if kind == "record":
        return "struct<" + ",".join(f"{f['name']}:{avro_type(f['type'])}" for f in t.get("fields", [])) + ">"
    if kind == "enum":
        return "string"
    if kind == "fixed":
        return "binary"
    return avro_type(kind)


# --------------------------------------------------------------------------- text


def _gunzip(head: bytes, truncated: bool) -> tuple[bytes, bool]:
    """Decompress a gzip head; ``truncated`` says whether the text stops short of the file's end."""
    decompressor = zlib.decompressobj(wbits=31)
    try:
        text = decompressor.decompress(head, TEXT_LIMIT)
    except zlib.error:
        raise Unreadable("not valid gzip data") from None
    if not truncated and not decompressor.eof and not decompressor.unconsumed_tail:
        raise Unreadable("gzip stream ends early (truncated file)")
    return text, truncated or not decompressor.eof


def _text(data: bytes, truncated: bool) -> str:
    if b"\x00" in data[:4096]:
        raise Unreadable("binary content where text was expected")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if truncated and exc.start >= len(data) - 3:  # a character cut by the range
            text = data[: exc.start].decode("utf-8-sig")
        else:
            text = data.decode("cp1252", errors="replace")  # older exports: readable, not lost
    if truncated and "\n" in text:
        text = text[: text.rindex("\n") + 1]  # the last line is cut short
    return text


def _sniff_text(text: str) -> str:
    stripped = text.lstrip()
    if stripped.startswith("["):
        return "json"
    if stripped.startswith("{"):
        lines = [line for line in stripped.splitlines()[:3] if line.strip()]
        return "jsonl" if all(line.lstrip().startswith("{") for line in lines) and len(lines) > 1 else "json"
    raise Skipped("unrecognised format")


def _delimited(text: str, fmt: str, delimiter: str | None, sample_rows: int) -> Inferred:
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise Unreadable("no header row")
    if delimiter is None:
        delimiter = max(",;|\t", key=lambda d: (lines[0].count(d), d == ","))
    try:
        reader = csv.reader(io.StringIO(text), delimiter=delimiter)
        header = next(reader)
        rows = list(itertools.islice(reader, sample_rows))
    except csv.Error as exc:
        raise Unreadable(f"not valid delimited text: {exc}") from None
    problems = []
    if _holds_values(header):
        rows, header = [header, *rows][:sample_rows], [""] * len(header)
        problems.append("no header row (the first row holds values): columns are named by position")
    names = _unique([h.strip() or f"column_{i + 1}" for i, h in enumerate(header)])
    records = [dict(zip(names, row, strict=False)) for row in rows]  # ragged rows are reported below
    columns = [(name, merge_types(text_type(r.get(name, "")) for r in records)) for name in names]
    if any(len(row) != len(names) for row in rows):
        problems.append("some rows have a different number of columns from the header")
    return Inferred(columns, fmt, records, "; ".join(problems) or None)


def _holds_values(row: list[str]) -> bool:
    """A first row is data, not a header, when it holds numbers, dates or booleans only (no one names a
    column 42) or when any cell looks like personal data (an email, a postcode, an NI number...: no one
    names a column jane.doe@example.com). Its values are then classified with the rest, instead of being
    taken for column names.

    (Other text cannot tell a header from data: a headerless file of plain text keeps its first row as names.)
    """
    types = [t for t in map(text_type, row) if t]
    return (bool(types) and "string" not in types) or any(map(looks_personal, row))


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return unique


_SEPARATORS = re.compile(r"[\s,]*")  # between records: newlines (JSON lines) or commas (an array)


def _skip_separators(text: str, position: int) -> int:
    match = _SEPARATORS.match(text, position)  # matches the empty string at worst
    return match.end() if match else position


def _json(text: str, fmt: str, truncated: bool, sample_rows: int) -> Inferred:
    decoder = json.JSONDecoder()
    position, end = 0, len(text)
    records: list[dict[str, Any]] = []
    problem = None
    position = _skip_separators(text, position)
    if text.startswith("[", position):  # a JSON array of records
        position += 1
    while len(records) < sample_rows:
        position = _skip_separators(text, position)
        if position >= end or text[position] == "]":
            break
        try:
            value, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            if not truncated:  # in a text cut by the range, the last record is expected to break
                problem = f"invalid JSON after {len(records)} record(s) ({exc.msg})"
            break
        if not isinstance(value, dict):
            raise Unreadable("JSON values are not records (objects)")
        records.append(value)
    if not records:
        raise Unreadable(problem or ("no complete JSON record in the first 64 KiB" if truncated else "no JSON records"))
    names, keyed_problem = record_columns(records)
    columns = [(name, json_type(values)) for name, values in names.items()]
    return Inferred(columns, fmt, records, "; ".join(filter(None, (problem, keyed_problem))) or None)


# --------------------------------------------------------------------------- value types

_INT = re.compile(r"^[+-]?(0|[1-9]\d{0,17})$")
_FLOAT = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")


def text_type(value: str) -> str | None:
    """The type a text value (a CSV cell) reads as; None for an empty cell."""
    value = value.strip()
    if not value:
        return None
    if _INT.match(value):
        return "bigint"
    if _FLOAT.match(value) and not (len(value) > 1 and value[0] == "0" and value[1].isdigit()):
        return "double"
    if value.lower() in ("true", "false"):
        return "boolean"
    if _DATE.match(value):
        return "date"
    if _TIMESTAMP.match(value):
        return "timestamp"
    return "string"


_MEMBER_NAME = re.compile(r"[^\W\d][\w-]*")  # a letter or _, then letters, digits, _ or -
MAP_KEYS = 100  # more distinct keys than this in one place: a map
_ITEMS = 50  # values of one array or map read for their type


def json_type(values: Iterable[Any]) -> str:
    """One type for the JSON values found in one place: a column, a struct member, the items of arrays.
    DynamoDB's values as boto3 deserialises them read the same (a number is a Decimal, a set an array).

    Objects in that place are merged: one struct of all their members, or one map (see :func:`keyed_by_data`).
    """
    objects, arrays, types = [], [], []
    for value in values:
        if isinstance(value, dict):
            objects.append(value)
        elif isinstance(value, list | set):
            arrays.append(value)
        else:
            types.append(_scalar_type(value))
    if objects:
        keys = list(dict.fromkeys(key for o in objects for key in o))
        if keyed_by_data(keys):
            types.append(f"map<string,{json_type(v for o in objects for v in islice(o.values(), _ITEMS))}>")
        else:
            types.append("struct<" + ",".join(f"{k}:{json_type(o[k] for o in objects if k in o)}" for k in keys) + ">")
    if arrays:
        types.append(f"array<{json_type(item for array in arrays for item in islice(array, _ITEMS))}>")
    return merge_types(types)


def keyed_by_data(keys: Collection[str]) -> bool:
    """Whether JSON objects with these keys are keyed by data (a ``map<string,...>``, its keys never
    recorded) rather than by member names (a ``struct<name:type,...>``).

    Keys are data when any looks like personal data (an email, NI number, postcode, phone number or IP
    address, as classify reads values), any is not name-like (a letter or ``_``, then letters, digits,
    ``_`` or ``-``: so not ``2024-05-01``, ``Jane Doe`` or ``a@b.com``), or there are more than
    :data:`MAP_KEYS` distinct keys in the sample.
    """
    return len(keys) > MAP_KEYS or any(not _MEMBER_NAME.fullmatch(k) or looks_personal(k) for k in keys)


DATA_KEYS = "_keyed_by_data"  # the column of a record's top-level keys that look like personal data


def record_columns(records: Iterable[dict[str, Any]], declared: Iterable[str] = ()
                   ) -> tuple[dict[str, list[Any]], str | None]:
    """The values of each column of top-level records (JSON records, DynamoDB items), by column name in
    the order first seen, ``declared`` names first; and a problem, or None.

    Each key is a column, except a key that looks like personal data (an email, NI number, postcode,
    phone number or IP address; ``declared`` names excepted): no one names a column jane.doe@example.com.
    Such keys are gathered, each record's into one object, in one column :data:`DATA_KEYS` (one more
    leading ``_`` while a record has a key of that name), a ``map<string,...>`` by :func:`json_type`
    whose keys are never recorded; the problem says how many keys there were, never which.
    """
    declared = list(declared)
    names: dict[str, list[Any]] = {name: [] for name in declared}
    gathered: list[dict[str, Any]] = []
    data_keys: set[str] = set()
    for record in records:
        by_data = {}
        for key, value in record.items():
            if key in declared or not looks_personal(key):
                names.setdefault(key, []).append(value)
            else:
                by_data[key] = value
        if by_data:
            gathered.append(by_data)
            data_keys.update(by_data)
    if not gathered:
        return names, None
    column = DATA_KEYS
    while column in names:  # a record's own key of that name keeps it
        column = "_" + column
    names[column] = gathered
    return names, (f"{len(data_keys)} top-level key(s) look like personal data (an email, postcode, NI number, "
                   f"phone number or IP address) and are not column names: they are the keys of the map column "
                   f"{column}")


def _scalar_type(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "bigint"
    if isinstance(value, float):
        return "double"
    if isinstance(value, Decimal):
        return "bigint" if value == value.to_integral_value() else "double"
    return "string"


def merge_types(types) -> str:
    """One type for a column from the types of its values: widen numbers and times, else string."""
    seen = {t for t in types if t}
    if not seen:
        return "string"
    if len(seen) == 1:
        return seen.pop()
    if seen <= {"bigint", "double"}:
        return "double"
    if seen <= {"date", "timestamp"}:
        return "timestamp"
    return "string"
