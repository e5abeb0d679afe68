"""Results recorded a chunk at a time: one path for a form's single result and an import's thousand rows.

A chunk means exactly what its rows mean recorded one by one; it costs a fixed number of statements
whatever its size; a bad row is rejected with nothing of it written while the others land; a key stored
by another transaction meanwhile is stored once.
"""

import datetime as dt

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.audit import Actor, AuditEvent
from registry.extensions import db
from registry.people.models import PersonKind
from screenings.cases import CaseActionRefused
from screenings.indicators.facts import FACTS, flush_facts, stored_rows
from screenings.models import CaseEvent, FollowUpCase, ScreeningResult
from screenings.results import ResultInput, ResultRejected, record_results, recording

BIRTH = dt.datetime(2026, 8, 1, 1, 0, tzinfo=dt.UTC)  # 09:00 in Shanghai
NOW = dt.datetime(2026, 11, 22, 2, 0, tzinfo=dt.UTC)
D, H = dt.timedelta(days=1), dt.timedelta(hours=1)
CLINIC = Actor(user_id=None, username="clinic-test")
HEARING = "NEWBORN_HEARING"


def hearing(left="PASS", right="PASS", at=BIRTH + 50 * H):
    return {"screening_status": "DONE", "screened_at": at.isoformat(), "method": "OAE",
            "left_ear": left, "right_ear": right}  # fmt: skip


@pytest.fixture
def babies(district, make_person):
    return [
        make_person(
            district["hospital"],
            name=f"块{n}",
            kind=PersonKind.NEWBORN,
            birth_on=BIRTH.date(),
            birth_at=BIRTH,
        )
        for n in range(40)
    ]


def count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def test_a_chunk_costs_the_same_statements_for_four_rows_and_forty(babies, district, count_queries):
    def chunk(people, prefix):
        return [
            ResultInput(p, hearing("REFER" if n % 2 else "PASS"), f"{prefix}{n}")
            for n, p in enumerate(people)
        ]

    with count_queries() as few:
        record_results(HEARING, "INITIAL", chunk(babies[:4], "a"), district["hospital"], CLINIC, NOW,
                       source_system="LAB")  # fmt: skip
    with count_queries() as many:
        outcomes = record_results(HEARING, "INITIAL", chunk(babies[4:], "b"), district["hospital"], CLINIC,
                                  NOW, source_system="LAB")  # fmt: skip

    assert many.count == few.count, str(many)
    assert many.count <= 10, many  # stored keys, open cases, results, cases, events, audit (+ fact marks)
    assert sum(o.case_opened for o in outcomes) == 18
    assert count(FollowUpCase) == 20


def test_a_bad_row_is_rejected_with_its_reasons_and_the_rest_of_the_chunk_lands(babies, district):
    rows = [
        ResultInput(babies[0], hearing("REFER"), "k1"),
        ResultInput(babies[1], {"screening_status": "DONE", "left_ear": "PASS"}, "k2"),
        ResultInput(babies[2], hearing(at=NOW + 2 * D), "k3"),
        ResultInput(babies[3], hearing(), "k4"),
    ]
    audits_before = count(AuditEvent)

    outcomes = record_results(
        HEARING, "INITIAL", rows, district["hospital"], CLINIC, NOW, source_system="LAB"
    )

    assert [type(o).__name__ for o in outcomes] == ["RecordedResult", "ResultRejected", "ResultRejected",
                                                    "RecordedResult"]  # fmt: skip
    assert {e.field for e in outcomes[1].errors} >= {"screened_at", "right_ear"}
    assert [e.code for e in outcomes[2].errors] == ["IN_FUTURE"]
    keys = db.session.scalars(
        sa.select(ScreeningResult.source_key).where(ScreeningResult.source_system == "LAB")
    )
    assert sorted(keys) == ["k1", "k4"]
    # One audit row for the chunk's results, one for the case it opened.
    assert count(AuditEvent) - audits_before == 2


def test_a_row_refused_by_its_case_leaves_nothing_and_the_rest_lands(babies, district, monkeypatch):
    real = recording._follow_up

    def refuse_the_second(follow_up, index, *args):
        if index == 1:
            raise CaseActionRefused(["STEP_CLOSED: the case cannot take this step"])
        return real(follow_up, index, *args)

    monkeypatch.setattr(recording, "_follow_up", refuse_the_second)
    rows = [ResultInput(b, hearing("REFER"), f"r{n}") for n, b in enumerate(babies[:3])]

    outcomes = record_results(
        HEARING, "INITIAL", rows, district["hospital"], CLINIC, NOW, source_system="LAB"
    )

    assert isinstance(outcomes[1], CaseActionRefused)
    assert outcomes[0].case_opened and outcomes[2].case_opened
    assert count(ScreeningResult, ScreeningResult.person_id == babies[1].id) == 0
    assert count(FollowUpCase) == 2


