"""Results and follow-up cases on the database: stored once; cases opened, moved on, closed, reopened."""

import datetime as dt

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.audit import Actor, AuditEvent
from registry.extensions import db
from registry.people.models import PersonKind, Sex
from registry.people.services import PersonDraft, register_person
from screenings.cases import (
    CaseActionRefused,
    CaseConflict,
    add_note,
    answer_transfer,
    case_events,
    case_state,
    close_case,
    escalate_case,
    log_contact_attempt,
    open_missed_screening,
    record_step,
    refresh_case_state,
    reopen_case,
    transfer_case,
    withdraw_transfer,
)
from screenings.engine import (
    CaseReason,
    CaseStatus,
    ClosureOutcome,
    ContactChannel,
    ContactOutcome,
    EventKind,
)
from screenings.models import CaseEvent, FollowUpCase, ScreeningResult
from screenings.programs import get_program
from screenings.results import ResultRejected, record_result

D, H = dt.timedelta(days=1), dt.timedelta(hours=1)
BIRTH = dt.datetime(2026, 8, 1, 1, 0, tzinfo=dt.UTC)  # 09:00 in Shanghai
NOW = dt.datetime(2026, 11, 22, 2, 0, tzinfo=dt.UTC)
CLINIC = Actor(user_id=None, username="clinic-test")
HEARING = get_program("NEWBORN_HEARING")


def hearing(left="PASS", right="PASS", at=BIRTH + 50 * H, **more):
    return {
        "screening_status": "DONE",
        "screened_at": at.isoformat(),
        "method": "OAE",
        "left_ear": left,
        "right_ear": right,
        **more,
    }


@pytest.fixture
def baby(district, make_person):
    return make_person(
        district["hospital"],
        name="王小宝",
        kind=PersonKind.NEWBORN,
        sex=Sex.MALE,
        birth_on=BIRTH.date(),
        birth_at=BIRTH,
    )


@pytest.fixture
def referred(baby, district):
    """A newborn whose initial hearing screen referred the left ear: a case at RESCREEN."""
    recorded = record_result(
        baby,
        "NEWBORN_HEARING",
        "INITIAL",
        hearing("REFER"),
        district["hospital"],
        CLINIC,
        BIRTH + 3 * D,
        source_key="initial-1",
    )
    return recorded.case


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def assert_row_matches_replay(case: FollowUpCase) -> None:
    """The case row's state columns are exactly what replaying its events gives."""
    state = case_state(case, case.state_as_of)
    row = (case.status, case.current_step, case.due_at, case.escalated_at, case.outcome, case.closed_at)
    assert row == (
        state.status,
        state.current_step,
        state.due_at,
        state.escalated_at,
        state.outcome,
        state.closed_at,
    )
    assert case.contact_attempts == len(state.attempts)


def test_a_pass_is_stored_with_its_values_and_opens_nothing(baby, district):
    recorded = record_result(baby, "NEWBORN_HEARING", "INITIAL", hearing(), district["hospital"], CLINIC, NOW)
    result = recorded.result
    assert recorded.created and recorded.case is None and not recorded.case_opened
    assert (result.result_code, result.rule_version) == ("BILATERAL_PASS", HEARING.rule_version)
    assert result.performed_at == BIRTH + 50 * H
    assert result.measured_values["left_ear"] == "PASS"
    assert count(FollowUpCase) == 0
    audit = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.entity == "screening_result")).one()
    assert audit.action == "CREATE" and audit.entity_id == str(result.id)


def test_the_same_source_record_twice_is_stored_once_and_changes_nothing(baby, district):
    values = hearing("REFER")
    first = record_result(
        baby,
        "NEWBORN_HEARING",
        "INITIAL",
        values,
        district["hospital"],
        CLINIC,
        NOW,
        source_system="LAB-A",
        source_key="S-0001",
    )
    again = record_result(
        baby,
        "NEWBORN_HEARING",
        "INITIAL",
        values,
        district["hospital"],
        CLINIC,
        NOW + H,
        source_system="LAB-A",
        source_key="S-0001",
    )
    assert first.created and first.case_opened
    assert not again.created and again.result.id == first.result.id and again.case is None
    assert (count(ScreeningResult), count(FollowUpCase), count(CaseEvent)) == (1, 1, 1)


def test_bad_values_name_each_field_and_store_nothing(baby, district):
    values = {"screening_status": "DONE", "screened_at": "yesterday", "method": "OAE", "left_ear": "LOUD"}
    with pytest.raises(ResultRejected) as rejected:
        record_result(baby, "NEWBORN_HEARING", "INITIAL", values, district["hospital"], CLINIC, NOW)
    fields = {error.field for error in rejected.value.errors}
    assert {"screened_at", "left_ear", "right_ear"} <= fields
    assert count(ScreeningResult) == 0 and count(AuditEvent) == 0


