"""audit chain: audit rows are sealed into a hash chain, and the database refuses to change or delete them

Two columns (chain_seq, chain_hash) are set once by the sealing job. Triggers on both databases refuse
DELETE, and any UPDATE other than that one filling of empty chain columns; PostgreSQL also refuses TRUNCATE
(security.md items 19 and 20).

Revision ID: 0009_audit_chain
Revises: 0008_notification_subject
Create Date: 2026-12-02 16:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0009_audit_chain"
down_revision = "0008_notification_subject"
branch_labels = None
depends_on = None

_CONTENT = (
    "occurred_at", "user_id", "username", "entity", "entity_id", "action", "summary", "request_id", "ip_address",
)

_POSTGRESQL = [
    f"""
    CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' AND OLD.chain_seq IS NULL AND NEW.chain_seq IS NOT NULL
           AND NEW.id = OLD.id
           AND {" AND ".join(f"NEW.{c} IS NOT DISTINCT FROM OLD.{c}" for c in _CONTENT)} THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'audit_event is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
    END $$
    """,
    """CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event
       FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()""",
    """CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
       FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()""",
]

_SQLITE = [
    """CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
       BEGIN SELECT RAISE(ABORT, 'audit_event is append-only (DELETE refused)'); END""",
    f"""CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
       WHEN NOT (OLD.chain_seq IS NULL AND NEW.chain_seq IS NOT NULL AND NEW.id = OLD.id
                 AND {" AND ".join(f"NEW.{c} IS OLD.{c}" for c in _CONTENT)})
       BEGIN SELECT RAISE(ABORT, 'audit_event is append-only (UPDATE refused)'); END""",
]


def upgrade():
    op.add_column("audit_event", sa.Column("chain_seq", sa.BigInteger(), nullable=True))
    op.add_column("audit_event", sa.Column("chain_hash", sa.String(length=64), nullable=True))
    op.create_index("ix_audit_event_chain_seq", "audit_event", ["chain_seq"], unique=True)
    for statement in _POSTGRESQL if op.get_bind().dialect.name == "postgresql" else _SQLITE:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_event_no_truncate ON audit_event")
        op.execute("DROP TRIGGER audit_event_no_change ON audit_event")
        op.execute("DROP FUNCTION audit_event_append_only()")
    else:
        op.execute("DROP TRIGGER audit_event_no_update")
        op.execute("DROP TRIGGER audit_event_no_delete")
    op.drop_index("ix_audit_event_chain_seq", table_name="audit_event")
    op.drop_column("audit_event", "chain_hash")
    op.drop_column("audit_event", "chain_seq")
