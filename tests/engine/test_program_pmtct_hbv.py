"""PMTCT of hepatitis B, as programs.md §6.2 and §6.5 state it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from screenings.engine import (
    CaseEventFact,
    ClosureOutcome,
    EventKind,
    SubjectKind,
    classify,
    derive_case_state,
    exposed_infant_schedule,
    open_case,
    open_exposed_infant_case,
)
from screenings.programs import get_program

PROGRAM = get_program("PMTCT_HBV")
H, D = timedelta(hours=1), timedelta(days=1)
RESULTED = datetime(2026, 1, 12, 2, 0, tzinfo=UTC)
BIRTH = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def hbv(hbsag: str, hbeag: str | None = None, dna: str | None = None) -> dict[str, object]:
    return {
        "tested_on": "2026-01-10",
        "testing_stage": "PREGNANCY",
        "hbsag": hbsag,
        "hbeag": hbeag,
        "hbv_dna_iu_ml": dna,
    }


TABLE = [
    # id, values, result, maternal case first step, due, findings include
    ("negative", hbv("NEGATIVE"), "HBSAG_NEG", None, None, ()),
    ("positive-risk-unknown", hbv("POSITIVE"), "HBSAG_POS", "HBV_DNA_TEST", RESULTED + 30 * D, ()),
    ("hbeag-positive", hbv("POSITIVE", "POSITIVE"), "HBSAG_POS", "ANTIVIRAL_START", RESULTED + 30 * D,
     ("HBEAG_POS", "HIGH_MTCT_RISK")),
    ("dna-at-2e5-is-not-above", hbv("POSITIVE", "NEGATIVE", "200000"), "HBSAG_POS", None, None,
     ("LOW_MTCT_RISK",)),
    ("dna-above-2e5", hbv("POSITIVE", "NEGATIVE", "200001"), "HBSAG_POS", "ANTIVIRAL_START",
     RESULTED + 30 * D, ("HIGH_MTCT_RISK",)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("values", "result", "first_step", "due", "findings"), [r[1:] for r in TABLE], ids=[r[0] for r in TABLE]
)
def test_maternal_hbv_table(make_woman, values, result, first_step, due, findings):
    mother = make_woman(pregnant=True)
    classification = classify(PROGRAM, "HBV_SCREEN", values, mother)
    assert (classification.result_code, classification.first_step) == (result, first_step)
    assert set(findings) <= set(classification.findings)
    # every HBsAg-positive mother's delivery opens the infant's case, whatever her own risk
    assert classification.exposes_infant is (result == "HBSAG_POS")
    if first_step:
        state = derive_case_state(PROGRAM, open_case(classification, mother, RESULTED), [], RESULTED)
        assert (state.current_step, state.due_at) == (first_step, due)


def test_exposed_infant_schedule_hbig_within_12_hours_then_0_1_6_and_serology():
    assert exposed_infant_schedule(PROGRAM, BIRTH) == [
        ("HBIG_AND_DOSE_1", BIRTH + 12 * H),
        ("HEPB_DOSE_2", BIRTH + 30 * D),
        ("HEPB_DOSE_3", BIRTH + 180 * D),
        # 1–2 months after dose 3 at 7–12 months of age [S86]: two months after the dose, at 8 months
        ("SEROLOGY", datetime(2026, 10, 29, 1, tzinfo=UTC)),
    ]


def test_journey_infant_protected_after_revaccination(make_newborn, walk):
    infant = make_newborn(BIRTH, kind=SubjectKind.EXPOSED_INFANT)
    opened = open_exposed_infant_case(PROGRAM, infant, BIRTH + H)
    assert derive_case_state(PROGRAM, opened, [], BIRTH + H).due_at == BIRTH + 12 * H
    serology = datetime(2026, 11, 10, 1, tzinfo=UTC)
    revaccinated = datetime(2027, 6, 1, 1, tzinfo=UTC)
    walk(PROGRAM, opened, [
        (BIRTH + 2 * H, "HBIG_AND_DOSE_1", "BOTH_GIVEN", "HEPB_DOSE_2", BIRTH + 30 * D),
        (BIRTH + 29 * D, "HEPB_DOSE_2", "GIVEN", "HEPB_DOSE_3", BIRTH + 180 * D),
        (BIRTH + 178 * D, "HEPB_DOSE_3", "GIVEN", "SEROLOGY", datetime(2026, 10, 27, 1, tzinfo=UTC)),
        (serology, "SEROLOGY", "NON_RESPONDER", "REVACCINATION", datetime(2027, 6, 10, 1, tzinfo=UTC)),
        (revaccinated, "REVACCINATION", "COURSE_COMPLETED", "SEROLOGY_RETEST",
         datetime(2027, 8, 1, 1,
             tzinfo=UTC)),
        (datetime(2027, 7, 15, 1, tzinfo=UTC), "SEROLOGY_RETEST", "PROTECTED", ClosureOutcome.NOT_CONFIRMED,
         None),
    ])  # fmt: skip


def test_sick_infant_gets_hbig_in_time_and_the_vaccine_when_stable(make_newborn, walk):
    infant = make_newborn(BIRTH, kind=SubjectKind.EXPOSED_INFANT)
    opened = open_exposed_infant_case(PROGRAM, infant, BIRTH + H)
    walk(PROGRAM, opened, [
        (BIRTH + 10 * H, "HBIG_AND_DOSE_1", "VACCINE_DEFERRED", "DEFERRED_DOSE_1", BIRTH + 10 * H + 30 * D),
        (BIRTH + 20 * D, "DEFERRED_DOSE_1", "GIVEN", "HEPB_DOSE_2", BIRTH + 50 * D),
    ])  # fmt: skip


def test_an_infected_infant_is_referred_to_hepatology(make_newborn, walk):
    infant = make_newborn(BIRTH, kind=SubjectKind.EXPOSED_INFANT)
    opened = open_exposed_infant_case(PROGRAM, infant, BIRTH + H)
    serology = datetime(2026, 11, 10, 1, tzinfo=UTC)
    walk(PROGRAM, opened, [
        (BIRTH + 2 * H, "HBIG_AND_DOSE_1", "BOTH_GIVEN", "HEPB_DOSE_2", BIRTH + 30 * D),
        (BIRTH + 29 * D, "HEPB_DOSE_2", "GIVEN", "HEPB_DOSE_3", BIRTH + 180 * D),
        (BIRTH + 178 * D, "HEPB_DOSE_3", "GIVEN", "SEROLOGY", datetime(2026, 10, 27, 1, tzinfo=UTC)),
        (serology, "SEROLOGY", "INFECTED", "HEPATOLOGY_REFERRAL", serology + 30 * D),
        (serology + 10 * D, "HEPATOLOGY_REFERRAL", "SEEN", ClosureOutcome.CONFIRMED_TREATED, None),
    ])  # fmt: skip


def test_journey_high_risk_mother_starts_antiviral(make_woman, walk):
    mother = make_woman(pregnant=True)
    opened = open_case(classify(PROGRAM, "HBV_SCREEN", hbv("POSITIVE"), mother), mother, RESULTED)
    walk(PROGRAM, opened, [
        (RESULTED + 10 * D, "HBV_DNA_TEST", "HIGH_MTCT_RISK", "ANTIVIRAL_START", RESULTED + 40 * D),
        (RESULTED + 35 * D, "ANTIVIRAL_START", "STARTED", ClosureOutcome.CONFIRMED_TREATED, None),
    ])  # fmt: skip


@pytest.mark.parametrize(
    ("weeks", "due"),
    [
        # tested 10 Jan at 20 weeks: 32 weeks is 4 April, due by its end in Shanghai (§6.5 row 2, [S86])
        (20, datetime(2026, 4, 4, 16, 0, tzinfo=UTC)),
        (33, RESULTED),  # already past 32 weeks: due at once
    ],
)
def test_a_high_risk_mothers_antiviral_is_due_by_32_weeks_of_gestation(make_woman, weeks, due):
    mother = make_woman(pregnant=True)
    values = {**hbv("POSITIVE", "POSITIVE"), "gestational_weeks": weeks}
    opened = open_case(classify(PROGRAM, "HBV_SCREEN", values, mother), mother, RESULTED)
    state = derive_case_state(PROGRAM, opened, [], RESULTED)
    assert (state.current_step, state.due_at) == ("ANTIVIRAL_START", due)


def _at_step(at: datetime, step: str, result: str) -> CaseEventFact:
    return CaseEventFact(EventKind.STEP_RESULT, at, step=step, result_code=result)


def test_serology_drawn_before_7_months_or_within_a_month_of_dose_3_is_flagged(make_newborn, walk):
    infant = make_newborn(BIRTH, kind=SubjectKind.EXPOSED_INFANT)
    opened = open_exposed_infant_case(PROGRAM, infant, BIRTH + H)
    dose_3 = BIRTH + 178 * D
    events = [
        _at_step(BIRTH + 2 * H, "HBIG_AND_DOSE_1", "BOTH_GIVEN"),
        _at_step(BIRTH + 29 * D, "HEPB_DOSE_2", "GIVEN"),
        _at_step(dose_3, "HEPB_DOSE_3", "GIVEN"),
    ]
    waiting = derive_case_state(PROGRAM, opened, events, dose_3 + D)
    # not before the later of 7 months of age and a month after dose 3; due by two months after it
    assert waiting.earliest_at == datetime(2026, 10, 2, 1, tzinfo=UTC)  # 7 months of age (born 2 March)
    assert waiting.due_at == datetime(2026, 10, 27, 1, tzinfo=UTC)
    early = [*events, _at_step(dose_3 + 20 * D, "SEROLOGY", "PROTECTED")]
    flagged = derive_case_state(PROGRAM, opened, early, dose_3 + 21 * D)
    assert [v.step for v in flagged.too_early_steps] == ["SEROLOGY"]
    on_time = [*events, _at_step(datetime(2026, 10, 5, 1, tzinfo=UTC), "SEROLOGY", "PROTECTED")]
    assert (
        derive_case_state(PROGRAM, opened, on_time, datetime(2026, 10, 6, tzinfo=UTC)).too_early_steps == ()
    )


def test_a_late_dose_3_moves_the_serology_window_with_it(make_newborn):
    infant = make_newborn(BIRTH, kind=SubjectKind.EXPOSED_INFANT)
    opened = open_exposed_infant_case(PROGRAM, infant, BIRTH + H)
    late_dose = datetime(2027, 2, 20, 1, tzinfo=UTC)  # nearly 12 months of age
    events = [
        _at_step(BIRTH + 2 * H, "HBIG_AND_DOSE_1", "BOTH_GIVEN"),
        _at_step(BIRTH + 29 * D, "HEPB_DOSE_2", "GIVEN"),
        _at_step(late_dose, "HEPB_DOSE_3", "GIVEN"),
    ]
    state = derive_case_state(PROGRAM, opened, events, late_dose + D)
    # a month after the dose is past 12 months of age: never due before it may be drawn
    assert state.earliest_at == datetime(2027, 3, 20, 1, tzinfo=UTC) == state.due_at
