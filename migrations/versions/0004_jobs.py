"""jobs: a row per background job, in-app notifications, reminder opt-out and e-mail addresses

Revision ID: 0004_jobs
Revises: 0003_clinic
Create Date: 2026-11-23 00:16:45.250935

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0004_jobs"
down_revision = "0003_clinic"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "job_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("func", sa.String(length=200), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("queue", sa.String(length=40), nullable=False),
        sa.Column("rq_job_id", sa.String(length=80), nullable=True),
        sa.Column(
            "status",
            sa.Enum("QUEUED", "RUNNING", "SUCCEEDED", "FAILED", name="jobstatus", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("progress_done", sa.Integer(), nullable=False),
        sa.Column("progress_total", sa.Integer(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user_account.id"], name=op.f("fk_job_record_created_by_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_record")),
    )
    with op.batch_alter_table("job_record", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_job_record_created_by_id"), ["created_by_id"], unique=False)
        batch_op.create_index("ix_job_record_rq_job_id", ["rq_job_id"], unique=False)
        batch_op.create_index("ix_job_record_status_created", ["status", "created_at"], unique=False)

    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("emailed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("email_error", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["follow_up_case.id"], name=op.f("fk_notification_case_id_follow_up_case")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], name=op.f("fk_notification_user_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification")),
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notification_case_id"), ["case_id"], unique=False)
        batch_op.create_index("ix_notification_user_unread", ["user_id", "read_at", "created_at"], unique=False)

    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reminder_opt_out", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index("ix_person_kind_birth", ["kind", "birth_on"], unique=False)

    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("email")

    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_index("ix_person_kind_birth")
        batch_op.drop_column("reminder_opt_out")

    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_user_unread")
        batch_op.drop_index(batch_op.f("ix_notification_case_id"))
    op.drop_table("notification")

    with op.batch_alter_table("job_record", schema=None) as batch_op:
        batch_op.drop_index("ix_job_record_status_created")
        batch_op.drop_index("ix_job_record_rq_job_id")
        batch_op.drop_index(batch_op.f("ix_job_record_created_by_id"))
    op.drop_table("job_record")
