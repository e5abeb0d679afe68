"""In-app notifications for staff (reminders of cases due and overdue), and the page that lists them.

A notification names a case by id and a message kind with its parameters; the text is rendered in the
reader's language at display time. Personal data stays on the case page, behind the access checks.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Blueprint, g, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from registry.db import UTCDateTime
from registry.extensions import db
from registry.web import login_required, utcnow

# What a notification says, by kind; parameters come from its `data`.
MESSAGES = {
    "REMINDER_DUE_SOON": _l("Case %(case)s: step %(step)s is due on %(due_on)s."),
    "REMINDER_OVERDUE": _l("Case %(case)s: step %(step)s was due on %(due_on)s and is overdue."),
}


class Notification(db.Model):
    """One message for one user; read or not."""

    __tablename__ = "notification"
    __table_args__ = (sa.Index("ix_notification_user_unread", "user_id", "read_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    kind: Mapped[str] = mapped_column(sa.String(40))
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("follow_up_case.id"), index=True)
    data: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The e-mail copy, when mail is configured and the user has an address.
    emailed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    email_error: Mapped[str | None] = mapped_column(sa.String(200))

    @property
    def text(self) -> str:
        """Return the message in the current language."""
        from flask_babel import get_locale

        template = MESSAGES.get(self.kind)
        if template is None:
            return self.kind
        data = self.data or {}
        language = "zh" if str(get_locale() or "zh").startswith("zh") else "en"
        step = data.get(f"step_{language}") or data.get("step", "")
        return str(template) % {"case": self.case_id, "step": step, "due_on": data.get("due_on", "")}


def unread_count(user_id: int) -> int:
    """Count a user's unread notifications (the navigation badge)."""
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
    )


bp = Blueprint("notifications", __name__)
# The navigation shows the unread count on every page.
bp.record_once(lambda state: state.app.jinja_env.globals.update(unread_notifications=unread_count))


@bp.route("/notifications")
@login_required
def index():
    notifications = db.session.scalars(
        sa.select(Notification)
        .where(Notification.user_id == g.user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(200)
    ).all()
    return render_template("notifications.html", notifications=notifications)


@bp.route("/notifications/read", methods=["POST"])
@login_required
def mark_read():
    now = utcnow()
    query = sa.update(Notification).where(Notification.user_id == g.user.id, Notification.read_at.is_(None))
    one = request.form.get("id", type=int)
    if one is not None:
        query = query.where(Notification.id == one)
    db.session.execute(query.values(read_at=now))
    db.session.commit()
    return redirect(url_for("notifications.index"))
