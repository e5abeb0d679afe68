"""A chunk's indicator facts are what a from-scratch recompute gives, in a fixed number of statements.

The writer recomputes the stale person × program rows of a transaction a chunk at a time, from plain rows
read in a few statements; these tests hold it to `rebuild` (every row from scratch) and to the same rows
computed pair by pair.
"""

import datetime as dt

import sqlalchemy as sa

from registry.audit import Actor
from registry.extensions import db
from registry.people.models import PersonKind
from screenings.indicators.facts import FACTS, compute_facts, flush_facts, mark_stale, rebuild, stored_rows
from screenings.results import ResultInput, record_results

BIRTH = dt.datetime(2026, 8, 1, 1, 0, tzinfo=dt.UTC)  # 09:00 in Shanghai
NOW = dt.datetime(2026, 11, 22, 2, 0, tzinfo=dt.UTC)
D, H = dt.timedelta(days=1), dt.timedelta(hours=1)
CLINIC = Actor(user_id=None, username="clinic-test")
HEARING, CHD = "NEWBORN_HEARING", "NEWBORN_CHD"


def hearing(left="PASS", right="PASS", at=BIRTH + 50 * H):
    return {"screening_status": "DONE", "screened_at": at.isoformat(), "method": "OAE",
            "left_ear": left, "right_ear": right}  # fmt: skip


def chd(hand="99", foot="99", at=BIRTH + 30 * H):
    return {"screened_at": at.isoformat(), "murmur_grade": 0, "spo2_right_hand": hand, "spo2_foot": foot}


def _babies(district, make_person, n):
    return [
        make_person(
            district["hospital"],
            name=f"事实{k}",
            kind=PersonKind.NEWBORN,
            birth_on=BIRTH.date(),
            birth_at=BIRTH,
        )  # fmt: skip
        for k in range(n)
    ]


def _record(program, test, rows, district, prefix):
    outcomes = record_results(
        program,
        test,
        [ResultInput(person, values, f"{prefix}-{n}") for n, (person, values) in enumerate(rows)],
        district["hospital"],
        CLINIC,
        NOW,
        source_system="LAB",
    )
    assert all(not isinstance(o, Exception) for o in outcomes), outcomes
    return outcomes


def test_a_chunks_facts_equal_a_from_scratch_recompute(district, make_person):
    babies = _babies(district, make_person, 12)
    # History first: every baby screened for CHD (a third needing a repeat) and for hearing (half referred).
    _record(CHD, "SCREEN", [(b, chd("93", "92") if n % 3 == 0 else chd()) for n, b in enumerate(babies)],
            district, "chd")  # fmt: skip
    opened = _record(HEARING, "INITIAL", [(b, hearing("REFER" if n % 2 else "PASS")) for n, b in
                     enumerate(babies)], district, "initial")  # fmt: skip
    db.session.commit()
    assert sum(o.case_opened for o in opened) == 6

    # One transaction touching both programs: rescreens advance the hearing cases, repeats the CHD ones.
    _record(HEARING, "RESCREEN", [(b, hearing(at=BIRTH + 20 * D)) for b in babies[1:8:2]], district, "re")
    _record(CHD, "POX_REPEAT", [(b, {"repeat_at": (BIRTH + 33 * H).isoformat(), "spo2_right_hand": "98",
                                     "spo2_foot": "98"}) for b in babies[::3]], district, "pox")  # fmt: skip
    db.session.commit()
    written = stored_rows()

    assert len(written) == 24 and {key[1] for key in written} == {HEARING, CHD}
    assert rebuild() == 0
    assert stored_rows() == written


def test_pairs_computed_together_equal_each_pair_computed_alone(district, make_person):
    babies = _babies(district, make_person, 8)
    _record(CHD, "SCREEN", [(b, chd("93", "92") if n % 2 else chd()) for n, b in enumerate(babies)],
            district, "chd")  # fmt: skip
    _record(HEARING, "INITIAL", [(b, hearing("REFER" if n % 3 else "PASS")) for n, b in enumerate(babies)],
            district, "initial")  # fmt: skip
    db.session.commit()
    # Each baby has rows of both programs; a chunk asks for one program of some and the other of the rest.
    pairs = [(b.id, HEARING) for b in babies[:5]] + [(b.id, CHD) for b in babies[3:]]

    together = compute_facts(pairs)
    alone = [row for pair in pairs for row in compute_facts([pair])]

    assert together == alone and len(together) == len(pairs)


def test_a_chunks_facts_cost_the_same_statements_for_four_pairs_and_forty(
    district, make_person, count_queries
):
    babies = _babies(district, make_person, 44)
    _record(HEARING, "INITIAL", [(b, hearing("REFER")) for b in babies], district, "initial")
    flush_facts()

    mark_stale((b.id, HEARING) for b in babies[:4])
    with count_queries() as few:
        assert flush_facts() == 4
    mark_stale((b.id, HEARING) for b in babies[4:])
    with count_queries() as many:
        assert flush_facts() == 40

    assert many.count == few.count, str(many)
    assert many.count <= 12, many  # places, people, results, cases, events, 3 deletes, ids (+ the lock)
    count = db.session.scalar(sa.select(sa.func.count()).select_from(FACTS).where(FACTS.c.program == HEARING))
    assert count == 44
