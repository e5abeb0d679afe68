"""The daily sweep on the database: overdue, due soon, lost and escalated sets as of several days; missed
screenings; a second run for the same day changes nothing."""

import datetime as dt

import pytest
import sqlalchemy as sa

from registry.audit import AuditEvent
from registry.extensions import db
from screenings.cases import case_state
from screenings.cases.writer import risk_rank
from screenings.engine import CaseReason, CaseStatus, EventKind
from screenings.models import CaseEvent, FollowUpCase
from screenings.results import record_result
from screenings.sweep import SWEEP_ACTOR, run_sweep, sweep_moment
from tests.sweep_cases import BIRTH0, CLINIC, NOW, D, H, event_count, names_by_status, newborn, prepare_cases

# The dates the sweep is run for, and what each must find (see tests/sweep_cases.py for the cases).
DAY_1 = dt.date(2026, 11, 25)  # the hearing cases are within 20 % of their window; F's 12 hours are gone
DAY_2 = dt.date(2026, 12, 3)  # the hearing cases are overdue (due 2 December); F is 10 days overdue
DAY_3 = dt.date(2026, 12, 10)  # the hearing cases are 7½ days overdue; G's dose 2 is 4 days overdue


@pytest.fixture
def cases(district):
    return prepare_cases(district)


def sweep(day: dt.date, **options):
    options.setdefault("batch_size", 2)  # several batches even on this small set
    options.setdefault("missed_lookback_days", 0)  # missed screenings have their own tests below
    return run_sweep(day, commit=db.session.commit, **options)


def changed_by(kind: EventKind, since_id: int, cases) -> set[str]:
    by_id = {case.id: name for name, case in cases.items()}
    rows = db.session.scalars(
        sa.select(CaseEvent.case_id).where(CaseEvent.kind == kind, CaseEvent.id > since_id)
    ).all()
    return {by_id[case_id] for case_id in rows if case_id in by_id}


def status_changes(since_id: int, cases, status: CaseStatus) -> set[str]:
    by_id = {case.id: name for name, case in cases.items()}
    events = db.session.scalars(
        sa.select(CaseEvent).where(CaseEvent.kind == EventKind.STATUS_CHANGED, CaseEvent.id > since_id)
    ).all()
    return {by_id[e.case_id] for e in events if e.data["status"] == status and e.case_id in by_id}


def last_event_id() -> int:
    return db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(CaseEvent.id), 0)))


def test_the_prepared_cases_are_what_the_dates_assume(cases):
    hearing_due = BIRTH0 + 42 * D
    assert {cases[n].due_at for n in "ABCE"} == {hearing_due}
    assert sweep_moment(DAY_1) > cases["A"].warn_at and sweep_moment(DAY_2) > hearing_due
    assert cases["F"].due_at == NOW + 11 * H  # 12 hours from birth
    assert cases["G"].current_step == "HEPB_DOSE_2" and cases["G"].due_at == NOW - 17 * D + 30 * D
    assert cases["D"].status is CaseStatus.CLOSED


def test_the_sweep_as_of_several_days_finds_exactly_the_expected_cases(cases):
    before = last_event_id()
    report = sweep(NOW.date())
    # Nothing is due yet, and every case was touched after midnight: nothing changes.
    assert report.changed == 0 and last_event_id() == before

    report = sweep(DAY_1)
    assert status_changes(before, cases, CaseStatus.OVERDUE) == {"F"}
    assert status_changes(before, cases, CaseStatus.DUE_SOON) == {"A", "B", "C", "E"}
    assert (report.overdue, report.due_soon, report.lost, report.escalated) == (1, 4, 0, 0)
    assert names_by_status(cases) == {
        "OVERDUE": {"F"},
        "DUE_SOON": {"A", "B", "C", "E"},
        "OPEN": {"G"},
        "CLOSED": {"D"},
    }

    mark = last_event_id()
    report = sweep(DAY_2)
    assert status_changes(mark, cases, CaseStatus.OVERDUE) == {"A", "B", "C", "E"}
    assert status_changes(mark, cases, CaseStatus.LOST_TO_FOLLOW_UP) == {"B"}
    assert changed_by(EventKind.ESCALATED, mark, cases) == {"F"}
    assert status_changes(mark, cases, CaseStatus.DUE_SOON) == {"G"}
    assert (report.overdue, report.due_soon, report.lost, report.escalated) == (4, 1, 1, 1)
    assert names_by_status(cases) == {
        "OVERDUE": {"A", "C", "E"},
        "LOST_TO_FOLLOW_UP": {"B"},
        "ESCALATED": {"F"},
        "DUE_SOON": {"G"},
        "CLOSED": {"D"},
    }

    mark = last_event_id()
    report = sweep(DAY_3)
    # Seven days past due: escalated; B is lost, which the coordinator confirms, so it is not escalated too.
    assert changed_by(EventKind.ESCALATED, mark, cases) == {"A", "C", "E"}
    assert status_changes(mark, cases, CaseStatus.OVERDUE) == {"G"}
    assert (report.overdue, report.due_soon, report.lost, report.escalated) == (1, 0, 0, 3)
    assert names_by_status(cases) == {
        "ESCALATED": {"A", "C", "E", "F"},
        "LOST_TO_FOLLOW_UP": {"B"},
        "OVERDUE": {"G"},
        "CLOSED": {"D"},
    }


