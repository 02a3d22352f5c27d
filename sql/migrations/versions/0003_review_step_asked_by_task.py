"""review_step.asked_by_task: the Airflow task instance that put the question to Airflow

A review task retried without having failed itself (Airflow 3.3.2 can retry a task answered just
after it parked) must wait on the request it already wrote instead of writing it again, which
would clear the answer. This column tells a retry that it is the same task instance.

Revision ID: 0003
Revises: 0002
"""

from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("review_step", schema=None) as batch_op:
        batch_op.add_column(sa.Column("asked_by_task", sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("review_step", schema=None) as batch_op:
        batch_op.drop_column("asked_by_task")