def test_a_result_dated_in_the_future_is_refused(baby, district):
    with pytest.raises(ResultRejected) as rejected:
        record_result(
            baby, "NEWBORN_HEARING", "INITIAL", hearing(at=NOW + 2 * D), district["hospital"], CLINIC, NOW
        )
    assert rejected.value.errors[0].field == "screened_at"


def test_hearing_journey_from_refer_to_hearing_aid(referred, baby, district):
    case = referred
    assert (case.reason, case.current_step, case.status) == (
        CaseReason.REFERRED_RESULT,
        "RESCREEN",
        CaseStatus.OPEN,
    )
    assert case.due_at == BIRTH + 42 * D  # rescreen by 42 days of age
    assert case.responsible_institution_id == district["hospital"].id

    # The rescreen arrives as a result of the RESCREEN test: it advances the open case, opens none.
    rescreen = record_result(
        baby,
        "NEWBORN_HEARING",
        "RESCREEN",
        hearing("REFER", "REFER", at=BIRTH + 30 * D),
        district["hospital"],
        CLINIC,
        BIRTH + 30 * D,
    )
    assert rescreen.case_advanced and rescreen.case.id == case.id
    assert (case.current_step, case.due_at) == ("DIAGNOSIS", BIRTH + 90 * D)

    record_step(case, "DIAGNOSIS", "SENSORINEURAL", CLINIC, BIRTH + 80 * D, expected_version=case.version)
    assert (case.current_step, case.due_at) == ("INTERVENTION", BIRTH + 180 * D)

    record_step(case, "INTERVENTION", "HEARING_AID_FITTED", CLINIC, NOW)
    assert (case.status, case.outcome, case.closed_at, case.due_at) == (
        CaseStatus.CLOSED,
        ClosureOutcome.CONFIRMED_TREATED,
        NOW,
        None,
    )
    kinds = [e.kind for e in case_events(case)]
    assert kinds == [EventKind.OPENED, *[EventKind.STEP_RESULT] * 3]
    assert count(FollowUpCase) == 1
    assert_row_matches_replay(case)
    audited = db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.entity == "follow_up_case").order_by(AuditEvent.id)
    )
    assert list(audited) == ["OPEN", "STEP_RESULT", "STEP_RESULT", "STEP_RESULT"]


def test_a_further_positive_is_noted_on_the_open_case_not_opened_beside_it(referred, baby, district):
    again = record_result(
        baby,
        "NEWBORN_HEARING",
        "INITIAL",
        hearing("REFER", "REFER", at=BIRTH + 4 * D),
        district["hospital"],
        CLINIC,
        BIRTH + 4 * D,
    )
    assert again.case.id == referred.id and not again.case_opened
    assert count(FollowUpCase) == 1
    assert case_events(referred)[-1].kind is EventKind.NOTE


def test_a_step_result_the_step_does_not_know_is_refused_and_nothing_is_stored(referred):
    before = (referred.version, count(CaseEvent))
    with pytest.raises(CaseActionRefused) as refused:
        record_step(referred, "RESCREEN", "HEARING_AID_FITTED", CLINIC, NOW)
    assert refused.value.codes == ("UNKNOWN_RESULT",)
    with pytest.raises(CaseActionRefused) as refused:
        record_step(referred, "DIAGNOSIS", "NORMAL", CLINIC, NOW)
    assert refused.value.codes == ("WRONG_STEP",)
    assert (referred.version, count(CaseEvent)) == before


def test_the_second_of_two_editors_gets_a_conflict_and_the_first_edit_stands(referred):
    seen_by_both = referred.version
    log_contact_attempt(
        referred, ContactChannel.PHONE, ContactOutcome.NO_ANSWER, CLINIC, NOW, expected_version=seen_by_both
    )
    with pytest.raises(CaseConflict):
        add_note(referred, "家长说下周来", CLINIC, NOW, expected_version=seen_by_both)
    events = case_events(referred)
    assert [e.kind for e in events] == [EventKind.OPENED, EventKind.CONTACT_ATTEMPT]
    assert referred.contact_attempts == 1


def test_a_concurrent_commit_between_read_and_write_is_a_conflict(referred):
    # Another transaction bumps the version after this one read the case.
    db.session.execute(
        sa.update(FollowUpCase.__table__)
        .where(FollowUpCase.id == referred.id)
        .values(version=referred.version + 1)
    )
    with pytest.raises(CaseConflict):
        add_note(referred, "late", CLINIC, NOW)


