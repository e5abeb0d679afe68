"""Break the glass: a user who does not work on a restricted program states why they must open a record.

The grant covers one person's restricted records for a short time; granting is audited, and so is
every view made under it (security.md §1.7 items 2, 3 and 18).
"""

import datetime as dt

import sqlalchemy as sa

from registry import audit
from registry.audit import Actor
from registry.auth.models import BreakGlassGrant, User
from registry.extensions import db

GRANT_MINUTES = 30


def may_open_restricted(user: User) -> bool:
    """Tell whether the user works on the restricted programs and needs no grant."""
    return bool(user.sees_restricted_records)


def active_grant(user: User, person_id: int, now: dt.datetime) -> BreakGlassGrant | None:
    return db.session.scalar(
        sa.select(BreakGlassGrant)
        .where(
            BreakGlassGrant.user_id == user.id,
            BreakGlassGrant.person_id == person_id,
            BreakGlassGrant.expires_at > now,
        )
        .order_by(BreakGlassGrant.expires_at.desc())
        .limit(1)
    )


def may_open_restricted_for(user: User, person_id: int, now: dt.datetime) -> bool:
    return may_open_restricted(user) or active_grant(user, person_id, now) is not None


def break_glass(
    user: User, person_id: int, reason: str, actor: Actor, now: dt.datetime, minutes: int = GRANT_MINUTES
) -> BreakGlassGrant:
    """Record the stated reason and open the person's restricted records to the user for a while."""
    reason = reason.strip()
    if len(reason) < 10:
        raise ValueError("a reason of at least 10 characters is required")
    grant = BreakGlassGrant(
        user_id=user.id,
        person_id=person_id,
        reason=reason,
        granted_at=now,
        expires_at=now + dt.timedelta(minutes=minutes),
    )
    db.session.add(grant)
    db.session.flush()
    # The reason goes to the audit trail too: reviewers read it there beside the views it allowed.
    audit.record(actor, now, "person", person_id, "BREAK_GLASS", f"grant {grant.id}: {reason}")
    return grant
