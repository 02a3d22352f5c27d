"""The register's tables (SQLAlchemy Core). Migrations under adc/register/migrations create and evolve them.

Nothing is deleted from the record: assets become missing or retired, findings resolve, observed
dataset versions are superseded. Only a harvest's staging rows (``observation``) are transient.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from adc.register.types import URI_LENGTH, Json, Name, UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# --------------------------------------------------------------------------- the IAR

asset = Table(
    "asset",
    metadata,
    Column("asset_id", String(32), primary_key=True),  # IA-nnnn
    Column("name", String(300), nullable=False),
    Column("description", Text),
    Column("owner", String(200)),  # the Information Asset Owner (IAO)
    Column("custodian", String(200)),  # the Information Asset Manager
    Column("business_unit", String(200)),
    Column("security_classification", String(40)),  # OFFICIAL, OFFICIAL-SENSITIVE, SECRET, TOP SECRET
    Column("personal_data", Boolean, nullable=False, server_default=text("false")),
    Column("special_categories", Text),  # comma-separated Art 9 types, e.g. "biometric,health"
    Column("criminal_offence_data", Boolean, nullable=False, server_default=text("false")),
    Column("data_subjects", Text),
    Column("retention_schedule", String(100)),  # a schedule reference, e.g. RS-01
    Column("disposal_action", String(200)),  # destroy, review, transfer, retain (see assets.DISPOSAL_ACTIONS)
    Column("legal_basis", Text),
    Column("key_asset", Boolean, nullable=False, server_default=text("false")),
    Column("risk_rating", String(40)),
    Column("status", String(20), nullable=False, server_default="active"),  # active, missing, retired
    Column("last_seen_at", UTCDateTime),  # the last harvest that saw one of its datasets
    Column("missing_since", UTCDateTime),
    Column("last_reviewed", Date),
    Column("next_review_due", Date),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("organisation", String(40)),  # organisations.yaml; NULL: the department (docs/organisations.md)
    # every reconciliation moves last_seen_at: room on the page lets PostgreSQL update in place (HOT)
    postgresql_with={"fillfactor": 70},
)
Index("ix_asset_owner", asset.c.owner)
Index("ix_asset_status", asset.c.status)

asset_location = Table(
    "asset_location",
    metadata,
    Column("location_id", Integer, primary_key=True, autoincrement=True),
    Column("asset_id", String(32), ForeignKey("asset.asset_id"), nullable=False),
    Column("uri", Text, nullable=False),  # as the person wrote it: s3://bucket/prefix, glue://db/table
    Column("namespace", Name(), nullable=False),  # the OpenLineage identity it resolves to
    Column("name", Name(), nullable=False),
    UniqueConstraint("asset_id", "namespace", "name"),
)
Index("ix_asset_location_namespace_name", asset_location.c.namespace, asset_location.c.name)

# --------------------------------------------------------------------------- harvests

harvest_run = Table(
    "harvest_run",
    metadata,
    Column("run_id", String(250), primary_key=True),  # idempotent: from the DAG run or the CLI call
    Column("status", String(20), nullable=False),  # running, complete, failed
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("sources", Json, nullable=False),  # source names this run covers
    Column("data_interval_start", UTCDateTime),
    Column("data_interval_end", UTCDateTime),
    Column("triggered_by", String(200)),  # dag run id, or "cli"
    Column("summary", Json),  # per service counts, coverage, errors
)

harvest_scope = Table(
    "harvest_scope",
    metadata,
    Column("run_id", String(250), ForeignKey("harvest_run.run_id"), primary_key=True),
    # the identity prefix the scope vouches for (see ScopeOutcome.covers)
    Column("namespace", Name(), primary_key=True),
    Column("name", Name(), primary_key=True),
    Column("source", String(100), nullable=False),
    Column("service", String(20), nullable=False),
    Column("region", String(40), nullable=False),
    Column("scope", Name(), nullable=False),  # its label: bucket, Glue database, table, instance
    Column("status", String(20), nullable=False),  # complete, failed
    Column("datasets", Integer, nullable=False, server_default="0"),
    Column("error_kind", String(100)),
    Column("error", Text),
    Column("unreadable", Json),  # objects/tables inside the scope that could not be read
    Column("finished_at", UTCDateTime, nullable=False),
)
# reconciliation looks up the latest coverage of a scope across runs
Index("ix_harvest_scope_namespace_name", harvest_scope.c.namespace, harvest_scope.c.name)

# Staging: what one harvest unit saw, replaced wholesale when the unit is retried, merged into
# observed_dataset when the run completes. Never read as the estate.
observation = Table(
    "observation",
    metadata,
    Column("run_id", String(250), ForeignKey("harvest_run.run_id"), primary_key=True),
    Column("namespace", Name(), primary_key=True),
    Column("name", Name(), primary_key=True),
    Column("unit", String(600), nullable=False),  # source|service|region|scope
    Column("content_hash", String(64), nullable=False),
    Column("record", Json, nullable=False),  # ObservedDataset.to_dict()
    Column("metrics", Json),  # store.metrics_of(): what dataset_metrics receives when the run is merged
)
Index("ix_observation_run_id_unit", observation.c.run_id, observation.c.unit)

# The estate as harvested, versioned: a new row when a dataset's description changes (schema,
# format, tags, classification), statistics updated in place. valid_to NULL is the current version.
observed_dataset = Table(
    "observed_dataset",
    metadata,
    Column("version_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("namespace", Name(), nullable=False),
    Column("name", Name(), nullable=False),
    Column("service", String(20), nullable=False),
    Column("source", String(100), nullable=False),
    Column("region", String(40)),
    Column("scope", Name(), nullable=False),
    Column("kind", String(40)),
    Column("format", String(40)),
    Column("location", Text),
    Column("classification", String(40), nullable=False, server_default="none"),
    Column("personal_data", Boolean, nullable=False, server_default=text("false")),
    Column("special_categories", Text),
    Column("criminal_offence_data", Boolean, nullable=False, server_default=text("false")),
    # copied out of the record at merge time, so reconciliation reads narrow columns, not the document
    Column("schema_status", String(20)),
    Column("tags", Json),
    Column("retention_kind", String(40)),  # properties.retention_control: kind and active
    Column("retention_active", Boolean),
    Column("symlinks", Json),  # NULL when it has none
    Column("content_hash", String(64), nullable=False),
    Column("object_count", BigInteger),
    Column("size_bytes", BigInteger),
    Column("first_seen_run", String(250), nullable=False),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("last_seen_run", String(250), nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("valid_to", UTCDateTime),  # when superseded by a new version or found gone
    Column("gone", Boolean, nullable=False, server_default=text("false")),  # absent from a complete listing
    Column("organisation", String(40)),  # its source's; NULL: the department (docs/organisations.md)
    Column("marking", String(40)),  # GSCP; NULL: OFFICIAL
    # the strongest security_classification of the assets whose locations cover it (adc.register.markings);
    # NULL: none. The visibility rule reads the stronger of the two.
    Column("covering_marking", String(40)),
    # the full ObservedDataset.to_dict(), last: SQLite then reads every other column without it
    Column("record", Json, nullable=False),
)
Index(
    "uq_observed_dataset_current",
    observed_dataset.c.namespace,
    observed_dataset.c.name,
    unique=True,
    sqlite_where=observed_dataset.c.valid_to.is_(None),
    postgresql_where=observed_dataset.c.valid_to.is_(None),
)
Index("ix_observed_dataset_source_scope", observed_dataset.c.source, observed_dataset.c.scope)
# the version a current one replaced (its valid_to is the current version's first_seen_at): schema drift
Index("ix_observed_dataset_namespace_name_valid_to", observed_dataset.c.namespace, observed_dataset.c.name,
      observed_dataset.c.valid_to)

# What each harvest measured of each dataset from its metadata (docs/quality.md): one row per dataset
# and complete run, written by the merge. Counts and times only, never a value of the data.
dataset_metrics = Table(
    "dataset_metrics",
    metadata,
    Column("namespace", Name(), primary_key=True),
    Column("name", Name(), primary_key=True),
    Column("run_id", String(250), ForeignKey("harvest_run.run_id"), primary_key=True),
    Column("at", UTCDateTime, nullable=False),  # when the run was merged
    Column("object_count", BigInteger),
    Column("size_bytes", BigInteger),
    Column("row_count", BigInteger),  # Parquet footers' num_rows of the sampled files, DynamoDB ItemCount
    Column("sampled_files", Integer),  # how many files row_count and columns come from
    Column("column_count", Integer),
    Column("newest", UTCDateTime),  # newest object's LastModified, Glue UpdateTime
    Column("columns", Json),  # {column: {"null_count": n, "rows": m}} from the sampled files' footers
)
Index("ix_dataset_metrics_namespace_name_at", dataset_metrics.c.namespace, dataset_metrics.c.name,
      dataset_metrics.c.at)

# --------------------------------------------------------------------------- reconciliation

# One row per reconciled snapshot (run_id "reconcile:<harvest run>"): reconciling the same snapshot
# again updates it only if something changed.
reconciliation_run = Table(
    "reconciliation_run",
    metadata,
    Column("run_id", String(250), primary_key=True),
    Column("harvest_run_id", String(250), ForeignKey("harvest_run.run_id"), nullable=False),
    Column("status", String(20), nullable=False),  # complete, awaiting_approval (a mass absence is withheld)
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("counts", Json),  # live findings per kind and severity, and what the run changed
    Column("absence_decision", String(20)),  # pending, approved, rejected (only when a mass absence was found)
    Column("absence_decided_by", String(200)),
)

finding = Table(
    "finding",
    metadata,
    Column("finding_id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(40), nullable=False),  # unregistered_dataset, missing_asset, ... (reconcile.KINDS)
    Column("subject", Name(URI_LENGTH), nullable=False),  # natural key of what it concerns, with kind
    Column("severity", String(10), nullable=False),  # high, medium, low
    # open -> resolved when the cause goes; acknowledged (a person, with a reason) or dismissed (triage)
    # stay so while the cause persists, then resolve
    Column("status", String(20), nullable=False),
    Column("asset_id", String(32)),
    Column("namespace", Name()),
    Column("name", Name()),
    Column("source", String(100)),
    Column("summary", Text, nullable=False),
    Column("evidence", Json),
    Column("first_seen_run", String(250), nullable=False),  # harvest runs: the snapshots that showed it
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("last_seen_run", String(250), nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime),
    Column("resolved_by", String(250)),  # a run id, or a person
    Column("acknowledged_by", String(200)),
    Column("acknowledged_at", UTCDateTime),
    Column("reason", Text),  # why it was acknowledged or dismissed
)
# At most one live finding per cause. Dismissed counts as live, so a dismissed finding is not
# recreated as open while its cause persists.
Index(
    "uq_finding_live",
    finding.c.kind,
    finding.c.subject,
    unique=True,
    sqlite_where=finding.c.status.in_(["open", "acknowledged", "dismissed"]),
    postgresql_where=finding.c.status.in_(["open", "acknowledged", "dismissed"]),
)
# (a query names the live statuses as parameters, which SQLite cannot match to the partial index)
Index("ix_finding_kind_subject", finding.c.kind, finding.c.subject)
Index("ix_finding_status_severity", finding.c.status, finding.c.severity)
Index("ix_finding_asset_id", finding.c.asset_id)

# --------------------------------------------------------------------------- history

# Every change to the record, whoever made it: one row per change, with the fields it changed.
history = Table(
    "history",
    metadata,
    Column("history_id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("entity_kind", String(30), nullable=False),  # asset, finding, activity, review
    Column("entity_id", String(250), nullable=False),
    Column("action", String(40), nullable=False),  # created, updated, missing, reappeared, retired, ...
    Column("actor", String(200), nullable=False),  # an Airflow user id, or "adc" for automation
    Column("cause_kind", String(30), nullable=False),  # import, harvest, reconcile, triage, review, ui
    Column("cause", String(250)),  # the run, review, finding or file behind it
    Column("changes", Json),  # {field: [old, new]}
)
Index("ix_history_entity", history.c.entity_kind, history.c.entity_id, history.c.at)
Index("ix_history_at", history.c.at)


# --------------------------------------------------------------------------- questions asked in Airflow

# Every question ADC has put to people in Airflow, by the task instance that asked it: a retry that
# Airflow makes of that same task instance reads the request instead of asking again (see
# adc.airflow.operators.AsksOnce).
asked_question = Table(
    "asked_question",
    metadata,
    Column("task_instance_id", String(36), primary_key=True),
    Column("asked_at", UTCDateTime, nullable=False),
)