def test_transfer_keeps_the_sender_responsible_until_the_receiver_accepts(referred, district):
    hospital, community = district["hospital"], district["community"]
    transfer_case(referred, community, CLINIC, NOW, reason="family lives in 北山")
    pending = (referred.responsible_institution_id, referred.transfer_to_institution_id)
    assert pending == (hospital.id, community.id)
    with pytest.raises(CaseActionRefused) as refused:
        transfer_case(referred, district["mch"], CLINIC, NOW)
    assert refused.value.codes == ("TRANSFER_PENDING",)

    answer_transfer(referred, False, CLINIC, NOW + H, reason="not our catchment")
    assert (referred.responsible_institution_id, referred.transfer_to_institution_id) == (hospital.id, None)

    transfer_case(referred, community, CLINIC, NOW + 2 * H)
    answer_transfer(referred, True, CLINIC, NOW + 3 * H)
    assert (referred.responsible_institution_id, referred.transfer_to_institution_id) == (community.id, None)
    assert referred.current_step == "RESCREEN"  # a transfer does not move the workflow
    assert_row_matches_replay(referred)


def test_the_sender_withdraws_a_pending_transfer_and_keeps_the_case(referred, district):
    hospital, community = district["hospital"], district["community"]
    transfer_case(referred, community, CLINIC, NOW, reason="family lives in 北山")
    withdrawn = withdraw_transfer(referred, CLINIC, NOW + H, reason="family came back")
    assert withdrawn.kind is EventKind.TRANSFER_WITHDRAWN and withdrawn.data == {
        "to_institution": community.id
    }
    assert (referred.responsible_institution_id, referred.transfer_to_institution_id) == (hospital.id, None)
    with pytest.raises(CaseActionRefused) as refused:
        withdraw_transfer(referred, CLINIC, NOW + 2 * H)
    assert refused.value.codes == ("NO_TRANSFER",)
    with pytest.raises(CaseActionRefused):
        answer_transfer(referred, True, CLINIC, NOW + 2 * H)
    transfer_case(referred, community, CLINIC, NOW + 3 * H)  # asked again, accepted this time
    answer_transfer(referred, True, CLINIC, NOW + 4 * H)
    assert referred.responsible_institution_id == community.id
    assert_row_matches_replay(referred)


def test_lost_to_follow_up_needs_three_attempts_over_fourteen_days_through_two_channels(referred):
    due = referred.due_at  # 42 days of age; the person has no address, so no visit is required
    log_contact_attempt(referred, ContactChannel.PHONE, ContactOutcome.NO_ANSWER, CLINIC, due + D)
    log_contact_attempt(referred, ContactChannel.SMS, ContactOutcome.NO_ANSWER, CLINIC, due + 5 * D)
    assert refresh_case_state(referred, due + 40 * D).status is CaseStatus.OVERDUE  # two attempts: not lost
    with pytest.raises(CaseActionRefused) as refused:
        close_case(referred, ClosureOutcome.LOST_TO_FOLLOW_UP, CLINIC, due + 40 * D)
    assert refused.value.codes == ("NOT_LOST",)

    log_contact_attempt(referred, ContactChannel.PHONE, ContactOutcome.WRONG_CONTACT, CLINIC, due + 15 * D)
    assert refresh_case_state(referred, due + 16 * D).status is CaseStatus.LOST_TO_FOLLOW_UP
    assert referred.status is CaseStatus.LOST_TO_FOLLOW_UP and referred.contact_attempts == 3

    close_case(referred, ClosureOutcome.LOST_TO_FOLLOW_UP, CLINIC, due + 17 * D)
    assert (referred.status, referred.outcome) == (CaseStatus.CLOSED, ClosureOutcome.LOST_TO_FOLLOW_UP)

    # The family turns up again: the case reopens at the step it was lost at. Its age limit (42 days)
    # is long past, so the rescreen is due at once.
    reopen_case(referred, CLINIC, due + 60 * D, note="family returned")
    assert (referred.status, referred.current_step, referred.outcome) == (
        CaseStatus.DUE_SOON,
        "RESCREEN",
        None,
    )
    assert referred.due_at == due + 60 * D
    assert referred.contact_attempts == 0
    assert_row_matches_replay(referred)


