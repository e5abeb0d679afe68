"""Recording results and moving follow-up cases: the only code that writes results, cases and events.

Services take the actor and the time as arguments and never read the request or the clock. Each
change appends an event, checked first by the engine, then rewrites the case's state columns from
the engine's replay of all its events, and audits itself in the same transaction. The caller commits.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import uuid
from collections.abc import Iterable, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from registry import audit
from registry.audit import Actor
from registry.extensions import db
from registry.institutions import Institution
from registry.people.models import Person, PersonKind
from registry.people.models import Sex as PersonSex
from registry.people.services import person_registered
from screenings.cases.writer import apply_state, new_event
from screenings.engine import (
    AUTOMATED,
    LOCAL_TZ,
    SCHEDULED_DUE_AT,
    CaseEventFact,
    CaseReason,
    CaseState,
    CaseStatus,
    Classification,
    ClosureOutcome,
    ContactChannel,
    ContactOutcome,
    EventKind,
    FieldError,
    Notice,
    OpenedCase,
    Program,
    Sex,
    Subject,
    SubjectKind,
    Traits,
    check_event,
    classify,
    derive_case_state,
    open_case,
    open_exposed_infant_case,
    open_missed_screening_case,
)
from screenings.models import CaseEvent, FollowUpCase, ScreeningResult
from screenings.programs import PROGRAMS, get_program

WEB_SOURCE = "WEB"
_SEX = {PersonSex.FEMALE: Sex.FEMALE, PersonSex.MALE: Sex.MALE, PersonSex.UNKNOWN: Sex.UNKNOWN}


class ResultRejected(ValueError):
    """The values cannot be classified; nothing was stored."""

    def __init__(self, errors: Iterable[FieldError]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(f"{e.field or '-'}: {e.message}" for e in self.errors))


class CaseActionRefused(ValueError):
    """The engine says this cannot happen to the case as it stands; nothing was stored."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(self.problems))

    @property
    def codes(self) -> tuple[str, ...]:
        """Return the engine's problem codes (the part before the colon)."""
        return tuple(problem.split(":", 1)[0] for problem in self.problems)


class CaseConflict(RuntimeError):
    """Someone else changed the case since it was read; the caller rolls back and shows the new state."""

    def __init__(self, case_id: int) -> None:
        self.case_id = case_id
        super().__init__(f"case {case_id} was changed by someone else")


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


# -- subjects -------------------------------------------------------------------------------------


# The roles a kind of person may play in a program, the usual one first.
_SUBJECT_KINDS = {
    PersonKind.WOMAN: (SubjectKind.WOMAN, SubjectKind.PREGNANT_WOMAN),
    PersonKind.NEWBORN: (SubjectKind.NEWBORN, SubjectKind.CHILD),
    PersonKind.CHILD: (SubjectKind.CHILD, SubjectKind.NEWBORN),
}


def person_kinds_screened(program: Program) -> tuple[PersonKind, ...]:
    """Return the kinds of person a program's eligibility screens in their usual role (newborns, say)."""
    return tuple(kind for kind, roles in _SUBJECT_KINDS.items() if roles[0] in program.eligibility.kinds)


def subject_kind_for(person: Person, program: Program) -> SubjectKind:
    """Return the role a person plays in a program: a woman tested in pregnancy is a pregnant woman."""
    candidates = _SUBJECT_KINDS.get(person.kind, (SubjectKind.WOMAN,))
    for kind in candidates:
        if kind in program.eligibility.kinds:
            return kind
    return candidates[0]


def subject_of(person: Person, kind: SubjectKind, traits: Mapping[str, object] | None = None) -> Subject:
    """Build the engine's view of a person, with the traits a program's results told of them."""
    return Subject(
        kind=kind,
        sex=_SEX[person.sex],
        birth_at=person.birth_at,
        birth_on=person.birth_on,
        traits=Traits(traits or {}),
        has_address=bool(person.address and person.address.strip()),
    )


def case_subject(case: FollowUpCase) -> Subject:
    """Return the subject a case's rules read: the person as they are, seen as the opening result saw them."""
    return subject_of(case.person, case.subject_kind, case.subject_traits)


def opened_case_of(case: FollowUpCase) -> OpenedCase:
    """Return the engine's view of how a case was opened."""
    return OpenedCase(
        reason=case.reason,
        first_step=case.first_step,
        opened_at=case.opened_at,
        subject=case_subject(case),
        result_code=case.opening_result_code,
        track=case.opening_track,
        scheduled_due_at=case.scheduled_due_at,
    )