def test_a_second_run_for_the_same_day_changes_nothing(cases):
    for day in (DAY_1, DAY_2, DAY_3):
        sweep(day)
        rows = db.session.execute(sa.select(FollowUpCase.id, FollowUpCase.status, FollowUpCase.version)).all()
        events = event_count()
        audits = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
        again = sweep(day)
        assert again.changed == 0
        assert event_count() == events
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == audits
        assert (
            db.session.execute(sa.select(FollowUpCase.id, FollowUpCase.status, FollowUpCase.version)).all()
            == rows
        )


@pytest.mark.parametrize("days", [(DAY_2,), (DAY_1, DAY_2, DAY_3), (DAY_3,)])
def test_after_each_sweep_every_case_row_is_what_the_engine_derives_from_its_events(cases, days):
    for day in days:
        sweep(day)
        db.session.expire_all()
        for case in db.session.scalars(sa.select(FollowUpCase)):
            state = case_state(case, case.state_as_of)
            row = (case.status, case.current_step, case.due_at, case.warn_at, case.escalated_at,
                   case.contact_attempts, case.risk_rank)  # fmt: skip
            derived = (state.status, state.current_step, state.due_at, state.warn_at, state.escalated_at,
                       len(state.attempts), risk_rank(case.reason, state))  # fmt: skip
            assert row == derived, case.id


def test_each_change_is_a_case_event_with_the_rule_version(cases):
    sweep(DAY_2)
    db.session.expire_all()
    changes = db.session.scalars(sa.select(CaseEvent).where(CaseEvent.kind == EventKind.STATUS_CHANGED)).all()
    assert changes
    for event in changes:
        case = db.session.get(FollowUpCase, event.case_id)
        assert event.rule_version == case.rule_version and event.rule_version.startswith(case.program)
        assert event.recorded_by_name == "system:sweep" and event.occurred_at == sweep_moment(DAY_2)
    lost = next(e for e in changes if e.data["status"] == "LOST_TO_FOLLOW_UP")
    assert lost.data == {"status": "LOST_TO_FOLLOW_UP", "from": "OVERDUE", "reason": "UNABLE_TO_CONTACT"}


def test_a_case_changed_after_the_sweeps_moment_is_left_to_its_writer(cases):
    # Someone opens A's page and logs a call on the morning of DAY_2, before a late sweep for that day.
    from screenings.cases import log_contact_attempt
    from screenings.engine import ContactChannel, ContactOutcome

    morning = sweep_moment(DAY_2) + 2 * H
    log_contact_attempt(cases["A"], ContactChannel.PHONE, ContactOutcome.NO_ANSWER, CLINIC, morning)
    mark = last_event_id()
    sweep(DAY_2)
    assert "A" not in status_changes(mark, cases, CaseStatus.OVERDUE)
    # The service that logged the call already wrote A's status as of that morning.
    assert names_by_status(cases)["OVERDUE"] >= {"A"}


