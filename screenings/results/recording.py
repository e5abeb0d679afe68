"""Recording results, a chunk at a time: a form's single result is a chunk of one, an import's ~1,000 rows.

Per chunk: every row validated and classified with the pure engine, the stored source keys read in one
query, the follow-up of every new result planned in memory (screenings.cases.chunk), then the results
written with one INSERT … ON CONFLICT DO NOTHING RETURNING, and the cases, events, state columns, audit
rows and indicator facts in bulk by the one writer, all in the caller's transaction, with no savepoint.
A row that fails is rejected with its reasons before anything of it is written; the others still land.

Services take the actor and the time as arguments and never read the request or the clock; the caller
commits."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from registry import audit
from registry.audit import Actor
from registry.db import among, copy_rows
from registry.extensions import db
from registry.institutions import Institution
from registry.people.models import Person
from screenings.cases.chunk import ChunkFollowUp, Planned
from screenings.cases.errors import CaseActionRefused
from screenings.cases.openings import open_cases_for_exposed_children
from screenings.cases.subjects import screens
from screenings.engine import (
    Classification,
    FieldError,
    Notice,
    Program,
    Subject,
)
from screenings.indicators.facts import mark_stale
from screenings.models import FollowUpCase, ScreeningResult
from screenings.programs import get_program
from screenings.results.classification import classified, jsonable, performed_at_of

WEB_SOURCE = "WEB"


class ResultRejected(ValueError):
    """The values cannot be classified; nothing was stored."""

    def __init__(self, errors: Iterable[FieldError]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(f"{e.field or '-'}: {e.message}" for e in self.errors))


@dataclasses.dataclass(frozen=True)
class RecordedResult:
    """What recording did for one row: the stored result and what happened to follow-up.

    The result and the case are read from the session when asked for (most callers need only the ids).
    """

    result_id: int
    created: bool  # False: this source record was stored before, and nothing changed
    case_id: int | None = None
    case_opened: bool = False
    case_advanced: bool = False
    infant_cases: tuple[FollowUpCase, ...] = ()
    warnings: tuple[Notice, ...] = ()

    @functools.cached_property
    def result(self) -> ScreeningResult:
        return db.session.get(ScreeningResult, self.result_id)

    @functools.cached_property
    def case(self) -> FollowUpCase | None:
        return db.session.get(FollowUpCase, self.case_id) if self.case_id is not None else None


@dataclasses.dataclass(frozen=True)
class ResultInput:
    """One row of a chunk: whose result, its raw values, and its key in the source system."""

    person: Person
    values: Mapping[str, object]
    source_key: str
    performed_at: dt.datetime | None = None


Outcome = RecordedResult | ResultRejected | CaseActionRefused


def record_result(
    person: Person,
    program_code: str,
    test_code: str,
    values: Mapping[str, object],
    institution: Institution,
    actor: Actor,
    now: dt.datetime,
    *,
    source_system: str = WEB_SOURCE,
    source_key: str | None = None,
    performed_at: dt.datetime | None = None,
) -> RecordedResult:
    """Record one result: a chunk of one. Raises ResultRejected (or CaseActionRefused); nothing is written.

    The same (source_system, source_key) again returns the stored result and changes nothing.
    """
    row = ResultInput(person, values, source_key or uuid.uuid4().hex, performed_at)
    [outcome] = record_results(
        program_code, test_code, [row], institution, actor, now, source_system=source_system
    )
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def record_results(
    program_code: str,
    test_code: str,
    inputs: Sequence[ResultInput],
    institution: Institution,
    actor: Actor,
    now: dt.datetime,
    *,
    source_system: str,
) -> list[Outcome]:
    """Record a chunk of results of one test; return per input, in order, what became of it.

    Each row means exactly what it would mean recorded alone after the rows before it: a row is stored
    once per (source_system, source_key), may open, advance or be noted on its person's case, and is
    rejected (ResultRejected for its values, CaseActionRefused for its case) with nothing written.
    """
    program = get_program(program_code)
    program.test(test_code)
    outcomes: list[Outcome] = []
    for segment in _segments(program, inputs):
        outcomes.extend(_Chunk(program, test_code, segment, institution, actor, now, source_system).record())
    return outcomes


def _segments(program: Program, inputs: Sequence[ResultInput]) -> list[Sequence[ResultInput]]:
    """Cut a chunk after a mother's row that comes before a row of her child (PMTCT programs only).

    A mother's result can open her infants' cases, which a later row of the infant must then see.
    """
    if program.exposed_infant is None:
        return [inputs]
    segments, start = [], 0
    for index, row in enumerate(inputs):
        later_mothers = {r.person.mother_id for r in inputs[index + 1 :]}
        if row.person.id in later_mothers:
            segments.append(inputs[start : index + 1])
            start = index + 1
    segments.append(inputs[start:])
    return [segment for segment in segments if segment]


@dataclasses.dataclass
class _New:
    """A row that will be stored: its values, classification and planned follow-up."""

    index: int
    row: ResultInput
    values: dict
    classification: Classification
    planned: Planned | None = None


class _Chunk:
    def __init__(
        self,
        program: Program,
        test_code: str,
        inputs: Sequence[ResultInput],
        institution: Institution,
        actor: Actor,
        now: dt.datetime,
        source_system: str,
    ) -> None:
        self.program, self.test = program, program.test(test_code)
        self.inputs, self.institution = inputs, institution
        self.actor, self.now, self.source = actor, now, source_system

    def record(self) -> list[Outcome]:
        db.session.flush()  # what the session holds goes first: the rest is written by Core
        for _attempt in range(3):
            stored = self._stored_ids()
            outcomes, new, follow_up = self._plan(stored)
            ids = self._insert(new)
            if len(ids) == len(new):
                break
            # Another transaction stored some of these keys since we read them: undo ours and plan again.
            self._delete(ids.values())
        else:
            raise RuntimeError("results keep being stored by another transaction")
        follow_up.write({n.index: ids[n.row.source_key] for n in new})
        self._audit(new, ids)
        mark_stale({(n.row.person.id, self.program.code) for n in new})
        for n in new:
            outcomes[n.index] = self._recorded(n, ids[n.row.source_key])
        for index, outcome in enumerate(outcomes):
            if outcome is None:  # stored before this chunk, or earlier in it
                key = self.inputs[index].source_key
                result_id = stored.get(key) or ids[key]
                outcomes[index] = RecordedResult(result_id, created=False)
        return outcomes  # type: ignore[return-value]

    def _stored_ids(self) -> dict[str, int]:
        keys = sorted({row.source_key for row in self.inputs})
        return {
            key: result_id
            for result_id, key in db.session.execute(
                sa.select(ScreeningResult.id, ScreeningResult.source_key).where(
                    ScreeningResult.source_system == self.source,
                    among(ScreeningResult.source_key, keys, db.session.get_bind().dialect.name),
                )
            )
        }

    def _plan(self, stored: Mapping[str, int]) -> tuple[list, list[_New], ChunkFollowUp]:
        people = list({row.person.id: row.person for row in self.inputs}.values())
        follow_up = ChunkFollowUp(self.program, people, self.actor, self.now)
        outcomes: list[Outcome | None] = [None] * len(self.inputs)
        new: list[_New] = []
        taken: set[str] = set(stored)
        for index, row in enumerate(self.inputs):
            if row.source_key in taken:
                continue  # stored before, or by an earlier row of this chunk: changes nothing
            open_case = follow_up.open_case(row.person)
            traits = open_case.opened.subject.traits if open_case is not None else None
            subject, classification = classified(row.person, self.program, self.test.code, row.values, traits)
            rejection = self._rejection(classification, row, subject)
            if rejection is not None:
                outcomes[index] = rejection
                continue
            performed = performed_at_of(classification, self.test.performed_field, row.performed_at, self.now)
            values = self._result_row(row, classification, performed)
            try:
                planned = _follow_up(follow_up, index, row.person, values, classification, subject,
                                     self.institution.id)  # fmt: skip
            except CaseActionRefused as refused:
                outcomes[index] = refused
                continue
            taken.add(row.source_key)
            new.append(_New(index, row, values, classification, planned))
        return outcomes, new, follow_up

    def _rejection(
        self, classification: Classification, row: ResultInput, subject: Subject
    ) -> ResultRejected | None:
        if not screens(self.program, row.person):
            # What the result form never offers (a child's cervical screen) no edge records.
            kinds = ", ".join(self.program.eligibility.kinds)
            message = f"{self.program.en} screens {kinds}, not {subject.kind}"
            return ResultRejected([FieldError(None, "SUBJECT_KIND", message)])
        if not classification.ok:
            return ResultRejected(classification.errors)
        performed = performed_at_of(classification, self.test.performed_field, row.performed_at, self.now)
        if performed > self.now + dt.timedelta(minutes=5):
            return ResultRejected(
                [FieldError(self.test.performed_field, "IN_FUTURE", "the test date is in the future")]
            )
        return None

    def _result_row(self, row: ResultInput, classification: Classification, performed: dt.datetime) -> dict:
        return {
            "program": self.program.code,
            "test": self.test.code,
            "person_id": row.person.id,
            "institution_id": self.institution.id,
            "performed_at": performed,
            "measured_values": jsonable(classification.values),
            "result_code": classification.result_code,
            "findings": list(classification.findings),
            "rule_version": classification.rule_version,
            "exposes_infant": classification.exposes_infant,
            "source_system": self.source,
            "source_key": row.source_key,
            "entered_by_id": self.actor.user_id,
            "entered_at": self.now,
        }

    def _insert(self, new: list[_New]) -> dict[str, int]:
        """Insert the rows; return the ids of those stored now (a key stored meanwhile is left out)."""
        if not new:
            return {}
        table = ScreeningResult.__table__
        connection = db.session.connection()
        if connection.dialect.name == "postgresql":
            return _insert_by_copy(connection, table, [n.values for n in new])
        statement = (
            sqlite.insert(table)
            .on_conflict_do_nothing(index_elements=[table.c.source_system, table.c.source_key])
            .returning(table.c.id, table.c.source_key)
        )
        rows = connection.execute(statement, [n.values for n in new])
        return {key: result_id for result_id, key in rows}

    def _delete(self, ids: Iterable[int]) -> None:
        table = ScreeningResult.__table__
        db.session.connection().execute(table.delete().where(table.c.id.in_(list(ids))))

    def _audit(self, new: list[_New], ids: Mapping[str, int]) -> None:
        if not new:
            return
        program, test = self.program.code, self.test.code
        if len(new) == 1:
            [n] = new
            summary = f"{program}/{test} {n.classification.result_code} for person {n.row.person.id}"
            entity_id = ids[n.row.source_key]
        else:
            numbers = sorted(ids.values())
            summary = (
                f"{len(new)} {program}/{test} results from {self.source}, ids {numbers[0]}–{numbers[-1]}"
            )
            entity_id = None
        audit.record_rows([audit.row(self.actor, self.now, "screening_result", entity_id, "CREATE", summary)])

    def _recorded(self, n: _New, result_id: int) -> RecordedResult:
        planned = n.planned
        infants: list[FollowUpCase] = []
        plan = self.program.exposed_infant
        if planned.exposes_at is not None:
            # "this mother is positive" became true on her case: her delivered babies' plans open now
            infants += open_cases_for_exposed_children(
                n.row.person, self.program, planned.exposes_at, self.actor, self.now
            )
        if n.classification.exposes_infant and plan is not None:
            infants += open_cases_for_exposed_children(
                n.row.person, self.program, n.values["performed_at"], self.actor, self.now
            )
        return RecordedResult(
            result_id, True, planned.case_id, planned.opened, planned.advanced,
            tuple(infants), n.classification.warnings,
        )  # fmt: skip


_STAGE = "screening_result_stage"


def _insert_by_copy(connection: sa.Connection, table: sa.Table, rows: list[dict]) -> dict[str, int]:
    """PostgreSQL: COPY the chunk into a temporary staging table, then one INSERT … SELECT … ON CONFLICT
    DO NOTHING RETURNING; a multi-row VALUES of a thousand rows costs more in psycopg's parsing of its
    placeholders than the insert itself."""
    columns = list(rows[0])
    names = ", ".join(columns)
    connection.exec_driver_sql(
        f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} ON COMMIT DELETE ROWS AS "
        f"SELECT {names} FROM {table.name} WITH NO DATA"
    )
    connection.exec_driver_sql(f"DELETE FROM {_STAGE}")  # a chunk planned again in this transaction
    json_columns = {c.name for c in table.columns if isinstance(c.type, sa.JSON)}
    copy_rows(
        connection,
        _STAGE,
        columns,
        ([json.dumps(row[c]) if c in json_columns else row[c] for c in columns] for row in rows),
    )
    stored = connection.exec_driver_sql(
        f"INSERT INTO {table.name} ({names}) SELECT {names} FROM {_STAGE} "
        "ON CONFLICT (source_system, source_key) DO NOTHING RETURNING id, source_key"
    )
    return {key: result_id for result_id, key in stored}


def _follow_up(
    follow_up: ChunkFollowUp,
    index: int,
    person: Person,
    result: Mapping[str, object],
    classification: Classification,
    subject: Subject,
    institution_id: int,
) -> Planned:
    """Advance the person's open case when the result is its current step's test, else open one if due.

    Raises CaseActionRefused when the result cannot be noted on the case it concerns.
    """
    program = follow_up.program
    test, code, performed = result["test"], result["result_code"], result["performed_at"]
    work = follow_up.open_case(person)
    if work is not None and work.current_step is not None:
        step = program.step(work.current_step)
        # A refused step (e.g. done before the case's opening) leaves the result to be noted below.
        if (
            step.test == test
            and code in step.result_codes
            and follow_up.advance(work, index, step.code, code, performed)
        ):
            plan = program.exposed_infant
            exposes = plan is not None and plan.exposes(step.code, code)
            return Planned(work, advanced=True, exposes_at=performed if exposes else None)
    step_test = program.step(work.current_step).test if work is not None and work.current_step else None
    if work is not None and (classification.opens_case or step_test == test):
        # One open case per person and program: a further positive is recorded on it, not beside it.
        follow_up.note(work, index, f"{test} {code}", code, max(performed, work.opened.opened_at))
        return Planned(work)
    if not classification.opens_case:
        return Planned(work)
    return Planned(follow_up.open(person, index, classification, subject, performed, institution_id), True)
