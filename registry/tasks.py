"""Background jobs of the registry kernel: ids and dates in, one service call, safe to run twice."""

from flask import current_app

from registry import job_records
from registry.auth.services import LoginPolicy, purge_expired_sessions
from registry.extensions import db
from registry.jobs import utc_now


def purge_expired_login_sessions() -> int:
    """Delete login sessions past their idle or absolute limit."""
    removed = purge_expired_sessions(utc_now(), LoginPolicy.from_config(current_app.config))
    db.session.commit()
    return removed


def requeue_waiting_jobs() -> int:
    """Queue the recorded jobs that were started while Redis was down (commits as it goes)."""
    sent = job_records.requeue_waiting_jobs(utc_now())
    db.session.commit()
    return sent


def seal_audit_trail() -> int:
    """Seal the audit rows committed since the last run onto the hash chain (registry/audit_chain.py)."""
    from registry.audit_chain import seal

    total = 0
    while sealed := seal():
        db.session.commit()
        total += sealed
    return total
