"""Lost to follow-up (§0.4): ≥3 attempts, ≥2 channels, ≥14 days, due date passed; never death or refusal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from screenings.engine import (
    CaseEventError,
    CaseEventFact,
    CaseReason,
    CaseStatus,
    ClosureOutcome,
    ContactChannel,
    ContactOutcome,
    EventKind,
    LtfuReason,
    OpenedCase,
    derive_case_state,
    is_lost_to_follow_up,
)
from screenings.programs import get_program

PROGRAM = get_program("NEWBORN_HEARING")
POLICY = PROGRAM.ltfu_policy
D = timedelta(days=1)
DUE = datetime(2026, 4, 13, 1, tzinfo=UTC)
PHONE, SMS, VISIT = ContactChannel.PHONE, ContactChannel.SMS, ContactChannel.HOME_VISIT


def attempts(contact, *plan: tuple[int, ContactChannel]) -> list[CaseEventFact]:
    return [contact(DUE + day * D, channel) for day, channel in plan]


def test_two_attempts_are_never_lost(contact):
    tried = attempts(contact, (0, PHONE), (20, VISIT))
    assert not is_lost_to_follow_up(POLICY, tried, DUE, DUE + 365 * D)


def test_three_attempts_over_14_days_through_2_channels_past_due_are_lost(contact):
    tried = attempts(contact, (1, PHONE), (5, PHONE), (15, VISIT))
    assert is_lost_to_follow_up(POLICY, tried, DUE, DUE + 16 * D)


@pytest.mark.parametrize(
    ("plan", "has_address", "reason"),
    [
        (((1, PHONE), (5, PHONE), (14, VISIT)), True, "span of 13 days"),
        (((1, PHONE), (5, PHONE), (15, PHONE)), True, "one channel"),
        (((1, PHONE), (5, SMS), (15, PHONE)), True, "no visit although an address exists"),
    ],
)
def test_each_condition_is_needed(contact, plan, has_address, reason):
    assert not is_lost_to_follow_up(POLICY, attempts(contact, *plan), DUE, DUE + 30 * D, has_address), reason


def test_without_an_address_no_visit_is_required(contact):
    tried = attempts(contact, (1, PHONE), (5, SMS), (15, PHONE))
    assert is_lost_to_follow_up(POLICY, tried, DUE, DUE + 30 * D, has_address=False)


def test_time_alone_never_makes_a_loss_and_nor_do_attempts_before_the_due_date(contact):
    assert not is_lost_to_follow_up(POLICY, [], DUE, DUE + 1000 * D)
    early = [contact(DUE - day * D, channel) for day, channel in ((30, PHONE), (20, PHONE), (10, VISIT))]
    assert not is_lost_to_follow_up(POLICY, early, DUE, DUE)  # the due date has not passed yet
    assert is_lost_to_follow_up(POLICY, early, DUE, DUE + timedelta(minutes=1))


def test_attempts_after_as_of_do_not_count(contact):
    tried = attempts(contact, (1, PHONE), (5, PHONE), (15, VISIT))
    assert not is_lost_to_follow_up(POLICY, tried, DUE, DUE + 10 * D)


@pytest.mark.parametrize("outcome", [ContactOutcome.DIED, ContactOutcome.REFUSED, ContactOutcome.MOVED_AWAY])
def test_a_death_refusal_or_move_is_never_a_loss(contact, outcome):
    tried = [*attempts(contact, (1, PHONE), (5, PHONE)), contact(DUE + 15 * D, VISIT, outcome)]
    assert not is_lost_to_follow_up(POLICY, tried, DUE, DUE + 30 * D)


def test_a_district_may_lower_the_attempt_count(contact):
    tried = attempts(contact, (1, PHONE), (15, VISIT))
    assert is_lost_to_follow_up(
        POLICY, tried, DUE, DUE + 30 * D, overrides={"NEWBORN_HEARING.LTFU_MIN_ATTEMPTS": 2}
    )


def _opened(make_newborn) -> OpenedCase:
    return OpenedCase(
        CaseReason.REFERRED_RESULT, "RESCREEN", datetime(2026, 3, 4, 1, tzinfo=UTC), make_newborn()
    )


def test_a_case_meeting_the_rule_is_flagged_then_closed_as_lost_and_can_be_reopened(make_newborn, contact):
    opened = _opened(make_newborn)
    events = attempts(contact, (1, PHONE), (5, PHONE), (15, VISIT))
    state = derive_case_state(PROGRAM, opened, events, DUE + 16 * D)
    assert state.status is CaseStatus.LOST_TO_FOLLOW_UP
    assert state.lost_reason is LtfuReason.UNABLE_TO_CONTACT
    assert ClosureOutcome.LOST_TO_FOLLOW_UP in state.closable_outcomes
    events.append(CaseEventFact(EventKind.CLOSED, DUE + 17 * D, outcome=ClosureOutcome.LOST_TO_FOLLOW_UP))
    state = derive_case_state(PROGRAM, opened, events, DUE + 17 * D)
    assert (state.status, state.outcome, state.due_at) == (
        CaseStatus.CLOSED,
        ClosureOutcome.LOST_TO_FOLLOW_UP,
        None,
    )
    found = DUE + 60 * D
    events.append(CaseEventFact(EventKind.REOPENED, found))
    state = derive_case_state(PROGRAM, opened, events, found)
    # back at the rescreen, whose age limit (42 days) is long past: due at once, and flagged as late
    assert (state.current_step, state.due_at, state.age_limit_passed) == ("RESCREEN", found, True)
    assert state.attempts == ()


def test_reached_but_unresponsive_is_a_different_reason(make_newborn, contact):
    opened = _opened(make_newborn)
    events = [
        contact(DUE + D, PHONE, ContactOutcome.REACHED),
        contact(DUE + 5 * D, PHONE),
        contact(DUE + 15 * D, VISIT),
    ]
    assert (
        derive_case_state(PROGRAM, opened, events, DUE + 16 * D).lost_reason
        is LtfuReason.CONTACTED_UNRESPONSIVE
    )


def test_closing_as_lost_before_the_rule_holds_is_refused(make_newborn, contact):
    opened = _opened(make_newborn)
    events = [
        *attempts(contact, (1, PHONE), (5, PHONE)),
        CaseEventFact(EventKind.CLOSED, DUE + 6 * D, outcome=ClosureOutcome.LOST_TO_FOLLOW_UP),
    ]
    with pytest.raises(CaseEventError, match="lost-to-follow-up rule"):
        derive_case_state(PROGRAM, opened, events, DUE + 7 * D)


def test_a_death_closes_as_died_and_is_never_lost(make_newborn, contact):
    opened = _opened(make_newborn)
    events = [*attempts(contact, (1, PHONE), (5, PHONE)), contact(DUE + 15 * D, VISIT, ContactOutcome.DIED)]
    state = derive_case_state(PROGRAM, opened, events, DUE + 16 * D)
    assert state.status is CaseStatus.OVERDUE  # not LOST_TO_FOLLOW_UP although three attempts were made
    assert state.suggested_outcome is ClosureOutcome.DIED
    assert ClosureOutcome.LOST_TO_FOLLOW_UP not in state.closable_outcomes
    events.append(CaseEventFact(EventKind.CLOSED, DUE + 16 * D, outcome=ClosureOutcome.DIED))
    state = derive_case_state(PROGRAM, opened, events, DUE + 16 * D)
    assert (state.status, state.outcome) == (CaseStatus.CLOSED, ClosureOutcome.DIED)
