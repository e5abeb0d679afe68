"""subject traits: one JSON object per case (follow_up_case.subject_traits) replaces two hearing columns

What a result tells of its subject is program data: each test declares its subject traits, and the case
keeps them as one JSON object by trait name. The only traits stored so far are newborn hearing's, so the
copy names them here, as they were named on the day of the migration.

Revision ID: 0007_subject_traits
Revises: 0006_imports
Create Date: 2026-12-02 16:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0007_subject_traits"
down_revision = "0006_imports"
branch_labels = None
depends_on = None

_HEARING = "'NEWBORN_HEARING'"

_TO_TRAITS = {
    "sqlite": f"""
        UPDATE follow_up_case SET subject_traits = json_patch(
            CASE WHEN subject_nicu THEN '{{"NICU_STAY": true}}' ELSE '{{}}' END,
            CASE WHEN json_array_length(subject_risk_factors) > 0
                 THEN json_object('RISK_FACTORS', json(subject_risk_factors)) ELSE '{{}}' END)
        WHERE program = {_HEARING} AND (subject_nicu OR json_array_length(subject_risk_factors) > 0)
    """,
    "postgresql": f"""
        UPDATE follow_up_case SET subject_traits = (
            CASE WHEN subject_nicu THEN jsonb_build_object('NICU_STAY', true) ELSE '{{}}'::jsonb END
            || CASE WHEN json_array_length(subject_risk_factors) > 0
                    THEN jsonb_build_object('RISK_FACTORS', subject_risk_factors::jsonb)
                    ELSE '{{}}'::jsonb END
        )::json
        WHERE program = {_HEARING} AND (subject_nicu OR json_array_length(subject_risk_factors) > 0)
    """,
}
_FROM_TRAITS = {
    "sqlite": f"""
        UPDATE follow_up_case SET
            subject_nicu = coalesce(json_extract(subject_traits, '$.NICU_STAY'), 0) = 1,
            subject_risk_factors = coalesce(json_extract(subject_traits, '$.RISK_FACTORS'), '[]')
        WHERE program = {_HEARING}
    """,
    "postgresql": f"""
        UPDATE follow_up_case SET
            subject_nicu = coalesce((subject_traits ->> 'NICU_STAY')::boolean, false),
            subject_risk_factors = coalesce(subject_traits -> 'RISK_FACTORS', '[]'::json)
        WHERE program = {_HEARING}
    """,
}


def _dialect() -> str:
    name = op.get_bind().dialect.name
    if name not in _TO_TRAITS:
        raise NotImplementedError(f"0007 copies subject traits on SQLite and PostgreSQL, not on {name}")
    return name


# Plain ALTER TABLE rather than batch mode: SQLite (3.35+) adds and drops these columns in place, so the
# table and its partial indexes are not rebuilt.
def upgrade():
    dialect = _dialect()
    op.add_column(
        "follow_up_case", sa.Column("subject_traits", sa.JSON(), nullable=False, server_default="{}")
    )
    op.execute(_TO_TRAITS[dialect])
    op.drop_column("follow_up_case", "subject_risk_factors")
    op.drop_column("follow_up_case", "subject_nicu")


def downgrade():
    dialect = _dialect()
    op.add_column(
        "follow_up_case", sa.Column("subject_nicu", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column(
        "follow_up_case", sa.Column("subject_risk_factors", sa.JSON(), nullable=False, server_default="[]")
    )
    op.execute(_FROM_TRAITS[dialect])
    op.drop_column("follow_up_case", "subject_traits")
