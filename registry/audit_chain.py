"""Tamper evidence for the audit trail: rows sealed into a hash chain, and a check that walks it.

Rows are sealed after they commit, in the order a sealing run finds them (`chain_seq`), not by id: a long
transaction can commit a lower id after a higher one, and a chain by id would then have to be rewritten.
Each sealed row's hash covers its content and the previous row's hash, so changing, deleting or inserting
a sealed row breaks every hash after it. The database itself refuses UPDATE and DELETE of audit rows
(migration 0009) except the one sealing update of a row's empty chain columns.
"""

import dataclasses
import hashlib

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from registry.audit import AuditEvent
from registry.extensions import db

GENESIS = "0" * 64
SEAL_BATCH = 5000


def row_digest(previous: str, event: AuditEvent) -> str:
    """The hash of one row's content chained to the previous row's hash."""
    fields = (
        event.id,
        event.occurred_at.isoformat() if event.occurred_at else "",
        event.user_id,
        event.username,
        event.entity,
        event.entity_id,
        event.action,
        event.summary,
        event.request_id,
        event.ip_address,
    )
    content = "\x1f".join("" if value is None else str(value) for value in fields)
    return hashlib.sha256(f"{previous}\x1e{content}".encode()).hexdigest()


def _head() -> tuple[int, str]:
    last = db.session.execute(
        sa.select(AuditEvent.chain_seq, AuditEvent.chain_hash)
        .where(AuditEvent.chain_seq.is_not(None))
        .order_by(AuditEvent.chain_seq.desc())
        .limit(1)
    ).first()
    return (last.chain_seq, last.chain_hash) if last else (0, GENESIS)


def seal(limit: int = SEAL_BATCH) -> int:
    """Seal up to `limit` unsealed rows onto the chain and return how many; flushes, never commits."""
    if db.session.get_bind().dialect.name == "postgresql":
        # One sealer at a time, whatever the number of workers: the chain has a single head.
        db.session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('registry.audit_chain'))"))
    seq, previous = _head()
    rows = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.chain_seq.is_(None)).order_by(AuditEvent.id).limit(limit)
    ).all()
    for event in rows:
        seq += 1
        previous = row_digest(previous, event)
        event.chain_seq, event.chain_hash = seq, previous
    db.session.flush()
    return len(rows)


@dataclasses.dataclass(frozen=True)
class ChainReport:
    sealed: int
    unsealed: int
    broken_at_seq: int | None  # the first sealed row whose hash does not follow, or None

    @property
    def intact(self) -> bool:
        return self.broken_at_seq is None


def verify(batch: int = SEAL_BATCH) -> ChainReport:
    """Walk the chain from the start and recompute every hash; a gap in the sequence breaks it too."""
    previous, expected_seq, sealed = GENESIS, 1, 0
    after = 0
    while True:
        rows = db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.chain_seq > after)
            .order_by(AuditEvent.chain_seq)
            .limit(batch)
        ).all()
        if not rows:
            break
        for event in rows:
            if event.chain_seq != expected_seq or event.chain_hash != row_digest(previous, event):
                return ChainReport(sealed, _unsealed(), expected_seq)
            previous, expected_seq, sealed = event.chain_hash, expected_seq + 1, sealed + 1
        after = rows[-1].chain_seq
        db.session.expunge_all()
    return ChainReport(sealed, _unsealed(), None)


def _unsealed() -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.chain_seq.is_(None))
    )


@click.group("audit")
def audit_command() -> None:
    """The audit trail's hash chain."""


@audit_command.command("seal")
@with_appcontext
def seal_command() -> None:
    """Seal every committed audit row onto the chain."""
    total = 0
    while sealed := seal():
        db.session.commit()
        total += sealed
    click.echo(f"sealed {total} audit rows")


@audit_command.command("verify")
@with_appcontext
def verify_command() -> None:
    """Recompute the chain; exit 1 if any sealed row was changed, removed or inserted."""
    report = verify()
    if report.intact:
        click.echo(f"audit chain intact: {report.sealed} rows sealed, {report.unsealed} not sealed yet")
        return
    click.echo(
        f"audit chain BROKEN at sequence {report.broken_at_seq} ({report.sealed} rows verified before it)"
    )
    raise SystemExit(1)
