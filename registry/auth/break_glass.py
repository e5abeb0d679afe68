"""Break the glass: a user who does not work on a restricted program states why they must open a record.

The grant covers one person's restricted records for a short time; granting is audited, and so is
every view made under it (security.md §1.7 items 2, 3 and 18). Whether a user may open a record is
decided by the access policy (`registry.auth.access`, `screenings.access`), not here.
"""

import datetime as dt

from registry import audit
from registry.audit import Actor
from registry.auth.models import BreakGlassGrant, User
from registry.extensions import db

GRANT_MINUTES = 30


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
