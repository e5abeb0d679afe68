"""The landing page of each role, and the auditor's read-only view of the audit trail."""

import sqlalchemy as sa
from flask import Blueprint, g, render_template, request

from registry import home_figures
from registry.audit import AuditEvent
from registry.auth.access import may_read_audit_trail
from registry.auth.models import Role
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


@bp.route("/audit")
@permission_required(may_read_audit_trail)
def audit_trail():
    before_id = request.args.get("before", type=int)
    query = sa.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(100)
    if before_id:
        query = query.where(AuditEvent.id < before_id)
    events = db.session.scalars(query).all()
    return render_template("audit.html", events=events)
