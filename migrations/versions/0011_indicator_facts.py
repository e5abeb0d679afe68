"""indicator facts: one row per person x program x episode, its step marks and findings

Revision ID: 0011_indicator_facts
Revises: 0010_two_factor
Create Date: 2026-12-02 16:45:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0011_indicator_facts"
down_revision = "0010_two_factor"
branch_labels = None
depends_on = None

# screenings.engine.Milestone, frozen here as the migration created them
MILESTONES = (
    "born", "delivered", "screened", "positive", "recalled", "rescreened", "diagnosed", "confirmed",
    "treated", "closed", "lost", "overdue", "transferred",
)  # fmt: skip


def upgrade():
    columns = []
    for m in MILESTONES:
        columns += [
            sa.Column(f"{m}_day", sa.Integer(), nullable=True),
            sa.Column(f"{m}_sec", sa.BigInteger(), nullable=True),
            sa.Column(f"{m}_code", sa.String(length=40), nullable=True),
        ]
    op.create_table(
        "indicator_fact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program", sa.String(length=32), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("episode", sa.Integer(), nullable=False),
        sa.Column("institution", sa.String(length=40), nullable=False),
        sa.Column("district", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=20), nullable=False),
        sa.Column("result_class", sa.String(length=20), nullable=True),
        sa.Column("birth_month", sa.String(length=7), nullable=True),
        *columns,
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("person_id", "program", "episode", name="uq_indicator_fact_episode"),
    )
    op.create_index("ix_indicator_fact_district_program", "indicator_fact", ["district", "program"])
    op.create_table(
        "indicator_fact_mark",
        sa.Column("fact_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("sec", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(["fact_id"], ["indicator_fact.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("fact_id", "name"),
    )
    op.create_table(
        "indicator_fact_finding",
        sa.Column("fact_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["fact_id"], ["indicator_fact.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("fact_id", "code"),
    )


def downgrade():
    op.drop_table("indicator_fact_finding")
    op.drop_table("indicator_fact_mark")
    op.drop_index("ix_indicator_fact_district_program", table_name="indicator_fact")
    op.drop_table("indicator_fact")
