"""monthly reports: one row per district x month x language with its snapshot, PDF checksum and approval

Revision ID: 0013_monthly_reports
Revises: 0012_indicator_targets
Create Date: 2026-12-03 10:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0013_monthly_reports"
down_revision = "0012_indicator_targets"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "monthly_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("district_code", sa.String(length=40), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("lang", sa.String(length=5), nullable=False),
        sa.Column(
            "status",
            sa.Enum("QUEUED", "BUILDING", "READY", "FAILED", name="reportstatus", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("snapshot", sa.JSON(), nullable=True),
        sa.Column("cut_off_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("file_name", sa.String(length=200), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("page_count", sa.Integer(), nullable=True),
        sa.Column("file_size", sa.Integer(), nullable=True),
        sa.Column("build_seconds", sa.Float(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("job_record_id", sa.Integer(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("requested_by_name", sa.String(length=80), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_by_id", sa.Integer(), nullable=True),
        sa.Column("approved_by_name", sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_record_id"], ["job_record.id"], name=op.f("fk_monthly_report_job_record_id_job_record")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["user_account.id"], name=op.f("fk_monthly_report_requested_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["approved_by_id"], ["user_account.id"], name=op.f("fk_monthly_report_approved_by_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monthly_report")),
        sa.UniqueConstraint("district_code", "month", "lang", name="uq_monthly_report_district_month"),
    )


def downgrade():
    op.drop_table("monthly_report")
