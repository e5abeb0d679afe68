"""Correcting a stored result's values, with a reason; the old values are kept beside it.

A correction may change what was measured (a mistyped date, a value). When it changes the result's
classification, follow-up goes as the case writer's paths decide: a result that now needs a case opens one
(as a new result would); the case a result opened, with nothing else done on it, closes as opened in error
when the result no longer needs one. A correction that concerns a case in any other way (the case moved on,
or the result advanced or was noted on a case) is refused: a person decides it in the registry, through
the case's own actions (the one writer of case events). The corrected
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
from screenings.engine import CaseStatus, ClosureOutcome, EventKind, FieldError
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
    subject, classification = classified(person, program, result.test, values)
    if not classification.ok:
        raise CorrectionRefused("INVALID", "the corrected values are not valid", classification.errors)
    reclassified = (classification.result_code, list(classification.findings)) != (
        result.result_code,
        list(result.findings),
    )
    opened_by_it = _case_opened_only_by(result)
    # The one correction of a result a case depends on that is made here: the case it opened and nothing
    # else happened on is closed as opened in error, when the result no longer needs a case.
    closes_its_case = reclassified and opened_by_it is not None and not classification.opens_case
    if _concerns_a_case(result) and not closes_its_case:
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
    if reclassified:
        result.result_code = classification.result_code
        result.findings = list(classification.findings)
        result.rule_version = classification.rule_version
    db.session.flush()
    if reclassified:
        _follow_correction(result, person, program, subject, classification, opened_by_it, reason, actor, now)
    mark_stale({(person.id, result.program)})
    # The values stay out of the audit trail (they may be an HIV result): the correction row keeps them.
    audit.record(
        actor, now, "screening_result", result.id, "CORRECT", f"values corrected (correction {correction.id})"
    )
    return correction


def _concerns_a_case(result: ScreeningResult) -> bool:
    """Did the result open a case, or did a case note or advance by it?"""
    return bool(
        db.session.scalar(
            sa.select(sa.func.count()).select_from(CaseEvent).where(CaseEvent.result_id == result.id)
        )
        or db.session.scalar(
            sa.select(sa.func.count())
            .select_from(FollowUpCase)
            .where(FollowUpCase.opening_result_id == result.id)
        )
    )


def _case_opened_only_by(result: ScreeningResult) -> FollowUpCase | None:
    """The open case this result opened if nothing else happened on it (no event but its opening) and no
    other case refers to the result; else None."""
    case = db.session.scalar(sa.select(FollowUpCase).where(FollowUpCase.opening_result_id == result.id))
    if case is None or case.status is CaseStatus.CLOSED:
        return None
    others = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(CaseEvent)
        .where(
            sa.or_(
                sa.and_(CaseEvent.case_id == case.id, CaseEvent.kind != EventKind.OPENED),
                sa.and_(CaseEvent.result_id == result.id, CaseEvent.case_id != case.id),
            )
        )
    )
    return None if others else case


def _follow_correction(result, person, program, subject, classification, opened_by_it, reason, actor, now):
    """What the changed classification means for follow-up, through the case writer's paths: the case the
    result opened (untouched since) closes as opened in error; a result that now needs a case opens one
    (or is noted on the person's open case) as a new result would."""
    from screenings.cases import CaseActionRefused, close_case
    from screenings.cases.chunk import ChunkFollowUp
    from screenings.results.recording import _follow_up

    if opened_by_it is not None:
        close_case(
            opened_by_it, ClosureOutcome.OPENED_IN_ERROR, actor, now,
            note=f"result {result.id} corrected: {reason}",
        )  # fmt: skip
        return
    if not classification.opens_case:
        return
    follow_up = ChunkFollowUp(program, [person], actor, now)
    row = {"test": result.test, "result_code": result.result_code, "performed_at": result.performed_at}
    try:
        _follow_up(follow_up, 0, person, row, classification, subject, result.institution_id)
    except CaseActionRefused as refused:
        message = f"the case cannot take the corrected result: {refused}"
        raise CorrectionRefused("CONCERNS_A_CASE", message) from refused
    follow_up.write({0: result.id})
