"""The RoPA's tables (SQLAlchemy Core), on the register's MetaData: one database holds it all.

``processing_activity`` carries the ICO controller template's thirty columns (A..AD, UK GDPR
Art 30(1)) plus what a review workflow needs. ``review`` is one review cycle of one activity;
``review_step`` is one question put to a person in Airflow (the owner's review, the DPO's second
approval, an escalation) with the evidence shown and the answer given. Nothing is deleted: a
retired activity stays, a superseded step stays.

The register never imports this module; migration 0002 creates these tables.
"""

from __future__ import annotations

from sqlalchemy import Column, Date, ForeignKey, Index, Integer, String, Table, Text

from adc.register.tables import metadata
from adc.register.types import Json, UTCDateTime

# The ICO controller template, in its order: (column letter, our column name, the exact heading).
ICO_TEMPLATE: tuple[tuple[str, str, str], ...] = (
    ("A", "business_function", "Business function"),
    ("B", "purpose_of_processing", "Purpose of processing"),
    ("C", "joint_controller", "Name and contact details of joint controller (if applicable)"),
    ("D", "categories_of_individuals", "Categories of individuals"),
    ("E", "categories_of_personal_data", "Categories of personal data"),
    ("F", "categories_of_recipients", "Categories of recipients"),
    ("G", "processor_contract_link", "Link to contract with processor"),
    ("H", "third_country_transfers",
     "Names of third countries or international organisations that personal data are transferred to "
     "(if applicable)"),
    ("I", "transfer_safeguards",
     "Safeguards for exceptional transfers of personal data to third countries or international "
     "organisations (if applicable)"),
    ("J", "retention_schedule", "Retention schedule (if possible)"),
    ("K", "security_measures", "General description of technical and organisational security measures (if possible)"),
    ("L", "article_6_lawful_basis", "Article 6 lawful basis for processing personal data"),
    ("M", "article_9_condition", "Article 9 condition for processing special category data"),
    ("N", "legitimate_interests", "Legitimate interests for the processing (if applicable)"),
    ("O", "legitimate_interests_assessment_link", "Link to record of legitimate interests assessment (if applicable)"),
    ("P", "individual_rights", "Rights available to individuals"),
    ("Q", "automated_decision_making", "Existence of automated decision-making, including profiling (if applicable)"),
    ("R", "source_of_personal_data", "The source of the personal data (if applicable)"),
    ("S", "consent_record_link", "Link to record of consent"),
    ("T", "location_of_personal_data", "Location of personal data"),
    ("U", "dpia_required", "Data Protection Impact Assessment required?"),
    ("V", "dpia_progress", "Data Protection Impact Assessment progress"),
    ("W", "dpia_link", "Link to Data Protection Impact Assessment"),
    ("X", "personal_data_breach", "Has a personal data breach occurred?"),
    ("Y", "breach_record_link", "Link to record of personal data breach"),
    ("Z", "dpa_schedule_1_condition", "Data Protection Act 2018 Schedule 1 condition for processing"),
    ("AA", "gdpr_article_6_lawful_basis", "GDPR Article 6 lawful basis for processing"),
    ("AB", "retention_policy_link", "Link to retention and erasure policy document"),
    ("AC", "retained_per_policy", "Is personal data retained and erased in accordance with the policy document?"),
    ("AD", "policy_deviation_reasons", "Reasons for not adhering to policy document (if applicable)"),
)
ICO_COLUMNS = tuple(name for _, name, _ in ICO_TEMPLATE)
ICO_HEADINGS = tuple(heading for _, _, heading in ICO_TEMPLATE)

ACTIVITY_STATUSES = ("active", "under_review", "retired")

processing_activity = Table(
    "processing_activity",
    metadata,
    Column("activity_id", String(16), primary_key=True),  # PA-nnn
    Column("name", String(300), nullable=False),
    *(Column(name, Text) for name in ICO_COLUMNS),
    Column("owner", String(200), nullable=False),  # the Airflow user id who reviews it
    Column("review_frequency_months", Integer, nullable=False, server_default="12"),
    # how long the owner has to answer a review before it escalates (ISO 8601 duration, e.g. P14D)
    Column("response_time", String(32), nullable=False, server_default="P14D"),
    Column("last_reviewed", Date),
    Column("next_review_due", Date, nullable=False),
    Column("status", String(20), nullable=False, server_default="active"),  # ACTIVITY_STATUSES
    Column("approved_by", String(200)),  # who last signed the record off
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("organisation", String(40)),  # organisations.yaml; NULL: the department (docs/organisations.md)
)
Index("ix_processing_activity_owner", processing_activity.c.owner)
Index("ix_processing_activity_next_review_due", processing_activity.c.next_review_due)

