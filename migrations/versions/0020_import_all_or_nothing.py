"""import all or nothing: a batch may be imported whole or not at all (DHIS2's atomicMode=ALL)

Revision ID: 0020_import_all_or_nothing
Revises: 0019_late_corrections
Create Date: 2026-12-03 14:10:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0020_import_all_or_nothing"
down_revision = "0019_late_corrections"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("import_batch") as batch_op:
        batch_op.add_column(sa.Column("all_or_nothing", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table("import_batch") as batch_op:
        batch_op.drop_column("all_or_nothing")
