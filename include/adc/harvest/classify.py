"""Which columns hold personal data, special-category data (UK GDPR Art 9) or criminal-offence data (Art 10).

Two signals, the more sensitive one wins:

- the column's name (``date_of_birth``, ``ni_number``, ``ethnic_origin``, ``union_subs_deduction``...);
- patterns in the in-memory sample: values that look like email addresses, phone numbers, postcodes,
  National Insurance numbers or IP addresses, and free text that mentions health or criminal matters.

Every label carries its reason. A reason names the rule and counts values, never quotes one: sample
values are never stored, logged or emitted.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from adc.model import RANK, Classification, Field

PERSONAL, SPECIAL, CRIMINAL = Classification.PERSONAL, Classification.SPECIAL, Classification.CRIMINAL


@dataclass(frozen=True)
class NameRule:
    classification: Classification
    category: str
    pattern: re.Pattern
    description: str


def _words(*alternatives: str) -> re.Pattern:
    """Whole words of a snake_case name: 'dob' matches dob and applicant_dob, never dobson."""
    return re.compile(r"(?:^|_)(?:" + "|".join(alternatives) + r")(?:_|$)")


_PEOPLE = ("applicant|employee|staff|complainant|customer|client|patient|person|contact|sponsor|dependant|"
           "respondent|student|user|member|citizen|caseworker|officer|claimant|subject|individual|holder|"
           "resident|visitor|guardian|parent|child|spouse|partner|next_of_kin|owner|author")

# Order matters: the first matching rule names the category (criminal and Art 9 before personal).
NAME_RULES: tuple[NameRule, ...] = (
    NameRule(CRIMINAL, "criminal_offence", _words(r"criminal\w*", "convictions?", "offen[cs]es?", "offenders?",
                                                  "arrests?", "arrested", "police_records?", "prison\\w*",
                                                  "dbs_(?:check|status|result)", "caution(?:s|ed)?"),
             "criminal convictions or offences"),
    NameRule(SPECIAL, "racial_or_ethnic_origin", _words("ethnic\\w*", "race", "racial"), "racial or ethnic origin"),
    NameRule(SPECIAL, "political_opinions", _words("politic\\w*", "party_(?:affiliation|membership)",
                                                   "voting_intention"), "political opinions"),
    NameRule(SPECIAL, "religious_or_philosophical_beliefs", _words("religio\\w*", "faith", "beliefs?"),
             "religious or philosophical beliefs"),
    NameRule(SPECIAL, "trade_union_membership", _words("unions?", "trade_unions?"), "trade union membership"),
    NameRule(SPECIAL, "genetic", _words("genetic\\w*", "genome", "genotype", "dna"), "genetic data"),
    NameRule(SPECIAL, "biometric", _words("biometric\\w*", "fingerprint\\w*", "face_(?:image|template|photo|scan|"
                                          "geometry|print|match)\\w*", "facial\\w*", "iris_(?:scan|template|image)\\w*",
                                          "retina\\w*", "voiceprint\\w*", "palm_?print\\w*"), "biometric data"),
    NameRule(SPECIAL, "health", _words("health", "medical", "medications?", "diagnos\\w*", "disabilit\\w*",
                                       "disabled", "illness\\w*", "allerg\\w*", "pregnan\\w*", "mental",
                                       "impairments?", "accessibility_(?:needs?|requirements?|adjustments?)",
                                       "reasonable_adjustments?", "symptoms?", "treatments?", "vaccin\\w*",
                                       "sick\\w*", "gp", "nhs_(?:condition|diagnosis)", "blood_type", "bmi"),
             "health"),
    NameRule(SPECIAL, "sex_life_or_sexual_orientation", _words("sexual\\w*", "sex_life", "lgbt\\w*"),
             "sex life or sexual orientation"),
    NameRule(PERSONAL, "ip_address", _words("ip", "ip_?address(?:es)?", "ipv[46]", "remote_addr", "x_forwarded_for"),
             "IP address"),
    NameRule(PERSONAL, "email", _words("e_?mails?", "e_?mail_address(?:es)?"), "email address"),
    NameRule(PERSONAL, "phone", _words("phones?", "telephone\\w*", "mobile_(?:number|no|phone)", "^mobile$", "tel",
                                       "msisdn", "fax"), "phone number"),
    NameRule(PERSONAL, "date_of_birth", _words("dob", "date_of_birth", "birth_?date", "birthday", "birth_dt"),
             "date of birth"),
    NameRule(PERSONAL, "national_insurance_number", _words("nino", "ni_number", "ni_no", "national_insurance\\w*"),
             "National Insurance number"),
    NameRule(PERSONAL, "passport_number", _words("passports?", "passport_(?:no|number)"), "passport number"),
    NameRule(PERSONAL, "driving_licence", _words("driving_licen[cs]e\\w*", "driver_licen[cs]e\\w*"),
             "driving licence"),
    NameRule(PERSONAL, "nhs_number", _words("nhs_(?:no|number)"), "NHS number"),
    NameRule(PERSONAL, "address", _words("address(?:es)?", "address_line_?\\d*", "street", "post_?code", "postal_code",
                                         "zip", "zip_?code", "house_(?:number|name)"), "postal address"),
    NameRule(PERSONAL, "name", re.compile(
        r"(?:^|_)(?:full|first|last|given|family|middle|maiden|sur|fore|preferred|user)_?names?(?:_|$)"
        r"|^names?$|(?:^|_)(?:" + _PEOPLE + r")_names?$"),
             "a person's name"),
    NameRule(PERSONAL, "nationality", _words("nationalit\\w*", "citizenship"), "nationality"),
    NameRule(PERSONAL, "gender", _words("gender", "sex"), "sex or gender"),
    NameRule(PERSONAL, "age", _words("age", "age_band", "age_group"), "age"),
    NameRule(PERSONAL, "financial", _words("salary", "salaries", "wages?", "gross_pay", "net_pay", "pay", "payslip",
                                           "bank_account\\w*", "account_number", "sort_code", "iban",
                                           "card_number", "tax_code"), "pay or financial details"),
    NameRule(PERSONAL, "signature", _words("signatures?"), "signature"),
    NameRule(PERSONAL, "photograph", _words("photo\\w*", "selfie"), "photograph of a person"),
    NameRule(PERSONAL, "person_identifier", re.compile(r"(?:^|_)(?:" + _PEOPLE + r")_(?:pseudo_)?(?:id|ref|"
                                                       r"reference|number|no)(?:_|$)"), "identifier of a person"),
)


def normalise(name: str) -> str:
    """snake_case words: 'dateOfBirth' and 'Date of Birth' both become 'date_of_birth'."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip())
    return re.sub(r"[^a-z0-9]+", "_", spaced.lower()).strip("_")


