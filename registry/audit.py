"""The append-only audit trail: every write, and reads of protected records."""

import dataclasses
import datetime as dt
import logging

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from registry.db import UTCDateTime
from registry.extensions import db

security_log = logging.getLogger("registry.security")


@dataclasses.dataclass(frozen=True)
class Actor:
    """Who is acting, passed explicitly from the edge so that services never read the request."""

    user_id: int | None
    username: str
    request_id: str | None = None
    ip_address: str | None = None

    @classmethod
    def system(cls, job: str) -> "Actor":
        return cls(user_id=None, username=f"system:{job}")


class AuditEvent(db.Model):
    __tablename__ = "audit_event"
    __table_args__ = (
        sa.Index("ix_audit_event_entity", "entity", "entity_id"),
        sa.Index("ix_audit_event_chain_seq", "chain_seq", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    username: Mapped[str] = mapped_column(sa.String(80))
    entity: Mapped[str] = mapped_column(sa.String(40))
    entity_id: Mapped[str | None] = mapped_column(sa.String(40))
    action: Mapped[str] = mapped_column(sa.String(32))
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    request_id: Mapped[str | None] = mapped_column(sa.String(40))
    ip_address: Mapped[str | None] = mapped_column(sa.String(64))
    # Set once, after commit, by registry.audit_chain.seal; the database refuses any other change.
    chain_seq: Mapped[int | None] = mapped_column(sa.BigInteger)
    chain_hash: Mapped[str | None] = mapped_column(sa.String(64))


def record(actor: Actor, at: dt.datetime, entity: str, entity_id, action: str, summary: str = "") -> None:
    """Add an audit row to the current transaction, so it commits or rolls back with the write."""
    db.session.add(
        AuditEvent(
            occurred_at=at,
            user_id=actor.user_id,
            username=actor.username,
            entity=entity,
            entity_id=None if entity_id is None else str(entity_id),
            action=action,
            summary=summary,
            request_id=actor.request_id,
            ip_address=actor.ip_address,
        )
    )


def row(actor: Actor, at: dt.datetime, entity: str, entity_id, action: str, summary: str = "") -> dict:
    """Build one audit row (a dict of column values) for record_rows."""
    return {
        "occurred_at": at,
        "user_id": actor.user_id,
        "username": actor.username,
        "entity": entity,
        "entity_id": None if entity_id is None else str(entity_id),
        "action": action,
        "summary": summary,
        "request_id": actor.request_id,
        "ip_address": actor.ip_address,
    }


def record_rows(rows: list[dict]) -> None:
    """Add many audit rows to the current transaction in one INSERT (a chunk of results, say)."""
    if rows:
        db.session.execute(sa.insert(AuditEvent), rows)


def describe_changes(before: dict, after: dict) -> str:
    """Summarise which fields changed; values of identity fields are never written here."""
    changed = sorted(key for key in after if before.get(key) != after.get(key))
    return "changed: " + ", ".join(changed) if changed else "no change"
