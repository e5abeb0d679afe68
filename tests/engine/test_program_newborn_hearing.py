"""Newborn hearing screening, as programs.md §2 states it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from screenings.engine import (
    CaseReason,
    ClosureOutcome,
    classify,
    derive_case_state,
    is_screening_missed,
    open_case,
    open_missed_screening_case,
)
from screenings.programs import get_program

PROGRAM = get_program("NEWBORN_HEARING")
BIRTH = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
H, D = timedelta(hours=1), timedelta(days=1)
AGE_42_DAYS, AGE_90_DAYS, AGE_180_DAYS = BIRTH + 42 * D, BIRTH + 90 * D, BIRTH + 180 * D
AGE_12_MONTHS = datetime(2027, 3, 2, 1, 0, tzinfo=UTC)


def screen(
    left: str = "PASS", right: str = "PASS", method: str = "OAE", age_hours: float = 50, **more: object
):
    return {
        "screening_status": "DONE",
        "screened_at": BIRTH + age_hours * H,
        "method": method,
        "left_ear": left,
        "right_ear": right,
        **more,
    }


REF, MISSED = CaseReason.REFERRED_RESULT, CaseReason.MISSED_SCREENING
RISK = CaseReason.HIGH_RISK_SURVEILLANCE
TABLE = [
    # id, values, nicu, risk factors, result, reason, first step, due
    ("both-pass", screen(), False, (), "BILATERAL_PASS", None, None, None),
    ("left-refer", screen("REFER"), False, (), "UNILATERAL_REFER_L", REF, "RESCREEN", AGE_42_DAYS),
    ("right-incomplete", screen(right="INCOMPLETE"), False, (), "UNILATERAL_REFER_R", REF, "RESCREEN",
     AGE_42_DAYS),
    ("both-refer", screen("REFER", "REFER"), False, (), "BILATERAL_REFER", REF, "RESCREEN", AGE_42_DAYS),
    ("missed", {"screening_status": "MISSED"}, False, (), "MISSED", MISSED, "RESCREEN", AGE_42_DAYS),
    ("nicu-aabr-refer-to-diagnosis", screen("REFER", method="AABR"), True, (), "UNILATERAL_REFER_L", REF,
     "DIAGNOSIS", AGE_90_DAYS),
    ("nicu-oae-pass-is-not-a-pass", screen(method="OAE", ward="NICU"), False, (), "BILATERAL_REFER", REF,
     "RESCREEN", AGE_42_DAYS),
    ("pass-with-risk-factor", screen(), False, ("FAMILY_HISTORY",), "BILATERAL_PASS", RISK,
     "SURVEILLANCE_12M", AGE_12_MONTHS),
    ("pass-with-risk-recorded-at-screen", screen(risk_factors="ECMO"), False, (), "BILATERAL_PASS", RISK,
     "SURVEILLANCE_12M", AGE_12_MONTHS),
]  # fmt: skip


@pytest.mark.parametrize(
    ("values", "nicu", "risks", "result", "reason", "first_step", "due"),
    [row[1:] for row in TABLE],
    ids=[row[0] for row in TABLE],
)
def test_initial_screen_table(make_newborn, values, nicu, risks, result, reason, first_step, due):
    baby = make_newborn(nicu=nicu, risk_factors=risks)
    classification = classify(PROGRAM, "INITIAL", values, baby)
    assert (classification.result_code, classification.case_reason, classification.first_step) == (
        result,
        reason,
        first_step,
    )
    assert classification.opens_case is (reason is not None)
    if reason is not None:
        opened_at = BIRTH + 3 * D
        state = derive_case_state(PROGRAM, open_case(classification, baby, opened_at), [], opened_at)
        assert (state.current_step, state.due_at) == (first_step, due)


@pytest.mark.parametrize(("age_hours", "early"), [(47, True), (48, False)])
def test_initial_screen_before_48_hours_is_flagged(make_newborn, age_hours, early):
    classification = classify(PROGRAM, "INITIAL", screen(age_hours=age_hours), make_newborn())
    assert classification.result_code == "BILATERAL_PASS"
    assert ("BEFORE_48H" in {w.code for w in classification.warnings}) is early


def test_nicu_infant_screened_with_oae_is_told_to_use_aabr(make_newborn):
    classification = classify(PROGRAM, "INITIAL", screen(), make_newborn(nicu=True))
    assert "NICU_REQUIRES_AABR" in {w.code for w in classification.warnings}
    assert classification.result_code == "BILATERAL_REFER"


def test_rescreen_fail_goes_to_diagnosis_by_3_months(make_newborn):
    baby = make_newborn()
    classification = classify(PROGRAM, "RESCREEN", screen("PASS", "REFER", age_hours=30 * 24), baby)
    assert (classification.result_code, classification.first_step) == ("UNILATERAL_REFER_R", "DIAGNOSIS")
    state = derive_case_state(PROGRAM, open_case(classification, baby, BIRTH + 30 * D), [], BIRTH + 30 * D)
    assert state.due_at == AGE_90_DAYS


def test_journey_refer_rescreen_diagnosis_intervention_1_3_6(make_newborn, walk):
    baby = make_newborn()
    opened = open_case(classify(PROGRAM, "INITIAL", screen("REFER", "REFER"), baby), baby, BIRTH + 2 * D)
    state = walk(PROGRAM, opened, [
        (BIRTH + 30 * D, "RESCREEN", "UNILATERAL_REFER_L", "DIAGNOSIS", AGE_90_DAYS),
        (BIRTH + 80 * D, "DIAGNOSIS", "SENSORINEURAL", "INTERVENTION", AGE_180_DAYS),
        (BIRTH + 150 * D, "INTERVENTION", "HEARING_AID_FITTED", ClosureOutcome.CONFIRMED_TREATED, None),
    ])  # fmt: skip
    assert [v.step for v in state.history] == ["RESCREEN", "DIAGNOSIS", "INTERVENTION"]


def test_rescreen_pass_closes_unless_risk_factors_call_for_surveillance(make_newborn, walk):
    baby = make_newborn()
    opened = open_case(classify(PROGRAM, "INITIAL", screen("REFER"), baby), baby, BIRTH + 2 * D)
    walk(PROGRAM, opened, [
        (BIRTH + 20 * D, "RESCREEN", "BILATERAL_PASS", ClosureOutcome.RESCREEN_NORMAL, None),
    ])  # fmt: skip
    at_risk = make_newborn(risk_factors=("MENINGITIS",))
    opened = open_case(classify(PROGRAM, "INITIAL", screen("REFER"), at_risk), at_risk, BIRTH + 2 * D)
    walk(PROGRAM, opened, [
        (BIRTH + 20 * D, "RESCREEN", "BILATERAL_PASS", "SURVEILLANCE_12M", AGE_12_MONTHS),
        (AGE_12_MONTHS, "SURVEILLANCE_12M", "NORMAL", "SURVEILLANCE_24M",
         datetime(2028, 3, 2, 1, tzinfo=UTC)),
        (datetime(2028, 3, 1, tzinfo=UTC), "SURVEILLANCE_24M", "NORMAL", "SURVEILLANCE_36M",
         datetime(2029, 3, 2, 1, tzinfo=UTC)),
        (datetime(2029, 3, 1, tzinfo=UTC), "SURVEILLANCE_36M", "NORMAL", ClosureOutcome.NOT_CONFIRMED, None),
    ])  # fmt: skip


def test_late_onset_loss_found_in_surveillance_gets_its_own_deadlines(make_newborn, walk):
    baby = make_newborn(risk_factors=("CRANIOFACIAL_ANOMALY",))
    opened = open_case(classify(PROGRAM, "INITIAL", screen(), baby), baby, BIRTH + 2 * D)
    found = datetime(2027, 3, 10, 1, tzinfo=UTC)
    walk(PROGRAM, opened, [
        (found, "SURVEILLANCE_12M", "SUSPECTED_LOSS", "DIAGNOSIS", found + 30 * D),
        (found + 20 * D, "DIAGNOSIS", "MIXED", "INTERVENTION", found + 110 * D),
        (found + 60 * D, "INTERVENTION", "COCHLEAR_IMPLANT", ClosureOutcome.CONFIRMED_TREATED, None),
    ])  # fmt: skip


def test_transient_loss_is_re_evaluated(make_newborn, walk):
    baby = make_newborn()
    opened = open_case(
        classify(PROGRAM, "RESCREEN", screen("REFER", age_hours=600), baby), baby, BIRTH + 25 * D
    )
    walk(PROGRAM, opened, [
        (BIRTH + 60 * D, "DIAGNOSIS", "TRANSIENT", "REEVALUATION", BIRTH + 150 * D),
        (BIRTH + 140 * D, "REEVALUATION", "NORMAL", ClosureOutcome.NOT_CONFIRMED, None),
    ])  # fmt: skip


def test_a_birth_without_an_initial_screen_by_day_7_is_missed(make_newborn):
    baby = make_newborn()
    assert not is_screening_missed(PROGRAM, baby, BIRTH + 7 * D)
    assert is_screening_missed(PROGRAM, baby, BIRTH + 7 * D + H)
    opened = open_missed_screening_case(PROGRAM, baby, BIRTH + 8 * D)
    state = derive_case_state(PROGRAM, opened, [], opened.opened_at)
    assert (state.current_step, state.due_at) == ("RESCREEN", AGE_42_DAYS)


def test_a_rescreen_marked_not_done_is_rejected_not_a_crash(make_newborn):
    classification = classify(PROGRAM, "RESCREEN", {"screening_status": "MISSED"}, make_newborn())
    assert not classification.ok and classification.errors[0].field == "screening_status"