def event_fact(event: CaseEvent) -> CaseEventFact:
    """Return the engine's view of a stored event."""
    data = dict(event.data or {})
    if event.kind is EventKind.STEP_RESULT and event.next_appointment_at is not None:
        data[SCHEDULED_DUE_AT] = event.next_appointment_at
    return CaseEventFact(
        kind=event.kind,
        occurred_at=event.occurred_at,
        step=event.step,
        result_code=event.result_code,
        outcome=event.outcome,
        channel=event.channel,
        reached=event.reached,
        contact_outcome=event.contact_outcome,
        data=data,
    )


def case_events(case: FollowUpCase) -> list[CaseEvent]:
    """Return a case's events in the order they happened."""
    return list(
        db.session.scalars(
            sa.select(CaseEvent)
            .where(CaseEvent.case_id == case.id)
            .order_by(CaseEvent.occurred_at, CaseEvent.id)
        )
    )


def case_state(case: FollowUpCase, as_of: dt.datetime, events: list[CaseEvent] | None = None) -> CaseState:
    """Replay a case's events as of a moment (the case page, the sweep and the tests read this)."""
    facts = [event_fact(e) for e in (case_events(case) if events is None else events)]
    return derive_case_state(get_program(case.program), opened_case_of(case), facts, as_of)


