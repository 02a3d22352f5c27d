"""S3 keys into datasets: Hive partitions, date paths, table-per-prefix, root files; streaming grouping."""

from datetime import UTC, datetime

import pytest

from adc.harvest import layout
from adc.harvest.layout import DATE, FILE, HIVE, PREFIX, file_format, group, place


@pytest.mark.parametrize(
    ("key", "table", "kind", "partition_keys"),
    [
        ("applications/year=2024/month=05/day=01/part-0000.parquet", "applications", HIVE, ("year", "month", "day")),
        ("applications/source=webform/ingest_date=2024-05-01/part-0000.jsonl", "applications", HIVE,
         ("source", "ingest_date")),
        ("enrolments/site_id=LON01/date=2024-05-01/part-0000.parquet", "enrolments", HIVE, ("site_id", "date")),
        ("exports/2024/05/notes_20240501.csv", "exports", DATE, ("year", "month")),
        ("alb/2024/05/01/alb-0000.jsonl.gz", "alb", DATE, ("year", "month", "day")),
        ("logs/2024/05/01/13/x.json", "logs", DATE, ("year", "month", "day", "hour")),
        ("daily/2024-05-01/x.csv", "daily", DATE, ("date",)),
        ("daily/20240501/x.csv", "daily", DATE, ("date",)),
        ("monthly/2024-05/x.csv", "monthly", DATE, ("month",)),
        ("mixed/2024/05/region=eu/x.csv", "mixed", DATE, ("year", "month", "region")),
        ("tmp/extract_for_dashboard_v2_FINAL.csv", "tmp", PREFIX, ()),
        ("raw/sales/customers.csv", "raw/sales", PREFIX, ()),
        ("quarterly/applications_by_region_2024Q1.csv", "quarterly", PREFIX, ()),
        ("report.csv", "report.csv", FILE, ()),
        ("year=2024/x.parquet", "", HIVE, ("year",)),  # partitions at the root: the bucket is the table
        ("case_events/data/00000-0-events.parquet", "case_events", PREFIX, ()),  # Iceberg data/
        ("events/data/region=eu/00000.parquet", "events", HIVE, ("region",)),
        ("data/x.csv", "data", PREFIX, ()),  # a top-level directory called data is a table
    ],
)
def test_a_key_is_placed_in_its_table(key, table, kind, partition_keys):
    placed = place(key)
    assert (placed.table, placed.layout, placed.partition_keys, placed.role) == (table, kind, partition_keys, "data")


def test_markers_table_metadata_and_folders():
    assert place("a/b/") is None  # a folder placeholder
    assert place("_SUCCESS") is None
    assert place("t/year=2024/_SUCCESS").role == layout.MARKER
    iceberg = place("case_events/metadata/00001-abc.metadata.json")
    assert (iceberg.table, iceberg.role, iceberg.table_format) == ("case_events", layout.TABLE_METADATA, "iceberg")
    delta = place("sales/_delta_log/00000000000000000000.json")
    assert (delta.table, delta.role, delta.table_format) == ("sales", layout.TABLE_METADATA, "delta")


@pytest.mark.parametrize(
    ("key", "fmt"),
    [("a.parquet", "parquet"), ("part-0.snappy.parquet", "parquet"), ("a.csv", "csv"), ("a.tsv", "tsv"),
     ("a.jsonl", "jsonl"), ("a.ndjson", "jsonl"), ("a.json", "json"), ("a.avro", "avro"), ("a.csv.gz", "csv.gz"),
     ("a.jsonl.gz", "jsonl.gz"), ("a.gz", "gz"), ("a.csv.bz2", "csv.bz2"), ("README", None), ("a.bin", None),
     ("dir.v2/a", None)],
)
def test_file_format_from_the_name(key, fmt):
    assert file_format(key) == fmt


def obj(key: str, size: int = 10, day: int = 1) -> dict:
    return {"Key": key, "Size": size, "LastModified": datetime(2024, 5, day, tzinfo=UTC)}


def test_group_counts_bounds_and_samples():
    keys = [f"applications/year=2024/month=05/day={d:02d}/part-0000.parquet" for d in (1, 2, 3)]
    (listing,) = group([obj(k, 100, i + 1) for i, k in enumerate(keys)])
    assert (listing.name, listing.object_count, listing.size_bytes) == ("applications", 3, 300)
    assert (listing.first_modified.day, listing.last_modified.day) == (1, 3)
    assert listing.format == "parquet"
    assert [s.key for s in listing.sample_files()] == [keys[2], keys[0]]  # newest partition first


def test_group_yields_a_dataset_as_soon_as_the_listing_has_moved_past_it():
    consumed = []

    def listing():
        for key in ["a/x.csv", "a/y.csv", "b/x.csv", "c/x.csv"]:
            consumed.append(key)
            yield obj(key)

    datasets = group(listing())
    assert next(datasets).name == "a"
    assert consumed == ["a/x.csv", "a/y.csv", "b/x.csv"]  # not the whole listing


def test_memory_is_the_open_datasets_not_the_objects():
    many = (obj(f"big/part-{i:06d}.csv") for i in range(50_000))
    (listing,) = group(many)
    assert listing.object_count == 50_000
    assert len(listing.samples) == 1  # one (first, last) pair per format, never the keys


def test_a_marker_sorting_first_does_not_set_the_layout_and_is_not_sampled():
    (listing,) = group([obj("t/_SUCCESS", 0), obj("t/year=2024/a.parquet")])
    assert (listing.layout, listing.partition_keys, listing.object_count) == (HIVE, ("year",), 2)
    assert [s.key for s in listing.sample_files()] == ["t/year=2024/a.parquet"]


def test_a_root_file_and_a_directory_of_the_same_name_are_one_dataset():
    names = [d.name for d in group([obj("tmp"), obj("tmp-2/a.csv"), obj("tmp/a.csv")])]
    assert sorted(names) == ["tmp", "tmp-2"]


def test_iceberg_data_and_metadata_make_one_table():
    (listing,) = group([obj("ev/data/0.parquet"), obj("ev/metadata/1.metadata.json"), obj("ev/metadata/snap.avro")])
    assert (listing.name, listing.object_count, listing.format, listing.table_format) == ("ev", 3, "parquet", "iceberg")


def test_files_off_the_partition_layout_are_counted():
    (listing,) = group([obj("t/year=2024/a.csv"), obj("t/year=2024/month=05/b.csv"), obj("t/c.csv")])
    assert listing.partition_keys == ("year",)
    assert listing.layouts_differ == 2


def test_empty_files_are_counted_but_never_sampled():
    (listing,) = group([obj("t/a.csv", 0), obj("t/b.csv", 5), obj("t/c.csv", 0)])
    assert listing.object_count == 3
    assert [s.key for s in listing.sample_files()] == ["t/b.csv"]
