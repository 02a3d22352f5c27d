"""dataset_metrics: what each harvest measured of each dataset, a time series for data quality

Every harvest records, per dataset, the counts and times its metadata holds (objects, bytes, rows from
Parquet footers or DynamoDB, columns, per-column null counts, the newest data's time); never a value
of the data (docs/quality.md). A unit stages them with its observations (observation.metrics) and the
merge writes them, in the run's transaction. Harvests before this revision recorded none.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_NAME = sa.String(length=1024).with_variant(sa.String(length=1024, collation="C"), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("observation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("metrics", _JSON, nullable=True))
    op.create_table(
        "dataset_metrics",
        sa.Column("namespace", _NAME, nullable=False),
        sa.Column("name", _NAME, nullable=False),
        sa.Column("run_id", sa.String(length=250), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("object_count", sa.BigInteger(), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("row_count", sa.BigInteger(), nullable=True),
        sa.Column("sampled_files", sa.Integer(), nullable=True),
        sa.Column("column_count", sa.Integer(), nullable=True),
        sa.Column("newest", sa.DateTime(timezone=True), nullable=True),
        sa.Column("columns", _JSON, nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["harvest_run.run_id"],
                                name=op.f("fk_dataset_metrics_run_id_harvest_run")),
        sa.PrimaryKeyConstraint("namespace", "name", "run_id", name=op.f("pk_dataset_metrics")),
    )
    op.create_index("ix_dataset_metrics_namespace_name_at", "dataset_metrics", ["namespace", "name", "at"])


def downgrade() -> None:
    op.drop_index("ix_dataset_metrics_namespace_name_at", table_name="dataset_metrics")
    op.drop_table("dataset_metrics")
    with op.batch_alter_table("observation", schema=None) as batch_op:
        batch_op.drop_column("metrics")
