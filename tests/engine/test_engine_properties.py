"""Properties that hold for any case of any program, whatever allowed events happen to it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screenings.engine import (
    SCHEDULED_DUE_AT,
    CaseAction,
    CaseEventFact,
    CaseReason,
    CaseState,
    CaseStatus,
    ContactChannel,
    ContactOutcome,
    EventKind,
    OpenedCase,
    Program,
    SettingValues,
    Sex,
    Subject,
    allowed_outcomes,
    check_event,
    derive_case_state,
    entry_steps,
    is_lost_to_follow_up,
)
from screenings.engine.times import local_date
from screenings.programs import PROGRAMS
from screenings.programs import newborn_hearing as hearing
from screenings.programs.newborn_chd import classify_pulse_oximetry

OPENED_AT = datetime(2026, 3, 10, 1, tzinfo=UTC)
ENTRIES = [(code, step) for code, program in PROGRAMS.items() for step in sorted(entry_steps(program))]
FAST = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def _event(action: str, state: CaseState, when: datetime, data: st.DataObject) -> CaseEventFact:
    if action.startswith(CaseAction.RECORD_STEP):
        result = data.draw(st.sampled_from(state.allowed_results))
        booked = data.draw(st.one_of(st.none(), st.integers(0, 400)))
        extra = {} if booked is None else {SCHEDULED_DUE_AT: when + timedelta(days=booked)}
        return CaseEventFact(
            EventKind.STEP_RESULT, when, step=state.current_step, result_code=result, data=extra
        )
    if action == CaseAction.LOG_CONTACT:
        outcome = data.draw(st.sampled_from([*ContactOutcome, None]))
        return CaseEventFact(
            EventKind.CONTACT_ATTEMPT,
            when,
            channel=data.draw(st.sampled_from(ContactChannel)),
            contact_outcome=outcome,
        )
    if action == CaseAction.CLOSE:
        return CaseEventFact(
            EventKind.CLOSED, when, outcome=data.draw(st.sampled_from(state.closable_outcomes))
        )
    kind = {
        CaseAction.ADD_NOTE: EventKind.NOTE,
        CaseAction.TRANSFER: EventKind.TRANSFER_REQUESTED,
        CaseAction.ACCEPT_TRANSFER: EventKind.TRANSFER_ACCEPTED,
        CaseAction.REFUSE_TRANSFER: EventKind.TRANSFER_REFUSED,
        CaseAction.WITHDRAW_TRANSFER: EventKind.TRANSFER_WITHDRAWN,
        CaseAction.ESCALATE: EventKind.ESCALATED,
        CaseAction.REOPEN: EventKind.REOPENED,
    }[CaseAction(action)]
    return CaseEventFact(kind, when)


def _assert_consistent(program: Program, state: CaseState, as_of: datetime) -> None:
    assert state.rule_version == program.rule_version
    if state.status is CaseStatus.CLOSED:
        assert state.outcome in allowed_outcomes(program)  # a closed case has an outcome from the shared list
        assert state.due_at is None and state.current_step is None and state.closed_at is not None
        assert state.allowed_actions == (CaseAction.ADD_NOTE, CaseAction.REOPEN)
    else:
        assert state.outcome is None
        step = program.step(state.current_step)
        assert state.due_at is not None and state.due_set_at is not None and state.warn_at is not None
        assert state.due_set_at <= state.warn_at <= state.due_at  # no due date precedes the event that set it
        assert state.allowed_results == step.result_codes
        if state.status is CaseStatus.OVERDUE:
            assert as_of > state.due_at
        if state.status is CaseStatus.OPEN:
            assert as_of < state.warn_at
        if state.status is CaseStatus.LOST_TO_FOLLOW_UP:
            assert as_of > state.due_at and len(state.attempts) >= 3
    for visit in state.history:
        assert visit.due_at >= visit.entered_at
        assert visit.left_at is None or visit.left_at >= visit.entered_at


@FAST
@given(data=st.data())
def test_any_sequence_of_allowed_events_leaves_a_consistent_replayable_case(data):
    code, entry = data.draw(st.sampled_from(ENTRIES), label="entry")
    program = PROGRAMS[code]
    birth = OPENED_AT - timedelta(hours=data.draw(st.integers(1, 3 * 365 * 24), label="age in hours"))
    subject = Subject(
        program.eligibility.kinds[0],
        Sex.FEMALE,
        birth,
        local_date(birth),
        traits=data.draw(st.sampled_from([{}, {hearing.RISK_FACTOR_TRAIT: ("ECMO",)}])),
        has_address=data.draw(st.booleans()),
    )
    track = data.draw(st.sampled_from([None, *(c.code for c in program.tracks)]), label="track")
    opened = OpenedCase(CaseReason.POSITIVE_RESULT, entry, OPENED_AT, subject, track=track)
    events: list[CaseEventFact] = []
    now = OPENED_AT
    state = derive_case_state(program, opened, events, now)
    _assert_consistent(program, state, now)
    for _ in range(data.draw(st.integers(0, 25), label="events")):
        now += timedelta(minutes=data.draw(st.integers(1, 60 * 24 * 45)))
        action = data.draw(st.sampled_from(state.allowed_actions), label="action")
        event = _event(action, state, now, data)
        assert check_event(program, opened, events, event) == ()  # whatever is offered can be done
        events.append(event)
        state = derive_case_state(program, opened, events, now)
        _assert_consistent(program, state, now)
    assert derive_case_state(program, opened, events, now) == state
    assert derive_case_state(program, opened, list(reversed(events)), now) == state
    later = derive_case_state(program, opened, events, now + timedelta(days=500))
    assert (later.current_step, later.due_at, later.outcome) == (
        state.current_step,
        state.due_at,
        state.outcome,
    )


ATTEMPT = st.builds(
    lambda day, channel, outcome: CaseEventFact(
        EventKind.CONTACT_ATTEMPT, OPENED_AT + timedelta(days=day), channel=channel, contact_outcome=outcome
    ),
    st.integers(0, 60),
    st.sampled_from(ContactChannel),
    st.sampled_from([ContactOutcome.NO_ANSWER, ContactOutcome.REACHED, ContactOutcome.DIED, None]),
)
POLICY = PROGRAMS["NEWBORN_HEARING"].ltfu_policy


@FAST
@given(attempts=st.lists(ATTEMPT, max_size=8), due_day=st.integers(0, 60), as_of_day=st.integers(0, 120))
def test_lost_needs_three_attempts_no_death_and_a_passed_due_date_and_stays_lost(
    attempts, due_day, as_of_day
):
    due = OPENED_AT + timedelta(days=due_day, hours=1)
    as_of = OPENED_AT + timedelta(days=as_of_day)
    lost = is_lost_to_follow_up(POLICY, attempts, due, as_of)
    counted = [a for a in attempts if a.occurred_at <= as_of]
    if lost:
        assert len(counted) >= 3 and as_of > due
        assert all(a.contact_outcome is not ContactOutcome.DIED for a in counted)
        assert is_lost_to_follow_up(POLICY, attempts, due, as_of + timedelta(days=365)) or any(
            a.contact_outcome is ContactOutcome.DIED for a in attempts
        )


SPO2 = st.decimals(min_value=50, max_value=100, places=1)


@FAST
@given(hand=SPO2, foot=SPO2)
def test_pulse_oximetry_follows_the_three_bands(hand, foot):
    result = classify_pulse_oximetry(hand, foot, SettingValues())
    if min(hand, foot) < 90:
        assert result == "POX_POS_IMMEDIATE"
    elif max(hand, foot) >= 95 and abs(hand - foot) <= Decimal(3):
        assert result == "POX_NEG"
    else:
        assert result == "POX_REPEAT"  # 90–94 % in both limbs, or a difference over 3 %
