"""notification subject: a generic (subject_type, subject_id) instead of a foreign key to follow_up_case

The kernel's notifications name what they are about without knowing the screenings tables: the
domain registers its notification kinds and how to link to their subject.

Revision ID: 0008_notification_subject
Revises: 0007_subject_traits
Create Date: 2026-12-02 16:00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0008_notification_subject"
down_revision = "0007_subject_traits"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject_type", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("subject_id", sa.Integer(), nullable=True))
    op.execute("UPDATE notification SET subject_type = 'follow_up_case', subject_id = case_id WHERE case_id IS NOT NULL")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_case_id")
        batch_op.drop_constraint("fk_notification_case_id_follow_up_case", type_="foreignkey")
        batch_op.drop_column("case_id")
        batch_op.create_index("ix_notification_subject", ["subject_type", "subject_id"], unique=False)


def downgrade():
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.add_column(sa.Column("case_id", sa.Integer(), nullable=True))
    op.execute("UPDATE notification SET case_id = subject_id WHERE subject_type = 'follow_up_case'")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_subject")
        batch_op.drop_column("subject_id")
        batch_op.drop_column("subject_type")
        batch_op.create_foreign_key(
            "fk_notification_case_id_follow_up_case", "follow_up_case", ["case_id"], ["id"]
        )
        batch_op.create_index("ix_notification_case_id", ["case_id"], unique=False)
