"""The landing page of each role, and the auditor's read-only view of the audit trail."""

import csv
import datetime as dt
import io

import sqlalchemy as sa
from flask import Blueprint, Response, g, render_template, request, url_for

from registry import audit, home_figures, hooks
from registry.audit import AuditEvent
from registry.auth.access import may_read_audit_trail
from registry.auth.models import Role, User
from registry.clock import SHANGHAI
from registry.exports import safe_cell
from registry.extensions import db
from registry.i18n import local_datetime
from registry.labels import audit_action_label
from registry.web import current_actor, current_scope, login_required, permission_required, utcnow

bp = Blueprint("home", __name__)


@bp.route("/")
@login_required
def index():
    user = g.user
    scope = current_scope()
    context = {"role": user.role}
    if user.role == Role.CLINIC_STAFF:
        context.update(home_figures.clinic_figures(user.institution_id, utcnow()))
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


def _filters() -> dict:
    return {
        key: (request.args.get(key) or "").strip()
        for key in ("user", "action", "entity", "entity_id", "from", "to")
    }


def _audit_query(filters: dict):
    """The audit rows (with the user each concerns) matching the filters, newest first."""
    query = sa.select(AuditEvent, User).outerjoin(User, _audit_user_clause()).order_by(AuditEvent.id.desc())
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
    return query


@bp.route("/audit")
@permission_required(may_read_audit_trail)
def audit_trail():
    """The audit trail, newest first, narrowed by user, action, record and local date range."""
    filters = _filters()
    query = _audit_query(filters).limit(100)
    before_id = request.args.get("before", type=int)
    if before_id:
        query = query.where(AuditEvent.id < before_id)
    rows = db.session.execute(query).all()
    actions = db.session.scalars(sa.select(AuditEvent.action).distinct().order_by(AuditEvent.action)).all()
    return render_template(
        "audit.html",
        rows=rows,
        events=[event for event, _user in rows],
        filters=filters,
        actions=actions,
        paging={key: value for key, value in filters.items() if value},
        record_link=record_link,
    )


KERNEL_RECORD_LINKS = {"person": ("people.detail", "person_id")}


def record_link(event: AuditEvent) -> str | None:
    """The page of the record an audit row concerns, where there is one (the page itself checks access)."""
    links = {**KERNEL_RECORD_LINKS, **hooks.current().audit_record_links}
    if event.entity not in links or not (event.entity_id or "").isdigit():
        return None
    endpoint, argument = links[event.entity]
    return url_for(endpoint, **{argument: int(event.entity_id)})


EXPORT_LIMIT = 50_000


@bp.route("/audit.csv")
@permission_required(may_read_audit_trail)
def audit_trail_csv():
    """The filtered audit trail as CSV (UTF-8 with BOM for spreadsheets); the export itself is audited."""
    filters = _filters()
    rows = db.session.execute(_audit_query(filters).limit(EXPORT_LIMIT)).all()
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(
        [
            "id",
            "occurred_at",
            "user",
            "full_name",
            "action",
            "action_label",
            "entity",
            "entity_id",
            "summary",
            "request_id",
        ]
    )
    for event, user in rows:
        writer.writerow(
            safe_cell(value)
            for value in [
                event.id,
                local_datetime(event.occurred_at),
                user.username if user is not None else event.username,
                user.full_name if user is not None else "",
                event.action,
                audit_action_label(event.action),
                event.entity,
                event.entity_id or "",
                event.summary,
                event.request_id or "",
            ]
        )
    described = ", ".join(f"{key}={value}" for key, value in filters.items() if value) or "no filter"
    audit.record(current_actor(), utcnow(), "audit_event", None, "EXPORT", f"{len(rows)} rows ({described})")
    db.session.commit()
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=audit-trail.csv"},
    )
