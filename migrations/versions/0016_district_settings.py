"""district settings: append-only changes of a district's [P]/[R] values; a case keeps those at its opening

Revision ID: 0016_district_settings
Revises: 0015_api_tokens
Create Date: 2026-12-03 13:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0016_district_settings"
down_revision = "0015_api_tokens"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "district_setting_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("value", sa.String(length=40), nullable=True),
        sa.Column("effective_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_by_id", sa.Integer(), nullable=True),
        sa.Column("changed_by_name", sa.String(length=80), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["district_id"], ["institution.id"]),
        sa.ForeignKeyConstraint(["changed_by_id"], ["user_account.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_district_setting_change_in_force",
        "district_setting_change",
        ["district_id", "name", "effective_at", "id"],
    )
    op.add_column(
        "follow_up_case", sa.Column("setting_overrides", sa.JSON(), nullable=False, server_default="{}")
    )
    op.add_column("follow_up_case", sa.Column("settings_version", sa.Integer(), nullable=True))


def downgrade():
    op.drop_column("follow_up_case", "settings_version")
    op.drop_column("follow_up_case", "setting_overrides")
    op.drop_index("ix_district_setting_change_in_force", table_name="district_setting_change")
    op.drop_table("district_setting_change")
