"""The figures on each role's landing page, read within the user's scope."""

import datetime as dt
import time

import sqlalchemy as sa

from registry.auth.access import Scope
from registry.auth.models import User
from registry.extensions import db
from registry.institutions import Institution
from registry.people.models import Person

# Counting a district's people reads millions of index entries: the figure is kept for a few minutes per
# scope (and per web process) instead of being recounted on every view of a coordinator's home page.
PEOPLE_COUNT_SECONDS = 300
_people_counts: dict[frozenset[int] | None, tuple[float, dt.datetime, dict[int, int]]] = {}


def _people_counts_of(scope: Scope, now: dt.datetime) -> tuple[dt.datetime, dict[int, int]]:
    """People per institution in scope, counted at most every few minutes per scope and web process."""
    cached = _people_counts.get(scope.institution_ids)
    if cached is None or time.monotonic() - cached[0] > PEOPLE_COUNT_SECONDS:
        counts = dict(
            db.session.execute(
                sa.select(Person.institution_id, sa.func.count())
                .where(scope.filter(Person.institution_id))
                .group_by(Person.institution_id)
            ).all()
        )
        cached = _people_counts[scope.institution_ids] = (time.monotonic(), now, counts)
    _, counted_at, counts = cached
    return counted_at, counts


def people_by_institution(
    scope: Scope, now: dt.datetime
) -> tuple[list[tuple[Institution, int]], dt.datetime]:
    """People per facility in scope, and when they were counted."""
    counted_at, counts = _people_counts_of(scope, now)
    institutions = db.session.scalars(
        sa.select(Institution).where(scope.filter(Institution.id)).order_by(Institution.code)
    )
    return [(i, counts.get(i.id, 0)) for i in institutions if i.is_facility], counted_at


def recent_people_query(institution_id: int, limit: int = 10) -> sa.Select:
    """An institution's most recently registered people, newest first (ix_person_institution_recent)."""
    return (
        sa.select(Person)
        .where(Person.institution_id == institution_id)
        .order_by(Person.created_at.desc(), Person.id.desc())
        .limit(limit)
    )


def clinic_figures(institution_id: int, now: dt.datetime) -> dict:
    """The institution's most recently registered people, and how many it has (kept a few minutes too:
    a busy community centre holds tens of thousands, read from the heap on every count)."""
    counted_at, counts = _people_counts_of(Scope(frozenset({institution_id}), read_only=True), now)
    return {
        "recent_people": db.session.scalars(recent_people_query(institution_id)).all(),
        "people_count": counts.get(institution_id, 0),
        "counted_at": counted_at,
    }


def administrator_figures(now: dt.datetime) -> dict:
    """How many institutions and users there are, and who is locked out now."""
    return {
        "institution_count": db.session.scalar(sa.select(sa.func.count()).select_from(Institution)),
        "user_count": db.session.scalar(sa.select(sa.func.count()).select_from(User)),
        "locked_users": db.session.scalars(sa.select(User).where(User.locked_until > now)).all(),
    }
