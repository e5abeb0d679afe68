"""The facts a case is made of: how it was opened and the append-only events since."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from .classify import Classification
from .declarations import Program
from .times import as_utc
from .vocabulary import CaseReason, ClosureOutcome, ContactChannel, ContactOutcome, EventKind, Subject

# Key of a STEP_RESULT's data holding a clinician-booked date for the next step ("per cardiologist").
SCHEDULED_DUE_AT = "scheduled_due_at"
# Key of a CONTACT_ATTEMPT's data marking an automated reminder (an SMS sent by the reminder job). It is on
# the timeline but is not one of the documented attempts the lost-to-follow-up rule counts (§0.4): reminders
# follow the calendar, so counting them would make a loss out of time alone, which §0.2 forbids.
AUTOMATED = "automated"


class CaseEventError(ValueError):
    """An event that cannot happen to the case as it stands."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class OpenedCase:
    """Why and when a case was opened, for whom, and the step it starts at."""

    reason: CaseReason
    first_step: str
    opened_at: datetime
    subject: Subject
    result_code: str | None = None
    track: str | None = None  # e.g. URGENT, HIGH_GRADE: picks a step's alternative deadline
    scheduled_due_at: datetime | None = None  # a booked date (e.g. a delayed-collection appointment)
    # The district's setting overrides in force when the case was opened: the case keeps them for its
    # whole life, so a later change of the district's settings never rewrites its history.
    overrides: Mapping[str, object] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        as_utc(self.opened_at, "opened_at")


@dataclass(frozen=True, slots=True)
class CaseEventFact:
    """One event on a case's timeline, as the engine reads it."""

    kind: EventKind
    occurred_at: datetime
    step: str | None = None
    result_code: str | None = None
    outcome: ClosureOutcome | None = None
    channel: ContactChannel | None = None
    reached: bool | None = None
    contact_outcome: ContactOutcome | None = None
    data: Mapping[str, object] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        as_utc(self.occurred_at, "occurred_at")


def open_case(classification: Classification, subject: Subject, opened_at: datetime) -> OpenedCase:
    """Return the opening of the case a classification calls for."""
    if (
        not classification.opens_case
        or classification.case_reason is None
        or classification.first_step is None
    ):
        raise ValueError(f"{classification.result_code} does not open a case")
    return OpenedCase(
        reason=classification.case_reason,
        first_step=classification.first_step,
        opened_at=opened_at,
        subject=subject,
        result_code=classification.result_code,
        track=classification.track,
        scheduled_due_at=classification.scheduled_due_at,
    )


def open_exposed_infant_case(program: Program, infant: Subject, opened_at: datetime) -> OpenedCase:
    """Return the opening of an exposed infant's case when a positive mother delivers (PMTCT)."""
    if program.exposed_infant is None:
        raise ValueError(f"{program.code} has no exposed-infant schedule")
    return OpenedCase(CaseReason.EXPOSED_INFANT, program.exposed_infant.first_step, opened_at, infant)


def open_missed_screening_case(program: Program, subject: Subject, opened_at: datetime) -> OpenedCase:
    """Return the opening of a case for a birth with no screen in the window (漏筛)."""
    if program.screening_window is None:
        raise ValueError(f"{program.code} has no screening window")
    window = program.screening_window
    return OpenedCase(
        CaseReason.MISSED_SCREENING, window.missed_step, opened_at, subject, track=window.missed_track
    )
