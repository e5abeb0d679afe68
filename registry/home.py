"""The landing page of each role, and the auditor's read-only view of the audit trail."""

import datetime as dt
import time

import sqlalchemy as sa
from flask import Blueprint, g, render_template, request

from registry.audit import AuditEvent
from registry.auth.access import may_read_audit_trail
from registry.auth.models import Role, User
from registry.extensions import db
from registry.institutions import Institution
from registry.people.models import Person
from registry.web import current_scope, login_required, permission_required, utcnow

bp = Blueprint("home", __name__)


# Counting a district's people reads millions of index entries: the figure is kept for a few minutes per
# scope (and per web process) instead of being recounted on every view of a coordinator's home page.
PEOPLE_COUNT_SECONDS = 300
_people_counts: dict[frozenset[int] | None, tuple[float, dt.datetime, dict[int, int]]] = {}


def _people_by_institution(scope) -> tuple[list[tuple[Institution, int]], dt.datetime]:
    """People per facility in scope, and when they were counted."""
    cached = _people_counts.get(scope.institution_ids)
    if cached is None or time.monotonic() - cached[0] > PEOPLE_COUNT_SECONDS:
        counts = dict(
            db.session.execute(
                sa.select(Person.institution_id, sa.func.count())
                .where(scope.filter(Person.institution_id))
                .group_by(Person.institution_id)
            ).all()
        )
        cached = _people_counts[scope.institution_ids] = (time.monotonic(), utcnow(), counts)
    _, counted_at, counts = cached
    institutions = db.session.scalars(
        sa.select(Institution).where(scope.filter(Institution.id)).order_by(Institution.code)
    )
    return [(i, counts.get(i.id, 0)) for i in institutions if i.is_facility], counted_at


@bp.route("/")
@login_required
def index():
    user = g.user
    scope = current_scope()
    context = {"role": user.role}
    if user.role == Role.CLINIC_STAFF:
        context["recent_people"] = db.session.scalars(
            sa.select(Person)
            .where(Person.institution_id == user.institution_id)
            .order_by(Person.created_at.desc(), Person.id.desc())
            .limit(10)
        ).all()
        context["people_count"] = db.session.scalar(
            sa.select(sa.func.count()).select_from(Person).where(Person.institution_id == user.institution_id)
        )
    elif user.role == Role.SYSTEM_ADMIN:
        now = utcnow()
        context["institution_count"] = db.session.scalar(sa.select(sa.func.count()).select_from(Institution))
        context["user_count"] = db.session.scalar(sa.select(sa.func.count()).select_from(User))
        context["locked_users"] = db.session.scalars(sa.select(User).where(User.locked_until > now)).all()
    else:
        context["by_institution"], context["counted_at"] = _people_by_institution(scope)
    return render_template("home.html", **context)


@bp.route("/audit")
@permission_required(may_read_audit_trail)
def audit_trail():
    before_id = request.args.get("before", type=int)
    query = sa.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(100)
    if before_id:
        query = query.where(AuditEvent.id < before_id)
    events = db.session.scalars(query).all()
    return render_template("audit.html", events=events)
