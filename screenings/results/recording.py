"""Recording results: validate, classify and store once per source record, then open or advance follow-up.

Services take the actor and the time as arguments and never read the request or the clock; the caller
commits."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from registry import audit
from registry.audit import Actor
from registry.extensions import db
from registry.institutions import Institution
from registry.people.models import Person
from screenings.cases.actions import add_note, record_step
from screenings.cases.errors import CaseActionRefused
from screenings.cases.openings import (
    open_case_for,
    open_cases_for_exposed_children,
    open_follow_up_case,
    step_test_of,
)
from screenings.engine import (
    CaseStatus,
    Classification,
    FieldError,
    Notice,
    Program,
    Subject,
    open_case,
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
    """What record_result did: the stored result and what happened to follow-up."""

    result: ScreeningResult
    created: bool  # False: this source record was stored before, and nothing changed
    case: FollowUpCase | None = None
    case_opened: bool = False
    case_advanced: bool = False
    infant_cases: tuple[FollowUpCase, ...] = ()
    warnings: tuple[Notice, ...] = ()


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
    """Validate, classify and store one result once, then open or advance its follow-up case.

    The same (source_system, source_key) again returns the stored result and changes nothing.
    Values that fail validation raise ResultRejected naming each field, and nothing is written.
    """
    source_key = source_key or uuid.uuid4().hex
    existing = _result_by_source(source_system, source_key)
    if existing is not None:
        return RecordedResult(existing, created=False)

    program = get_program(program_code)
    test = program.test(test_code)
    subject, classification = classified(person, program, test.code, values)
    if not classification.ok:
        raise ResultRejected(classification.errors)
    performed = performed_at_of(classification, test.performed_field, performed_at, now)
    if performed > now + dt.timedelta(minutes=5):
        future = FieldError(test.performed_field, "IN_FUTURE", "the test date is in the future")
        raise ResultRejected([future])

    result = ScreeningResult(
        program=program.code,
        test=test.code,
        person_id=person.id,
        institution_id=institution.id,
        performed_at=performed,
        measured_values=jsonable(classification.values),
        result_code=classification.result_code,
        findings=list(classification.findings),
        rule_version=classification.rule_version,
        exposes_infant=classification.exposes_infant,
        source_system=source_system,
        source_key=source_key,
        entered_by_id=actor.user_id,
        entered_at=now,
    )
    try:
        with db.session.begin_nested():
            db.session.add(result)
    except IntegrityError:
        # Another request stored the same source record between our lookup and our insert.
        stored = _result_by_source(source_system, source_key)
        if stored is None:
            raise
        return RecordedResult(stored, created=False)
    audit.record(
        actor, now, "screening_result", result.id, "CREATE",
        f"{program.code}/{test.code} {classification.result_code} for person {person.id}",
    )  # fmt: skip

    mark_stale([(person.id, program.code)])  # its indicator facts, rewritten before the commit
    case, opened, advanced = _follow_up(result, classification, person, subject, institution, actor, now)
    infants: tuple[FollowUpCase, ...] = ()
    if classification.exposes_infant and program.exposed_infant is not None:
        infants = open_cases_for_exposed_children(person, program, result.performed_at, actor, now)
    return RecordedResult(result, True, case, opened, advanced, infants, classification.warnings)


@dataclasses.dataclass(frozen=True)
class ResultInput:
    """One row of a batch: whose result, its raw values, and its key in the source system."""

    person: Person
    values: Mapping[str, object]
    source_key: str
    performed_at: dt.datetime | None = None


def record_results(
    program_code: str,
    test_code: str,
    inputs: Sequence[ResultInput],
    institution: Institution,
    actor: Actor,
    now: dt.datetime,
    *,
    source_system: str,
) -> list[RecordedResult | ResultRejected]:
    """Record many results of one test at once, with exactly record_result's meaning for each row.

    Rows are classified in memory; the ones that touch no follow-up case (most of a lab file) are
    stored with one multi-row INSERT and one audit row for the batch; the rest go through
    record_result. Returns, per input and in order, the RecordedResult or the ResultRejected.
    A database error (say another process storing the same keys at this moment) propagates: the
    caller rolls the batch back and may retry it row by row.
    """
    program = get_program(program_code)
    test = program.test(test_code)
    outcomes: list[RecordedResult | ResultRejected | None] = [None] * len(inputs)

    keys = list(dict.fromkeys(row.source_key for row in inputs))
    stored = {
        result.source_key: result
        for chunk in _chunks(keys, 500)
        for result in db.session.scalars(
            sa.select(ScreeningResult).where(
                ScreeningResult.source_system == source_system, ScreeningResult.source_key.in_(chunk)
            )
        )
    }
    person_ids = sorted({row.person.id for row in inputs})
    steps_with_this_test = {
        step.code for step in program.steps if step.test == test.code
    }  # a result of this test may advance a case standing at one of these steps
    followed = {
        person_id
        for chunk in _chunks(person_ids, 500)
        for person_id, step in db.session.execute(
            sa.select(FollowUpCase.person_id, FollowUpCase.current_step).where(
                FollowUpCase.program == program.code,
                FollowUpCase.status != CaseStatus.CLOSED,
                FollowUpCase.person_id.in_(chunk),
            )
        )
        if step in steps_with_this_test
    }

    bulk: list[tuple[int, dict, Classification]] = []
    one_by_one: list[int] = []
    seen: set[str] = set()
    for index, row in enumerate(inputs):
        if row.source_key in stored or row.source_key in seen:
            continue  # stored before, or earlier in this batch: changes nothing
        seen.add(row.source_key)
        _, classification = classified(row.person, program, test.code, row.values)
        if not classification.ok:
            outcomes[index] = ResultRejected(classification.errors)
            continue
        performed = performed_at_of(classification, test.performed_field, row.performed_at, now)
        if performed > now + dt.timedelta(minutes=5):
            outcomes[index] = ResultRejected(
                [FieldError(test.performed_field, "IN_FUTURE", "the test date is in the future")]
            )
            continue
        if classification.opens_case or classification.exposes_infant or row.person.id in followed:
            one_by_one.append(index)
            continue
        bulk.append((index, _result_row(program, test.code, row, institution, classification, performed,
                                        source_system, actor, now), classification))  # fmt: skip

    if bulk:
        # Core, not the ORM's bulk path: one multi-row INSERT per few hundred rows, ids returned in order.
        table = ScreeningResult.__table__
        ids = (
            db.session.connection()
            .execute(
                table.insert().returning(table.c.id, sort_by_parameter_order=True),
                [values for _, values, _ in bulk],
            )
            .scalars()
            .all()
        )
        audit.record(
            actor, now, "screening_result", None, "CREATE",
            f"{len(ids)} {program.code}/{test.code} results from {source_system}, ids {min(ids)}–{max(ids)}",
        )  # fmt: skip
        mark_stale({(values["person_id"], program.code) for _, values, _ in bulk})
        for (index, values, classification), result_id in zip(bulk, ids, strict=True):
            # Not loaded back: the caller reads what it just gave, and the session stays small.
            stored_result = ScreeningResult(id=result_id, **values)
            outcomes[index] = RecordedResult(stored_result, True, warnings=classification.warnings)
    for index in one_by_one:
        row = inputs[index]
        outcomes[index] = record_result(
            row.person, program.code, test.code, row.values, institution, actor, now,
            source_system=source_system, source_key=row.source_key, performed_at=row.performed_at,
        )  # fmt: skip
    for index, row in enumerate(inputs):
        if outcomes[index] is None:  # a key stored before this call, or repeated within it
            existing = stored.get(row.source_key) or _result_by_source(source_system, row.source_key)
            outcomes[index] = RecordedResult(existing, created=False)
    return outcomes  # type: ignore[return-value]


def _chunks(items: Sequence, size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _result_row(
    program: Program,
    test_code: str,
    row: ResultInput,
    institution: Institution,
    classification: Classification,
    performed: dt.datetime,
    source_system: str,
    actor: Actor,
    now: dt.datetime,
) -> dict:
    return {
        "program": program.code,
        "test": test_code,
        "person_id": row.person.id,
        "institution_id": institution.id,
        "performed_at": performed,
        "measured_values": jsonable(classification.values),
        "result_code": classification.result_code,
        "findings": list(classification.findings),
        "rule_version": classification.rule_version,
        "exposes_infant": classification.exposes_infant,
        "source_system": source_system,
        "source_key": row.source_key,
        "entered_by_id": actor.user_id,
        "entered_at": now,
    }


def _result_by_source(source_system: str, source_key: str) -> ScreeningResult | None:
    return db.session.scalar(
        sa.select(ScreeningResult).where(
            ScreeningResult.source_system == source_system, ScreeningResult.source_key == source_key
        )
    )


def _follow_up(
    result: ScreeningResult,
    classification: Classification,
    person: Person,
    subject: Subject,
    institution: Institution,
    actor: Actor,
    now: dt.datetime,
) -> tuple[FollowUpCase | None, bool, bool]:
    """Advance the person's open case when the result is its current step's test, else open one if due."""
    program = get_program(result.program)
    case = open_case_for(person, program)
    if case is not None and case.current_step is not None:
        step = program.step(case.current_step)
        if step.test == result.test and result.result_code in step.result_codes:
            try:
                record_step(
                    case, step.code, result.result_code, actor, now,
                    occurred_at=result.performed_at, result=result,
                    expected_version=case.version,
                )  # fmt: skip
                return case, False, True
            except CaseActionRefused:
                pass  # e.g. done before the case's opening: the result stays, noted on the case below
    if case is not None and (classification.opens_case or step_test_of(program, case) == result.test):
        # One open case per person and program: a further positive is recorded on it, not beside it.
        add_note(
            case,
            f"{result.test} {result.result_code}",
            actor,
            now,
            occurred_at=max(result.performed_at, case.opened_at),
            result=result,
        )
        return case, False, False
    if not classification.opens_case:
        return case, False, False
    # The case's clock starts when the screen was done, not when its result was typed in.
    opened = open_case(classification, subject, result.performed_at)
    return open_follow_up_case(program, person, opened, institution, actor, now, result), True, False
