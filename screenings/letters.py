"""The recall letter (召回通知书) a clinic prints or posts to a family with a case to follow up."""

from __future__ import annotations

import datetime as dt

from flask import render_template
from flask_babel import force_locale

from registry.pdf import render_pdf
from screenings.models import FollowUpCase


def render_recall_letter(case: FollowUpCase, now: dt.datetime) -> bytes:
    """Render the letter in Chinese whatever the reader's language: it goes to the family."""
    with force_locale("zh_CN"):
        html = render_template(
            "screenings/letter.html",
            case=case,
            person=case.person,
            result=case.opening_result,
            institution=case.responsible_institution,
            issued_at=now,
            overdue=case.due_at is not None and case.due_at < now,
        )
    return render_pdf(html)