def test_a_death_learned_by_contact_closes_as_died_and_is_never_lost(referred):
    due = referred.due_at
    log_contact_attempt(referred, ContactChannel.PHONE, ContactOutcome.NO_ANSWER, CLINIC, due + D)
    log_contact_attempt(referred, ContactChannel.SMS, ContactOutcome.NO_ANSWER, CLINIC, due + 5 * D)
    log_contact_attempt(
        referred,
        ContactChannel.PHONE,
        ContactOutcome.DIED,
        CLINIC,
        due + 15 * D,
        person_reached="王父",
        relationship="FATHER",
    )
    state = refresh_case_state(referred, due + 20 * D)
    assert state.status is CaseStatus.OVERDUE and state.suggested_outcome is ClosureOutcome.DIED
    close_case(referred, ClosureOutcome.DIED, CLINIC, due + 20 * D)
    assert referred.outcome is ClosureOutcome.DIED


def test_a_step_cannot_be_recorded_on_a_closed_case(referred):
    close_case(referred, ClosureOutcome.MOVED_AWAY, CLINIC, NOW)
    with pytest.raises(CaseActionRefused) as refused:
        record_step(referred, "RESCREEN", "BILATERAL_PASS", CLINIC, NOW)
    assert refused.value.codes == ("CASE_CLOSED",)


def hbv_positive(mother, district, on: dt.date, key: str):
    values = {
        "tested_on": on.isoformat(),
        "testing_stage": "PREGNANCY",
        "gestational_weeks": "12",
        "hbsag": "POSITIVE",
        "hbeag": "NOT_DONE",
    }
    return record_result(
        mother, "PMTCT_HBV", "HBV_SCREEN", values, district["mch"], CLINIC, NOW, source_key=key
    )


def test_the_birth_of_a_positive_mothers_baby_opens_its_exposed_infant_case(district, make_person):
    mother = make_person(district["hospital"], name="赵丽")
    maternal = hbv_positive(mother, district, (NOW - 120 * D).date(), "hbv-1")
    assert maternal.result.exposes_infant and maternal.case.current_step == "HBV_DNA_TEST"

    born_at = NOW - 2 * H
    draft = PersonDraft(
        kind=PersonKind.NEWBORN,
        name="赵小宝",
        sex=Sex.FEMALE,
        birth_on=born_at.date(),
        birth_at=born_at,
        institution_id=district["hospital"].id,
        mother_id=mother.id,
        birth_order=1,
    )
    infant = register_person(draft, CLINIC, NOW)
    case = db.session.scalars(sa.select(FollowUpCase).where(FollowUpCase.person_id == infant.id)).one()
    assert (case.program, case.reason, case.current_step) == (
        "PMTCT_HBV",
        CaseReason.EXPOSED_INFANT,
        "HBIG_AND_DOSE_1",
    )
    assert case.due_at == born_at + 12 * H  # HBIG and the first vaccine dose within 12 hours of birth
    assert case.responsible_institution_id == district["hospital"].id


def test_a_positive_result_after_the_birth_opens_the_infants_case_once(district, make_person):
    mother = make_person(district["hospital"], name="钱芳")
    born_at = NOW - 3 * D
    infant = make_person(
        district["hospital"],
        name="钱小宝",
        kind=PersonKind.NEWBORN,
        birth_on=born_at.date(),
        birth_at=born_at,
        mother_id=mother.id,
    )
    first = hbv_positive(mother, district, (NOW - 3 * D).date(), "hbv-2")
    second = hbv_positive(mother, district, (NOW - 2 * D).date(), "hbv-3")
    assert [c.person_id for c in first.infant_cases] == [infant.id] and second.infant_cases == ()
    assert db.session.scalar(sa.select(sa.func.count()).where(FollowUpCase.person_id == infant.id)) == 1


def test_a_missed_screening_case_opens_once_at_the_birthing_institution(baby, district):
    first = open_missed_screening(baby, HEARING, district["hospital"], Actor.system("sweep"), NOW)
    again = open_missed_screening(baby, HEARING, district["hospital"], Actor.system("sweep"), NOW + D)
    assert first.reason is CaseReason.MISSED_SCREENING and first.current_step == "RESCREEN"
    assert again is None


ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["contact", "note", "step", "transfer", "answer", "escalate", "close", "reopen"]),
        st.integers(min_value=0, max_value=10),
        st.integers(min_value=1, max_value=20),
    ),
    max_size=12,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=ACTIONS)
