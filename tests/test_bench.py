"""The benchmark's city generator, run small: what it writes is what the engine would have written."""

import datetime as dt

import sqlalchemy as sa
from flask import current_app

from bench.generate import Generator
from screenings.cases import case_state, subject_kind_for, subject_of
from screenings.cases.check import check_cases
from screenings.cases.writer import risk_rank
from screenings.engine import CaseStatus, classify
from screenings.models import FollowUpCase, ScreeningResult
from screenings.programs import PROGRAMS

AS_OF = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)


def test_a_small_city_is_what_the_engine_would_have_written(db_session):
    counts = Generator(
        db_session.connection(),
        seed=5,
        scale=0.0003,
        as_of=AS_OF,
        fast_load=False,
        log=lambda _: None,
        journeys_per_opening=4,
        library_draws=150,
        field_keys=current_app.extensions["field_keys"],  # the suite's key, as the app reads the rows
    ).run()

    # Every group and every programme is there; newborns are linked to their mothers.
    assert counts["people_woman"] > 500 and counts["people_child"] > 50 and counts["people_newborn"] > 50
    assert counts["rows_screening_result"] > 2000 and counts["rows_pregnancy"] > 50
    programs = set(db_session.scalars(sa.select(ScreeningResult.program).distinct()))
    assert set(PROGRAMS) - programs <= {"PMTCT_HIV"}  # HIV is 1 in 10,000: a small city may have none
    orphans = db_session.execute(
        sa.text("SELECT COUNT(*) FROM person WHERE kind = 'NEWBORN' AND mother_id IS NULL")
    )
    assert orphans.scalar() == 0

    # Each case's cached state columns are what the engine derives from the case's own events.
    cases = db_session.scalars(sa.select(FollowUpCase)).all()
    assert {c.status for c in cases} > {CaseStatus.CLOSED}, "there are open and closed cases"
    for case in cases:
        state = case_state(case, AS_OF)
        stored = (
            case.status,
            case.current_step,
            case.due_at,
            case.escalated_at,
            case.outcome,
            case.closed_at,
            case.contact_attempts,
            case.track,
            case.risk_rank,
        )
        derived = (
            state.status,
            state.current_step,
            state.due_at,
            state.escalated_at,
            state.outcome,
            state.closed_at,
            len(state.attempts),
            state.track,
            risk_rank(case.reason, state),
        )
        assert stored == derived, f"case {case.id} ({case.program}, {case.reason})"
    # And `registry check-cases` finds no drift in any stored column of the bench city.
    report = check_cases()
    assert report.checked == len(cases) and [str(d) for d in report.drifts] == []

    # Each result carries the code the engine gives its stored values for its person.
    results = db_session.scalars(sa.select(ScreeningResult).order_by(ScreeningResult.id)).all()
    for result in results[::5]:
        program = PROGRAMS[result.program]
        values = dict(result.measured_values)
        subject = subject_of(result.person, subject_kind_for(result.person, program))
        verdict = classify(program, result.test, values, subject)
        assert verdict.ok, (result.id, verdict.errors)
        assert (verdict.result_code, verdict.exposes_infant, list(verdict.findings)) == (
            result.result_code,
            result.exposes_infant,
            result.findings,
        )
