"""Moving a follow-up case: each action appends one event, checked by the engine first, then rewrites
the case's state columns from the engine's replay of all its events, and audits itself. The caller commits."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm.exc import StaleDataError

from registry import audit
from registry.audit import Actor
from registry.extensions import db
from registry.institutions import Institution
from screenings.cases.errors import CaseActionRefused, CaseConflict
from screenings.cases.maternal import maternal_decision
from screenings.cases.openings import open_cases_for_exposed_children
from screenings.cases.replay import case_events, event_fact, opened_case_of
from screenings.cases.writer import apply_state, new_event
from screenings.engine import (
    AUTOMATED,
    CaseEventFact,
    ClosureOutcome,
    ContactChannel,
    ContactOutcome,
    EventKind,
    OpenedCase,
    Program,
    check_event,
    derive_case_state,
)
from screenings.models import CaseEvent, FollowUpCase, ScreeningResult
from screenings.programs import get_program


def _event(
    case: FollowUpCase,
    kind: EventKind,
    occurred_at: dt.datetime,
    actor: Actor,
    now: dt.datetime,
    program: Program,
    data: dict | None = None,
    **fields: object,
) -> CaseEvent:
    return new_event(case, kind, occurred_at, actor, now, program.rule_version, data, **fields)


def _append(
    case: FollowUpCase,
    event: CaseEvent,
    actor: Actor,
    now: dt.datetime,
    expected_version: int | None,
    summary: str,
) -> CaseEvent:
    """Check a new event with the engine, store it and rewrite the case's state; refuse a stale edit."""
    if expected_version is not None and expected_version != case.version:
        raise CaseConflict(case.id)
    program = get_program(case.program)
    opened = opened_case_of(case)
    events = case_events(case)
    facts = [event_fact(e) for e in events]
    refuse_unless_appendable(program, opened, facts, event_fact(event), now)
    db.session.add(event)
    events.append(event)
    state = derive_case_state(program, opened, [*facts, event_fact(event)], max(now, event.occurred_at))
    apply_state(case, state, sorted(events, key=lambda e: e.occurred_at), now)
    audit.record(actor, now, "follow_up_case", case.id, str(event.kind), summary)
    case_id = case.id  # a failed flush expires the case, and its id could no longer be read
    try:
        db.session.flush()
    except StaleDataError as stale:
        raise CaseConflict(case_id) from stale
    return event


def refuse_unless_appendable(
    program: Program, opened: OpenedCase, facts: list[CaseEventFact], new: CaseEventFact, now: dt.datetime
) -> None:
    """Raise CaseActionRefused unless the engine lets this event follow the case's events (in time order).

    The one check of every appended event, one at a time or a chunk of results at once.
    """
    if new.occurred_at > now + dt.timedelta(minutes=5):
        raise CaseActionRefused(["IN_FUTURE: an event cannot happen in the future"])
    problems = check_event(program, opened, facts, new)
    if problems:
        latest = max((f.occurred_at for f in facts), default=None)
        if latest is not None and new.occurred_at < latest:
            # Events replay in time order: a backdated event lands before later ones, which then cannot
            # happen (a call on a case closed by the earlier result). Say that, not what the replay hit.
            raise CaseActionRefused([f"BEFORE_LAST_EVENT:{latest.isoformat()}"])
        raise CaseActionRefused(problems)


def record_step(
    case: FollowUpCase,
    step: str,
    result_code: str,
    actor: Actor,
    now: dt.datetime,
    *,
    occurred_at: dt.datetime | None = None,
    next_appointment_at: dt.datetime | None = None,
    note: str | None = None,
    result: ScreeningResult | None = None,
    expected_version: int | None = None,
) -> CaseEvent:
    """Record the result of the case's current step (a rescreen, a diagnosis, an intervention).

    A step the mother's record decides (an exposed infant's syphilis prophylaxis) refuses the results her
    record rules out and stores the decision (reason, drug and dose) on the event.
    """
    program = get_program(case.program)
    decided = maternal_decision(case, program, step)
    if decided is not None and result_code in decided.refused_results:
        raise CaseActionRefused([f"{decided.reason}: the mother's record rules out {result_code}"])
    event = _event(
        case, EventKind.STEP_RESULT, occurred_at or now, actor, now, program,
        dict(decided.data) if decided is not None else None,
        step=step, result_code=result_code, next_appointment_at=next_appointment_at,
        note=note, result_id=result.id if result else None,
    )  # fmt: skip
    appended = _append(case, event, actor, now, expected_version, f"{step} {result_code}")
    plan = program.exposed_infant
    if plan is not None and plan.exposes(step, result_code):
        # "this mother is positive" became true on her case: her delivered babies' plans open now,
        # an unborn baby's when it is registered (openings.open_cases_for_newborn)
        open_cases_for_exposed_children(case.person, program, event.occurred_at, actor, now)
    return appended


