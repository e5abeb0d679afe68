"""Late corrections: an entry dated in a month whose report is approved needs a reason (security.md item 8).

Clinical truth never waits on paperwork: the result or case entry is recorded as usual, and its reason is kept
here, audited, and listed in the next report; the approved report and its snapshot never change. The edges ask
`approved_month` before saving and call `record_late_correction` in the same transaction.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from registry import audit
from registry.audit import Actor
from registry.extensions import db
from registry.institutions import Institution
from screenings.engine import LOCAL_TZ
from screenings.reports.models import LateCorrection, MonthlyReport

REASON_LENGTH = 500


class ReasonRequired(ValueError):
    """The entry falls in an approved month and no reason was given."""

    def __init__(self, month: str) -> None:
        super().__init__(f"{month} is approved: a late correction needs a reason")
        self.month = month


def approved_month(institution: Institution, when: dt.datetime) -> str | None:
    """Return the month (2026-11) of an instant if the institution's district has approved its report."""
    district = institution.district
    if district is None:
        return None
    month = when.astimezone(LOCAL_TZ).strftime("%Y-%m")
    approved = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(MonthlyReport)
        .where(
            MonthlyReport.district_code == district.code,
            MonthlyReport.month == month,
            MonthlyReport.approved_at.is_not(None),
        )
    )
    return month if approved else None


def any_approved(district_code: str) -> bool:
    """Has the district approved any monthly report (else no entry can be a late correction)?"""
    return (
        db.session.scalar(
            sa.select(MonthlyReport.id)
            .where(MonthlyReport.district_code == district_code, MonthlyReport.approved_at.is_not(None))
            .limit(1)
        )
        is not None
    )


def check_reason(institution: Institution, when: dt.datetime, reason: str | None) -> str | None:
    """Return the approved month an entry falls in, or None; raise ReasonRequired if it has no reason."""
    month = approved_month(institution, when)
    if month is not None and not (reason or "").strip():
        raise ReasonRequired(month)
    return month


def record_late_correction(
    institution: Institution,
    month: str,
    program: str,
    entity: str,
    entity_id: int,
    reason: str,
    actor: Actor,
    now: dt.datetime,
) -> LateCorrection:
    """Keep a late correction's reason for the next report and audit it (the reason stays out of the log)."""
    correction = LateCorrection(
        district_code=institution.district.code, month=month, program=program,
        institution_code=institution.code, entity=entity, entity_id=entity_id,
        reason=reason.strip()[:REASON_LENGTH], recorded_at=now,
        recorded_by_id=actor.user_id, recorded_by_name=actor.username,
    )  # fmt: skip
    db.session.add(correction)
    db.session.flush()
    audit.record(actor, now, entity, entity_id, "LATE_CORRECTION", f"{program} {month}")
    return correction


def corrections_between(district_code: str, after: dt.datetime, until: dt.datetime) -> list[dict]:
    """The late corrections of a district recorded after one cut-off and up to the next, oldest first."""
    rows = db.session.scalars(
        sa.select(LateCorrection)
        .where(
            LateCorrection.district_code == district_code,
            LateCorrection.recorded_at > after,
            LateCorrection.recorded_at <= until,
        )
        .order_by(LateCorrection.recorded_at, LateCorrection.id)
    )
    return [
        {
            "month": c.month, "program": c.program, "institution": c.institution_code, "entity": c.entity,
            "recorded_on": c.recorded_at.astimezone(LOCAL_TZ).date().isoformat(), "reason": c.reason,
        }
        for c in rows
    ]  # fmt: skip
