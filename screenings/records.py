"""What the person and result pages read of screenings: a person's results and cases, a result's case."""

from __future__ import annotations

import sqlalchemy as sa

from registry.extensions import db
from screenings.models import CaseEvent, FollowUpCase, ScreeningResult


def results_of(person_id: int) -> list[ScreeningResult]:
    """The person's results, the latest first."""
    return list(
        db.session.scalars(
            sa.select(ScreeningResult)
            .where(ScreeningResult.person_id == person_id)
            .order_by(ScreeningResult.performed_at.desc())
        )
    )


def cases_of(person_id: int) -> list[FollowUpCase]:
    """The person's follow-up cases, the most recently opened first."""
    return list(
        db.session.scalars(
            sa.select(FollowUpCase)
            .where(FollowUpCase.person_id == person_id)
            .order_by(FollowUpCase.opened_at.desc())
        )
    )


def case_of_result(result_id: int) -> FollowUpCase | None:
    """The case this result opened or moved on, if any."""
    return db.session.scalar(
        sa.select(FollowUpCase)
        .join(CaseEvent, CaseEvent.case_id == FollowUpCase.id)
        .where(CaseEvent.result_id == result_id)
        .limit(1)
    )
