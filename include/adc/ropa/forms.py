"""What reviewers are asked in Airflow: the options and form fields of each kind of review task.

Plain values only (no SQLAlchemy, no Airflow), so the DAG file can import them at parse time
cheaply. The form fields are JSON-schema dicts for Airflow Params; their values are validated by
ADC when an answer is recorded (adc.ropa.outcomes), never trusted as the form sent them.
"""

from __future__ import annotations

DAG_ID = "adc_ropa_review"
OWNER_TASK = "owner_review"
APPROVAL_TASK = "dpo_approval"
ESCALATION_TASK = "dpo_escalation"
TASK_OF_KIND = {"owner": OWNER_TASK, "approval": APPROVAL_TASK, "escalation": ESCALATION_TASK}

CONFIRM = "Confirm accurate"
CHANGE = "Needs changes"
RETIRE = "Retire activity"
# The owner task's default: what a review without an answer becomes when its response time runs
# out, so silence is never recorded as "confirmed". An owner can also choose it.
ESCALATE = "Escalate to the DPO"
OWNER_OPTIONS = [CONFIRM, CHANGE, RETIRE, ESCALATE]

APPROVE = "Approve"
REJECT = "Reject"
APPROVAL_OPTIONS = [APPROVE, REJECT]

ACKNOWLEDGE = "Acknowledge"
ESCALATION_OPTIONS = [ACKNOWLEDGE]

# "null" in the type keeps the UI from insisting on a value: when one is required depends on the
# option chosen, which ADC checks when it records the answer.
COMMENT = {
    "default": "",
    "type": ["string", "null"],
    "title": "Comment",
    "description": "Why. Required unless you confirm the record as accurate.",
    "format": "multiline",
}
PROPOSED_CHANGES = {
    "default": {},
    "type": ["object", "null"],
    "title": "Proposed changes",
    "description": 'With "Needs changes": the fields to change and their new values as JSON, using the keys '
    'shown in the record, e.g. {"retention_schedule": "RS-07 (3 years)", "linked_assets": ["IA-0031"]}.',
}
OWNER_PARAMS = {"comment": COMMENT, "proposed_changes": PROPOSED_CHANGES}
APPROVAL_PARAMS = {"comment": {**COMMENT, "description": "Why. Required when you reject."}}
ESCALATION_PARAMS = {"comment": {**COMMENT, "description": "What happens next (chased the owner, reassigning...)."}}
