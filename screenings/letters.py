"""The recall letter (召回通知书) a clinic prints or posts to a family with a case to follow up."""

from __future__ import annotations

import datetime as dt

from flask import render_template
from flask_babel import force_locale

from registry.pdf import render_pdf
from screenings.access import restricted_programs
from screenings.models import FollowUpCase


def recall_letter_html(case: FollowUpCase, now: dt.datetime) -> str:
    """Write the letter in Chinese whatever the reader's language: it goes to the family.

    Paper travels: it asks the person to come (where, by when, whom to call) and never states a result, a
    diagnosis or, for a restricted program, even which screening it is about.
    """
    with force_locale("zh_CN"):
        return render_template(
            "screenings/letter.html",
            case=case,
            person=case.person,
            result=case.opening_result,
            institution=case.responsible_institution,
            issued_at=now,
            overdue=case.due_at is not None and case.due_at < now,
            restricted=case.program in restricted_programs(),
        )


def render_recall_letter(case: FollowUpCase, now: dt.datetime) -> bytes:
    """Render the recall letter as a PDF."""
    return render_pdf(recall_letter_html(case, now))
