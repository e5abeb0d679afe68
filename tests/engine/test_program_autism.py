"""Autism screening 0–6, as programs.md §5 states it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from screenings.engine import CaseReason, ClosureOutcome, classify, derive_case_state, open_case
from screenings.programs import get_program
from screenings.programs.autism import score_mchat

PROGRAM = get_program("AUTISM")
D = timedelta(days=1)
RESULTED = datetime(2025, 9, 1, 2, 0, tzinfo=UTC)
BORN = date(2024, 1, 15)  # 19 months old on 2025-09-01


def initial(point: str = "M18", signs: str = "", regression: bool = False, on: str = "2025-07-20"):
    return {"screened_on": on, "age_point": point, "warning_signs": signs, "regression": regression}


def mchat(at_risk_items: set[int], follow_up: int | None = None, **more: object) -> dict[str, object]:
    """Answer the 20 M-CHAT-R items so that exactly `at_risk_items` score a point."""
    reversed_items = {2, 5, 12}  # a "yes" is the risk answer for these, a "no" for every other item
    answers = {f"mchat_{i:02d}": (i in at_risk_items) == (i in reversed_items) for i in range(1, 21)}
    return {"screened_on": "2025-09-01", **answers, "mchat_follow_up_score": follow_up, **more}


INITIAL_TABLE = [
    ("no-signs", initial(), "INITIAL_NEG", None),
    ("one-sign", initial(signs="M18_3"), "INITIAL_POS", "REFERRAL"),
    ("regression-alone", initial(regression=True), "INITIAL_POS", "REFERRAL"),
]


@pytest.mark.parametrize(
    ("values", "result", "first_step"), [r[1:] for r in INITIAL_TABLE], ids=[r[0] for r in INITIAL_TABLE]
)
def test_initial_warning_sign_table(make_child, values, result, first_step):
    child = make_child(BORN)
    classification = classify(PROGRAM, "INITIAL", values, child)
    assert (classification.result_code, classification.first_step) == (result, first_step)
    if first_step:
        assert classification.case_reason is CaseReason.POSITIVE_RESULT
        state = derive_case_state(PROGRAM, open_case(classification, child, RESULTED), [], RESULTED)
        assert state.due_at == RESULTED + timedelta(hours=24)  # referral issued the same day [P]


def test_a_sign_from_another_age_point_is_rejected(make_child):
    classification = classify(PROGRAM, "INITIAL", initial(signs="M24_1"), make_child(BORN))
    assert [(e.field, e.code) for e in classification.errors] == [("warning_signs", "WRONG_AGE_POINT")]


@pytest.mark.parametrize(
    ("on", "outside"),
    [("2025-07-14", True), ("2025-07-15", False), ("2025-08-14", False), ("2025-08-15", True)],
)
def test_screen_outside_the_month_of_age_is_flagged(make_child, on, outside):
    codes = {w.code for w in classify(PROGRAM, "INITIAL", initial(on=on), make_child(BORN)).warnings}
    assert ("OUTSIDE_CHECK_WINDOW" in codes) is outside


MCHAT_TABLE = [
    # id, at-risk items, follow-up score, result, first step, due
    ("total-2-low", {1, 2}, None, "RESCREEN_NEG", None, None),
    ("total-3-medium-needs-interview", {1, 2, 3}, None, "FOLLOW_UP_INTERVIEW_NEEDED", "FOLLOW_UP_INTERVIEW",
     RESULTED + 14 * D),
    ("total-7-medium-needs-interview", set(range(1, 8)), None, "FOLLOW_UP_INTERVIEW_NEEDED",
     "FOLLOW_UP_INTERVIEW", RESULTED + 14 * D),
    ("total-7-follow-up-1-negative", set(range(1, 8)), 1, "RESCREEN_NEG", None, None),
    ("total-3-follow-up-2-positive", {5, 12, 20}, 2, "RESCREEN_POS", "DIAGNOSIS", RESULTED + 60 * D),
    ("total-8-high-refer-at-once", set(range(1, 9)), None, "RESCREEN_POS", "DIAGNOSIS", RESULTED + 60 * D),
    ("total-20", set(range(1, 21)), None, "RESCREEN_POS", "DIAGNOSIS", RESULTED + 60 * D),
]  # fmt: skip


@pytest.mark.parametrize(
    ("items", "follow_up", "result", "first_step", "due"),
    [r[1:] for r in MCHAT_TABLE],
    ids=[r[0] for r in MCHAT_TABLE],
)
def test_mchat_scoring_table(make_child, items, follow_up, result, first_step, due):
    child = make_child(BORN)
    classification = classify(PROGRAM, "RESCREEN", mchat(items, follow_up), child)
    assert (classification.result_code, classification.first_step) == (result, first_step)
    if first_step:
        state = derive_case_state(PROGRAM, open_case(classification, child, RESULTED), [], RESULTED)
        assert (state.current_step, state.due_at) == (first_step, due)


def test_reversed_items_score_on_yes():
    assert score_mchat({2: True, 5: True, 12: True}) == 3
    assert score_mchat({1: False, 3: False}) == 2
    assert score_mchat({1: True, 2: False}) == 0


def test_low_risk_before_24_months_asks_for_a_rescreen_after_24_months(make_child):
    classification = classify(PROGRAM, "RESCREEN", mchat(set()), make_child(BORN))
    assert "MCHAT_RESCREEN_AT_24M" in {w.code for w in classification.warnings}


@pytest.mark.parametrize("flag", ["clinical_abnormality", "other_scale_risk", "developmental_delay"])
def test_observed_abnormality_risk_scale_or_delay_is_positive_even_with_low_mchat(make_child, flag):
    classification = classify(PROGRAM, "RESCREEN", mchat(set(), **{flag: True}), make_child(BORN))
    assert classification.result_code == "RESCREEN_POS"


def test_half_answered_mchat_is_rejected(make_child):
    values = {k: v for k, v in mchat({1}).items() if k != "mchat_07"}
    classification = classify(PROGRAM, "RESCREEN", values, make_child(BORN))
    assert classification.errors[0].code == "MCHAT_INCOMPLETE"


def test_journey_initial_positive_to_diagnosis_and_intervention(make_child, walk):
    child = make_child(BORN)
    opened = open_case(classify(PROGRAM, "INITIAL", initial(signs="M18_2"), child), child, RESULTED)
    referred = RESULTED + timedelta(hours=3)
    rescreened = RESULTED + 20 * D
    diagnosed = datetime(2025, 11, 20, 2, tzinfo=UTC)
    started = datetime(2025, 12, 10, 2, tzinfo=UTC)
    walk(PROGRAM, opened, [
        (referred, "REFERRAL", "REFERRED", "RESCREEN", referred + 30 * D),
        (rescreened, "RESCREEN", "FOLLOW_UP_INTERVIEW_NEEDED", "FOLLOW_UP_INTERVIEW", rescreened + 14 * D),
        (rescreened + 7 * D, "FOLLOW_UP_INTERVIEW", "RESCREEN_POS", "DIAGNOSIS", rescreened + 67 * D),
        (diagnosed, "DIAGNOSIS", "ASD", "INTERVENTION", diagnosed + 30 * D),
        (started, "INTERVENTION", "STARTED", "REASSESSMENT", datetime(2026, 6, 10, 2, tzinfo=UTC)),
        (datetime(2026, 6, 1, 2, tzinfo=UTC), "REASSESSMENT", "CONTINUE", "REASSESSMENT",
         datetime(2026, 12, 1, 2, tzinfo=UTC)),
        (datetime(2026, 11, 20, 2, tzinfo=UTC), "REASSESSMENT", "COMPLETED", ClosureOutcome.CONFIRMED_TREATED,
         None),
    ])  # fmt: skip


def test_rescreen_negative_closes_the_case(make_child, walk):
    child = make_child(BORN)
    opened = open_case(classify(PROGRAM, "INITIAL", initial(regression=True), child), child, RESULTED)
    walk(PROGRAM, opened, [
        (RESULTED + D, "REFERRAL", "REFERRED", "RESCREEN", RESULTED + 31 * D),
        (RESULTED + 15 * D, "RESCREEN", "RESCREEN_NEG", ClosureOutcome.RESCREEN_NORMAL, None),
    ])  # fmt: skip
