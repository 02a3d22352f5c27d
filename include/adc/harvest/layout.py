"""S3 keys grouped into datasets, the way people lay out data lakes: one dataset per table, never per file.

A key's *table prefix* is the directory path up to its first partition directory:

- Hive partitions (``key=value``): ``applications/year=2024/month=05/day=01/part-0.parquet`` is table
  ``applications``, partition keys ``[year, month, day]``; layout ``hive``.
- Date paths: ``exports/2024/05/notes_20240501.csv`` is table ``exports``, partition keys from the
  depth of the date path (``year``, ``month``, ``day``, ``hour``; ``date`` for ``2024-05-01`` or
  ``20240501`` in one directory, ``month`` for ``2024-05``); layout ``date``.
- No partition directory: the file's directory is the table (``tmp/extract_FINAL.csv`` is ``tmp``);
  layout ``prefix``.
- A file at the bucket root is its own dataset, named by its key; layout ``file``.

Table formats keep files below the table in fixed directories: ``<table>/data/`` and
``<table>/metadata/`` (Iceberg), ``<table>/_delta_log/`` (Delta Lake). Those directories belong to
``<table>``. Files whose names start with ``_`` or ``.`` (``_SUCCESS``, ``.crc``) and table
metadata count towards the dataset but are never taken for its format or schema. Keys ending in
``/`` are folder placeholders and are ignored.

:func:`group` streams: keys arrive in ListObjectsV2 order (lexicographic), so every key with a given
prefix is contiguous and a dataset is complete as soon as a key no longer starts with its name.
Memory is one accumulator per open dataset, and open datasets are all prefixes of the current key.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

HIVE, DATE, PREFIX, FILE = "hive", "date", "prefix", "file"
DATA, MARKER, TABLE_METADATA = "data", "marker", "table_metadata"

_HIVE = re.compile(r"^([A-Za-z_][A-Za-z0-9_.\-]*)=(.*)$")
_YEAR = re.compile(r"^(19|20)\d\d$")
_MONTH = re.compile(r"^(0[1-9]|1[0-2])$")
_DAY = re.compile(r"^(0[1-9]|[12]\d|3[01])$")
_HOUR = re.compile(r"^([01]\d|2[0-3])$")
_ONE_DIRECTORY_DATES = (
    (re.compile(r"^(19|20)\d\d-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$"), "date"),
    (re.compile(r"^(19|20)\d\d(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$"), "date"),
    (re.compile(r"^(19|20)\d\d-(0[1-9]|1[0-2])$"), "month"),
)
_DATE_PATH = (("year", _YEAR), ("month", _MONTH), ("day", _DAY), ("hour", _HOUR))
_TABLE_FORMAT_DIRECTORIES = {"data": None, "metadata": "iceberg", "_delta_log": "delta"}

_COMPRESSIONS = {"gz": "gz", "gzip": "gz", "bz2": "bz2", "zst": "zst", "lz4": "lz4", "zip": "zip"}
_FORMATS = {
    "parquet": "parquet", "pq": "parquet", "csv": "csv", "tsv": "tsv", "tab": "tsv", "json": "json",
    "jsonl": "jsonl", "ndjson": "jsonl", "avro": "avro", "orc": "orc", "txt": "text", "log": "text",
    "xml": "xml", "xlsx": "xlsx",
}


def file_format(key: str) -> str | None:
    """The format a key's name declares: ``parquet``, ``csv``, ``jsonl.gz``...; None when it declares none.

    A compressed file whose inner format is unknown is ``gz`` (the schema reader sniffs its content).
    """
    parts = key.rsplit("/", 1)[-1].lower().split(".")
    if len(parts) < 2:
        return None
    compression = _COMPRESSIONS.get(parts[-1])
    if compression and len(parts) >= 3 and parts[-2] in _FORMATS:
        return f"{_FORMATS[parts[-2]]}.{compression}"
    return compression or _FORMATS.get(parts[-1])


@dataclass(frozen=True)
class Placement:
    """Where one key belongs: its dataset (table prefix), layout, partition keys and role."""

    table: str
    layout: str
    partition_keys: tuple[str, ...]
    role: str = DATA
    table_format: str | None = None


def _partitions(directories: list[str], start: int) -> tuple[list[str], str] | None:
    """The partition keys of the run of partition directories at ``start``, and the layout it opens."""
    keys: list[str] = []
    layout = None
    i = start
    while i < len(directories):
        hive = _HIVE.match(directories[i])
        if hive:
            keys.append(hive.group(1))
            layout = layout or HIVE
            i += 1
            continue
        one = next((name for pattern, name in _ONE_DIRECTORY_DATES if pattern.match(directories[i])), None)
        if one:
            keys.append(one)
            layout = layout or DATE
            i += 1
            continue
        depth = 0
        while depth < len(_DATE_PATH) and i + depth < len(directories) and _DATE_PATH[depth][1].match(
            directories[i + depth]
        ):
            depth += 1
        if depth == 0:
            break
        keys.extend(name for name, _ in _DATE_PATH[:depth])
        layout = layout or DATE
        i += depth
    return (keys, layout) if layout else None


def place(key: str) -> Placement | None:
    """The dataset a key belongs to; None for a folder placeholder or a marker file at the root."""
    if not key or key.endswith("/"):
        return None
    *directories, filename = key.split("/")
    marker = filename.startswith(("_", "."))
    if not directories:
        return None if marker else Placement(key, FILE, ())
    table, layout, keys = directories, PREFIX, list[str]()
    for start in range(len(directories)):
        found = _partitions(directories, start)
        if found:
            (keys, layout), table = found, directories[:start]
            break
    role, table_format = (MARKER if marker else DATA), None
    if len(table) > 1 and table[-1] in _TABLE_FORMAT_DIRECTORIES:
        kind = _TABLE_FORMAT_DIRECTORIES[table[-1]]
        if kind:  # metadata/ or _delta_log/: the table's own bookkeeping, not its data
            role = TABLE_METADATA
            if kind == "delta" or filename.endswith(".metadata.json"):
                table_format = kind
        table = table[:-1]
    return Placement("/".join(table), layout, tuple(keys), role, table_format)


@dataclass
class Sample:
    """A file that may be read for the dataset's schema."""

    key: str
    size: int


