"""Late corrections: a reason for each result or case entry dated in a month whose report is approved

Revision ID: 0019_late_corrections
Revises: 0018_field_encryption
Create Date: 2026-12-03 13:30:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0019_late_corrections"
down_revision = "0018_field_encryption"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "late_correction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("district_code", sa.String(length=40), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("program", sa.String(length=40), nullable=False),
        sa.Column("institution_code", sa.String(length=40), nullable=False),
        sa.Column("entity", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_by_name", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["user_account.id"], name=op.f("fk_late_correction_recorded_by_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_late_correction")),
    )
    with op.batch_alter_table("late_correction", schema=None) as batch_op:
        batch_op.create_index("ix_late_correction_district_recorded", ["district_code", "recorded_at"], unique=False)


def downgrade():
    with op.batch_alter_table("late_correction", schema=None) as batch_op:
        batch_op.drop_index("ix_late_correction_district_recorded")
    op.drop_table("late_correction")
