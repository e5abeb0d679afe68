"""two factor: a TOTP secret and one-time recovery codes per user

Revision ID: 0010_two_factor
Revises: 0009_audit_chain
Create Date: 2026-12-02 16:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0010_two_factor"
down_revision = "0009_audit_chain"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("user_account", sa.Column("totp_secret", sa.String(length=64), nullable=True))
    op.add_column("user_account", sa.Column("totp_enabled_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("user_account", sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
    op.add_column("user_account", sa.Column("recovery_code_hashes", sa.JSON(), nullable=True))


def downgrade():
    for column in ("recovery_code_hashes", "totp_last_step", "totp_enabled_at", "totp_secret"):
        op.drop_column("user_account", column)
