"""The indicator fact table, kept by the one writer in the transaction that changes it.

One row per person × program × episode (today one episode per person and program: the person's
results of the program and its follow-up cases, not opened in error). The writer marks a pair stale
(`mark_stale`) whenever it records a result or writes a case's events or state, Core bulk paths
included; just before the transaction commits the stale rows are recomputed from their results and
events with the engine's `episode_facts` and rewritten, a chunk at a time. `rebuild` recomputes
every row and reports the differences.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections import defaultdict
from collections.abc import Iterable, Sequence

import sqlalchemy as sa

from registry.db import among, insert_rows
from registry.extensions import db
from registry.institutions import Institution, InstitutionKind
from registry.people.models import Person
from screenings.engine import (
    CaseStatus,
    ClosureOutcome,
    EpisodeFacts,
    EventKind,
    Recorded,
    episode_facts,
)
from screenings.indicator_sql import fact_rows, fact_tables
from screenings.models import CaseEvent, FollowUpCase, ScreeningResult
from screenings.programs import PROGRAMS

TABLES = fact_tables(db.metadata)
FACTS, MARKS, FINDINGS = TABLES.facts, TABLES.marks, TABLES.findings
_STALE = "indicator_facts_stale"
_CHUNK = 500

Pair = tuple[int, str]  # (person id, program code)


def plan_without_jit() -> None:
    """On PostgreSQL, plan the rest of this transaction's statements without JIT compilation.

    An indicator statement's EXISTS over a fact's marks is costed as if run per row, so its estimate passes
    `jit_above_cost` and PostgreSQL spends about 2 s compiling (with inlining and optimisation) a
    statement that runs in 50 ms over a district's month (scale-1.0 city). A year's counts by institution
    group 117,636 rows there: with the default 4 MB of work memory PostgreSQL sorts them on disk. The
    settings end with the transaction; other statements keep the server's defaults.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("SET LOCAL jit = off"))
        db.session.execute(sa.text("SET LOCAL work_mem = '32MB'"))


def mark_stale(pairs: Iterable[Pair]) -> None:
    """Note that these person × program rows must be recomputed before the transaction commits."""
    db.session.info.setdefault(_STALE, set()).update((int(p), str(c)) for p, c in pairs)


def mark_cases_stale(case_ids: Sequence[int]) -> None:
    """Note the rows of these cases as stale (the sweep's bulk transitions)."""
    dialect = _dialect()
    for chunk in _chunks(list(case_ids)):
        mark_stale(
            db.session.execute(
                sa.select(FollowUpCase.person_id, FollowUpCase.program).where(
                    among(FollowUpCase.id, chunk, dialect)
                )
            ).all()
        )


def flush_facts() -> int:
    """Recompute and rewrite the stale rows now; return how many pairs were refreshed."""
    stale = db.session.info.pop(_STALE, set())
    if not stale:
        return 0
    db.session.flush()
    pairs = sorted(stale)
    _lock_pairs(pairs)  # before reading: the rows are computed from what the other writer committed
    places = _district_codes()
    for chunk in _chunks(pairs):
        write_facts(chunk, compute_facts(chunk, places))
    return len(pairs)


