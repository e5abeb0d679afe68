"""In-app notifications for staff, and the page that lists them.

A notification names its subject generically (`subject_type`, `subject_id`) and a message kind with its
parameters; the kinds, their texts and their links are registered by the domain (`registry.hooks`), and
the text is rendered in the reader's language at display time. Personal data stays on the subject's
page, behind the access checks.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Blueprint, g, redirect, render_template, request, url_for
from sqlalchemy.orm import Mapped, mapped_column

from registry import hooks
from registry.db import UTCDateTime
from registry.extensions import db
from registry.web import login_required, utcnow


class Notification(db.Model):
    """One message for one user; read or not."""

    __tablename__ = "notification"
    __table_args__ = (
        sa.Index("ix_notification_user_unread", "user_id", "read_at", "created_at"),
        sa.Index("ix_notification_subject", "subject_type", "subject_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    kind: Mapped[str] = mapped_column(sa.String(40))
    # What the notification is about, named by the domain that sent it (e.g. "follow_up_case", 12).
    subject_type: Mapped[str | None] = mapped_column(sa.String(40))
    subject_id: Mapped[int | None]
    data: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The e-mail copy, when mail is configured and the user has an address.
    emailed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    email_error: Mapped[str | None] = mapped_column(sa.String(200))

    @property
    def text(self) -> str:
        """Return the message in the current language (the kind's registered text; else its code)."""
        kind = hooks.current().notification_kinds.get(self.kind)
        return self.kind if kind is None else kind.text(self)

    @property
    def link(self) -> str | None:
        """Return the page of the notification's subject, as its kind registered it."""
        kind = hooks.current().notification_kinds.get(self.kind)
        return None if kind is None else kind.link(self)


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
