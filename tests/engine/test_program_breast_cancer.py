"""Breast cancer screening, as programs.md §4.3 states it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from screenings.engine import CaseReason, ClosureOutcome, classify, derive_case_state, open_case
from screenings.programs import get_program

PROGRAM = get_program("BREAST_CANCER")
D = timedelta(days=1)
RESULTED = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)
IMAGING, POSITIVE = CaseReason.REFERRED_RESULT, CaseReason.POSITIVE_RESULT


def ultrasound(left: str | None, right: str | None = "1", **more: object) -> dict[str, object]:
    return {"examined_on": "2026-03-09", "birads_left": left, "birads_right": right, **more}


TABLE = [
    # id, values, result, reason, first step, due
    ("birads-0", ultrasound("0"), "BIRADS_0", IMAGING, "MAMMOGRAPHY", RESULTED + 30 * D),
    ("birads-1", ultrasound("1"), "BIRADS_1", None, None, None),
    ("birads-2", ultrasound("2"), "BIRADS_2", None, None, None),
    ("birads-3", ultrasound("3"), "BIRADS_3", IMAGING, "MAMMOGRAPHY", RESULTED + 30 * D),
    ("birads-4", ultrasound("4"), "BIRADS_4", POSITIVE, "BIOPSY", RESULTED + 14 * D),
    ("birads-4a", ultrasound("4A"), "BIRADS_4A", POSITIVE, "BIOPSY", RESULTED + 14 * D),
    ("birads-4c", ultrasound("4c"), "BIRADS_4C", POSITIVE, "BIOPSY", RESULTED + 14 * D),
    ("birads-5", ultrasound("5"), "BIRADS_5", POSITIVE, "BIOPSY", RESULTED + 14 * D),
    ("birads-6", ultrasound("6"), "BIRADS_6", POSITIVE, "TREATMENT", RESULTED + 30 * D),
    ("worse-breast-decides", ultrasound("2", "4B"), "BIRADS_4B", POSITIVE, "BIOPSY", RESULTED + 14 * D),
    ("0-outranks-3", ultrasound("3", "0"), "BIRADS_0", IMAGING, "MAMMOGRAPHY", RESULTED + 30 * D),
    ("high-risk-normal-ultrasound", ultrasound("1", high_risk=True), "BIRADS_1", IMAGING, "MAMMOGRAPHY",
     RESULTED + 30 * D),
]  # fmt: skip


@pytest.mark.parametrize(
    ("values", "result", "reason", "first_step", "due"),
    [row[1:] for row in TABLE],
    ids=[row[0] for row in TABLE],
)
def test_ultrasound_birads_table(make_woman, values, result, reason, first_step, due):
    woman = make_woman()
    classification = classify(PROGRAM, "ULTRASOUND", values, woman)
    assert (classification.result_code, classification.case_reason, classification.first_step) == (
        result,
        reason,
        first_step,
    )
    if reason is not None:
        state = derive_case_state(PROGRAM, open_case(classification, woman, RESULTED), [], RESULTED)
        assert (state.current_step, state.due_at) == (first_step, due)


@pytest.mark.parametrize(
    ("birads", "first_step"),
    [
        ("0", "SENIOR_REVIEW"),
        ("1", None),
        ("2", None),
        ("3", "SENIOR_REVIEW"),
        ("4", "BIOPSY"),
        ("5", "BIOPSY"),
    ],
)
def test_mammography_0_or_3_goes_to_senior_review_and_4_or_5_to_biopsy(make_woman, birads, first_step):
    classification = classify(
        PROGRAM, "MAMMOGRAPHY", {"examined_on": "2026-03-09", "birads": birads}, make_woman()
    )
    assert classification.first_step == first_step


def test_an_ultrasound_needs_at_least_one_breast(make_woman):
    classification = classify(PROGRAM, "ULTRASOUND", ultrasound(None, None), make_woman())
    assert classification.result_code is None and classification.errors[0].code == "NO_BIRADS"


def test_journey_final_birads_3_to_six_month_follow_up(make_woman, walk):
    woman = make_woman()
    opened = open_case(classify(PROGRAM, "ULTRASOUND", ultrasound("3"), woman), woman, RESULTED)
    mammo = RESULTED + 20 * D
    reviewed = datetime(2026, 4, 10, 1, tzinfo=UTC)
    walk(PROGRAM, opened, [
        (mammo, "MAMMOGRAPHY", "BIRADS_3", "SENIOR_REVIEW", mammo + 14 * D),
        (reviewed, "SENIOR_REVIEW", "FINAL_BIRADS_3", "SHORT_FOLLOW_UP",
         datetime(2026, 10, 10, 1,
             tzinfo=UTC)),
        (datetime(2026, 10, 8, 1, tzinfo=UTC), "SHORT_FOLLOW_UP", "STABLE_CONTINUE", "SHORT_FOLLOW_UP",
         datetime(2027, 10, 8, 1, tzinfo=UTC)),
        (datetime(2027, 10, 1, 1, tzinfo=UTC), "SHORT_FOLLOW_UP", "DOWNGRADED", ClosureOutcome.NOT_CONFIRMED,
         None),
    ])  # fmt: skip


def test_journey_birads_4_to_biopsy_histology_and_surgery(make_woman, walk):
    woman = make_woman()
    opened = open_case(classify(PROGRAM, "ULTRASOUND", ultrasound("4B"), woman), woman, RESULTED)
    walk(PROGRAM, opened, [
        (RESULTED + 7 * D, "BIOPSY", "DONE", "HISTOPATHOLOGY", RESULTED + 21 * D),
        (RESULTED + 12 * D, "HISTOPATHOLOGY", "INVASIVE", "TREATMENT", RESULTED + 42 * D),
        (RESULTED + 30 * D, "TREATMENT", "SURGERY", ClosureOutcome.CONFIRMED_TREATED, None),
    ])  # fmt: skip


def test_mammography_normal_after_ultrasound_0_returns_to_routine(make_woman, walk):
    woman = make_woman()
    opened = open_case(classify(PROGRAM, "ULTRASOUND", ultrasound("0"), woman), woman, RESULTED)
    walk(PROGRAM, opened, [
        (RESULTED + 10 * D, "MAMMOGRAPHY", "BIRADS_2", ClosureOutcome.NOT_CONFIRMED, None),
    ])  # fmt: skip
