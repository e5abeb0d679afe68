"""Newborn metabolic screening, as programs.md §1 states it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from screenings.engine import (
    CaseReason,
    CaseStatus,
    ClosureOutcome,
    classify,
    derive_case_state,
    escalation_due,
    is_screening_missed,
    open_case,
    open_missed_screening_case,
)
from screenings.programs import get_program

PROGRAM = get_program("NEWBORN_METABOLIC")
BIRTH = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 Shanghai
H, D = timedelta(hours=1), timedelta(days=1)
GOOD_CARD = {
    "collection_status": "COLLECTED",
    "feeds_count": 8,
    "spot_count": 3,
    "specimen_quality": "ADEQUATE",
    "key_info_complete": True,
    "phe_umol_l": "80",
    "tsh_miu_l": "3.1",
}


def card(age_hours: float = 72, **values: object) -> dict[str, object]:
    return {**GOOD_CARD, "collected_at": BIRTH + age_hours * H, **values}


RESULTED = BIRTH + 5 * D  # Saturday 7 March, 09:00 Shanghai: the lab's result time

POS, MISSED = CaseReason.POSITIVE_RESULT, CaseReason.MISSED_SCREENING
UNSAT = CaseReason.UNSATISFACTORY_SPECIMEN
RETEST_DUE, RECOLLECT_DUE = RESULTED + 3 * D, RESULTED + 7 * D
TABLE = [
    # id, values, result, case reason, first step, due
    ("71h-too-early", card(71), "UNSATISFACTORY", UNSAT, "RECOLLECTION", RECOLLECT_DUE),
    ("72h-valid", card(72), "NORMAL", None, None, None),
    ("phe-120-at-cutoff", card(phe_umol_l="120"), "NORMAL", None, None, None),
    ("phe-121-retest-pending", card(phe_umol_l="121"), "SUSPECTED_POSITIVE", POS, "CARD_RETEST", RETEST_DUE),
    # two working days from a Saturday morning is the Tuesday morning
    ("phe-121-retest-high", card(phe_umol_l="121", phe_retest_umol_l="125"), "RECALL", POS, "NOTIFY",
     datetime(2026, 3, 10, 1, 0, tzinfo=UTC)),
    ("phe-121-retest-normal", card(phe_umol_l="121", phe_retest_umol_l="110"), "NORMAL", None, None, None),
    ("tsh-9-at-cutoff", card(tsh_miu_l="9"), "NORMAL", None, None, None),
    ("tsh-9.1", card(tsh_miu_l="9.1"), "SUSPECTED_POSITIVE", POS, "CARD_RETEST", RETEST_DUE),
    ("17ohp-13.9-term", card(ohp17_nmol_l="13.9"), "NORMAL", None, None, None),
    ("17ohp-14-term", card(ohp17_nmol_l="14"), "SUSPECTED_POSITIVE", POS, "CARD_RETEST", RETEST_DUE),
    ("17ohp-20-preterm", card(ohp17_nmol_l="20", gestational_weeks=34), "NORMAL", None, None, None),
    ("17ohp-36-lbw", card(ohp17_nmol_l="36", birth_weight_g=2100), "SUSPECTED_POSITIVE", POS, "CARD_RETEST",
     RETEST_DUE),
    ("g6pd-2.6", card(g6pd_u_g_hb="2.6"), "NORMAL", None, None, None),
    ("g6pd-2.5", card(g6pd_u_g_hb="2.5"), "SUSPECTED_POSITIVE", POS, "CARD_RETEST", RETEST_DUE),
    ("msms-abnormal", card(msms_result="ABNORMAL"), "SUSPECTED_POSITIVE", POS, "CARD_RETEST", RETEST_DUE),
    ("5-feeds", card(feeds_count=5), "UNSATISFACTORY", UNSAT, "RECOLLECTION", RECOLLECT_DUE),
    ("2-spots", card(spot_count=2), "UNSATISFACTORY", UNSAT, "RECOLLECTION", RECOLLECT_DUE),
    ("serum-ring", card(specimen_quality="SERUM_RING"), "UNSATISFACTORY", UNSAT, "RECOLLECTION",
     RECOLLECT_DUE),
    ("key-data-missing", card(key_info_complete=False), "INFO_MISSING", UNSAT, "DATA_CORRECTION",
     RECOLLECT_DUE),
    ("not-collected", {"collection_status": "NOT_COLLECTED"}, "NOT_COLLECTED", MISSED, "COLLECTION",
     BIRTH + 7 * D),
    # a delayed-collection slip is due at the end of the appointment day (Shanghai), within the day-20 limit
    ("delayed", {"collection_status": "DELAYED", "appointment_on": "2026-03-12"}, "DELAYED", MISSED,
     "COLLECTION", datetime(2026, 3, 12, 16, 0, tzinfo=UTC)),
    ("refused", {"collection_status": "REFUSED"}, "REFUSED", None, None, None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("values", "result", "reason", "first_step", "due"),
    [row[1:] for row in TABLE],
    ids=[row[0] for row in TABLE],
)
def test_heel_blood_table(make_newborn, values, result, reason, first_step, due):
    baby = make_newborn()
    classification = classify(PROGRAM, "HEEL_BLOOD_SPOT", values, baby)
    assert classification.errors == ()
    assert classification.result_code == result
    assert classification.opens_case is (reason is not None)
    assert classification.case_reason == reason
    assert classification.first_step == first_step
    if reason is not None:
        state = derive_case_state(PROGRAM, open_case(classification, baby, RESULTED), [], RESULTED)
        assert (state.current_step, state.due_at) == (first_step, due)


def test_a_raised_value_is_acted_on_even_before_72_hours(make_newborn):
    classification = classify(PROGRAM, "HEEL_BLOOD_SPOT", card(71, phe_umol_l="200"), make_newborn())
    assert classification.result_code == "SUSPECTED_POSITIVE"
    assert "BEFORE_72H" in {w.code for w in classification.warnings}


@pytest.mark.parametrize(
    ("age_hours", "warning", "timely"),
    [
        (168, None, True),
        (169, "AFTER_DAY_7", True),
        (480, "AFTER_DAY_7", True),
        (481, "AFTER_DAY_7", True),  # born 09:00, collected 10:00 on day 20: on time, as the rate counts it
        (494.9, "AFTER_DAY_7", True),  # 23:54 on day 20
        (495, "AFTER_LATE_LIMIT", False),  # midnight: day 21
    ],
)
def test_late_collection_is_flagged_and_after_day_20_is_not_a_timely_screen(
    make_newborn, age_hours, warning, timely
):
    classification = classify(PROGRAM, "HEEL_BLOOD_SPOT", card(age_hours), make_newborn())
    assert classification.result_code == "NORMAL"
    codes = {w.code for w in classification.warnings}
    assert (warning in codes) if warning else not codes
    assert ("NOT_WITHIN_20_DAYS" not in classification.findings) is timely


def test_a_card_collected_before_birth_is_rejected(make_newborn):
    classification = classify(PROGRAM, "HEEL_BLOOD_SPOT", card(-1), make_newborn())
    assert classification.result_code is None
    assert [e.field for e in classification.errors] == ["collected_at"]


def test_an_implausible_value_is_rejected_naming_the_field(make_newborn):
    classification = classify(PROGRAM, "HEEL_BLOOD_SPOT", card(phe_umol_l="-5"), make_newborn())
    assert classification.result_code is None and not classification.opens_case
    assert [(e.field, e.code) for e in classification.errors] == [("phe_umol_l", "BELOW_RANGE")]


def test_journey_from_recall_to_treatment_and_follow_up(make_newborn, walk):
    baby = make_newborn()
    classification = classify(PROGRAM, "HEEL_BLOOD_SPOT", card(tsh_miu_l="40", tsh_retest_miu_l="38"), baby)
    opened = open_case(classification, baby, RESULTED)
    state = walk(PROGRAM, opened, [
        (datetime(2026, 3, 9, 2, tzinfo=UTC), "NOTIFY", "NOTIFIED", "RECALL_SAMPLING",
         datetime(2026, 3, 16, 2, tzinfo=UTC)),
        (datetime(2026, 3, 11, 1, tzinfo=UTC), "RECALL_SAMPLING", "SAMPLED", "DIAGNOSIS",
         datetime(2026, 3, 18, 1, tzinfo=UTC)),
        (datetime(2026, 3, 14, 1, tzinfo=UTC), "DIAGNOSIS", "CH_PERMANENT", "TREATMENT",
         datetime(2026, 3, 16, 1, tzinfo=UTC)),
        (datetime(2026, 3, 15, 1, tzinfo=UTC), "TREATMENT", "STARTED", "FOLLOW_UP",
         datetime(2026, 3, 29, 1, tzinfo=UTC)),
        (datetime(2026, 3, 29, 1, tzinfo=UTC), "FOLLOW_UP", "VISIT_DONE", "FOLLOW_UP",
         datetime(2026, 6, 27, 1, tzinfo=UTC)),
        (datetime(2026, 6, 20, 1, tzinfo=UTC), "FOLLOW_UP", "LONG_TERM_MANAGEMENT",
         ClosureOutcome.CONFIRMED_TREATED, None),
    ])  # fmt: skip
    assert state.status is CaseStatus.CLOSED


def test_hpa_goes_through_bh4_testing_and_treatment_is_due_by_age_30_days(make_newborn, walk):
    baby = make_newborn()
    late_result = BIRTH + 20 * D
    classification = classify(
        PROGRAM, "HEEL_BLOOD_SPOT", card(phe_umol_l="400", phe_retest_umol_l="380"), baby
    )
    opened = open_case(classification, baby, late_result)
    walk(PROGRAM, opened, [
        (late_result + D, "NOTIFY", "NOTIFIED", "RECALL_SAMPLING", late_result + 8 * D),
        (late_result + 2 * D, "RECALL_SAMPLING", "SAMPLED", "DIAGNOSIS", BIRTH + 29 * D),
        (late_result + 5 * D, "DIAGNOSIS", "PKU_MILD", "BH4_TESTING", BIRTH + 30 * D),
        (late_result + 7 * D, "BH4_TESTING", "DIET_NEEDED", "TREATMENT", BIRTH + 29 * D),
    ])  # fmt: skip


def test_an_untreated_case_escalates_at_once_past_age_30_days(make_newborn, step_result):
    baby = make_newborn()
    classification = classify(PROGRAM, "HEEL_BLOOD_SPOT", card(tsh_miu_l="60", tsh_retest_miu_l="55"), baby)
    opened = open_case(classification, baby, RESULTED)
    events = [
        step_result(BIRTH + 6 * D, "NOTIFIED"),
        step_result(BIRTH + 8 * D, "SAMPLED"),
        step_result(BIRTH + 28 * D, "CH_PERMANENT"),
    ]
    due = BIRTH + 30 * D
    state = derive_case_state(PROGRAM, opened, events, due + H)
    assert (state.current_step, state.due_at, state.status) == ("TREATMENT", due, CaseStatus.OVERDUE)
    assert escalation_due(PROGRAM, state, due + H)  # red flag at once, not after the usual 7 days
    notify = derive_case_state(PROGRAM, opened, [], datetime(2026, 3, 10, 2, tzinfo=UTC))
    assert notify.status is CaseStatus.OVERDUE
    assert not escalation_due(PROGRAM, notify, datetime(2026, 3, 10, 2, tzinfo=UTC))
    assert escalation_due(PROGRAM, notify, datetime(2026, 3, 17, 1, tzinfo=UTC))


def test_unsatisfactory_card_recollection_closes_as_screening_completed(make_newborn, walk):
    baby = make_newborn()
    opened = open_case(
        classify(PROGRAM, "HEEL_BLOOD_SPOT", card(specimen_quality="CONTAMINATED"), baby),
        baby,
        BIRTH + 16 * D,
    )
    state = derive_case_state(PROGRAM, opened, [], opened.opened_at)
    assert state.due_at == BIRTH + 20 * D  # the day-20 limit comes before 7 days after the lab's notice
    walk(PROGRAM, opened, [
        (BIRTH + 18 * D, "RECOLLECTION", "RECOLLECTED", ClosureOutcome.SCREENING_COMPLETED, None),
    ])  # fmt: skip


def test_a_birth_without_a_card_by_day_7_is_missed_and_due_by_day_20(make_newborn):
    baby = make_newborn()
    assert not is_screening_missed(PROGRAM, baby, BIRTH + 7 * D)
    assert is_screening_missed(PROGRAM, baby, BIRTH + 7 * D + H)
    opened = open_missed_screening_case(PROGRAM, baby, BIRTH + 8 * D)
    state = derive_case_state(PROGRAM, opened, [], opened.opened_at)
    assert (opened.reason, state.current_step, state.due_at) == (
        CaseReason.MISSED_SCREENING,
        "COLLECTION",
        BIRTH + 20 * D,
    )
