"""Correcting a stored result's values, with a reason; the old values are kept beside it.

The safe first cut: a correction may change what was measured (a mistyped date, a value) only while the
result's classification stays the same and no follow-up case was opened, advanced or noted by it. A
correction that would change the result code or findings, or that concerns a case, is refused: a person
decides it in the registry, through the case's own actions (the one writer of case events). The corrected
result's indicator facts are recomputed before commit, like any other change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from registry import audit
from registry.audit import Actor
from registry.db import UTCDateTime
from registry.extensions import db
from registry.people.models import Person
from screenings.engine import FieldError
from screenings.indicators.facts import mark_stale
from screenings.models import CaseEvent, FollowUpCase, ScreeningResult
from screenings.programs import get_program
from screenings.results.classification import classified, jsonable, performed_at_of

REASON_MIN, REASON_MAX = 5, 500


class ResultCorrection(db.Model):
    """One correction of a result: who, when, why, and the values it replaced (never updated)."""

    __tablename__ = "result_correction"

    id: Mapped[int] = mapped_column(primary_key=True)
    result_id: Mapped[int] = mapped_column(sa.ForeignKey("screening_result.id"), index=True)
    corrected_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    corrected_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    corrected_by_name: Mapped[str] = mapped_column(sa.String(80))
    reason: Mapped[str] = mapped_column(sa.Text)
    old_values: Mapped[dict] = mapped_column(sa.JSON)
    old_performed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    new_values: Mapped[dict] = mapped_column(sa.JSON)


class CorrectionRefused(ValueError):
    """Why a correction is not made; nothing was changed."""

    def __init__(self, code: str, message: str, errors: tuple[FieldError, ...] = ()) -> None:
        super().__init__(message)
        self.code, self.message, self.errors = code, message, tuple(errors)


def correct_result(
    result: ScreeningResult,
    person: Person,
    values: Mapping[str, object],
    reason: str,
    actor: Actor,
    now: dt.datetime,
) -> ResultCorrection:
    """Replace a result's measured values, keeping the old ones; raise CorrectionRefused if it may not."""
    reason = (reason or "").strip()
    if not REASON_MIN <= len(reason) <= REASON_MAX:
        raise CorrectionRefused(
            "REASON_REQUIRED", f"a correction needs a reason of {REASON_MIN}–{REASON_MAX} characters"
        )
    if person.id != result.person_id:
        raise CorrectionRefused("OTHER_PERSON", "a correction cannot move a result to another person")
    program = get_program(result.program)
    _subject, classification = classified(person, program, result.test, values)
    if not classification.ok:
        raise CorrectionRefused("INVALID", "the corrected values are not valid", classification.errors)
    if (classification.result_code, list(classification.findings)) != (
        result.result_code,
        list(result.findings),
    ):
        raise CorrectionRefused(
            "CHANGES_CLASSIFICATION",
            "the correction would change the result's classification: a person decides it",
        )
    touched = db.session.scalar(
        sa.select(sa.func.count()).select_from(CaseEvent).where(CaseEvent.result_id == result.id)
    ) or db.session.scalar(
        sa.select(sa.func.count())
        .select_from(FollowUpCase)
        .where(FollowUpCase.opening_result_id == result.id)
    )
    if touched:
        raise CorrectionRefused(
            "CONCERNS_A_CASE", "the result concerns a follow-up case: a person decides it"
        )
    performed = performed_at_of(classification, program.test(result.test).performed_field, None, now)
    correction = ResultCorrection(
        result_id=result.id, corrected_at=now, corrected_by_id=actor.user_id,
        corrected_by_name=actor.username, reason=reason, old_values=dict(result.measured_values),
        old_performed_at=result.performed_at, new_values=jsonable(classification.values),
    )  # fmt: skip
    db.session.add(correction)
    result.measured_values = jsonable(classification.values)
    result.performed_at = performed
    db.session.flush()
    mark_stale({(person.id, result.program)})
    # The values stay out of the audit trail (they may be an HIV result): the correction row keeps them.
    audit.record(
        actor, now, "screening_result", result.id, "CORRECT", f"values corrected (correction {correction.id})"
    )
    return correction
