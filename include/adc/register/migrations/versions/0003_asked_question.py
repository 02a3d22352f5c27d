"""asked_question: the Airflow task instances that put a question to people

A human-in-the-loop task retried without having failed itself (Airflow 3.3.2 can retry a task
answered just after it parked) must read the request it already wrote instead of writing it again,
which would clear the answer. This table tells a retry that it is the same task instance.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "asked_question",
        sa.Column("task_instance_id", sa.String(length=36), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("task_instance_id", name=op.f("pk_asked_question")),
    )


def downgrade() -> None:
    op.drop_table("asked_question")
