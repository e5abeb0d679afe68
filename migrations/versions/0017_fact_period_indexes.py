"""indicator facts: an index per period basis (district, program, born/screened/delivered day)

A district's figures for a month read that month's rows through these instead of every row of the district
(bench --items statistics: 173 statements a page, each reading all 77,586 rows of the district at scale 0.02).

Revision ID: 0017_fact_period_indexes
Revises: 0016_district_settings
Create Date: 2026-12-03 13:25:00.000000

"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "0017_fact_period_indexes"
down_revision = "0016_district_settings"
branch_labels = None
depends_on = None

MILESTONES = ("born", "screened", "delivered")


def upgrade():
    for milestone in MILESTONES:
        op.create_index(
            f"ix_indicator_fact_{milestone}_period",
            "indicator_fact",
            ["district", "program", f"{milestone}_day"],
        )


def downgrade():
    for milestone in MILESTONES:
        op.drop_index(f"ix_indicator_fact_{milestone}_period", table_name="indicator_fact")