def test_any_sequence_of_actions_leaves_the_row_equal_to_the_replay(district, make_person, actions):
    savepoint = db.session.begin_nested()
    try:
        baby = make_person(
            district["hospital"], name="周宝", kind=PersonKind.NEWBORN, birth_on=BIRTH.date(), birth_at=BIRTH
        )
        case = record_result(
            baby, "NEWBORN_HEARING", "INITIAL", hearing("REFER"), district["hospital"], CLINIC, BIRTH + 3 * D
        ).case
        at = BIRTH + 3 * D
        for action, choice, days in actions:
            at += days * D
            try:
                if action == "contact":
                    channel = list(ContactChannel)[choice % len(ContactChannel)]
                    outcome = list(ContactOutcome)[choice % len(ContactOutcome)]
                    log_contact_attempt(case, channel, outcome, CLINIC, at)
                elif action == "note":
                    add_note(case, "note", CLINIC, at)
                elif action == "step" and case.current_step:
                    results = get_program("NEWBORN_HEARING").step(case.current_step).result_codes
                    record_step(case, case.current_step, results[choice % len(results)], CLINIC, at)
                elif action == "transfer":
                    transfer_case(case, district["community"], CLINIC, at)
                elif action == "answer":
                    answer_transfer(case, choice % 2 == 0, CLINIC, at)
                elif action == "escalate":
                    escalate_case(case, CLINIC, at)
                elif action == "close":
                    outcomes = [
                        ClosureOutcome.DIED,
                        ClosureOutcome.REFUSED,
                        ClosureOutcome.MOVED_AWAY,
                        ClosureOutcome.LOST_TO_FOLLOW_UP,
                    ]
                    close_case(case, outcomes[choice % 4], CLINIC, at)
                elif action == "reopen":
                    reopen_case(case, CLINIC, at)
            except CaseActionRefused:
                pass  # refused actions store nothing; the invariants below must still hold
            assert_row_matches_replay(case)
            if case.status is CaseStatus.CLOSED:
                assert case.outcome is not None and case.closed_at is not None and case.due_at is None
            else:
                assert case.outcome is None and case.due_at is not None
                assert case.due_set_at <= case.warn_at <= case.due_at  # no due date precedes what set it
            events = case_events(case)
            assert all(e.occurred_at >= case.opened_at for e in events)
    finally:
        savepoint.rollback()


def test_a_batch_means_exactly_what_the_rows_one_by_one_mean(baby, district, make_person):
    from screenings.results import ResultInput, record_results

    others = [
        make_person(
            district["hospital"],
            name=f"批量{n}",
            kind=PersonKind.NEWBORN,
            birth_on=BIRTH.date(),
            birth_at=BIRTH,
        )
        for n in range(3)
    ]
    record_result(
        baby,
        "NEWBORN_HEARING",
        "INITIAL",
        hearing("REFER"),
        district["hospital"],
        CLINIC,
        BIRTH + 3 * D,
        source_system="LAB",
        source_key="old",
    )
    rows = [
        ResultInput(others[0], hearing(), "k1"),  # a pass: stored in bulk
        ResultInput(others[1], hearing("REFER"), "k2"),  # opens a case
        ResultInput(others[2], {"screening_status": "DONE"}, "k3"),  # rejected, names its fields
        ResultInput(others[0], hearing(), "k1"),  # repeated within the batch
        ResultInput(baby, hearing("REFER"), "old"),  # stored before
        ResultInput(others[2], hearing(), "k4"),
    ]
    outcomes = record_results(
        "NEWBORN_HEARING", "INITIAL", rows, district["hospital"], CLINIC, NOW, source_system="LAB"
    )
    assert [type(o).__name__ for o in outcomes] == [
        "RecordedResult",
        "RecordedResult",
        "ResultRejected",
        "RecordedResult",
        "RecordedResult",
        "RecordedResult",
    ]
    assert [getattr(o, "created", None) for o in outcomes] == [True, True, None, False, False, True]
    assert outcomes[1].case_opened and outcomes[1].case.current_step == "RESCREEN"
    assert {e.field for e in outcomes[2].errors} >= {"screened_at", "left_ear"}
    assert outcomes[3].result.id == outcomes[0].result.id
    assert count(ScreeningResult) == 4 and count(FollowUpCase) == 2
    assert (
        outcomes[0].result.result_code == "BILATERAL_PASS"
        and outcomes[0].result.measured_values["method"] == "OAE"
    )


def test_a_batch_rescreen_advances_the_open_case(referred, baby, district):
    from screenings.results import ResultInput, record_results

    rows = [ResultInput(baby, hearing("REFER", "REFER", at=BIRTH + 30 * D), "rescreen-1")]
    [outcome] = record_results(
        "NEWBORN_HEARING", "RESCREEN", rows, district["hospital"], CLINIC, BIRTH + 30 * D, source_system="LAB"
    )
    assert outcome.case_advanced and referred.current_step == "DIAGNOSIS"
