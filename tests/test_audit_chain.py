"""The audit trail is append-only in the database and tamper-evident: `registry audit verify` tells."""

import datetime as dt

import pytest
import sqlalchemy as sa

from registry import audit, audit_chain
from registry.audit import Actor, AuditEvent

NOW = dt.datetime(2026, 12, 2, 1, 0, tzinfo=dt.UTC)


@pytest.fixture
def trail(db_session):
    for n in range(5):
        audit.record(Actor(user_id=None, username="clinic"), NOW, "person", n, "READ", f"viewed {n}")
    db_session.flush()
    audit_chain.seal()
    return db_session


def _a_sealed_row_in_the_middle(db_session) -> AuditEvent:
    newest = db_session.scalar(sa.select(sa.func.max(AuditEvent.chain_seq)))
    return db_session.scalar(sa.select(AuditEvent).where(AuditEvent.chain_seq == newest - 2))


def _without_guard(db_session):
    """Act as someone who got past the database's refusal (a superuser), inside the test's transaction."""
    if db_session.get_bind().dialect.name == "postgresql":
        db_session.execute(sa.text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_change"))
    else:
        db_session.execute(sa.text("DROP TRIGGER audit_event_no_update"))
        db_session.execute(sa.text("DROP TRIGGER audit_event_no_delete"))


def test_sealed_rows_verify_as_an_intact_chain(trail):
    report = audit_chain.verify()
    assert report.intact and report.sealed >= 5 and report.unsealed == 0


def test_rows_committed_later_are_sealed_after_the_others(trail):
    audit.record(Actor(user_id=None, username="clinic"), NOW, "person", 99, "READ", "late")
    trail.flush()
    assert audit_chain.verify().unsealed == 1
    assert audit_chain.seal() == 1
    assert audit_chain.verify().intact


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_event SET summary = 'nothing happened'", "DELETE FROM audit_event"]
)
def test_the_database_refuses_to_change_or_delete_audit_rows(trail, statement):
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), trail.begin_nested():
        trail.execute(sa.text(statement))


def test_a_changed_row_breaks_the_chain_where_it_was_changed(trail):
    target = _a_sealed_row_in_the_middle(trail)
    _without_guard(trail)
    trail.execute(sa.update(AuditEvent).where(AuditEvent.id == target.id).values(summary="nothing happened"))
    trail.expire_all()
    report = audit_chain.verify()
    assert report.broken_at_seq == target.chain_seq


def test_a_deleted_row_breaks_the_chain(trail):
    target = _a_sealed_row_in_the_middle(trail)
    _without_guard(trail)
    seq = target.chain_seq
    trail.execute(sa.delete(AuditEvent).where(AuditEvent.id == target.id))
    trail.expire_all()
    assert audit_chain.verify().broken_at_seq == seq


def test_registry_audit_verify_reports_on_the_command_line(app, trail):
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "intact" in result.output
