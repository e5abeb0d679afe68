"""A stored case as the engine reads it: its opening, its events, and its state replayed as of a moment."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from registry.extensions import db
from screenings.cases.subjects import subject_of
from screenings.cases.writer import apply_state
from screenings.engine import (
    SCHEDULED_DUE_AT,
    CaseEventFact,
    CaseState,
    EventKind,
    OpenedCase,
    Subject,
    derive_case_state,
)
from screenings.models import CaseEvent, FollowUpCase
from screenings.programs import get_program


def case_subject(case: FollowUpCase) -> Subject:
    """Return the subject a case's rules read: the person as they are, seen as the opening result saw them."""
    return subject_of(case.person, case.subject_kind, case.subject_traits)


def opened_case_of(case: FollowUpCase) -> OpenedCase:
    """Return the engine's view of how a case was opened."""
    return OpenedCase(
        reason=case.reason,
        first_step=case.first_step,
        opened_at=case.opened_at,
        subject=case_subject(case),
        result_code=case.opening_result_code,
        track=case.opening_track,
        scheduled_due_at=case.scheduled_due_at,
        overrides=dict(case.setting_overrides or {}),
    )


def event_fact(event: CaseEvent) -> CaseEventFact:
    """Return the engine's view of a stored event."""
    data = dict(event.data or {})
    if event.kind is EventKind.STEP_RESULT and event.next_appointment_at is not None:
        data[SCHEDULED_DUE_AT] = event.next_appointment_at
    return CaseEventFact(
        kind=event.kind,
        occurred_at=event.occurred_at,
        step=event.step,
        result_code=event.result_code,
        outcome=event.outcome,
        channel=event.channel,
        reached=event.reached,
        contact_outcome=event.contact_outcome,
        data=data,
    )


def case_events(case: FollowUpCase) -> list[CaseEvent]:
    """Return a case's events in the order they happened."""
    return list(
        db.session.scalars(
            sa.select(CaseEvent)
            .where(CaseEvent.case_id == case.id)
            .order_by(CaseEvent.occurred_at, CaseEvent.id)
        )
    )


def case_state(case: FollowUpCase, as_of: dt.datetime, events: list[CaseEvent] | None = None) -> CaseState:
    """Replay a case's events as of a moment (the case page, the sweep and the tests read this)."""
    facts = [event_fact(e) for e in (case_events(case) if events is None else events)]
    return derive_case_state(get_program(case.program), opened_case_of(case), facts, as_of)


def refresh_case_state(case: FollowUpCase, as_of: dt.datetime) -> CaseState:
    """Rewrite a case's state columns as of a moment, with no new event (the sweep's per-case work)."""
    events = case_events(case)
    state = case_state(case, as_of, events)
    apply_state(case, state, events, as_of)
    return state
