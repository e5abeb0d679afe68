"""case events: an index on the result an event recorded

The API answers a person's results with the case each opened or moved on, and a submission's items with
theirs: `case_event.result_id` had no index, so PostgreSQL read all 3.5 M events of the scale-1.0 city for
every person looked up (GET /api/v1/persons/{id} p50 0.7 s). Partial: most events record no result.

Revision ID: 0025_case_event_result_index
Revises: 0024_fact_screened_cover
Create Date: 2026-12-03 16:55:00.000000

"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0025_case_event_result_index"
down_revision = "0024_fact_screened_cover"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_case_event_result",
        "case_event",
        ["result_id"],
        postgresql_where=sa.text("result_id IS NOT NULL"),
        sqlite_where=sa.text("result_id IS NOT NULL"),
    )


def downgrade():
    op.drop_index("ix_case_event_result", table_name="case_event")
