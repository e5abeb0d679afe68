"""The landing page of each role, and the auditor's read-only view of the audit trail."""

import datetime as dt

import sqlalchemy as sa
from flask import Blueprint, g, render_template, request

from registry import home_figures
from registry.audit import AuditEvent
from registry.auth.access import may_read_audit_trail
from registry.auth.models import Role, User
from registry.clock import SHANGHAI
from registry.extensions import db
from registry.web import current_scope, login_required, permission_required, utcnow

bp = Blueprint("home", __name__)


@bp.route("/")
@login_required
def index():
    user = g.user
    scope = current_scope()
    context = {"role": user.role}
    if user.role == Role.CLINIC_STAFF:
        context.update(home_figures.clinic_figures(user.institution_id))
    elif user.role == Role.SYSTEM_ADMIN:
        context.update(home_figures.administrator_figures(utcnow()))
    else:
        context["by_institution"], context["counted_at"] = home_figures.people_by_institution(scope, utcnow())
    return render_template("home.html", **context)


def _local_day_start(text: str | None) -> dt.datetime | None:
    """The UTC instant a local (Asia/Shanghai) calendar day starts, from an ISO date; None if blank or bad."""
    try:
        day = dt.date.fromisoformat((text or "").strip())
    except ValueError:
        return None
    return dt.datetime.combine(day, dt.time(), SHANGHAI).astimezone(dt.UTC)


def _audit_user_clause():
    """Whose row it is: the acting user, or for a login (written before anyone is in) the user it names."""
    return sa.or_(
        User.id == AuditEvent.user_id,
        sa.and_(
            AuditEvent.user_id.is_(None),
            AuditEvent.entity == "user",
            AuditEvent.entity_id == sa.cast(User.id, sa.String),
        ),
    )


@bp.route("/audit")
@permission_required(may_read_audit_trail)
def audit_trail():
    """The audit trail, newest first, narrowed by user, action, record and local date range."""
    args = request.args
    filters = {
        key: (args.get(key) or "").strip() for key in ("user", "action", "entity", "entity_id", "from", "to")
    }
    query = (
        sa.select(AuditEvent, User)
        .outerjoin(User, _audit_user_clause())
        .order_by(AuditEvent.id.desc())
        .limit(100)
    )
    before_id = args.get("before", type=int)
    if before_id:
        query = query.where(AuditEvent.id < before_id)
    if filters["user"]:
        # A login is written before anyone is logged in (as "anonymous"), so the user row names it too.
        query = query.where(sa.or_(AuditEvent.username == filters["user"], User.username == filters["user"]))
    if filters["action"]:
        query = query.where(AuditEvent.action == filters["action"].upper())
    if filters["entity"]:
        query = query.where(AuditEvent.entity == filters["entity"])
    if filters["entity_id"]:
        query = query.where(AuditEvent.entity_id == filters["entity_id"])
    start = _local_day_start(filters["from"])
    if start is not None:
        query = query.where(AuditEvent.occurred_at >= start)
    end = _local_day_start(filters["to"])
    if end is not None:
        query = query.where(AuditEvent.occurred_at < end + dt.timedelta(days=1))
    rows = db.session.execute(query).all()
    actions = db.session.scalars(sa.select(AuditEvent.action).distinct().order_by(AuditEvent.action)).all()
    return render_template(
        "audit.html",
        rows=rows,
        events=[event for event, _user in rows],
        filters=filters,
        actions=actions,
        paging={key: value for key, value in filters.items() if value},
    )
