"""Routine recall dates (programs.md §4.2, §4.3): a normal primary screen is due again after its interval."""

from datetime import UTC, date, datetime

import pytest

from screenings.engine import next_routine_screen_on
from screenings.engine.checks import check_program
from screenings.programs import PROGRAMS

SCREENED = datetime(2026, 3, 2, 2, tzinfo=UTC)  # 10:00 on 2 March in Shanghai


@pytest.mark.parametrize(
    ("program", "test", "code", "due"),
    [
        ("CERVICAL_CANCER", "HPV", "NEG", date(2031, 3, 2)),  # every 5 years [S45]
        ("CERVICAL_CANCER", "CYTOLOGY", "NILM", date(2029, 3, 2)),  # every 3 years [S45]
        ("BREAST_CANCER", "ULTRASOUND", "BIRADS_1", date(2029, 3, 2)),  # BI-RADS 1/2: 3 years [S48]
        ("BREAST_CANCER", "MAMMOGRAPHY", "BIRADS_2", date(2029, 3, 2)),
    ],
)
def test_a_normal_primary_screen_is_due_again_after_its_interval(program, test, code, due):
    assert next_routine_screen_on(PROGRAMS[program], test, code, SCREENED) == due


@pytest.mark.parametrize(
    ("program", "test", "code"),
    [
        ("CERVICAL_CANCER", "HPV", "POS_16"),
        ("CERVICAL_CANCER", "CYTOLOGY", "ASC_US"),
        ("CERVICAL_CANCER", "VIA_VILI", "VIA_NEG"),  # no interval declared for the legacy test
        ("BREAST_CANCER", "ULTRASOUND", "BIRADS_3"),
        ("NEWBORN_HEARING", "INITIAL", "BILATERAL_PASS"),
    ],
)
def test_a_result_that_opens_follow_up_or_has_no_interval_sets_no_routine_date(program, test, code):
    assert next_routine_screen_on(PROGRAMS[program], test, code, SCREENED) is None


def test_the_local_date_counts_and_29_february_falls_on_28_february():
    late_evening = datetime(2028, 2, 29, 15, 30, tzinfo=UTC)  # 23:30 on 29 February in Shanghai
    assert next_routine_screen_on(PROGRAMS["BREAST_CANCER"], "ULTRASOUND", "BIRADS_1", late_evening) == date(
        2031, 2, 28
    )
    just_after_midnight = datetime(2026, 3, 1, 16, 30, tzinfo=UTC)  # 00:30 on 2 March in Shanghai
    assert next_routine_screen_on(PROGRAMS["CERVICAL_CANCER"], "HPV", "NEG", just_after_midnight) == date(
        2031, 3, 2
    )


def test_the_two_cancer_programs_declare_sound_routine_recall():
    for code in ("CERVICAL_CANCER", "BREAST_CANCER"):
        assert PROGRAMS[code].routine_recall and check_program(PROGRAMS[code]) == []