@dataclass
class DatasetListing:
    """What the listing saw of one dataset: counts and bounds, never the list of its keys."""

    name: str
    layout: str
    partition_keys: tuple[str, ...]
    object_count: int = 0
    size_bytes: int = 0
    first_modified: datetime | None = None
    last_modified: datetime | None = None
    formats: Counter = field(default_factory=Counter)  # data files per declared format
    samples: dict[str | None, tuple[Sample, Sample]] = field(default_factory=dict)  # format -> (first, last)
    layouts_differ: int = 0  # data files whose partition keys differ from the dataset's
    table_format: str | None = None

    def add(self, obj: dict[str, Any], placement: Placement) -> None:
        self.object_count += 1
        size = int(obj.get("Size") or 0)
        self.size_bytes += size
        modified = obj.get("LastModified")
        if modified is not None:
            self.first_modified = min(self.first_modified or modified, modified)
            self.last_modified = max(self.last_modified or modified, modified)
        self.table_format = self.table_format or placement.table_format
        if placement.role != DATA:
            return
        if not self.formats:  # the first data file sets the layout (a _SUCCESS marker may sort first)
            self.layout, self.partition_keys = placement.layout, placement.partition_keys
        elif placement.partition_keys != self.partition_keys:
            self.layouts_differ += 1
        fmt = file_format(obj["Key"])
        self.formats[fmt] += 1
        if size == 0:  # nothing to read a schema from
            return
        sample = Sample(obj["Key"], size)
        first, _ = self.samples.get(fmt, (sample, sample))
        self.samples[fmt] = (first, sample)

    @property
    def format(self) -> str | None:
        """The declared format most of its data files share (None when they declare none)."""
        if not self.formats:
            return None
        return self.formats.most_common(1)[0][0]

    def sample_files(self) -> list[Sample]:
        """Non-empty files to read for the schema, best first: the last key of the main format (the
        newest partition in a date or Hive layout), then its first key as a fallback."""
        if not self.samples:
            return []
        first, last = self.samples[max(self.samples, key=self.formats.__getitem__)]
        return [last] if first.key == last.key else [last, first]


def group(objects: Iterable[dict[str, Any]]) -> Iterator[DatasetListing]:
    """Group ListObjectsV2 entries (in key order) into datasets, yielding each once it is complete."""
    open_datasets: dict[str, DatasetListing] = {}
    for obj in objects:
        key = obj["Key"]
        for name in [n for n in open_datasets if not key.startswith(n)]:
            yield open_datasets.pop(name)
        placement = place(key)
        if placement is None:
            continue
        listing = open_datasets.get(placement.table)
        if listing is None:
            listing = open_datasets[placement.table] = DatasetListing(
                placement.table, placement.layout, placement.partition_keys
            )
        listing.add(obj, placement)
    yield from open_datasets.values()