def _chunks(items: list, size: int = _CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _district_codes() -> dict[int, tuple[str, str]]:
    """Return, per institution id, its code and its district's code (one query for the table)."""
    rows = db.session.execute(
        sa.select(Institution.id, Institution.code, Institution.kind, Institution.parent_id)
    )
    by_id = {r.id: r for r in rows}
    found: dict[int, tuple[str, str]] = {}
    for row in by_id.values():
        node = row
        while node is not None and node.kind != InstitutionKind.DISTRICT:
            node = by_id.get(node.parent_id)
        found[row.id] = (row.code, node.code if node is not None else "")
    return found


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _pair_filter(column_person, column_program, pairs: Sequence[Pair]):
    """Match these person × program pairs: per program, one array of people (one for an import's chunk).

    A row-value ``IN`` of 500 pairs cost PostgreSQL about 38 ms of planning per statement (a 500-branch
    OR) and psycopg a regex pass over its placeholders; an array per program costs neither.
    """
    people: dict[str, set[int]] = defaultdict(set)
    for person, program in pairs:
        people[program].add(person)
    dialect = _dialect()
    return sa.or_(
        *(
            sa.and_(column_program == program, among(column_person, sorted(ids), dialect))
            for program, ids in sorted(people.items())
        )
    )


R, C, E = ScreeningResult, FollowUpCase, CaseEvent
# What a fact row is computed from: plain rows of these columns (no ORM objects), read a chunk at a time.
_PERSON_COLUMNS = (Person.id, Person.kind, Person.birth_at, Person.birth_on, Person.merged_into_id)
_RESULT_COLUMNS = (R.id, R.person_id, R.program, R.test, R.result_code, R.performed_at, R.findings,
                   R.institution_id)  # fmt: skip
_CASE_COLUMNS = (C.id, C.person_id, C.program, C.status, C.outcome, C.due_at, C.current_step, C.state_as_of,
                 C.closed_at, C.opening_institution_id, C.subject_kind)  # fmt: skip
_EVENT_COLUMNS = (E.case_id, E.kind, E.step, E.result_code, E.result_id, E.occurred_at, E.data)
# The only events a fact row reads (contact attempts, notes and the like are most of a case's events).
_FACT_EVENTS = (EventKind.STEP_RESULT, EventKind.TRANSFER_ACCEPTED, EventKind.STATUS_CHANGED)


def compute_facts(
    pairs: Sequence[Pair], places: dict[int, tuple[str, str]] | None = None
) -> list[EpisodeFacts]:
    """Compute the fact rows of these person × program pairs from their results, cases and events.

    Four statements for the chunk, whatever its size: its people, results, cases (not opened in
    error) and the events of those cases.
    """
    if not pairs:
        return []
    places = places if places is not None else _district_codes()
    dialect = _dialect()
    connection = db.session.connection()  # column rows: the ORM's result machinery has nothing to add
    persons = {
        p.id: p
        for p in connection.execute(
            sa.select(*_PERSON_COLUMNS).where(among(Person.id, sorted({p for p, _ in pairs}), dialect))
        )
    }
    results: dict[Pair, list] = defaultdict(list)
    for r in connection.execute(
        sa.select(*_RESULT_COLUMNS)
        .where(_pair_filter(R.person_id, R.program, pairs))
        .order_by(R.performed_at, R.id)
    ):
        results[(r.person_id, r.program)].append(r)
    live = sa.or_(C.outcome.is_(None), C.outcome != ClosureOutcome.OPENED_IN_ERROR)
    cases: dict[Pair, list] = defaultdict(list)
    for c in connection.execute(
        sa.select(*_CASE_COLUMNS)
        .where(_pair_filter(C.person_id, C.program, pairs), live)
        .order_by(C.opened_at, C.id)
    ):
        cases[(c.person_id, c.program)].append(c)
    events: dict[int, list] = defaultdict(list)
    for e in connection.execute(
        sa.select(*_EVENT_COLUMNS)
        .join(C, C.id == E.case_id)
        .where(_pair_filter(C.person_id, C.program, pairs), live, E.kind.in_(_FACT_EVENTS))
        .order_by(E.occurred_at, E.id)
    ):
        events[e.case_id].append(e)
    rows = []
    for pair in pairs:
        person_id, code = pair
        person = persons.get(person_id)
        program = PROGRAMS.get(code)
        if person is None or program is None or person.merged_into_id is not None:
            continue
        row = _episode(program, person, results[pair], cases[pair], events, places)
        if row is not None:
            rows.append(row)
    return rows


def _episode(program, person, results, cases, events, places) -> EpisodeFacts | None:
    if not results and not cases:
        return None
    step_result_ids: set[int] = set()
    records: list[Recorded] = []
    closed = lost = overdue = transferred = None
    for case in cases:
        for e in events[case.id]:
            if e.kind is EventKind.STEP_RESULT and e.step and e.result_code:
                records.append(Recorded(e.step, e.result_code, e.occurred_at))
                if e.result_id is not None:
                    step_result_ids.add(e.result_id)
            elif e.kind is EventKind.TRANSFER_ACCEPTED:
                transferred = (e.occurred_at, places[int(e.data["to_institution"])][0])
            elif e.kind is EventKind.STATUS_CHANGED and overdue is None and e.data.get("status") == "OVERDUE":
                overdue = (e.occurred_at, e.step or "")
            elif (
                e.kind is EventKind.STATUS_CHANGED
                and lost is None
                and e.data.get("status") == "LOST_TO_FOLLOW_UP"
            ):
                lost = e.occurred_at
        if case.status in (CaseStatus.OVERDUE, CaseStatus.ESCALATED) and overdue is None and case.due_at:
            overdue = (case.due_at, case.current_step or "")
        if case.status is CaseStatus.LOST_TO_FOLLOW_UP and lost is None:
            lost = case.state_as_of
    main = cases[0] if cases else None
    if main is not None and main.status is CaseStatus.CLOSED and main.closed_at and main.outcome:
        closed = (main.closed_at, main.outcome)
        if main.outcome is ClosureOutcome.LOST_TO_FOLLOW_UP:
            lost = lost or main.closed_at
        elif main.outcome in (ClosureOutcome.DIED, ClosureOutcome.MOVED_AWAY, ClosureOutcome.REFUSED):
            lost = None  # never lost (§0.4)
    for r in results:
        if r.id not in step_result_ids:
            records.append(Recorded(r.test, r.result_code, r.performed_at, tuple(r.findings or ())))
    opener = results[0].institution_id if results else main.opening_institution_id
    institution, district = places.get(opener, ("", ""))
    subject = main.subject_kind if main is not None else _subject(person, program)
    born = person.birth_at or dt.datetime.combine(person.birth_on, dt.time(12), dt.UTC)
    return episode_facts(
        program, person.id, institution, subject, records, born_at=born, closed=closed, lost_at=lost,
        overdue=overdue, transferred=transferred, district=district,
    )  # fmt: skip


def _subject(person, program):
    from screenings.cases.subjects import subject_kind_for

    return subject_kind_for(person, program)


# Namespace of the advisory locks that serialise writers of one person × program's fact rows.
_FACT_LOCK_NAMESPACE = 17017


def _lock_pairs(pairs: Sequence[Pair]) -> None:
    """On PostgreSQL, wait for any other transaction rewriting the same pairs (two reminder workers, say).

    Without it both delete nothing and both insert, and the second commit fails on the unique key.
    Locks are taken in one sorted pass so that two writers never wait on each other in a cycle.
    """
    if db.session.get_bind().dialect.name != "postgresql" or not pairs:
        return
    keys = sorted({zlib.crc32(f"{person}:{program}".encode()) - 2**31 for person, program in pairs})
    db.session.execute(
        sa.text(
            "SELECT pg_advisory_xact_lock(:namespace, k) FROM "
            "(SELECT k FROM unnest(CAST(:keys AS integer[])) AS k ORDER BY k) AS ordered"
        ),
        {"namespace": _FACT_LOCK_NAMESPACE, "keys": keys},
    )


def write_facts(pairs: Sequence[Pair], rows: Sequence[EpisodeFacts]) -> None:
    """Replace the stored rows of these pairs with these computed rows: one DELETE, then COPY.

    The marks and findings of the deleted rows go with them (their foreign keys cascade).
    """
    db.session.execute(FACTS.delete().where(_pair_filter(FACTS.c.person_id, FACTS.c.program, pairs)))
    if not rows:
        return
    births = {}
    for row in rows:
        born = row.mark("born")
        births[(row.person_id, row.program)] = born.on.strftime("%Y-%m") if born else None
    prepared = list(fact_rows(rows))
    values = []
    empty = {c.name: None for c in FACTS.columns if c.name != "id"}
    for fact, _, _ in prepared:
        fact = {**empty, **fact}
        fact.pop("id")
        fact["birth_month"] = births[(fact["person_id"], fact["program"])]
        values.append(fact)
    connection = db.session.connection()
    new_ids = insert_rows(connection, FACTS, values, returning_ids=True)
    marks, findings = [], []
    for (_, steps, found), fact_id in zip(prepared, new_ids, strict=True):
        marks += [{**m, "fact_id": fact_id} for m in steps]
        findings += [{**f, "fact_id": fact_id} for f in found]
    insert_rows(connection, MARKS, marks)
    insert_rows(connection, FINDINGS, findings)


def stored_rows() -> dict[tuple, tuple]:
    """Return every stored fact row with its marks and findings, keyed by (person, program, episode)."""
    marks: dict[int, list] = defaultdict(list)
    for m in db.session.execute(sa.select(MARKS)):
        marks[m.fact_id].append((m.name, m.day, m.sec, m.code))
    found: dict[int, list] = defaultdict(list)
    for f in db.session.execute(sa.select(FINDINGS)):
        found[f.fact_id].append(f.code)
    out = {}
    for row in db.session.execute(sa.select(FACTS)).mappings():
        key = (row["person_id"], row["program"], row["episode"])
        plain = {k: v for k, v in row.items() if k != "id"}
        out[key] = (
            tuple(sorted(plain.items())),
            tuple(sorted(marks[row["id"]])),
            tuple(sorted(found[row["id"]])),
        )
    return out


def all_pairs() -> list[Pair]:
    """Return every person × program pair that has a result or a case."""
    pairs = set(
        db.session.execute(sa.select(ScreeningResult.person_id, ScreeningResult.program).distinct()).all()
    )
    pairs |= set(db.session.execute(sa.select(FollowUpCase.person_id, FollowUpCase.program).distinct()).all())
    return sorted((int(p), str(c)) for p, c in pairs)


def rebuild() -> int:
    """Recompute every fact row from results and events; return how many rows differed."""
    db.session.info.pop(_STALE, None)
    before = stored_rows()
    db.session.execute(MARKS.delete())
    db.session.execute(FINDINGS.delete())
    db.session.execute(FACTS.delete())
    pairs = all_pairs()
    places = _district_codes()
    for chunk in _chunks(pairs):
        write_facts(chunk, compute_facts(chunk, places))
    after = stored_rows()
    return sum(1 for key in before.keys() | after.keys() if before.get(key) != after.get(key))


@sa.event.listens_for(db.session, "before_commit")
def _write_stale_facts(session) -> None:
    if session.info.get(_STALE):
        flush_facts()


@sa.event.listens_for(db.session, "after_transaction_end")
def _forget_stale_facts(session, transaction) -> None:
    if transaction.parent is None and not transaction.nested:  # committed (written above) or rolled back
        session.info.pop(_STALE, None)
