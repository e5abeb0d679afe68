"""PMTCT of syphilis, as programs.md §6.2 and §6.4 state it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from screenings.engine import (
    SCHEDULED_DUE_AT,
    ClosureOutcome,
    SubjectKind,
    classify,
    derive_case_state,
    exposed_infant_schedule,
    open_case,
    open_exposed_infant_case,
)
from screenings.programs import get_program

PROGRAM = get_program("PMTCT_SYPHILIS")
H, D = timedelta(hours=1), timedelta(days=1)
RESULTED = datetime(2026, 1, 12, 2, 0, tzinfo=UTC)
BIRTH = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def serology(treponemal: str, non_treponemal: str, titre: int | None = 8) -> dict[str, object]:
    return {
        "tested_on": "2026-01-10",
        "testing_stage": "PREGNANCY",
        "gestational_weeks": 16,
        "treponemal": treponemal,
        "non_treponemal": non_treponemal,
        "titre": titre,
    }


TABLE = [
    # id, values, result, first step, due, exposes infant
    ("both-positive-is-current", serology("POSITIVE", "POSITIVE"), "CURRENT", "TREATMENT_START",
     RESULTED + 3 * D, True),
    ("treponemal-only", serology("POSITIVE", "NEGATIVE"), "TP_POS_NT_NEG", "CLINICAL_REVIEW",
     RESULTED + 14 * D, False),
    ("non-treponemal-only-false-positive", serology("NEGATIVE", "POSITIVE"), "TP_NEG_NT_POS", None, None,
     False),
    ("one-class-positive-other-not-done", serology("POSITIVE", "NOT_DONE"), "REACTIVE_PENDING",
     "CONFIRMATION", RESULTED + 7 * D, False),
    ("non-treponemal-first", serology("NOT_DONE", "POSITIVE"), "REACTIVE_PENDING", "CONFIRMATION",
     RESULTED + 7 * D, False),
    ("both-negative", serology("NEGATIVE", "NEGATIVE"), "NEG", None, None, False),
    ("one-negative-only", serology("NEGATIVE", "NOT_DONE"), "NEG", None, None, False),
]  # fmt: skip


@pytest.mark.parametrize(
    ("values", "result", "first_step", "due", "exposes"), [r[1:] for r in TABLE], ids=[r[0] for r in TABLE]
)
def test_maternal_syphilis_needs_both_test_classes_for_current_infection(
    make_woman, values, result, first_step, due, exposes
):
    mother = make_woman(pregnant=True)
    classification = classify(PROGRAM, "SYPHILIS_SCREEN", values, mother)
    assert (classification.result_code, classification.first_step) == (result, first_step)
    assert classification.exposes_infant is exposes
    if first_step:
        state = derive_case_state(PROGRAM, open_case(classification, mother, RESULTED), [], RESULTED)
        assert (state.current_step, state.due_at) == (first_step, due)


def test_no_test_at_all_is_an_error(make_woman):
    classification = classify(PROGRAM, "SYPHILIS_SCREEN", serology("NOT_DONE", "NOT_DONE"), make_woman())
    assert classification.result_code is None and classification.errors[0].code == "NO_TEST"


def test_current_syphilis_without_a_titre_is_warned(make_woman):
    classification = classify(
        PROGRAM, "SYPHILIS_SCREEN", serology("POSITIVE", "POSITIVE", None), make_woman()
    )
    assert "TITRE_MISSING" in {w.code for w in classification.warnings}


def test_exposed_infant_follow_up_runs_from_3_to_18_months():
    schedule = exposed_infant_schedule(PROGRAM, BIRTH)
    assert schedule == [
        ("BIRTH_ASSESSMENT", BIRTH + 24 * H),
        ("FOLLOW_UP_3M", datetime(2026, 6, 2, 1, tzinfo=UTC)),
        ("FOLLOW_UP_6M", datetime(2026, 9, 2, 1, tzinfo=UTC)),
        ("FOLLOW_UP_9M", datetime(2026, 12, 2, 1, tzinfo=UTC)),
        ("FOLLOW_UP_12M", datetime(2027, 3, 2, 1, tzinfo=UTC)),
        ("FOLLOW_UP_15M", datetime(2027, 6, 2, 1, tzinfo=UTC)),
        ("FOLLOW_UP_18M", datetime(2027, 9, 2, 1, tzinfo=UTC)),
    ]


def test_journey_mother_treated_in_two_courses_with_monthly_titres(make_woman, walk, step_result):
    mother = make_woman(pregnant=True)
    opened = open_case(
        classify(PROGRAM, "SYPHILIS_SCREEN", serology("POSITIVE", "POSITIVE"), mother), mother, RESULTED
    )
    started = RESULTED + D
    walk(PROGRAM, opened, [
        (started, "TREATMENT_START", "STARTED", "CASE_REPORT", started + 5 * D),
        (started + 3 * D, "CASE_REPORT", "FILED", "COURSE_1", started + 24 * D),
        (started + 15 * D, "COURSE_1", "COMPLETED", "COURSE_2", started + 71 * D),
    ])  # fmt: skip
    # the second course belongs in the third trimester: the clinic books its date
    booked = datetime(2026, 4, 20, 2, tzinfo=UTC)
    events = [
        step_result(started, "STARTED"),
        step_result(started + 3 * D, "FILED"),
        step_result(started + 15 * D, "COMPLETED", **{SCHEDULED_DUE_AT: booked}),
    ]
    assert derive_case_state(PROGRAM, opened, events, started + 15 * D).due_at == booked
    events += [
        step_result(datetime(2026, 4, 15, 2, tzinfo=UTC), "COMPLETED"),
        step_result(datetime(2026, 5, 14, 2, tzinfo=UTC), "STABLE_OR_FALLING"),
    ]
    state = derive_case_state(PROGRAM, opened, events, datetime(2026, 5, 14, 2, tzinfo=UTC))
    assert (state.current_step, state.due_at) == ("TITRE_MONITORING", datetime(2026, 6, 14, 2, tzinfo=UTC))
    events.append(step_result(datetime(2026, 6, 1, 2, tzinfo=UTC), "DELIVERED"))
    state = derive_case_state(PROGRAM, opened, events, datetime(2026, 6, 1, 2, tzinfo=UTC))
    assert state.outcome is ClosureOutcome.CONFIRMED_TREATED


def test_journey_exposed_infant_followed_until_excluded(make_newborn, walk):
    infant = make_newborn(BIRTH, kind=SubjectKind.EXPOSED_INFANT)
    opened = open_exposed_infant_case(PROGRAM, infant, BIRTH + H)
    walk(PROGRAM, opened, [
        (BIRTH + 5 * H, "BIRTH_ASSESSMENT", "PROPHYLAXIS_GIVEN", "FOLLOW_UP_3M",
         datetime(2026, 6, 2, 1, tzinfo=UTC)),
        (datetime(2026, 6, 1, 1, tzinfo=UTC), "FOLLOW_UP_3M", "NOT_EXCLUDED", "FOLLOW_UP_6M",
         datetime(2026, 9, 2, 1, tzinfo=UTC)),
        (datetime(2026, 9, 3, 1, tzinfo=UTC), "FOLLOW_UP_6M", "CS_SUSPECTED", "CS_DIAGNOSIS",
         datetime(2026, 9, 10, 1, tzinfo=UTC)),
        (datetime(2026, 9, 8, 1, tzinfo=UTC), "CS_DIAGNOSIS", "NOT_CONFIRMED", "FOLLOW_UP_9M",
         datetime(2026, 12, 2, 1, tzinfo=UTC)),
        (datetime(2026, 12, 1, 1, tzinfo=UTC), "FOLLOW_UP_9M", "EXCLUDED", ClosureOutcome.NOT_CONFIRMED,
         None),
    ])  # fmt: skip


def test_congenital_syphilis_is_treated(make_newborn, walk):
    infant = make_newborn(BIRTH, kind=SubjectKind.EXPOSED_INFANT)
    opened = open_exposed_infant_case(PROGRAM, infant, BIRTH + H)
    walk(PROGRAM, opened, [
        (BIRTH + 5 * H, "BIRTH_ASSESSMENT", "CS_SUSPECTED", "CS_DIAGNOSIS", BIRTH + 5 * H + 7 * D),
        (BIRTH + 2 * D, "CS_DIAGNOSIS", "CS_CONFIRMED", "CS_TREATMENT", BIRTH + 5 * D),
        (BIRTH + 3 * D, "CS_TREATMENT", "STARTED", ClosureOutcome.CONFIRMED_TREATED, None),
    ])  # fmt: skip


# -- the exposed infant's prophylaxis, decided from the mother's treatment (§6.4 row 7, S85) -------------

_DELIVERY = datetime(2026, 9, 30, 2, tzinfo=UTC)


def _mother(*steps):
    from screenings.engine import CaseEventFact, EventKind

    return [CaseEventFact(EventKind.STEP_RESULT, at, step=step, result_code=code) for at, step, code in steps]


@pytest.mark.parametrize(
    ("steps", "reason", "indicated"),
    [
        ((), "MOTHER_UNTREATED", True),
        (((_DELIVERY - timedelta(days=60), "TREATMENT_START", "STARTED_NON_PENICILLIN"),
          (_DELIVERY - timedelta(days=39), "COURSE_1", "COMPLETED")), "MOTHER_NON_PENICILLIN", True),
        (((_DELIVERY - timedelta(days=40), "TREATMENT_START", "STARTED"),
          (_DELIVERY - timedelta(days=19), "COURSE_1", "COMPLETED")), "MOTHER_TREATED_LATE", True),
        (((_DELIVERY - timedelta(days=10), "TREATMENT_START", "STARTED"),), "MOTHER_TREATED_LATE", True),
        (((_DELIVERY - timedelta(days=60), "TREATMENT_START", "STARTED"),
          (_DELIVERY - timedelta(days=28), "COURSE_1", "COMPLETED")), "MOTHER_ADEQUATELY_TREATED", False),
        # treatment after the delivery does not count for the infant
        (((_DELIVERY + timedelta(days=1), "TREATMENT_START", "STARTED"),), "MOTHER_UNTREATED", True),
    ],
)  # fmt: skip
def test_the_infant_s_prophylaxis_follows_the_mother_s_treatment(steps, reason, indicated):
    from screenings.programs.pmtct_syphilis import infant_prophylaxis

    decision = infant_prophylaxis(_mother(*steps), _DELIVERY, PROGRAM.values(None))
    assert decision.reason == reason
    assert ("PROPHYLAXIS_NOT_INDICATED" in decision.refused_results) is indicated
    if indicated:
        assert decision.data["dose_u_per_kg"] == 50000 and decision.data["drug"] == "BENZATHINE_PENICILLIN_G"
