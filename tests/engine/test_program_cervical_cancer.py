"""Cervical cancer screening, as programs.md §4.2 states it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from screenings.engine import CaseReason, ClosureOutcome, classify, derive_case_state, open_case
from screenings.programs import get_program

PROGRAM = get_program("CERVICAL_CANCER")
D = timedelta(days=1)
RESULTED = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)


def hpv(result: str = "POSITIVE", types: str = "", **more: object) -> dict[str, object]:
    return {"sampled_on": "2026-03-02", "hpv_result": result, "hpv_types": types, **more}


def tbs(code: str) -> dict[str, object]:
    return {"sampled_on": "2026-03-02", "tbs": code}


HPV_TABLE = [
    # id, values, result, reason, first step, due, track
    ("negative", hpv("NEGATIVE"), "NEG", None, None, None, None),
    ("hpv16-straight-to-colposcopy", hpv(types="HPV16"), "POS_16", CaseReason.POSITIVE_RESULT, "NOTIFY",
     RESULTED + 7 * D, "HIGH_GRADE"),
    ("hpv18", hpv(types="HPV18,HPV52"), "POS_18", CaseReason.POSITIVE_RESULT, "NOTIFY", RESULTED + 7 * D,
     "HIGH_GRADE"),
    ("hpv16-and-18", hpv(types="HPV18;HPV16"), "POS_16_18", CaseReason.POSITIVE_RESULT, "NOTIFY",
     RESULTED + 7 * D, "HIGH_GRADE"),
    ("hpv31-to-cytology-triage", hpv(types="HPV31"), "POS_OTHER_HR", CaseReason.POSITIVE_RESULT,
     "CYTOLOGY_TRIAGE", RESULTED + 14 * D, "ROUTINE"),
    ("pooled-other-high-risk", hpv(types="HR_POOLED"), "POS_OTHER_HR", CaseReason.POSITIVE_RESULT,
     "CYTOLOGY_TRIAGE", RESULTED + 14 * D, "ROUTINE"),
    ("invalid", hpv("INVALID"), "INVALID", CaseReason.UNSATISFACTORY_SPECIMEN, "HPV_RESAMPLE",
     RESULTED + 30 * D, None),
]  # fmt: skip

TBS_TABLE = [
    ("NILM", None, None, None),
    ("ASC_US", "NOTIFY", "ROUTINE", RESULTED + 7 * D),
    ("LSIL", "NOTIFY", "ROUTINE", RESULTED + 7 * D),
    ("ASC_H", "NOTIFY", "HIGH_GRADE", RESULTED + 7 * D),
    ("HSIL", "NOTIFY", "HIGH_GRADE", RESULTED + 7 * D),
    ("AGC", "NOTIFY", "HIGH_GRADE", RESULTED + 7 * D),
    ("SCC", "NOTIFY", "HIGH_GRADE", RESULTED + 7 * D),
    ("UNSATISFACTORY", "CYTOLOGY_RESAMPLE", None, RESULTED + 90 * D),
]


@pytest.mark.parametrize(
    ("values", "result", "reason", "first_step", "due", "track"),
    [row[1:] for row in HPV_TABLE],
    ids=[row[0] for row in HPV_TABLE],
)
def test_hpv_triage_table(make_woman, values, result, reason, first_step, due, track):
    woman = make_woman()
    classification = classify(PROGRAM, "HPV", values, woman)
    assert (classification.result_code, classification.case_reason, classification.first_step) == (
        result,
        reason,
        first_step,
    )
    assert classification.track == track
    if reason is not None:
        state = derive_case_state(PROGRAM, open_case(classification, woman, RESULTED), [], RESULTED)
        assert (state.current_step, state.due_at) == (first_step, due)


@pytest.mark.parametrize(("code", "first_step", "track", "due"), TBS_TABLE, ids=[row[0] for row in TBS_TABLE])
def test_cytology_ascus_or_worse_goes_to_colposcopy(make_woman, code, first_step, track, due):
    woman = make_woman()
    classification = classify(PROGRAM, "CYTOLOGY", tbs(code), woman)
    assert (classification.result_code, classification.first_step, classification.track) == (
        code,
        first_step,
        track,
    )
    if first_step is not None:
        state = derive_case_state(PROGRAM, open_case(classification, woman, RESULTED), [], RESULTED)
        assert state.due_at == due


@pytest.mark.parametrize(("track", "colposcopy_days"), [("HIGH_GRADE", 30), ("ROUTINE", 90)])
def test_colposcopy_is_due_30_days_after_notice_for_high_grade_and_90_otherwise(
    make_woman, walk, track, colposcopy_days
):
    woman = make_woman()
    types = "HPV16" if track == "HIGH_GRADE" else "HPV31"
    classification = classify(PROGRAM, "HPV", hpv(types=types), woman)
    opened = open_case(classification, woman, RESULTED)
    notified = RESULTED + 5 * D
    legs = [(notified, "NOTIFY", "NOTIFIED", "COLPOSCOPY", notified + colposcopy_days * D)]
    if track == "ROUTINE":
        legs.insert(0, (RESULTED + 2 * D, "CYTOLOGY_TRIAGE", "ASC_US", "NOTIFY", RESULTED + 9 * D))
    walk(PROGRAM, opened, legs)


def test_a_positive_test_must_name_its_types(make_woman):
    classification = classify(PROGRAM, "HPV", hpv(types=""), make_woman())
    assert classification.result_code is None
    assert [(e.field, e.code) for e in classification.errors] == [("hpv_types", "REQUIRED")]


def test_unknown_hpv_type_is_rejected(make_woman):
    classification = classify(PROGRAM, "HPV", hpv(types="HPV99"), make_woman())
    assert [(e.field, e.code) for e in classification.errors] == [("hpv_types", "UNKNOWN_CHOICE")]


def test_a_woman_outside_35_to_64_is_warned_not_refused(make_woman):
    classification = classify(PROGRAM, "HPV", hpv("NEGATIVE"), make_woman(birth_on=date(1995, 1, 1)))
    assert classification.result_code == "NEG"
    assert "AGE_OUTSIDE_WINDOW" in {w.code for w in classification.warnings}
    in_window = classify(
        PROGRAM, "HPV", hpv("NEGATIVE"), make_woman(birth_on=date(1961, 3, 3))
    )  # 64 on the day
    assert "AGE_OUTSIDE_WINDOW" not in {w.code for w in in_window.warnings}


def test_journey_hpv16_to_cin3_treatment_and_post_treatment_test(make_woman, walk):
    woman = make_woman()
    opened = open_case(classify(PROGRAM, "HPV", hpv(types="HPV16"), woman), woman, RESULTED)
    notified = datetime(2026, 3, 12, 1, tzinfo=UTC)
    treated = datetime(2026, 5, 20, 1, tzinfo=UTC)
    walk(PROGRAM, opened, [
        (notified, "NOTIFY", "NOTIFIED", "COLPOSCOPY", notified + 30 * D),
        (datetime(2026, 4, 1, 1, tzinfo=UTC), "COLPOSCOPY", "HIGH_GRADE", "HISTOPATHOLOGY",
         datetime(2026, 4, 15, 1, tzinfo=UTC)),
        (datetime(2026, 4, 10, 1, tzinfo=UTC), "HISTOPATHOLOGY", "HSIL_CIN3", "TREATMENT",
         datetime(2026, 6, 9, 1, tzinfo=UTC)),
        (treated, "TREATMENT", "LEEP", "POST_TREATMENT_FOLLOW_UP", datetime(2027, 5, 20, 1, tzinfo=UTC)),
        (datetime(2027, 5, 18, 1, tzinfo=UTC), "POST_TREATMENT_FOLLOW_UP", "NEGATIVE",
         ClosureOutcome.CONFIRMED_TREATED, None),
    ])  # fmt: skip


def test_journey_hpv31_triage_negative_repeats_hpv_at_12_months(make_woman, walk):
    woman = make_woman()
    opened = open_case(classify(PROGRAM, "HPV", hpv(types="HPV31"), woman), woman, RESULTED)
    triaged = datetime(2026, 3, 20, 1, tzinfo=UTC)
    walk(PROGRAM, opened, [
        (triaged, "CYTOLOGY_TRIAGE", "NILM", "REPEAT_HPV_12M", datetime(2027, 3, 20, 1, tzinfo=UTC)),
        (datetime(2027, 3, 15, 1, tzinfo=UTC), "REPEAT_HPV_12M", "NEG", ClosureOutcome.RESCREEN_NORMAL, None),
    ])  # fmt: skip


def test_journey_cancer_goes_to_oncology_within_30_days(make_woman, walk):
    woman = make_woman()
    opened = open_case(classify(PROGRAM, "CYTOLOGY", tbs("SCC"), woman), woman, RESULTED)
    biopsied = RESULTED + 20 * D
    walk(PROGRAM, opened, [
        (RESULTED + 2 * D, "NOTIFY", "NOTIFIED", "COLPOSCOPY", RESULTED + 32 * D),
        (biopsied, "COLPOSCOPY", "SUSPECT_CANCER", "HISTOPATHOLOGY", biopsied + 14 * D),
        (biopsied + 7 * D, "HISTOPATHOLOGY", "INVASIVE_SCC", "ONCOLOGY_REFERRAL", biopsied + 37 * D),
        (biopsied + 20 * D, "ONCOLOGY_REFERRAL", "TREATED_BY_ONCOLOGY", ClosureOutcome.CONFIRMED_TREATED,
         None),
    ])  # fmt: skip


def test_cin1_is_followed_up_at_12_months(make_woman, walk):
    woman = make_woman()
    opened = open_case(classify(PROGRAM, "CYTOLOGY", tbs("LSIL"), woman), woman, RESULTED)
    walk(PROGRAM, opened, [
        (RESULTED + 3 * D, "NOTIFY", "NOTIFIED", "COLPOSCOPY", RESULTED + 93 * D),
        (RESULTED + 40 * D, "COLPOSCOPY", "LOW_GRADE", "HISTOPATHOLOGY", RESULTED + 54 * D),
        (RESULTED + 50 * D, "HISTOPATHOLOGY", "LSIL_CIN1", "CIN1_FOLLOW_UP",
         datetime(2027, 4, 29, 1, tzinfo=UTC)),
        (datetime(2027, 4, 20, 1, tzinfo=UTC), "CIN1_FOLLOW_UP", "NEGATIVE",
         ClosureOutcome.CONFIRMED_MONITORED, None),
    ])  # fmt: skip