# -- results ----------------------------------------------------------------------------------------


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
    subject, classification = _classified(person, program, test.code, values)
    if not classification.ok:
        raise ResultRejected(classification.errors)
    performed = _performed_at(classification, test.performed_field, performed_at, now)
    if performed > now + dt.timedelta(minutes=5):
        future = FieldError(test.performed_field, "IN_FUTURE", "the test date is in the future")
        raise ResultRejected([future])

    result = ScreeningResult(
        program=program.code,
        test=test.code,
        person_id=person.id,
        institution_id=institution.id,
        performed_at=performed,
        measured_values=_jsonable(classification.values),
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

    case, opened, advanced = _follow_up(result, classification, person, subject, institution, actor, now)
    infants: tuple[FollowUpCase, ...] = ()
    if classification.exposes_infant and program.exposed_infant is not None:
        infants = _open_cases_for_exposed_children(person, program, result, actor, now)
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
        _, classification = _classified(row.person, program, test.code, row.values)
        if not classification.ok:
            outcomes[index] = ResultRejected(classification.errors)
            continue
        performed = _performed_at(classification, test.performed_field, row.performed_at, now)
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
        "measured_values": _jsonable(classification.values),
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


def _classified(
    person: Person, program: Program, test_code: str, values: Mapping[str, object]
) -> tuple[Subject, Classification]:
    """Classify raw values; return the subject as the case will keep it, with what the values told of them."""
    subject = subject_of(person, subject_kind_for(person, program))
    classification = classify(program, test_code, values, subject)
    # The traits the values told (the test's subject_traits) stay with the case, for its later steps.
    return subject.told(classification.traits), classification


def _performed_at(
    classification: Classification, field: str | None, given: dt.datetime | None, now: dt.datetime
) -> dt.datetime:
    value = classification.values.get(field) if field else None
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        # A date means some time that day: noon, or, on the morning of that very day, now (not the future).
        noon = dt.datetime.combine(value, dt.time(12), LOCAL_TZ).astimezone(dt.UTC)
        return min(noon, now) if value == now.astimezone(LOCAL_TZ).date() else noon
    return given or now


def _jsonable(values: Mapping[str, object]) -> dict:
    def convert(value: object) -> object:
        if isinstance(value, dt.datetime | dt.date):
            return value.isoformat()
        if isinstance(value, decimal.Decimal):
            return str(value)
        if isinstance(value, tuple | list | frozenset | set):
            return [convert(v) for v in value]
        return value

    return {name: convert(value) for name, value in values.items()}


def open_case_for(person: Person, program: Program) -> FollowUpCase | None:
    """Return the person's most recent case in a program that is not closed."""
    return db.session.scalar(
        sa.select(FollowUpCase)
        .where(
            FollowUpCase.person_id == person.id,
            FollowUpCase.program == program.code,
            FollowUpCase.status != CaseStatus.CLOSED,
        )
        .order_by(FollowUpCase.opened_at.desc(), FollowUpCase.id.desc())
        .limit(1)
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
    return _open(program, person, opened, institution, actor, now, result), True, False


def step_test_of(program: Program, case: FollowUpCase) -> str | None:
    """Return the test whose result records the case's current step, if any."""
    return program.step(case.current_step).test if case.current_step else None


def _open(
    program: Program,
    person: Person,
    opened: OpenedCase,
    institution: Institution,
    actor: Actor,
    now: dt.datetime,
    result: ScreeningResult | None = None,
) -> FollowUpCase:
    case = FollowUpCase(
        program=program.code,
        person=person,
        person_id=person.id,
        reason=opened.reason,
        opened_at=opened.opened_at,
        opening_result_id=result.id if result else None,
        opening_result_code=opened.result_code,
        first_step=opened.first_step,
        opening_track=opened.track,
        scheduled_due_at=opened.scheduled_due_at,
        subject_kind=opened.subject.kind,
        subject_traits=opened.subject.traits.as_json(),
        opening_institution_id=institution.id,
        responsible_institution_id=institution.id,
        rule_version=program.rule_version,
        status=CaseStatus.OPEN,
        state_as_of=now,
    )
    db.session.add(case)
    db.session.flush()
    event = _event(case, EventKind.OPENED, opened.opened_at, actor, now, program, step=opened.first_step)
    event.result_code = opened.result_code
    event.result_id = result.id if result else None
    db.session.add(event)
    state = derive_case_state(program, opened, [], max(now, opened.opened_at))
    apply_state(case, state, [event], now)
    audit.record(
        actor, now, "follow_up_case", case.id, "OPEN",
        f"{program.code} {opened.reason} at {opened.first_step} for person {person.id}",
    )  # fmt: skip
    db.session.flush()
    return case


# -- exposed infants and missed screenings ------------------------------------------------------------


def _open_cases_for_exposed_children(
    mother: Person, program: Program, result: ScreeningResult, actor: Actor, now: dt.datetime
) -> tuple[FollowUpCase, ...]:
    """A positive mother already delivered: open her newborns' exposed-infant cases."""
    since = (result.performed_at - program.exposed_infant.delivery_testing_margin).date()
    children = db.session.scalars(
        sa.select(Person).where(
            Person.mother_id == mother.id, Person.birth_on >= since, Person.merged_into_id.is_(None)
        )
    )
    opened = [open_exposed_infant(child, program, actor, now) for child in children]
    return tuple(case for case in opened if case is not None)


def open_exposed_infant(
    infant: Person, program: Program, actor: Actor, now: dt.datetime
) -> FollowUpCase | None:
    """Open an exposed infant's case with its schedule, once per infant and program."""
    if program.exposed_infant is None:
        raise ValueError(f"{program.code} has no exposed-infant schedule")
    if _has_case(infant, program, CaseReason.EXPOSED_INFANT):
        return None
    subject = subject_of(infant, SubjectKind.EXPOSED_INFANT)
    opened_at = max(infant.birth_at or now, infant.created_at or now)
    opened = open_exposed_infant_case(program, subject, min(opened_at, now))
    return _open(program, infant, opened, infant.institution, actor, now)


def open_cases_for_newborn(infant: Person, actor: Actor, now: dt.datetime) -> tuple[FollowUpCase, ...]:
    """On a birth: every PMTCT program in which the mother tested positive opens the infant's case."""
    if infant.mother_id is None:
        return ()
    birth = infant.birth_at or dt.datetime.combine(infant.birth_on, dt.time(23, 59), LOCAL_TZ)
    # The earliest exposing result per program; each program's plan says how long after a birth it counts.
    exposing = db.session.execute(
        sa.select(ScreeningResult.program, sa.func.min(ScreeningResult.performed_at))
        .where(ScreeningResult.person_id == infant.mother_id, ScreeningResult.exposes_infant.is_(True))
        .group_by(ScreeningResult.program)
    ).all()
    opened = []
    for code, first_at in sorted(exposing):
        program = PROGRAMS.get(code)
        plan = program.exposed_infant if program is not None else None
        if plan is not None and first_at <= birth + plan.delivery_testing_margin:
            case = open_exposed_infant(infant, program, actor, now)
            if case is not None:
                opened.append(case)
    return tuple(opened)


def open_missed_screening(
    person: Person, program: Program, institution: Institution, actor: Actor, now: dt.datetime
) -> FollowUpCase | None:
    """Open a "missed screening" case (漏筛) at the birthing institution, once per person and program."""
    if _has_case(person, program, CaseReason.MISSED_SCREENING):
        return None
    subject = subject_of(person, subject_kind_for(person, program))
    opened = open_missed_screening_case(program, subject, now)
    return _open(program, person, opened, institution, actor, now)


def _has_case(person: Person, program: Program, reason: CaseReason) -> bool:
    return (
        db.session.scalar(
            sa.select(FollowUpCase.id).where(
                FollowUpCase.person_id == person.id,
                FollowUpCase.program == program.code,
                FollowUpCase.reason == reason,
            )
        )
        is not None
    )


# -- case actions ------------------------------------------------------------------------------------


def _event(
    case: FollowUpCase,
    kind: EventKind,
    occurred_at: dt.datetime,
    actor: Actor,
    now: dt.datetime,
    program: Program,
    data: dict | None = None,
    **fields: object,
) -> CaseEvent:
    return new_event(case, kind, occurred_at, actor, now, program.rule_version, data, **fields)


def _append(
    case: FollowUpCase,
    event: CaseEvent,
    actor: Actor,
    now: dt.datetime,
    expected_version: int | None,
    summary: str,
) -> CaseEvent:
    """Check a new event with the engine, store it and rewrite the case's state; refuse a stale edit."""
    if expected_version is not None and expected_version != case.version:
        raise CaseConflict(case.id)
    if event.occurred_at > now + dt.timedelta(minutes=5):
        raise CaseActionRefused(["IN_FUTURE: an event cannot happen in the future"])
    program = get_program(case.program)
    opened = opened_case_of(case)
    events = case_events(case)
    facts = [event_fact(e) for e in events]
    problems = check_event(program, opened, facts, event_fact(event))
    if problems:
        raise CaseActionRefused(problems)
    db.session.add(event)
    events.append(event)
    state = derive_case_state(program, opened, [*facts, event_fact(event)], max(now, event.occurred_at))
    apply_state(case, state, sorted(events, key=lambda e: e.occurred_at), now)
    audit.record(actor, now, "follow_up_case", case.id, str(event.kind), summary)
    try:
        db.session.flush()
    except StaleDataError as stale:
        raise CaseConflict(case.id) from stale
    return event


def record_step(
    case: FollowUpCase,
    step: str,
    result_code: str,
    actor: Actor,
    now: dt.datetime,
    *,
    occurred_at: dt.datetime | None = None,
    next_appointment_at: dt.datetime | None = None,
    note: str | None = None,
    result: ScreeningResult | None = None,
    expected_version: int | None = None,
) -> CaseEvent:
    """Record the result of the case's current step (a rescreen, a diagnosis, an intervention)."""
    program = get_program(case.program)
    event = _event(
        case, EventKind.STEP_RESULT, occurred_at or now, actor, now, program,
        step=step, result_code=result_code, next_appointment_at=next_appointment_at,
        note=note, result_id=result.id if result else None,
    )  # fmt: skip
    return _append(case, event, actor, now, expected_version, f"{step} {result_code}")


def log_contact_attempt(
    case: FollowUpCase,
    channel: ContactChannel,
    contact_outcome: ContactOutcome,
    actor: Actor,
    now: dt.datetime,
    *,
    occurred_at: dt.datetime | None = None,
    person_reached: str | None = None,
    relationship: str | None = None,
    next_appointment_at: dt.datetime | None = None,
    note: str | None = None,
    expected_version: int | None = None,
    dedupe_key: str | None = None,
    automated: bool = False,
) -> CaseEvent:
    """Record one attempt to reach the family: channel, who answered, and what came of it.

    `automated` marks a reminder the system sent by itself: on the timeline, not counted by §0.4.
    """
    program = get_program(case.program)
    event = _event(
        case, EventKind.CONTACT_ATTEMPT, occurred_at or now, actor, now, program,
        {AUTOMATED: True} if automated else None,
        step=case.current_step, channel=ContactChannel(channel),
        contact_outcome=ContactOutcome(contact_outcome),
        person_reached=person_reached, relationship_to_subject=relationship,
        next_appointment_at=next_appointment_at, note=note, dedupe_key=dedupe_key,
    )  # fmt: skip
    return _append(case, event, actor, now, expected_version, f"contact {channel} {contact_outcome}")


def add_note(
    case: FollowUpCase,
    note: str,
    actor: Actor,
    now: dt.datetime,
    *,
    occurred_at: dt.datetime | None = None,
    result: ScreeningResult | None = None,
    expected_version: int | None = None,
) -> CaseEvent:
    """Add a free-text note to the case's timeline."""
    program = get_program(case.program)
    event = _event(
        case, EventKind.NOTE, occurred_at or now, actor, now, program,
        step=case.current_step, note=note, result_id=result.id if result else None,
        result_code=result.result_code if result else None,
    )  # fmt: skip
    return _append(case, event, actor, now, expected_version, "note")


def transfer_case(
    case: FollowUpCase,
    to_institution: Institution,
    actor: Actor,
    now: dt.datetime,
    *,
    reason: str | None = None,
    expected_version: int | None = None,
) -> CaseEvent:
    """Ask another institution to take the case; the sender stays responsible until it accepts."""
    if to_institution.id == case.responsible_institution_id:
        raise CaseActionRefused(["SAME_INSTITUTION: the case is already with this institution"])
    program = get_program(case.program)
    event = _event(
        case, EventKind.TRANSFER_REQUESTED, now, actor, now, program,
        step=case.current_step, note=reason, data={"to_institution": to_institution.id},
    )  # fmt: skip
    return _append(case, event, actor, now, expected_version, f"transfer requested to {to_institution.id}")


def answer_transfer(
    case: FollowUpCase,
    accept: bool,
    actor: Actor,
    now: dt.datetime,
    *,
    reason: str | None = None,
    expected_version: int | None = None,
) -> CaseEvent:
    """The receiving institution accepts the case (and becomes responsible) or refuses it."""
    if case.transfer_to_institution_id is None:
        raise CaseActionRefused(["NO_TRANSFER: no transfer is waiting for an answer"])
    program = get_program(case.program)
    kind = EventKind.TRANSFER_ACCEPTED if accept else EventKind.TRANSFER_REFUSED
    event = _event(
        case, kind, now, actor, now, program, {"to_institution": case.transfer_to_institution_id},
        step=case.current_step, note=reason,
    )  # fmt: skip
    answer = "accepted" if accept else "refused"
    return _append(case, event, actor, now, expected_version, f"transfer {answer}")


def escalate_case(
    case: FollowUpCase,
    actor: Actor,
    now: dt.datetime,
    *,
    note: str | None = None,
    expected_version: int | None = None,
    occurred_at: dt.datetime | None = None,
) -> CaseEvent:
    """Hand the overdue step up to the district follow-up coordinator."""
    program = get_program(case.program)
    event = _event(
        case, EventKind.ESCALATED, occurred_at or now, actor, now, program, step=case.current_step, note=note
    )
    return _append(case, event, actor, now, expected_version, f"escalated at {case.current_step}")


def close_case(
    case: FollowUpCase,
    outcome: ClosureOutcome,
    actor: Actor,
    now: dt.datetime,
    *,
    note: str | None = None,
    expected_version: int | None = None,
    occurred_at: dt.datetime | None = None,
) -> CaseEvent:
    """Close a case by hand with one of the shared administrative outcomes (died, moved, refused, lost)."""
    program = get_program(case.program)
    event = _event(
        case, EventKind.CLOSED, occurred_at or now, actor, now, program,
        step=case.current_step, outcome=ClosureOutcome(outcome), note=note,
    )  # fmt: skip
    return _append(case, event, actor, now, expected_version, f"closed {outcome}")


def reopen_case(
    case: FollowUpCase,
    actor: Actor,
    now: dt.datetime,
    *,
    step: str | None = None,
    note: str | None = None,
    expected_version: int | None = None,
) -> CaseEvent:
    """Reopen a closed case (a lost person returns) at its last step or at a named one."""
    program = get_program(case.program)
    event = _event(case, EventKind.REOPENED, now, actor, now, program, step=step, note=note)
    return _append(case, event, actor, now, expected_version, f"reopened at {step or 'last step'}")


def refresh_case_state(case: FollowUpCase, as_of: dt.datetime) -> CaseState:
    """Rewrite a case's state columns as of a moment, with no new event (the sweep's per-case work)."""
    events = case_events(case)
    state = case_state(case, as_of, events)
    apply_state(case, state, events, as_of)
    return state


def _on_person_registered(person: Person, *, actor: Actor, now: dt.datetime) -> None:
    if person.kind is PersonKind.NEWBORN:
        open_cases_for_newborn(person, actor, now)


def connect_registry_signals() -> None:
    """Follow registry events: a newborn of a positive mother opens its exposed-infant cases."""
    person_registered.connect(_on_person_registered)
