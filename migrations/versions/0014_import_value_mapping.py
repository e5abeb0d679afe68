"""import value mapping: a source's own values mapped onto a field's codes; a discarded unmatched row's reason

Revision ID: 0014_import_value_mapping
Revises: 0013_monthly_reports
Create Date: 2026-12-03 13:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0014_import_value_mapping"
down_revision = "0013_monthly_reports"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("import_column_mapping", schema=None) as batch_op:
        batch_op.add_column(sa.Column("value_map", sa.JSON(), nullable=False, server_default="{}"))
    with op.batch_alter_table("import_batch", schema=None) as batch_op:
        batch_op.add_column(sa.Column("value_map", sa.JSON(), nullable=False, server_default="{}"))
    with op.batch_alter_table("import_unmatched_row", schema=None) as batch_op:
        batch_op.add_column(sa.Column("discard_reason", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("import_unmatched_row", schema=None) as batch_op:
        batch_op.drop_column("discard_reason")
    with op.batch_alter_table("import_batch", schema=None) as batch_op:
        batch_op.drop_column("value_map")
    with op.batch_alter_table("import_column_mapping", schema=None) as batch_op:
        batch_op.drop_column("value_map")
