"""The triage question's form: its options and fields, light enough for a DAG file to import.

adc.register.triage builds the questions and applies the answers; dags/adc_triage.py turns PARAMS
into Airflow Params.
"""

from __future__ import annotations

from typing import Any

from adc.register import GSCP

TRIAGE_DAG_ID = "adc_triage"
TRIAGE_TASK = "triage"

REGISTER = "Register as a new asset"
ADD = "Add to an existing asset"
UPDATE = "Update the asset's classification"
RETIRE = "Retire the asset"
ACKNOWLEDGE = "Acknowledge"
DISMISS = "Dismiss"
OPTIONS = {
    "unregistered_dataset": [REGISTER, ADD, DISMISS],
    "classification_mismatch": [UPDATE, ACKNOWLEDGE, DISMISS],
    "missing_asset": [RETIRE, ACKNOWLEDGE, DISMISS],
}
OTHER_OPTIONS = [ACKNOWLEDGE, DISMISS]
REQUESTED = "triage_requested"  # history action: the team was asked about this finding

# The form of every triage task (one definition: Airflow maps the tasks over the findings). All
# values are strings so Airflow accepts any answer; apply() validates them.
PARAMS: dict[str, dict[str, Any]] = {
    "asset_id": {"default": "", "title": "Asset id",
                 "description": f"{ADD}: the asset to add the location to. {REGISTER}: the new asset's id "
                                "(empty: the next IA-nnnn)."},
    "name": {"default": "", "title": "Asset name", "description": f"{REGISTER}: the new asset's name."},
    "owner": {"default": "", "title": "Information Asset Owner",
              "description": f"{REGISTER}: who is accountable for it (required)."},
    "classification": {"default": "OFFICIAL", "title": "Security classification", "examples": list(GSCP),
                       "description": f"{REGISTER}: the GSCP marking: {', '.join(GSCP)}."},
    "personal_data": {"default": "", "title": "Personal data", "examples": ["yes", "no"],
                      "description": f"{REGISTER} / {UPDATE}: yes or no."},
    "special_categories": {"default": "", "title": "Special categories",
                           "description": f"{REGISTER} / {UPDATE}: Art 9 categories, separated by commas."},
    "criminal_offence_data": {"default": "no", "title": "Criminal offence data", "examples": ["yes", "no"],
                              "description": f"{REGISTER} / {UPDATE}: yes or no."},
    "retention_schedule": {"default": "", "title": "Retention schedule",
                           "description": f"{REGISTER}: the retention schedule reference, e.g. RS-01."},
    "location": {"default": "", "title": "Location",
                 "description": f"{REGISTER} / {ADD}: the location to register (the dataset's, or a bucket or "
                                "prefix that contains it)."},
    "reason": {"default": "", "title": "Reason",
               "description": f"{ACKNOWLEDGE}, {DISMISS}, {RETIRE}: why (required); otherwise a note."},
}
KIND_TITLES = {
    "unregistered_dataset": "Unregistered dataset",
    "missing_asset": "Missing asset",
    "classification_mismatch": "Classification mismatch",
    "owner_mismatch": "Owner mismatch",
    "schema_drift": "Schema drift",
    "retention_mismatch": "Retention mismatch",
    "unreadable_source": "Unreadable source",
    "absence_withheld": "Absence withheld",
}
