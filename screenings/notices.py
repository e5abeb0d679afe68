"""The notification kinds screenings sends to staff: their texts and the page of their subject (a case).

Registered with the kernel's notifications in `screenings.wiring`; the kernel knows none of them.
"""

from __future__ import annotations

from flask import url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from registry.hooks import NotificationKind

NOTIFICATION_SUBJECT = "follow_up_case"
REMINDER_DUE_SOON = "REMINDER_DUE_SOON"
REMINDER_OVERDUE = "REMINDER_OVERDUE"

# What a reminder notification says, by kind; parameters come from its `data`.
MESSAGES = {
    REMINDER_DUE_SOON: _l("Case %(case)s: step %(step)s is due on %(due_on)s."),
    REMINDER_OVERDUE: _l("Case %(case)s: step %(step)s was due on %(due_on)s and is overdue."),
}


def _text(kind: str):
    def text(notification) -> str:
        data = notification.data or {}
        language = "zh" if str(get_locale() or "zh").startswith("zh") else "en"
        step = data.get(f"step_{language}") or data.get("step", "")
        return str(MESSAGES[kind]) % {
            "case": notification.subject_id,
            "step": step,
            "due_on": data.get("due_on", ""),
        }

    return text


def _case_link(notification) -> str | None:
    if notification.subject_type != NOTIFICATION_SUBJECT or notification.subject_id is None:
        return None
    return url_for("screenings.case_detail", case_id=notification.subject_id)


NOTIFICATION_KINDS = {kind: NotificationKind(text=_text(kind), link=_case_link) for kind in MESSAGES}
