"""indicator facts: the screened-day index covers the cascade's place columns; positives get their own

The month page of 统计分析 counts every program's episodes by institution (the year's screened count for
完成年度任务 %, 117,636 rows at the scale-1.0 city's busiest district) and the 12-month closure trend (its
positives only, 7,249 of 189,541 rows). On PostgreSQL the screened-day index now carries the columns those
counts read (institution, transfer, positive and closed days), so they are index-only scans, and a partial
index holds the positives alone. SQLite has no INCLUDE: its screened-day index stays as it was and the
positives' partial index has the same key columns.

Revision ID: 0024_fact_screened_cover
Revises: 0023_person_institution_recent
Create Date: 2026-12-03 16:40:00.000000

"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0024_fact_screened_cover"
down_revision = "0023_person_institution_recent"
branch_labels = None
depends_on = None

KEY = ["district", "program", "screened_day"]
PLACE = ["institution", "transferred_day", "transferred_code"]


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_indicator_fact_screened_period", table_name="indicator_fact")
        op.create_index(
            "ix_indicator_fact_screened_period",
            "indicator_fact",
            KEY,
            postgresql_include=[*PLACE, "positive_day", "closed_day"],
        )
    op.create_index(
        "ix_indicator_fact_positive_screened",
        "indicator_fact",
        KEY,
        postgresql_include=[*PLACE, "closed_day"],
        postgresql_where=sa.text("positive_day IS NOT NULL"),
        sqlite_where=sa.text("positive_day IS NOT NULL"),
    )


def downgrade():
    op.drop_index("ix_indicator_fact_positive_screened", table_name="indicator_fact")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_indicator_fact_screened_period", table_name="indicator_fact")
        op.create_index("ix_indicator_fact_screened_period", "indicator_fact", KEY)
