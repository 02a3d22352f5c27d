"""What reviewers are asked in Airflow: the options and form fields of each kind of question.

Plain values only (no SQLAlchemy, no Airflow), so the DAG file can import them at parse time
cheaply. The form fields are JSON-schema dicts for Airflow Params; their values are validated by
ADC when an answer is recorded (adc.ropa.outcomes), never trusted as the form sent them.

Each review is one mapped task group instance in adc_ropa_review: ``review.question`` asks the
owner (or, when an earlier approval ended without a decision, the data protection team again),
``review.dpo_question`` asks the data protection team what the owner's answer calls for (an
approval or an escalation), each followed by a task that records the answer.
"""

from __future__ import annotations

from typing import Any

DAG_ID = "adc_ropa_review"
GROUP = "review"
QUESTION_TASK = f"{GROUP}.question"
DPO_TASK = f"{GROUP}.dpo_question"
# a review task's label in the UI (map index): "PA-004 Complaints handling"
LABEL = "{{ task.question.review_label if task.question else '' }}"

CONFIRM = "Confirm accurate"
CHANGE = "Needs changes"
RETIRE = "Retire activity"
# The owner question's default: what a review without an answer becomes when its response time
# runs out, so silence is never recorded as "confirmed". An owner can also choose it.
ESCALATE = "Escalate to the DPO"
APPROVE = "Approve"
REJECT = "Reject"
ACKNOWLEDGE = "Acknowledge"

OPTIONS = {
    "owner": [CONFIRM, CHANGE, RETIRE, ESCALATE],
    "approval": [APPROVE, REJECT],
    "escalation": [ACKNOWLEDGE],
}
DEFAULTS = {"owner": [ESCALATE], "approval": None, "escalation": None}

# "null" in the types keeps the UI from insisting on a value: whether one is needed depends on the
# option chosen, which ADC checks when it records the answer.
COMMENT: dict[str, Any] = {
    "default": "",
    "type": ["string", "null"],
    "title": "Comment",
    "description": f"Your reasons. Needed for {CHANGE}, {RETIRE}, {ESCALATE} and {REJECT}.",
    "format": "multiline",
}
PROPOSED_CHANGES: dict[str, Any] = {
    "default": {},
    "type": ["object", "null"],
    "title": "Proposed changes",
    "description": f'With "{CHANGE}": the fields to change and their new values as JSON, using the keys '
    'shown in the record, e.g. {"retention_schedule": "RS-07 (3 years)", "linked_assets": ["IA-0031"]}.',
}
FIELDS: dict[str, dict[str, Any]] = {"comment": COMMENT, "proposed_changes": PROPOSED_CHANGES}
FIELDS_OF = {"owner": ("comment", "proposed_changes"), "approval": ("comment",), "escalation": ("comment",)}
