"""finding.subject: room for a dataset's URI whose name is S3's longest key

A finding about a dataset is keyed by the dataset's URI (namespace + "/" + name). S3 keys reach
1,024 bytes, and so may a dataset's name: its URI did not fit the 1,024 characters of a name, and
PostgreSQL refused the reconciliation that raised the finding.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _subject(length: int) -> sa.String:
    return sa.String(length=length).with_variant(sa.String(length=length, collation="C"), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.alter_column("subject", existing_type=_subject(1024), type_=_subject(2048), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.alter_column("subject", existing_type=_subject(2048), type_=_subject(1024), existing_nullable=False)
