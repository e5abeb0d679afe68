"""clinic: worklist risk order, PMTCT access flag and break-the-glass grants

Revision ID: 0003_clinic
Revises: 0002_screenings
Create Date: 2026-11-23 00:15:52.699722

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0003_clinic"
down_revision = "0002_screenings"
branch_labels = None
depends_on = None

_NOT_CLOSED = sa.text("status <> 'CLOSED'")


def _rebuild_worklist_index(columns: list[str]) -> None:
    # Tab counts read the worklist index alone once it carries escalated_at and status. Plain DDL, not
    # batch mode: both databases drop and create an index in place.
    op.drop_index("ix_follow_up_case_worklist", table_name="follow_up_case")
    op.create_index(
        "ix_follow_up_case_worklist",
        "follow_up_case",
        columns,
        sqlite_where=_NOT_CLOSED,
        postgresql_where=_NOT_CLOSED,
    )


def upgrade():
    op.create_table(
        "break_glass_grant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_break_glass_grant_person_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_break_glass_grant_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_break_glass_grant")),
    )
    with op.batch_alter_table("break_glass_grant", schema=None) as batch_op:
        batch_op.create_index(
            "ix_break_glass_grant_user_person", ["user_id", "person_id", "expires_at"], unique=False
        )

    with op.batch_alter_table("follow_up_case", schema=None) as batch_op:
        batch_op.add_column(sa.Column("risk_rank", sa.SmallInteger(), nullable=False, server_default="5"))
        batch_op.create_index(
            "ix_follow_up_case_worklist_risk",
            ["responsible_institution_id", "risk_rank", "due_at", "id"],
            unique=False,
            sqlite_where=_NOT_CLOSED,
            postgresql_where=_NOT_CLOSED,
        )

    _rebuild_worklist_index(["responsible_institution_id", "due_at", "id", "escalated_at", "status"])

    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sees_restricted_records", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade():
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("sees_restricted_records")

    with op.batch_alter_table("follow_up_case", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_follow_up_case_worklist_risk", sqlite_where=_NOT_CLOSED, postgresql_where=_NOT_CLOSED
        )
        batch_op.drop_column("risk_rank")

    _rebuild_worklist_index(["responsible_institution_id", "due_at", "id"])

    with op.batch_alter_table("break_glass_grant", schema=None) as batch_op:
        batch_op.drop_index("ix_break_glass_grant_user_person")

    op.drop_table("break_glass_grant")