def test_a_newborn_with_no_screen_gets_a_missed_screening_case_once_its_window_has_passed(district):
    hospital = district["hospital"]
    born = dt.datetime(2026, 11, 10, 1, 0, tzinfo=dt.UTC)
    unscreened = newborn(hospital, "未筛宝", born)
    heard = newborn(hospital, "听筛宝", born)
    values = {
        "screening_status": "DONE",
        "screened_at": (born + 50 * H).isoformat(),
        "method": "OAE",
        "left_ear": "PASS",
        "right_ear": "PASS",
    }
    record_result(heard, "NEWBORN_HEARING", "INITIAL", values, hospital, CLINIC, born + 3 * D)
    long_ago = newborn(hospital, "早生宝", born - 90 * D)
    # A duplicate record merged into the unscreened baby: the baby is one person, with one set of cases.
    duplicate = newborn(hospital, "未筛宝", born, merged_into_id=unscreened.id)

    def missed() -> set[tuple[str, str]]:
        rows = db.session.execute(
            sa.select(FollowUpCase.person_id, FollowUpCase.program).where(
                FollowUpCase.reason == CaseReason.MISSED_SCREENING
            )
        ).all()
        names = {
            unscreened.id: "unscreened",
            heard.id: "heard",
            long_ago.id: "long_ago",
            duplicate.id: "duplicate",
        }
        return {(names[person_id], program) for person_id, program in rows}

    # Day 2 of life: the CHD window (72 hours) is still open, so nothing is missed yet.
    run_sweep(dt.date(2026, 11, 12), missed_lookback_days=60, commit=db.session.commit)
    assert missed() == set()
    # Day 5: 72 hours have passed without a pulse-oximetry screen.
    report = run_sweep(dt.date(2026, 11, 15), missed_lookback_days=60, commit=db.session.commit)
    assert missed() == {("unscreened", "NEWBORN_CHD"), ("heard", "NEWBORN_CHD")}
    assert report.missed_screenings == 2
    # Day 9: blood spot and hearing (7 days each) are missed too; the screened ears are not.
    report = run_sweep(dt.date(2026, 11, 19), missed_lookback_days=60, commit=db.session.commit)
    assert missed() == {
        ("unscreened", "NEWBORN_CHD"),
        ("heard", "NEWBORN_CHD"),
        ("unscreened", "NEWBORN_METABOLIC"),
        ("heard", "NEWBORN_METABOLIC"),
        ("unscreened", "NEWBORN_HEARING"),
    }
    assert report.missed_screenings == 3
    # Opened once, at the birthing institution, and not again on the next run.
    assert run_sweep(dt.date(2026, 11, 19), missed_lookback_days=60, commit=db.session.commit).changed == 0
    opened = db.session.scalars(
        sa.select(FollowUpCase).where(FollowUpCase.reason == CaseReason.MISSED_SCREENING)
    ).all()
    assert {case.responsible_institution_id for case in opened} == {hospital.id}


def test_the_sweep_opens_missed_screenings_in_bulk_exactly_as_one_is_opened_alone(district):
    from screenings.cases import case_events, open_missed_screening
    from screenings.cases.check import case_drift
    from screenings.programs import get_program

    hospital = district["hospital"]
    born = dt.datetime(2026, 11, 10, 1, 0, tzinfo=dt.UTC)
    swept = [newborn(hospital, f"漏筛{n}", born) for n in range(3)]
    alone = newborn(hospital, "单开宝", born)
    program = get_program("NEWBORN_CHD")
    moment = sweep_moment(dt.date(2026, 11, 15))
    by_hand = open_missed_screening(alone, program, hospital, CLINIC, moment)
    db.session.commit()
    report = run_sweep(dt.date(2026, 11, 15), batch_size=2, missed_lookback_days=60, commit=db.session.commit)
    assert report.missed_screenings == 3  # CHD's 72 hours have passed for the three; `alone` has its case

    def shape(case):
        events = case_events(case)
        audit = db.session.scalars(
            sa.select(AuditEvent.action).where(
                AuditEvent.entity == "follow_up_case", AuditEvent.entity_id == str(case.id)
            )
        ).all()
        columns = {
            c.name: getattr(case, c.key)
            for c in FollowUpCase.__table__.columns
            # version counts writes (the case opened alone is inserted, then updated): not state
            if c.name not in ("id", "person_id", "version")
        }
        kinds = [(e.kind, e.step, e.result_code, e.occurred_at, e.recorded_by_name) for e in events]
        return columns, kinds, audit, case_drift(case, events)

    expected = shape(by_hand)
    assert expected[2] == ["OPEN"] and expected[3] == []
    for baby in swept:
        case = db.session.scalar(
            sa.select(FollowUpCase).where(
                FollowUpCase.person_id == baby.id, FollowUpCase.program == "NEWBORN_CHD"
            )
        )
        columns, events, audit, drift = shape(case)
        assert (columns, audit, drift) == (expected[0], expected[2], expected[3])
        assert [e[:4] for e in events] == [e[:4] for e in expected[1]]  # by the sweep, not by hand
        assert events[0][4] == SWEEP_ACTOR.username


def test_an_attempt_logged_after_the_due_date_makes_the_case_lost_at_once_without_the_sweep(cases):
    from screenings.cases import log_contact_attempt
    from screenings.engine import ContactChannel, ContactOutcome

    # A has had no attempt; three arrive after its due date (2 December), the last on 20 December.
    a = cases["A"]
    tries = ((5, ContactChannel.PHONE), (12, ContactChannel.SMS), (20, ContactChannel.HOME_VISIT))
    for day, channel in tries:
        at = dt.datetime(2026, 12, day, 2, 0, tzinfo=dt.UTC)
        log_contact_attempt(a, channel, ContactOutcome.NO_ANSWER, CLINIC, at)
    assert a.status is CaseStatus.LOST_TO_FOLLOW_UP
    mark = last_event_id()
    sweep(dt.date(2026, 12, 21))
    assert "A" not in status_changes(mark, cases, CaseStatus.LOST_TO_FOLLOW_UP)
    assert names_by_status(cases)["LOST_TO_FOLLOW_UP"] == {"A", "B"}