def test_a_key_stored_by_another_transaction_meanwhile_is_stored_once(babies, district, monkeypatch):
    [first] = record_results(HEARING, "INITIAL", [ResultInput(babies[0], hearing("REFER"), "x1")],
                             district["hospital"], CLINIC, NOW, source_system="LAB")  # fmt: skip
    real = recording._Chunk._stored_ids
    calls = []

    def blind_once(self):
        calls.append(1)
        return {} if len(calls) == 1 else real(self)  # the first look misses what the other stored

    monkeypatch.setattr(recording._Chunk, "_stored_ids", blind_once)
    rows = [ResultInput(babies[0], hearing("REFER"), "x1"), ResultInput(babies[1], hearing("REFER"), "x2")]

    outcomes = record_results(
        HEARING, "INITIAL", rows, district["hospital"], CLINIC, NOW, source_system="LAB"
    )

    assert [o.created for o in outcomes] == [False, True]
    assert outcomes[0].result_id == first.result_id
    assert count(ScreeningResult, ScreeningResult.source_system == "LAB") == 2
    assert count(FollowUpCase) == 2 and count(CaseEvent) == 2


# -- any chunking means the same as one by one -------------------------------------------------------

ROWS = st.lists(
    st.tuples(
        st.sampled_from(["INITIAL", "RESCREEN"]),
        st.integers(min_value=0, max_value=2),  # whose
        st.sampled_from(["PASS", "REFER", "BAD"]),
        st.integers(min_value=2, max_value=60),  # days after birth
        st.integers(min_value=0, max_value=5),  # source key (repeats are the same record sent again)
    ),
    min_size=1,
    max_size=14,
)
SIZES = st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=14)


def _record(rows, people, district, sizes):
    """Record the rows in chunks of these sizes, cut where the test changes; return what became of each."""
    outcomes, start, n = [], 0, 0
    while start < len(rows):
        size = sizes[n % len(sizes)]
        n += 1
        test = rows[start][0]
        end = start
        while end < len(rows) and end - start < size and rows[end][0] == test:
            end += 1
        chunk = []
        for _, who, verdict, days, key in rows[start:end]:
            values = hearing(verdict, "PASS", at=BIRTH + days * D) if verdict != "BAD" else {"method": "OAE"}
            chunk.append(ResultInput(people[who], values, f"{test}-{key}"))
        for outcome in record_results(
            HEARING, test, chunk, district["hospital"], CLINIC, NOW, source_system="P"
        ):
            if isinstance(outcome, ResultRejected):
                outcomes.append(("rejected", tuple(sorted(e.code for e in outcome.errors))))
            elif isinstance(outcome, CaseActionRefused):
                outcomes.append(("refused", outcome.codes))
            else:
                outcomes.append((outcome.created, outcome.case_opened, outcome.case_advanced))
        start = end
    return outcomes


def _state(people):
    """Everything the rows wrote, without ids: results, cases, events and indicator facts."""
    flush_facts()
    ids = [p.id for p in people]
    keys = dict(db.session.execute(sa.select(ScreeningResult.id, ScreeningResult.source_key)).all())
    results = sorted(
        (
            r.source_key,
            r.person_id,
            r.test,
            r.result_code,
            r.performed_at,
            tuple(sorted(r.measured_values.items())),
        )
        for r in db.session.scalars(sa.select(ScreeningResult).where(ScreeningResult.person_id.in_(ids)))
    )
    cases = db.session.scalars(
        sa.select(FollowUpCase).where(FollowUpCase.person_id.in_(ids)).order_by(FollowUpCase.id)
    ).all()
    case_rows = [
        (c.person_id, keys.get(c.opening_result_id), c.reason, c.status, c.current_step, c.due_at, c.warn_at,
         c.outcome, c.closed_at, c.risk_rank, c.contact_attempts)
        for c in cases
    ]  # fmt: skip
    events = [
        (e.case_id and keys.get(next(c.opening_result_id for c in cases if c.id == e.case_id)), e.kind,
         e.occurred_at, e.step, e.result_code, keys.get(e.result_id), e.note)
        for e in db.session.scalars(
            sa.select(CaseEvent)
            .where(CaseEvent.case_id.in_([c.id for c in cases]))
            .order_by(CaseEvent.case_id, CaseEvent.occurred_at, CaseEvent.id)
        )
    ]  # fmt: skip
    facts = {key: row for key, row in stored_rows().items() if key[0] in ids}
    return results, case_rows, events, facts


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=ROWS, sizes=SIZES)
def test_any_chunking_records_what_one_by_one_records(district, make_person, rows, sizes):
    outer = db.session.begin_nested()
    try:
        people = [
            make_person(
                district["hospital"],
                name=f"性质{n}",
                kind=PersonKind.NEWBORN,
                birth_on=BIRTH.date(),
                birth_at=BIRTH,
            )  # fmt: skip
            for n in range(3)
        ]
        db.session.flush()
        one = db.session.begin_nested()
        single = _record(rows, people, district, [1])
        alone = _state(people)
        one.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(FACTS).where(
            FACTS.c.person_id.in_([p.id for p in people]))) == 0  # fmt: skip

        chunked = db.session.begin_nested()
        together = _record(rows, people, district, sizes)
        in_chunks = _state(people)
        chunked.rollback()

        assert together == single
        assert in_chunks == alone
    finally:
        outer.rollback()