def log_contact_attempt(
    case: FollowUpCase,
    channel: ContactChannel,
    contact_outcome: ContactOutcome,
    actor: Actor,
    now: dt.datetime,
    *,
    occurred_at: dt.datetime | None = None,
    person_reached: str | None = None,
    relationship: str | None = None,
    next_appointment_at: dt.datetime | None = None,
    note: str | None = None,
    expected_version: int | None = None,
    dedupe_key: str | None = None,
    automated: bool = False,
) -> CaseEvent:
    """Record one attempt to reach the family: channel, who answered, and what came of it.

    `automated` marks a reminder the system sent by itself: on the timeline, not counted by §0.4.
    """
    program = get_program(case.program)
    event = _event(
        case, EventKind.CONTACT_ATTEMPT, occurred_at or now, actor, now, program,
        {AUTOMATED: True} if automated else None,
        step=case.current_step, channel=ContactChannel(channel),
        contact_outcome=ContactOutcome(contact_outcome),
        person_reached=person_reached, relationship_to_subject=relationship,
        next_appointment_at=next_appointment_at, note=note, dedupe_key=dedupe_key,
    )  # fmt: skip
    return _append(case, event, actor, now, expected_version, f"contact {channel} {contact_outcome}")


def add_note(
    case: FollowUpCase,
    note: str,
    actor: Actor,
    now: dt.datetime,
    *,
    occurred_at: dt.datetime | None = None,
    result: ScreeningResult | None = None,
    expected_version: int | None = None,
) -> CaseEvent:
    """Add a free-text note to the case's timeline."""
    program = get_program(case.program)
    event = _event(
        case, EventKind.NOTE, occurred_at or now, actor, now, program,
        step=case.current_step, note=note, result_id=result.id if result else None,
        result_code=result.result_code if result else None,
    )  # fmt: skip
    return _append(case, event, actor, now, expected_version, "note")


def transfer_case(
    case: FollowUpCase,
    to_institution: Institution,
    actor: Actor,
    now: dt.datetime,
    *,
    reason: str | None = None,
    expected_version: int | None = None,
) -> CaseEvent:
    """Ask another institution to take the case; the sender stays responsible until it accepts."""
    if to_institution.id == case.responsible_institution_id:
        raise CaseActionRefused(["SAME_INSTITUTION: the case is already with this institution"])
    program = get_program(case.program)
    event = _event(
        case, EventKind.TRANSFER_REQUESTED, now, actor, now, program,
        step=case.current_step, note=reason, data={"to_institution": to_institution.id},
    )  # fmt: skip
    return _append(case, event, actor, now, expected_version, f"transfer requested to {to_institution.id}")


def answer_transfer(
    case: FollowUpCase,
    accept: bool,
    actor: Actor,
    now: dt.datetime,
    *,
    reason: str | None = None,
    expected_version: int | None = None,
) -> CaseEvent:
    """The receiving institution accepts the case (and becomes responsible) or refuses it."""
    if case.transfer_to_institution_id is None:
        raise CaseActionRefused(["NO_TRANSFER: no transfer is waiting for an answer"])
    program = get_program(case.program)
    kind = EventKind.TRANSFER_ACCEPTED if accept else EventKind.TRANSFER_REFUSED
    event = _event(
        case, kind, now, actor, now, program, {"to_institution": case.transfer_to_institution_id},
        step=case.current_step, note=reason,
    )  # fmt: skip
    answer = "accepted" if accept else "refused"
    return _append(case, event, actor, now, expected_version, f"transfer {answer}")


def withdraw_transfer(
    case: FollowUpCase,
    actor: Actor,
    now: dt.datetime,
    *,
    reason: str | None = None,
    expected_version: int | None = None,
) -> CaseEvent:
    """The sender takes back a transfer the receiver has not answered yet; the case stays with the sender."""
    if case.transfer_to_institution_id is None:
        raise CaseActionRefused(["NO_TRANSFER: no transfer is waiting for an answer"])
    program = get_program(case.program)
    event = _event(
        case, EventKind.TRANSFER_WITHDRAWN, now, actor, now, program,
        {"to_institution": case.transfer_to_institution_id}, step=case.current_step, note=reason,
    )  # fmt: skip
    return _append(case, event, actor, now, expected_version, "transfer withdrawn")


def escalate_case(
    case: FollowUpCase,
    actor: Actor,
    now: dt.datetime,
    *,
    note: str | None = None,
    expected_version: int | None = None,
    occurred_at: dt.datetime | None = None,
) -> CaseEvent:
    """Hand the overdue step up to the district follow-up coordinator."""
    program = get_program(case.program)
    event = _event(
        case, EventKind.ESCALATED, occurred_at or now, actor, now, program, step=case.current_step, note=note
    )
    return _append(case, event, actor, now, expected_version, f"escalated at {case.current_step}")


def close_case(
    case: FollowUpCase,
    outcome: ClosureOutcome,
    actor: Actor,
    now: dt.datetime,
    *,
    note: str | None = None,
    expected_version: int | None = None,
    occurred_at: dt.datetime | None = None,
) -> CaseEvent:
    """Close a case by hand with one of the shared administrative outcomes (died, moved, refused, lost)."""
    program = get_program(case.program)
    event = _event(
        case, EventKind.CLOSED, occurred_at or now, actor, now, program,
        step=case.current_step, outcome=ClosureOutcome(outcome), note=note,
    )  # fmt: skip
    return _append(case, event, actor, now, expected_version, f"closed {outcome}")


def reopen_case(
    case: FollowUpCase,
    actor: Actor,
    now: dt.datetime,
    *,
    step: str | None = None,
    note: str | None = None,
    expected_version: int | None = None,
) -> CaseEvent:
    """Reopen a closed case (a lost person returns) at its last step or at a named one."""
    program = get_program(case.program)
    event = _event(case, EventKind.REOPENED, now, actor, now, program, step=step, note=note)
    return _append(case, event, actor, now, expected_version, f"reopened at {step or 'last step'}")
