"""result corrections: a stored result's replaced values, with who corrected them, when and why

Revision ID: 0021_result_corrections
Revises: 0020_import_all_or_nothing
Create Date: 2026-12-03 14:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0021_result_corrections"
down_revision = "0020_import_all_or_nothing"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "result_correction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("result_id", sa.Integer(), nullable=False),
        sa.Column("corrected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("corrected_by_id", sa.Integer(), nullable=True),
        sa.Column("corrected_by_name", sa.String(length=80), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("old_values", sa.JSON(), nullable=False),
        sa.Column("old_performed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("new_values", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["corrected_by_id"], ["user_account.id"], name=op.f("fk_result_correction_corrected_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["result_id"], ["screening_result.id"], name=op.f("fk_result_correction_result_id_screening_result")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_result_correction")),
    )
    with op.batch_alter_table("result_correction", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_result_correction_result_id"), ["result_id"], unique=False)


def downgrade():
    with op.batch_alter_table("result_correction", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_result_correction_result_id"))
    op.drop_table("result_correction")
