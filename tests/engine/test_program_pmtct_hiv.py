"""PMTCT of HIV, as programs.md §6.2–6.3 states it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from screenings.engine import (
    CaseReason,
    ClosureOutcome,
    SubjectKind,
    classify,
    derive_case_state,
    exposed_infant_schedule,
    open_case,
    open_exposed_infant_case,
)
from screenings.programs import get_program

PROGRAM = get_program("PMTCT_HIV")
H, D = timedelta(hours=1), timedelta(days=1)
RESULTED = datetime(2026, 1, 12, 2, 0, tzinfo=UTC)
BIRTH = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def hiv_values(screening=None, confirmatory=None, known=None, weeks=10, stage="PREGNANCY"):
    return {
        "tested_on": "2026-01-10",
        "testing_stage": stage,
        "gestational_weeks": weeks,
        "screening_result": screening,
        "confirmatory_result": confirmatory,
        "known_positive": known,
    }


TABLE = [
    # id, values, result, opens, first step, due, exposes infant
    ("non-reactive", hiv_values("NONREACTIVE"), "NEG", False, None, None, False),
    ("reactive-awaiting-confirmation", hiv_values("REACTIVE"), "REACTIVE_PENDING", True, "CONFIRMATION",
     RESULTED + 7 * D, False),
    ("confirmed", hiv_values("REACTIVE", "POSITIVE"), "CONFIRMED_POS", True, "CASE_REPORT",
     RESULTED + 5 * D, True),
    ("not-confirmed", hiv_values("REACTIVE", "NEGATIVE"), "NEG", False, None, None, False),
    ("indeterminate-retest-later", hiv_values("REACTIVE", "INDETERMINATE"), "INDETERMINATE", True,
     "CONFIRMATION", RESULTED + 28 * D, False),
    ("known-positive", hiv_values(known=True), "KNOWN_POS", True, "CASE_REPORT", RESULTED + 5 * D, True),
]  # fmt: skip


@pytest.mark.parametrize(
    ("values", "result", "opens", "first_step", "due", "exposes"),
    [r[1:] for r in TABLE],
    ids=[r[0] for r in TABLE],
)
def test_maternal_hiv_table(make_woman, values, result, opens, first_step, due, exposes):
    mother = make_woman(pregnant=True)
    classification = classify(PROGRAM, "HIV_SCREEN", values, mother)
    assert (classification.result_code, classification.opens_case, classification.first_step) == (
        result,
        opens,
        first_step,
    )
    assert classification.exposes_infant is exposes
    if opens:
        state = derive_case_state(PROGRAM, open_case(classification, mother, RESULTED), [], RESULTED)
        assert (state.current_step, state.due_at) == (first_step, due)


@pytest.mark.parametrize(
    ("weeks", "stage", "finding"),
    [(12, "PREGNANCY", "FIRST_TRIMESTER"), (13, "PREGNANCY", None), (39, "INTRAPARTUM", "INTRAPARTUM")],
)
def test_first_trimester_and_intrapartum_tests_are_marked_for_the_testing_indicators(
    make_woman, weeks, stage, finding
):
    findings = classify(
        PROGRAM, "HIV_SCREEN", hiv_values("NONREACTIVE", weeks=weeks, stage=stage), make_woman()
    ).findings
    assert findings == ((finding,) if finding else ())


def test_no_result_and_not_known_positive_is_an_error(make_woman):
    classification = classify(PROGRAM, "HIV_SCREEN", hiv_values(), make_woman(pregnant=True))
    assert [(e.field, e.code) for e in classification.errors] == [("screening_result", "REQUIRED")]


def test_exposed_infant_schedule_is_declared_as_data():
    assert exposed_infant_schedule(PROGRAM, BIRTH) == [
        ("INFANT_ARV", BIRTH + 6 * H),
        ("EID_48H", BIRTH + 48 * H),
        ("EID_6W", BIRTH + 42 * D),
        ("EID_3M", BIRTH + 90 * D),
        ("AB_12M", datetime(2027, 3, 2, 1, tzinfo=UTC)),
        ("AB_18M", datetime(2027, 9, 2, 1, tzinfo=UTC)),
    ]


def test_journey_mother_confirmed_to_art(make_woman, walk):
    mother = make_woman(pregnant=True)
    opened = open_case(classify(PROGRAM, "HIV_SCREEN", hiv_values("REACTIVE"), mother), mother, RESULTED)
    walk(PROGRAM, opened, [
        (RESULTED + 4 * D, "CONFIRMATION", "CONFIRMED_POS", "CASE_REPORT", RESULTED + 9 * D),
        (RESULTED + 6 * D, "CASE_REPORT", "FILED", "MATERNAL_ART", RESULTED + 11 * D),  # from confirmation
        (RESULTED + 7 * D, "MATERNAL_ART", "STARTED", ClosureOutcome.CONFIRMED_TREATED, None),
    ])  # fmt: skip


def test_journey_exposed_infant_uninfected_at_18_months(make_newborn, walk):
    infant = make_newborn(BIRTH, kind=SubjectKind.EXPOSED_INFANT)
    opened = open_exposed_infant_case(PROGRAM, infant, BIRTH + H)
    assert opened.reason is CaseReason.EXPOSED_INFANT
    assert derive_case_state(PROGRAM, opened, [], BIRTH + H).due_at == BIRTH + 6 * H
    walk(PROGRAM, opened, [
        (BIRTH + 3 * H, "INFANT_ARV", "STARTED", "EID_48H", BIRTH + 48 * H),
        (BIRTH + 40 * H, "EID_48H", "NAT_NEG", "EID_6W", BIRTH + 42 * D),
        (BIRTH + 43 * D, "EID_6W", "NAT_NEG", "EID_3M", BIRTH + 90 * D),
        (BIRTH + 92 * D, "EID_3M", "NAT_NEG", "AB_12M", datetime(2027, 3, 2, 1, tzinfo=UTC)),
        (datetime(2027, 3, 1, tzinfo=UTC), "AB_12M", "AB_POS", "AB_18M", datetime(2027, 9, 2, 1, tzinfo=UTC)),
        (datetime(2027, 9, 1, tzinfo=UTC), "AB_18M", "AB_NEG", ClosureOutcome.NOT_CONFIRMED, None),
    ])  # fmt: skip


def test_a_positive_nat_not_confirmed_returns_to_the_schedule(make_newborn, walk):
    infant = make_newborn(BIRTH, kind=SubjectKind.EXPOSED_INFANT)
    opened = open_exposed_infant_case(PROGRAM, infant, BIRTH + H)
    walk(PROGRAM, opened, [
        (BIRTH + 3 * H, "INFANT_ARV", "STARTED", "EID_48H", BIRTH + 48 * H),
        (BIRTH + 40 * H, "EID_48H", "NAT_NEG", "EID_6W", BIRTH + 42 * D),
        (BIRTH + 43 * D, "EID_6W", "NAT_POS", "NAT_CONFIRM", BIRTH + 50 * D),
        (BIRTH + 47 * D, "NAT_CONFIRM", "NOT_CONFIRMED", "EID_3M", BIRTH + 90 * D),
    ])  # fmt: skip


def test_a_confirmed_infection_goes_to_infant_art(make_newborn, walk):
    infant = make_newborn(BIRTH, kind=SubjectKind.EXPOSED_INFANT)
    opened = open_exposed_infant_case(PROGRAM, infant, BIRTH + H)
    walk(PROGRAM, opened, [
        (BIRTH + 3 * H, "INFANT_ARV", "STARTED", "EID_48H", BIRTH + 48 * H),
        (BIRTH + 40 * H, "EID_48H", "NAT_POS", "NAT_CONFIRM", BIRTH + 40 * H + 7 * D),
        (BIRTH + 5 * D, "NAT_CONFIRM", "CONFIRMED", "INFANT_ART", BIRTH + 12 * D),
        (BIRTH + 6 * D, "INFANT_ART", "STARTED", ClosureOutcome.CONFIRMED_TREATED, None),
    ])  # fmt: skip


@pytest.mark.parametrize(
    ("opening", "events", "art_due"),
    [
        # reactive, confirmed on day 3, card filed on day 5: ART due 7 days after confirmation
        ("REACTIVE", [(3, "CONFIRMATION", "CONFIRMED_POS"), (5, "CASE_REPORT", "FILED")], 10),
        # confirmed by the opening result: ART due 7 days after it, whenever the card is filed
        ("POSITIVE", [(6, "CASE_REPORT", "FILED")], 7),
    ],
)
def test_maternal_art_is_due_from_confirmation_not_from_the_case_card(
    make_woman, step_result, opening, events, art_due
):
    mother = make_woman(pregnant=True)
    values = hiv_values("REACTIVE", None if opening == "REACTIVE" else "POSITIVE")
    opened = open_case(classify(PROGRAM, "HIV_SCREEN", values, mother), mother, RESULTED)
    facts = [step_result(RESULTED + day * D, code, step) for day, step, code in events]
    state = derive_case_state(PROGRAM, opened, facts, RESULTED + 6 * D)
    assert (state.current_step, state.due_at) == ("MATERNAL_ART", RESULTED + art_due * D)
