"""The activity record's validation, review dates and the ICO layout, without a database."""

import csv
import io
from datetime import date, timedelta

import pytest
from pydantic import ValidationError

from adc.ropa import exports
from adc.ropa.activities import EDITABLE, ActivityRecord, add_months, describe_errors, parse_response_time, validate
from adc.ropa.tables import ICO_COLUMNS, ICO_HEADINGS, ICO_TEMPLATE, processing_activity

GOVERNANCE_HEADINGS = [
    "Business function",
    "Purpose of processing",
    "Name and contact details of joint controller (if applicable)",
    "Categories of individuals",
    "Categories of personal data",
    "Categories of recipients",
    "Link to contract with processor",
    "Names of third countries or international organisations that personal data are transferred to (if applicable)",
    "Safeguards for exceptional transfers of personal data to third countries or international organisations "
    "(if applicable)",
    "Retention schedule (if possible)",
    "General description of technical and organisational security measures (if possible)",
    "Article 6 lawful basis for processing personal data",
    "Article 9 condition for processing special category data",
    "Legitimate interests for the processing (if applicable)",
    "Link to record of legitimate interests assessment (if applicable)",
    "Rights available to individuals",
    "Existence of automated decision-making, including profiling (if applicable)",
    "The source of the personal data (if applicable)",
    "Link to record of consent",
    "Location of personal data",
    "Data Protection Impact Assessment required?",
    "Data Protection Impact Assessment progress",
    "Link to Data Protection Impact Assessment",
    "Has a personal data breach occurred?",
    "Link to record of personal data breach",
    "Data Protection Act 2018 Schedule 1 condition for processing",
    "GDPR Article 6 lawful basis for processing",
    "Link to retention and erasure policy document",
    "Is personal data retained and erased in accordance with the policy document?",
    "Reasons for not adhering to policy document (if applicable)",
]


def test_the_ico_template_columns_a_to_ad_in_order_with_exact_headings():
    assert list(ICO_HEADINGS) == GOVERNANCE_HEADINGS
    letters = [letter for letter, _, _ in ICO_TEMPLATE]
    assert letters == [chr(c) for c in range(ord("A"), ord("Z") + 1)] + ["AA", "AB", "AC", "AD"]
    assert set(ICO_COLUMNS) <= {c.name for c in processing_activity.c}


def test_the_csv_export_has_exactly_the_ico_headings():
    header = next(csv.reader(io.StringIO(exports.to_csv([]))))
    assert header == GOVERNANCE_HEADINGS
    with_adc = next(csv.reader(io.StringIO(exports.to_csv([], adc_columns=True))))
    assert with_adc[:30] == GOVERNANCE_HEADINGS and with_adc[30] == "Activity ID"


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2026, 11, 24), 12, date(2027, 11, 24)),
        (date(2026, 8, 31), 6, date(2027, 2, 28)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
    ],
)
def test_add_months_clamps_to_the_end_of_the_month(start, months, expected):
    assert add_months(start, months) == expected


def test_response_time_is_an_iso_duration():
    assert parse_response_time("P14D") == timedelta(days=14)
    assert parse_response_time("pt2m") == timedelta(minutes=2)
    for bad in ("14 days", "P0D", "P400D", "", "-P1D"):
        with pytest.raises(ValueError):
            parse_response_time(bad)


def _valid(**changes):
    return {"activity_id": "PA-001", "name": "Casework", "owner": "alice", **changes}


def test_a_minimal_record_gets_the_defaults():
    record = validate(_valid())
    assert (record.review_frequency_months, record.response_time, record.status) == (12, "P14D", None)
    assert record.linked_assets == []


def test_linked_assets_are_parsed_deduplicated_and_checked():
    assert validate(_valid(linked_assets="IA-0002, IA-0001;IA-0002")).linked_assets == ["IA-0001", "IA-0002"]
    with pytest.raises(ValidationError) as caught:
        validate(_valid(linked_assets="IA-0001, s3://bucket"))
    assert "s3://bucket" in describe_errors(caught.value)


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("activity_id", "P-1", "activity_id"),
        ("owner", "alice smith", "owner"),
        ("owner", "", "owner"),
        ("review_frequency_months", 0, "review_frequency_months"),
        ("response_time", "two weeks", "ISO 8601"),
        ("status", "paused", "status"),
        ("retention_schedule", "x" * 5000, "retention_schedule"),
        ("colour", "blue", "not a field of a processing activity"),
    ],
)
def test_invalid_values_are_named(field, value, words):
    with pytest.raises(ValidationError) as caught:
        validate(_valid(**{field: value}))
    assert words in describe_errors(caught.value)


def test_what_a_review_may_change_excludes_the_workflow_fields():
    # the organisation decides who sees the activity: only the RoPA file sets it
    assert {"status", "last_reviewed", "next_review_due", "approved_by", "activity_id",
            "organisation"}.isdisjoint(EDITABLE)
    assert set(ICO_COLUMNS) <= set(EDITABLE)


def test_the_record_has_a_field_for_every_column_of_the_table():
    # a review revalidates the stored activity as a whole record: a column the record lacks refuses every answer
    assert {c.name for c in processing_activity.c} - {"created_at", "updated_at"} <= set(ActivityRecord.model_fields)
    assert exports.HEADING_OF_FIELD["organisation"] == "Organisation"
