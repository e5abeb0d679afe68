"""indicator targets: the year's targets, task numbers and population figures per district or facility

Revision ID: 0012_indicator_targets
Revises: 0011_indicator_facts
Create Date: 2026-12-03 10:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0012_indicator_targets"
down_revision = "0011_indicator_facts"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "indicator_target",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("value", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("set_by_id", sa.Integer(), nullable=True),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["district_id"], ["institution.id"]),
        sa.ForeignKeyConstraint(["institution_id"], ["institution.id"]),
        sa.ForeignKeyConstraint(["set_by_id"], ["user_account.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("year", "institution_id", "kind", "key", name="uq_indicator_target_key"),
    )
    op.create_index("ix_indicator_target_district_year", "indicator_target", ["district_id", "year"])


def downgrade():
    op.drop_index("ix_indicator_target_district_year", table_name="indicator_target")
    op.drop_table("indicator_target")
