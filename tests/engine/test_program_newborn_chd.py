"""Newborn CHD screening (双指标法), as programs.md §3 states it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from screenings.engine import (
    SCHEDULED_DUE_AT,
    CaseEventFact,
    CaseReason,
    ClosureOutcome,
    EventKind,
    classify,
    derive_case_state,
    open_case,
    open_missed_screening_case,
)
from screenings.programs import get_program

PROGRAM = get_program("NEWBORN_CHD")
BIRTH = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
H, D = timedelta(hours=1), timedelta(days=1)
SCREENED = BIRTH + 24 * H


def screen(hand: object, foot: object, murmur: int = 0, **more: object) -> dict[str, object]:
    values = {"screened_at": SCREENED, "murmur_grade": murmur, "spo2_right_hand": hand, "spo2_foot": foot}
    return {**values, **more}


REPEATED = {"repeat_at": SCREENED + 3 * H}
POS, REF = CaseReason.POSITIVE_RESULT, CaseReason.REFERRED_RESULT
SAME_DAY, IN_4H = SCREENED + 24 * H, SCREENED + 4 * H
TABLE = [
    # id, values, result, findings, reason, first step, due
    ("spo2-89", screen(89, 97), "SCREEN_POS", ("POX_POS_IMMEDIATE",), POS, "ECHO", SAME_DAY),
    ("spo2-90-both", screen(90, 90), "REPEAT_REQUIRED", ("POX_REPEAT",), REF, "POX_REPEAT", IN_4H),
    ("spo2-94-both", screen(94, 94), "REPEAT_REQUIRED", ("POX_REPEAT",), REF, "POX_REPEAT", IN_4H),
    ("spo2-95-both", screen(95, 95), "SCREEN_NEG", ("POX_NEG",), None, None, None),
    ("spo2-95-94", screen(95, 94), "SCREEN_NEG", ("POX_NEG",), None, None, None),
    ("difference-3", screen(98, 95), "SCREEN_NEG", ("POX_NEG",), None, None, None),
    ("difference-4", screen(99, 95), "REPEAT_REQUIRED", ("POX_REPEAT",), REF, "POX_REPEAT", IN_4H),
    ("difference-4-foot-up", screen(95, 99), "REPEAT_REQUIRED", ("POX_REPEAT",), REF, "POX_REPEAT", IN_4H),
    ("murmur-1-of-6", screen(98, 98, murmur=1), "SCREEN_NEG", ("POX_NEG",), None, None, None),
    ("murmur-2-of-6", screen(98, 98, murmur=2), "SCREEN_POS", ("MURMUR_POS", "POX_NEG"), POS, "NOTIFY",
     SAME_DAY),
    ("repeat-still-failing", screen(93, 93, repeat_spo2_right_hand=94, repeat_spo2_foot=93, **REPEATED),
     "SCREEN_POS", ("POX_REPEAT", "POX_POS"), POS, "NOTIFY", SAME_DAY),
    ("repeat-passes", screen(93, 93, repeat_spo2_right_hand=97, repeat_spo2_foot=96, **REPEATED),
     "SCREEN_NEG", ("POX_REPEAT", "POX_NEG"), None, None, None),
    ("repeat-below-90", screen(93, 93, repeat_spo2_right_hand=89, repeat_spo2_foot=95, **REPEATED),
     "SCREEN_POS", ("POX_REPEAT", "POX_POS_IMMEDIATE"), POS, "ECHO", SAME_DAY),
    ("murmur-and-spo2-below-90", screen(85, 88, murmur=3), "SCREEN_POS", ("MURMUR_POS", "POX_POS_IMMEDIATE"),
     POS, "ECHO", SAME_DAY),
]  # fmt: skip


@pytest.mark.parametrize(
    ("values", "result", "findings", "reason", "first_step", "due"),
    [row[1:] for row in TABLE],
    ids=[row[0] for row in TABLE],
)
def test_double_indicator_table(make_newborn, values, result, findings, reason, first_step, due):
    baby = make_newborn()
    classification = classify(PROGRAM, "SCREEN", values, baby)
    assert classification.result_code == result
    assert classification.findings == findings
    assert (classification.opens_case, classification.case_reason, classification.first_step) == (
        reason is not None,
        reason,
        first_step,
    )
    if reason is not None:
        state = derive_case_state(PROGRAM, open_case(classification, baby, SCREENED), [], SCREENED)
        assert (state.current_step, state.due_at) == (first_step, due)


@pytest.mark.parametrize(
    ("age_hours", "warning"), [(5, "BEFORE_6H"), (6, None), (72, None), (73, "AFTER_72H")]
)
def test_screening_outside_6_to_72_hours_is_flagged(make_newborn, age_hours, warning):
    values = screen(98, 98, screened_at=BIRTH + age_hours * H)
    codes = {w.code for w in classify(PROGRAM, "SCREEN", values, make_newborn()).warnings}
    assert codes == ({warning} if warning else set())


def test_an_spo2_outside_the_plausible_range_is_an_error_naming_the_field(make_newborn):
    classification = classify(PROGRAM, "SCREEN", screen(101, 98), make_newborn())
    assert classification.result_code is None
    assert [(e.field, e.code) for e in classification.errors] == [("spo2_right_hand", "ABOVE_RANGE")]


def test_a_symptomatic_positive_goes_straight_to_same_day_echo(make_newborn):
    classification = classify(PROGRAM, "SCREEN", screen(98, 98, murmur=3, symptomatic=True), make_newborn())
    assert (classification.first_step, classification.track) == ("ECHO", "URGENT")


def test_journey_murmur_to_watchful_follow_up_with_a_booked_visit(make_newborn, walk, step_result):
    baby = make_newborn()
    opened = open_case(classify(PROGRAM, "SCREEN", screen(98, 97, murmur=2), baby), baby, SCREENED)
    state = walk(PROGRAM, opened, [
        (SCREENED + 6 * H, "NOTIFY", "NOTIFIED", "ECHO", BIRTH + 7 * D),
        (BIRTH + 5 * D, "ECHO", "CHD_WATCHFUL", "FOLLOW_UP", BIRTH + 185 * D),
    ])  # fmt: skip
    booked = datetime(2026, 12, 1, 1, tzinfo=UTC)
    events = [
        step_result(SCREENED + 6 * H, "NOTIFIED"),
        step_result(BIRTH + 5 * D, "CHD_WATCHFUL"),
        step_result(BIRTH + 100 * D, "VISIT_DONE", **{SCHEDULED_DUE_AT: booked}),
    ]
    state = derive_case_state(PROGRAM, opened, events, BIRTH + 100 * D)
    assert (state.current_step, state.due_at) == ("FOLLOW_UP", booked)  # the cardiologist's date
    events.append(step_result(booked, "CLOSED_SPONTANEOUSLY"))
    state = derive_case_state(PROGRAM, opened, events, booked)
    assert state.outcome is ClosureOutcome.CONFIRMED_MONITORED


def test_journey_repeat_below_90_to_urgent_echo_and_surgery(make_newborn, walk):
    baby = make_newborn()
    opened = open_case(classify(PROGRAM, "SCREEN", screen(92, 93), baby), baby, SCREENED)
    walk(PROGRAM, opened, [
        (SCREENED + 3 * H, "POX_REPEAT", "POX_POS_IMMEDIATE", "ECHO", SCREENED + 27 * H),
        (SCREENED + 10 * H, "ECHO", "CCHD", "TREATMENT", SCREENED + 10 * H + 3 * D),
        (SCREENED + 2 * D, "TREATMENT", "SURGERY", ClosureOutcome.CONFIRMED_TREATED, None),
    ])  # fmt: skip


def test_repeat_that_passes_closes_as_rescreen_normal(make_newborn, walk):
    baby = make_newborn()
    opened = open_case(classify(PROGRAM, "SCREEN", screen(94, 90), baby), baby, SCREENED)
    walk(PROGRAM, opened, [(SCREENED + 2 * H, "POX_REPEAT", "POX_NEG", ClosureOutcome.RESCREEN_NORMAL, None)])


def test_urgent_echo_deadline_never_passes_the_7_day_limit(make_newborn):
    baby = make_newborn()
    late = BIRTH + 6 * D + 12 * H
    events = [CaseEventFact(EventKind.STEP_RESULT, late, result_code="POX_POS_IMMEDIATE")]
    opened = open_case(classify(PROGRAM, "SCREEN", screen(93, 93), baby), baby, late - 3 * H)
    state = derive_case_state(PROGRAM, opened, events, late)
    assert state.due_at == BIRTH + 7 * D  # the earlier of 24 h and the 7-day age limit


def test_a_missed_screen_gets_a_catch_up_screen(make_newborn):
    baby = make_newborn()
    opened = open_missed_screening_case(PROGRAM, baby, BIRTH + 73 * H)
    state = derive_case_state(PROGRAM, opened, [], opened.opened_at)
    assert (state.current_step, state.due_at) == ("CATCH_UP_SCREEN", BIRTH + 7 * D)
