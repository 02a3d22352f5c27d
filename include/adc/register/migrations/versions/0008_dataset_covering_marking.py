"""observed_dataset.covering_marking: the strongest classification of the assets covering a dataset

A dataset reads as at least as marked as every asset whose locations cover it (docs/organisations.md).
The visibility rule used to find those assets for each dataset row it filtered; the register now keeps
the result on the dataset (adc.register.markings recomputes it with every write that can change it),
and the rule reads this column. Filled here for the datasets already harvested, on every version, from
their current version and the assets as they are.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# GSCP, weakest first (adc.model.GSCP as of this revision); a classification that is none of them
# reads as the strongest, as the visibility rule treated it.
_RANK = ("CASE a.security_classification WHEN 'OFFICIAL' THEN 0 WHEN 'OFFICIAL-SENSITIVE' THEN 1 "
         "WHEN 'SECRET' THEN 2 ELSE 3 END")
_MARKING = "CASE {} WHEN 0 THEN 'OFFICIAL' WHEN 1 THEN 'OFFICIAL-SENSITIVE' WHEN 2 THEN 'SECRET' ELSE 'TOP SECRET' END"
# Each location with the current datasets it covers (a whole namespace, or its name and what lies under
# it): one branch per shape, so each finds its datasets through the (namespace, name) index.
_COVERED = """
    SELECT d.namespace, d.name, {rank} AS rank
    FROM asset_location l JOIN asset a ON a.asset_id = l.asset_id
    JOIN observed_dataset d ON d.namespace = l.namespace AND d.valid_to IS NULL AND {shape}
    WHERE a.security_classification IS NOT NULL
"""
_WHOLE = "l.name = ''"
_UNDER = "l.name <> '' AND d.name >= l.name AND d.name < l.name || '0' AND (d.name = l.name OR d.name > l.name || '/')"
BACKFILL = f"""
UPDATE observed_dataset SET covering_marking = covering.marking
FROM (
    SELECT covered.namespace, covered.name, {_MARKING.format("MAX(covered.rank)")} AS marking
    FROM ({_COVERED.format(rank=_RANK, shape=_WHOLE)} UNION ALL {_COVERED.format(rank=_RANK, shape=_UNDER)}) covered
    GROUP BY covered.namespace, covered.name
) covering
WHERE observed_dataset.namespace = covering.namespace AND observed_dataset.name = covering.name
"""  # noqa: S608 - only the SQL above, no value from outside


def upgrade() -> None:
    # On SQLite the table is rebuilt so the column stands before the record document, as in tables.py (see 0006):
    # the visibility filter reads it for every row it counts.
    sqlite = op.get_bind().dialect.name == "sqlite"
    before = "record" if sqlite else None
    with op.batch_alter_table("observed_dataset", recreate="always" if sqlite else "auto") as batch_op:
        batch_op.add_column(sa.Column("covering_marking", sa.String(40), nullable=True), insert_before=before)
    op.execute(BACKFILL)


def downgrade() -> None:
    with op.batch_alter_table("observed_dataset", schema=None) as batch_op:
        batch_op.drop_column("covering_marking")