def by_name(name: str) -> tuple[Classification, str, str] | None:
    words = normalise(name)
    for rule in NAME_RULES:
        if rule.pattern.search(words):
            return rule.classification, rule.category, f"name suggests {rule.description}"
    return None


# --------------------------------------------------------------------------- sample values

def _is_ip_address(text: str) -> bool:
    candidate = text.strip()
    if not (":" in candidate or candidate.count(".") == 3):
        return False
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return False
    return True


_VALUE_PATTERNS: tuple[tuple[str, str, Any], ...] = (
    ("email", "email addresses", re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}").search),
    ("national_insurance_number", "National Insurance numbers",
     re.compile(r"^\s*[A-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]\s*$", re.I).search),
    ("postcode", "UK postcodes", re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b").search),
    ("phone", "phone numbers", re.compile(r"^\s*(?:\+44\s?|0)(?:\d\s?){9,10}\s*$").search),
    ("ip_address", "IP addresses", _is_ip_address),
)
_VALUE_SHARE = 0.5  # at least half of the sampled values must match for a structured pattern


def looks_personal(text: str) -> bool:
    """Whether one value looks like an email address, phone number, postcode, NI number or IP address.

    The schema reader asks this of a CSV's first row and of JSON object keys: such text is data, never
    a column or member name.
    """
    return any(matches(text) for _, _, matches in _VALUE_PATTERNS)


_HEALTH_TERMS = re.compile(
    r"\b(?:medical|medication|diagnos\w*|disabilit\w*|disabled|asthma|diabet\w*|depress\w*|anxiety|cancer|hiv|"
    r"pregnan\w*|mental health|hospital\w*|illness|impairment|epilep\w*|dementia|autis\w*|surgery|therapy|"
    r"prescri\w*|gp|nhs|wheelchair|hearing loss|sight loss|chronic|symptom\w*)\b", re.I)
_CRIMINAL_TERMS = re.compile(
    r"\b(?:convicted|conviction\w*|criminal record|offence\w*|offense\w*|arrested|arrest|prison|custodial|"
    r"probation|police caution|sentenced|court order)\b", re.I)
_FREE_TEXT_WORDS = 4  # free text: values of this many words on average


def by_values(values: Sequence[Any]) -> tuple[Classification, str, str] | None:
    """Classify a column from its sampled values (held in memory by the caller, never kept)."""
    texts = [v for v in values if isinstance(v, str) and v.strip()]
    if not texts:
        return None
    total = len(texts)
    if sum(len(t.split()) for t in texts) / total >= _FREE_TEXT_WORDS:
        for pattern, classification, category, what in (
            (_CRIMINAL_TERMS, CRIMINAL, "criminal_offence", "criminal matters"),
            (_HEALTH_TERMS, SPECIAL, "health", "health matters"),
        ):
            hits = sum(1 for t in texts if pattern.search(t))
            if hits:
                return classification, category, f"free text: {hits} of {total} sampled values mention {what}"
    for category, what, matches in _VALUE_PATTERNS:
        hits = sum(1 for t in texts if matches(t))
        if hits and hits >= _VALUE_SHARE * total:
            return PERSONAL, category, f"{hits} of {total} sampled values look like {what}"
    return None


def classify(name: str, type_: str = "string", values: Sequence[Any] = ()) -> Field:
    """A field with its classification, category and reason."""
    found = [r for r in (by_name(name), by_values(values)) if r]
    if not found:
        return Field(name, type_)
    classification, category, reason = max(found, key=lambda r: RANK[r[0]])  # ties keep the name's reason
    return Field(name, type_, classification, category, reason)


def classify_columns(columns: Iterable[tuple[str, str]], rows: Sequence[dict[str, Any]] = ()) -> list[Field]:
    """Fields for (name, type) columns, using the sample rows when there are any."""
    return [classify(name, type_, [row.get(name) for row in rows] if rows else ()) for name, type_ in columns]