# Links from an activity to the register's assets. Not a foreign key on purpose: the RoPA and the
# IAR are loaded independently (either may come first), and a link to an id the register does not
# hold is shown to the reviewer as such rather than refused.
activity_asset = Table(
    "activity_asset",
    metadata,
    Column("activity_id", String(16), ForeignKey("processing_activity.activity_id"), primary_key=True),
    Column("asset_id", String(32), primary_key=True),
)
Index("ix_activity_asset_asset_id", activity_asset.c.asset_id)

REVIEW_STATUSES = ("open", "escalated", "awaiting_approval", "completed")
REVIEW_OUTCOMES = ("confirmed", "changed", "retired", "changes_rejected")

review = Table(
    "review",
    metadata,
    Column("review_id", String(64), primary_key=True),  # <activity>/<due date of the cycle>, e.g. PA-004/2024-02-14
    Column("activity_id", String(16), ForeignKey("processing_activity.activity_id"), nullable=False),
    Column("cycle_due", Date, nullable=False),
    Column("status", String(20), nullable=False),  # REVIEW_STATUSES
    Column("reasons", Json, nullable=False),  # why it was opened: overdue, due, findings
    Column("opened_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime),
    Column("outcome", String(30)),  # REVIEW_OUTCOMES
    Column("answered_by", String(200)),  # the owner (first pair of eyes)
    Column("approved_by", String(200)),  # the data protection team member (second pair)
    Column("proposed_changes", Json),  # {field: new value}, validated
    Column("applied_changes", Json),  # {field: [old, new]} once approved
    Column("note", Text),  # e.g. why no approver could be assigned
)
Index("ix_review_activity_id", review.c.activity_id)
# at most one unfinished review per activity
Index(
    "uq_review_unfinished",
    review.c.activity_id,
    unique=True,
    sqlite_where=review.c.status != "completed",
    postgresql_where=review.c.status != "completed",
)

STEP_KINDS = ("owner", "approval", "escalation")
STEP_STATUSES = ("pending", "answered", "refused", "timed_out", "superseded")

review_step = Table(
    "review_step",
    metadata,
    Column("step_id", String(100), primary_key=True),  # <review_id>/<kind>/<attempt>
    Column("review_id", String(64), ForeignKey("review.review_id"), nullable=False),
    Column("kind", String(20), nullable=False),  # STEP_KINDS
    Column("attempt", Integer, nullable=False),
    Column("follows", String(100)),  # the step whose answer caused this one
    Column("assigned_to", Json, nullable=False),  # Airflow user ids
    Column("subject", String(500), nullable=False),
    Column("pack", Text, nullable=False),  # the evidence shown: the Markdown body of the task
    Column("pack_sha256", String(64), nullable=False),
    Column("issued_at", UTCDateTime, nullable=False),
    Column("deadline", UTCDateTime),  # when the task takes its default and escalates
    Column("dag_id", String(250)),  # where it was asked
    Column("dag_run_id", String(250)),
    Column("task_id", String(250)),
    Column("map_index", Integer),
    Column("status", String(20), nullable=False),  # STEP_STATUSES
    Column("answered_by", String(200)),
    Column("answered_at", UTCDateTime),
    Column("option", String(100)),
    Column("comment", Text),
    Column("proposed_changes", Json),  # as given, even when refused
    Column("refusal", Text),  # why the answer was not accepted
    Column("recorded_at", UTCDateTime),
    # the task ended with no answer in Airflow's record (marked by hand): its state and who changed it
    Column("ended_without_answer", Json),
    Column("marking", String(40)),  # GSCP: the strongest of what its pack shows; NULL: OFFICIAL
)
Index("ix_review_step_review_id", review_step.c.review_id)
Index("ix_review_step_dag_run_id", review_step.c.dag_run_id)
Index("ix_review_step_status", review_step.c.status)

