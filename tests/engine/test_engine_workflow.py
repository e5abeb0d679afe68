"""The generic case workflow: statuses, warn and escalation, transfers, reopening, invalid events."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from screenings.engine import (
    CaseAction,
    CaseEventError,
    CaseEventFact,
    CaseReason,
    CaseStatus,
    ClosureOutcome,
    EventKind,
    OpenedCase,
    Sex,
    Subject,
    SubjectKind,
    allowed_outcomes,
    check_event,
    derive_case_state,
    escalation_due,
    step_result_transition,
)
from screenings.programs import get_program

CERVICAL = get_program("CERVICAL_CANCER")
HEARING = get_program("NEWBORN_HEARING")
OPENED_AT = datetime(2026, 3, 10, 1, tzinfo=UTC)
D, H = timedelta(days=1), timedelta(hours=1)


@pytest.fixture
def notify_case(make_woman) -> OpenedCase:
    """A cervical case at NOTIFY: due 7 days after opening [P], warned in its last 20 % [P]."""
    return OpenedCase(CaseReason.POSITIVE_RESULT, "NOTIFY", OPENED_AT, make_woman(), "POS_16", "HIGH_GRADE")


def event(kind: EventKind, when: datetime, **fields: object) -> CaseEventFact:
    return CaseEventFact(kind, when, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("as_of", "status"),
    [
        (OPENED_AT, CaseStatus.OPEN),
        (OPENED_AT + 5.5 * D, CaseStatus.OPEN),
        (OPENED_AT + 5.6 * D, CaseStatus.DUE_SOON),  # the last 20 % of a 7-day window is the last 1.4 days
        (OPENED_AT + 7 * D, CaseStatus.DUE_SOON),
        (OPENED_AT + 7 * D + timedelta(seconds=1), CaseStatus.OVERDUE),
    ],
)
def test_status_follows_the_clock_passed_in(notify_case, as_of, status):
    state = derive_case_state(CERVICAL, notify_case, [], as_of)
    assert state.status is status
    assert state.warn_at == OPENED_AT + 5.6 * D


def test_days_overdue_and_escalation_after_the_threshold(notify_case):
    due = OPENED_AT + 7 * D
    state = derive_case_state(CERVICAL, notify_case, [], due + 6 * D + 23 * H)
    assert state.days_overdue == 6
    assert not escalation_due(CERVICAL, state, due + 6 * D + 23 * H)
    state = derive_case_state(CERVICAL, notify_case, [], due + 7 * D)
    assert escalation_due(CERVICAL, state, due + 7 * D)
    assert escalation_due(CERVICAL, state, due + 5 * D, {"CERVICAL_CANCER.ESCALATE_AFTER_DAYS_OVERDUE": 3})


def test_an_escalated_step_shows_escalated_until_the_step_moves_on(notify_case):
    escalated_at = OPENED_AT + 15 * D
    events = [event(EventKind.ESCALATED, escalated_at)]
    state = derive_case_state(CERVICAL, notify_case, events, escalated_at)
    assert state.status is CaseStatus.ESCALATED and state.escalated_at == escalated_at
    assert CaseAction.ESCALATE not in state.allowed_actions
    assert not escalation_due(CERVICAL, state, escalated_at + 30 * D)  # the sweep does not escalate twice
    events.append(event(EventKind.STEP_RESULT, escalated_at + D, result_code="NOTIFIED"))
    state = derive_case_state(CERVICAL, notify_case, events, escalated_at + D)
    assert (state.current_step, state.escalated_at, state.status) == ("COLPOSCOPY", None, CaseStatus.OPEN)


def test_allowed_actions_and_results_of_an_open_case(notify_case):
    state = derive_case_state(CERVICAL, notify_case, [], OPENED_AT)
    assert state.allowed_actions == (
        "RECORD_STEP:NOTIFY",
        CaseAction.LOG_CONTACT,
        CaseAction.ADD_NOTE,
        CaseAction.TRANSFER,
        CaseAction.ESCALATE,
        CaseAction.CLOSE,
    )
    assert state.allowed_results == ("NOTIFIED",)
    assert ClosureOutcome.LOST_TO_FOLLOW_UP not in state.closable_outcomes


def test_a_transfer_waits_for_the_receiving_institution(notify_case):
    events = [event(EventKind.TRANSFER_REQUESTED, OPENED_AT + D, data={"to_institution": 42})]
    state = derive_case_state(CERVICAL, notify_case, events, OPENED_AT + D)
    assert (state.transfer_pending, state.transfer_to) == (True, 42)
    assert (
        CaseAction.ACCEPT_TRANSFER in state.allowed_actions
        and CaseAction.TRANSFER not in state.allowed_actions
    )
    events.append(event(EventKind.TRANSFER_ACCEPTED, OPENED_AT + 2 * D))
    state = derive_case_state(CERVICAL, notify_case, events, OPENED_AT + 2 * D)
    assert not state.transfer_pending
    assert state.due_at == OPENED_AT + 7 * D  # a transfer does not move the deadline


def test_a_closed_case_can_only_take_notes_or_be_reopened(notify_case):
    events = [event(EventKind.CLOSED, OPENED_AT + D, outcome=ClosureOutcome.MOVED_AWAY)]
    state = derive_case_state(CERVICAL, notify_case, events, OPENED_AT + 2 * D)
    assert (state.status, state.outcome, state.due_at, state.current_step) == (
        CaseStatus.CLOSED,
        ClosureOutcome.MOVED_AWAY,
        None,
        None,
    )
    assert state.allowed_actions == (CaseAction.ADD_NOTE, CaseAction.REOPEN)
    problems = check_event(
        CERVICAL, notify_case, events, event(EventKind.STEP_RESULT, OPENED_AT + 3 * D, result_code="NOTIFIED")
    )
    assert problems and problems[0].startswith("CASE_CLOSED")
    assert check_event(CERVICAL, notify_case, events, event(EventKind.NOTE, OPENED_AT + 3 * D)) == ()


def test_reopening_may_name_the_step_but_only_one_of_the_program(notify_case):
    closed = event(EventKind.CLOSED, OPENED_AT + D, outcome=ClosureOutcome.OPENED_IN_ERROR)
    to_colposcopy = event(EventKind.REOPENED, OPENED_AT + 2 * D, step="COLPOSCOPY")
    state = derive_case_state(CERVICAL, notify_case, [closed, to_colposcopy], OPENED_AT + 2 * D)
    assert (state.current_step, state.track) == ("COLPOSCOPY", "HIGH_GRADE")
    assert state.due_at == OPENED_AT + 32 * D  # the high-grade track's 30 days
    nowhere = event(EventKind.REOPENED, OPENED_AT + 2 * D, step="ECHO")
    assert check_event(CERVICAL, notify_case, [closed], nowhere)[0].startswith("UNKNOWN_STEP")


def test_reopening_returns_to_the_step_with_a_fresh_deadline(notify_case):
    reopened = OPENED_AT + 10 * D
    events = [
        event(EventKind.CLOSED, OPENED_AT + D, outcome=ClosureOutcome.REFUSED),
        event(EventKind.REOPENED, reopened),
    ]
    state = derive_case_state(CERVICAL, notify_case, events, reopened)
    assert (state.current_step, state.due_at, state.due_set_at) == ("NOTIFY", reopened + 7 * D, reopened)


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        (
            event(EventKind.STEP_RESULT, OPENED_AT + D, result_code="NOTIFIED", step="COLPOSCOPY"),
            "WRONG_STEP",
        ),
        (event(EventKind.STEP_RESULT, OPENED_AT + D, result_code="HSIL_CIN3"), "UNKNOWN_RESULT"),
        (event(EventKind.STEP_RESULT, OPENED_AT + D), "NO_RESULT"),
        (event(EventKind.CLOSED, OPENED_AT + D, outcome=ClosureOutcome.CONFIRMED_TREATED), "BAD_OUTCOME"),
        (event(EventKind.CLOSED, OPENED_AT + D), "BAD_OUTCOME"),
        (event(EventKind.TRANSFER_ACCEPTED, OPENED_AT + D), "NO_TRANSFER"),
        (event(EventKind.REOPENED, OPENED_AT + D), "NOT_CLOSED"),
        (event(EventKind.CONTACT_ATTEMPT, OPENED_AT + D), "NO_CHANNEL"),
        (event(EventKind.CONTACT_ATTEMPT, OPENED_AT - D, channel="PHONE"), "BEFORE_OPENING"),
    ],
)
def test_events_that_cannot_happen_are_refused(notify_case, bad, code):
    assert check_event(CERVICAL, notify_case, [], bad)[0].startswith(code)
    with pytest.raises(CaseEventError):
        derive_case_state(CERVICAL, notify_case, [bad], OPENED_AT + 30 * D)


def test_events_after_as_of_are_not_yet_known_and_late_entries_land_in_time_order(notify_case):
    notified = event(EventKind.STEP_RESULT, OPENED_AT + 2 * D, result_code="NOTIFIED")
    attempt = event(EventKind.CONTACT_ATTEMPT, OPENED_AT + D, channel="PHONE")
    assert derive_case_state(CERVICAL, notify_case, [notified], OPENED_AT + D).current_step == "NOTIFY"
    # the attempt was entered after the result, but happened before it: it belongs to the NOTIFY step
    in_entry_order = derive_case_state(CERVICAL, notify_case, [notified, attempt], OPENED_AT + 3 * D)
    assert in_entry_order == derive_case_state(CERVICAL, notify_case, [attempt, notified], OPENED_AT + 3 * D)
    assert in_entry_order.current_step == "COLPOSCOPY" and in_entry_order.attempts == ()


def test_an_age_limit_already_past_makes_the_step_due_at_once():
    infant = Subject(SubjectKind.NEWBORN, Sex.MALE, datetime(2026, 1, 1, 1, tzinfo=UTC), date(2026, 1, 1))
    late = datetime(2026, 5, 1, 1, tzinfo=UTC)  # 120 days old; diagnosis was due by 90 days
    state = derive_case_state(
        HEARING, OpenedCase(CaseReason.REFERRED_RESULT, "DIAGNOSIS", late, infant), [], late
    )
    assert (state.due_at, state.due_set_at, state.age_limit_passed) == (late, late, True)


def test_without_a_birth_time_ages_count_from_the_start_of_the_local_birth_day():
    infant = Subject(SubjectKind.NEWBORN, Sex.MALE, None, date(2026, 3, 2))
    opened = OpenedCase(CaseReason.REFERRED_RESULT, "RESCREEN", datetime(2026, 3, 5, tzinfo=UTC), infant)
    state = derive_case_state(HEARING, opened, [], opened.opened_at)
    assert state.due_at == datetime(2026, 4, 12, 16, tzinfo=UTC)  # 00:00 Shanghai on 2 March + 42 days


def test_step_result_transition_and_allowed_outcomes():
    assert step_result_transition(CERVICAL, "HISTOPATHOLOGY", "HSIL_CIN2").to_step == "TREATMENT"
    assert (
        step_result_transition(CERVICAL, "COLPOSCOPY", "NORMAL_ROUTINE").outcome
        is ClosureOutcome.NOT_CONFIRMED
    )
    with pytest.raises(KeyError):
        step_result_transition(CERVICAL, "COLPOSCOPY", "NOTIFIED")
    outcomes = allowed_outcomes(CERVICAL)
    assert ClosureOutcome.CONFIRMED_TREATED in outcomes and ClosureOutcome.DIED in outcomes
    assert ClosureOutcome.SCREENING_COMPLETED not in outcomes


def test_a_transition_can_depend_on_the_subject(make_newborn):
    plain, at_risk = make_newborn(), make_newborn(risk_factors=("ECMO",))
    assert step_result_transition(HEARING, "RESCREEN", "BILATERAL_PASS", plain).outcome is (
        ClosureOutcome.RESCREEN_NORMAL
    )
    assert (
        step_result_transition(HEARING, "RESCREEN", "BILATERAL_PASS", at_risk).to_step == "SURVEILLANCE_12M"
    )


def test_naive_datetimes_are_refused(make_woman):
    with pytest.raises(ValueError, match="timezone-aware"):
        OpenedCase(CaseReason.POSITIVE_RESULT, "NOTIFY", datetime(2026, 3, 10), make_woman())
    with pytest.raises(ValueError, match="timezone-aware"):
        Subject(SubjectKind.NEWBORN, Sex.MALE, datetime(2026, 3, 2), date(2026, 3, 2))
