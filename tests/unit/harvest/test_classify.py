"""Columns labelled personal, special category (Art 9) or criminal offence (Art 10), with the reason."""

import pytest

from adc.harvest.classify import classify, classify_columns, looks_personal, normalise
from adc.model import Classification

P, S, C, N = (Classification.PERSONAL, Classification.SPECIAL, Classification.CRIMINAL, Classification.NONE)


@pytest.mark.parametrize(
    ("name", "classification", "category"),
    [
        # the DCR estate (../shared/domain/GOVERNANCE.md)
        ("complainant_name", P, "name"), ("health_condition", S, "health"),
        ("ethnic_origin", S, "racial_or_ethnic_origin"),
        ("religion", S, "religious_or_philosophical_beliefs"), ("criminal_record_flag", C, "criminal_offence"),
        ("union_subs_deduction", S, "trade_union_membership"), ("accessibility_needs", S, "health"),
        ("ethnicity", S, "racial_or_ethnic_origin"), ("disability", S, "health"),
        ("sexual_orientation", S, "sex_life_or_sexual_orientation"), ("fingerprint_template_hash", S, "biometric"),
        ("face_image_uri", S, "biometric"), ("client_ip", P, "ip_address"),
        ("ni_number", P, "national_insurance_number"),
        ("nino", P, "national_insurance_number"), ("dob", P, "date_of_birth"), ("passport_no", P, "passport_number"),
        ("nationality", P, "nationality"), ("address", P, "address"), ("email", P, "email"), ("phone", P, "phone"),
        ("full_name", P, "name"), ("date_of_birth", P, "date_of_birth"), ("postcode", P, "address"),
        ("respondent_pseudo_id", P, "person_identifier"), ("employee_id", P, "person_identifier"),
        ("gross_pay", P, "financial"),
        # spellings
        ("dateOfBirth", P, "date_of_birth"), ("First Name", P, "name"), ("EMAIL_ADDRESS", P, "email"),
    ],
)
def test_names(name, classification, category):
    field = classify(name)
    assert (field.classification, field.category) == (classification, category)
    assert field.reason.startswith("name suggests")


@pytest.mark.parametrize("name", ["case_id", "period", "region", "status", "file_name", "payment_id", "mobile_app",
                                  "face_value", "decision", "match_score", "applications_received", "user_agent"])
def test_names_that_are_not_personal(name):
    assert classify(name).classification == N


def test_free_text_that_mentions_health_is_special_category_and_the_reason_quotes_no_value():
    notes = ["Called applicant about missing documents.", "Applicant disclosed asthma; adjusted interview.",
             "Medical evidence of depression provided by GP.", "Sponsor letter received today, all fine."]
    field = classify("note_text", "string", notes)
    assert (field.classification, field.category) == (S, "health")
    assert field.reason == "free text: 2 of 4 sampled values mention health matters"
    assert not any(word in field.reason for word in ("asthma", "depression", "Medical"))


def test_values_that_look_like_personal_data():
    assert classify("contact", "string", ["a@example.org", "b@example.org"]).category == "email"
    assert classify("x", "string", ["QQ123456A", "QQ654321B"]).category == "national_insurance_number"
    assert classify("x", "string", ["07700 900123", "+44 7700 900456"]).category == "phone"
    assert classify("x", "string", ["192.0.2.1", "2001:db8::1"]).category == "ip_address"
    assert classify("x", "string", ["12 High Street, SW1A 1AA", "3 Mill Road, M1 1AE"]).category == "postcode"
    assert classify("t", "string", ["12:30:00", "13:00:00"]).classification == N  # times are not IPv6
    assert classify("x", "string", ["a@example.org", "b", "c", "d"]).classification == N  # one in four


@pytest.mark.parametrize("text", ["jane.doe@example.com", "AB123456C", "SW1A 1AA", "07700 900123", "192.0.2.1",
                                  "2001:db8::1"])
def test_one_value_looks_personal(text):
    assert looks_personal(text)


@pytest.mark.parametrize("text", ["email", "email_address", "postcode", "ni_number", "phone", "ip_address", "name",
                                  "Date of Birth", "ID", "A1", "Q1 2024", "12:30:00", "addressLine1", "SHA256"])
def test_column_and_member_names_do_not_look_personal(text):
    assert not looks_personal(text)


def test_criminal_free_text_and_the_more_sensitive_signal_wins():
    field = classify("email_notes", "string", ["He was arrested in 2019 and later convicted of fraud."] * 3)
    assert field.classification == C


def test_classify_columns_uses_the_sample_rows_and_keeps_the_types():
    rows = [{"contact": "a@example.org", "n": 1}, {"contact": "b@example.org", "n": 2}]
    fields = classify_columns([("contact", "string"), ("n", "bigint")], rows)
    assert [(f.name, f.type, f.classification) for f in fields] == [("contact", "string", P), ("n", "bigint", N)]


def test_normalise():
    assert normalise("  dateOfBirth ") == "date_of_birth"
    assert normalise("Client-IP") == "client_ip"
