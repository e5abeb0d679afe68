"""Opening follow-up cases: from a result, for an exposed infant when a positive mother delivers, for a
missed screening; once per person, program and reason where the reason allows only one."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa

from registry import audit
from registry.audit import Actor
from registry.extensions import db
from registry.institutions import Institution
from registry.people.models import Person, PersonKind
from registry.people.services import person_registered
from screenings.cases.subjects import subject_kind_for, subject_of
from screenings.cases.writer import (
    actor_event_row,
    apply_state,
    insert_cases,
    insert_events,
    new_event,
    opened_case_row,
)
from screenings.district_settings import DistrictSettings, for_program, settings_for_institution
from screenings.engine import (
    LOCAL_TZ,
    CaseReason,
    CaseStatus,
    EventKind,
    OpenedCase,
    Program,
    SubjectKind,
    derive_case_state,
    open_exposed_infant_case,
    open_missed_screening_case,
)
from screenings.models import CaseEvent, FollowUpCase, ScreeningResult
from screenings.programs import PROGRAMS


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


def step_test_of(program: Program, case: FollowUpCase) -> str | None:
    """Return the test whose result records the case's current step, if any."""
    return program.step(case.current_step).test if case.current_step else None


def open_follow_up_case(
    program: Program,
    person: Person,
    opened: OpenedCase,
    institution: Institution,
    actor: Actor,
    now: dt.datetime,
    result: ScreeningResult | None = None,
) -> FollowUpCase:
    """Open a case at an institution; it keeps the district's setting overrides in force now."""
    settings = settings_for_institution(institution, now)
    opened = dataclasses.replace(opened, overrides=for_program(settings, program.code))
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
        setting_overrides=dict(opened.overrides),
        settings_version=settings.version,
        opening_institution_id=institution.id,
        responsible_institution_id=institution.id,
        rule_version=program.rule_version,
        status=CaseStatus.OPEN,
        state_as_of=now,
    )
    db.session.add(case)
    db.session.flush()
    event = new_event(
        case, EventKind.OPENED, opened.opened_at, actor, now, program.rule_version, step=opened.first_step
    )
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


def open_cases_for_exposed_children(
    mother: Person, program: Program, positive_at: dt.datetime, actor: Actor, now: dt.datetime
) -> tuple[FollowUpCase, ...]:
    """A mother became positive (a result or a step) after delivering: open her newborns' cases."""
    since = (positive_at - program.exposed_infant.delivery_testing_margin).date()
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
    return open_follow_up_case(program, infant, opened, infant.institution, actor, now)


def open_cases_for_newborn(infant: Person, actor: Actor, now: dt.datetime) -> tuple[FollowUpCase, ...]:
    """On a birth: every PMTCT program in which the mother tested positive opens the infant's case."""
    if infant.mother_id is None:
        return ()
    birth = infant.birth_at or dt.datetime.combine(infant.birth_on, dt.time(23, 59), LOCAL_TZ)
    opened = []
    for program in PROGRAMS.values():
        plan = program.exposed_infant
        first_at = mother_positive_at(infant.mother_id, program) if plan is not None else None
        if first_at is not None and first_at <= birth + plan.delivery_testing_margin:
            case = open_exposed_infant(infant, program, actor, now)
            if case is not None:
                opened.append(case)
    return tuple(opened)


def mother_positive_at(mother_id: int, program: Program) -> dt.datetime | None:
    """Return when the mother first became positive in a PMTCT program, whichever way it became true.

    The one rule behind every exposed-infant plan: an exposing result (a confirmed or known positive),
    or an exposing step result on her case (a confirmation or a clinical judgement recorded there).
    """
    plan = program.exposed_infant
    if plan is None:
        return None
    first_result = db.session.scalar(
        sa.select(sa.func.min(ScreeningResult.performed_at)).where(
            ScreeningResult.person_id == mother_id,
            ScreeningResult.program == program.code,
            ScreeningResult.exposes_infant.is_(True),
        )
    )
    first_step = None
    if plan.exposing_steps:
        first_step = db.session.scalar(
            sa.select(sa.func.min(CaseEvent.occurred_at))
            .join(FollowUpCase, CaseEvent.case_id == FollowUpCase.id)
            .where(
                FollowUpCase.person_id == mother_id,
                FollowUpCase.program == program.code,
                CaseEvent.kind == EventKind.STEP_RESULT,
                sa.or_(
                    *(
                        sa.and_(CaseEvent.step == step, CaseEvent.result_code == code)
                        for step, code in plan.exposing_steps
                    )
                ),
            )
        )
    found = [t for t in (first_result, first_step) if t is not None]
    return min(found, default=None)


def open_missed_screening(
    person: Person, program: Program, institution: Institution, actor: Actor, now: dt.datetime
) -> FollowUpCase | None:
    """Open a "missed screening" case (漏筛) at the birthing institution, once per person and program."""
    if _has_case(person, program, CaseReason.MISSED_SCREENING):
        return None
    subject = subject_of(person, subject_kind_for(person, program))
    opened = open_missed_screening_case(program, subject, now)
    return open_follow_up_case(program, person, opened, institution, actor, now)


def open_missed_screening_cases(
    program: Program,
    people: Sequence[tuple[Person, DistrictSettings]],
    actor: Actor,
    now: dt.datetime,
) -> list[int]:
    """Open "missed screening" cases for many people at once, each exactly as open_missed_screening does
    for one (at the person's institution, with its district's `DistrictSettings` in force now): the cases,
    their OPENED events and the audit rows in one INSERT each. A person who already has one is skipped.
    Return the new cases' ids."""
    if not people:
        return []
    already = set(
        db.session.scalars(
            sa.select(FollowUpCase.person_id).where(
                FollowUpCase.person_id.in_(sorted({person.id for person, _ in people})),
                FollowUpCase.program == program.code,
                FollowUpCase.reason == CaseReason.MISSED_SCREENING,
            )
        )
    )
    planned = []
    for person, settings in people:
        if person.id in already:
            continue
        already.add(person.id)
        subject = subject_of(person, subject_kind_for(person, program))
        opened = open_missed_screening_case(program, subject, now)
        opened = dataclasses.replace(opened, overrides=for_program(settings, program.code))
        state = derive_case_state(program, opened, [], max(now, opened.opened_at))
        planned.append((person, opened, state, settings.version))
    ids = insert_cases(
        [
            opened_case_row(
                program.code, person.id, opened, person.institution_id, None, state, [], now, version
            )
            for person, opened, state, version in planned
        ]
    )
    insert_events(
        [
            actor_event_row(
                case_id,
                EventKind.OPENED,
                opened.opened_at,
                actor,
                now,
                program.rule_version,
                step=opened.first_step,
                result_code=opened.result_code,
            )  # fmt: skip
            for case_id, (_, opened, _, _) in zip(ids, planned, strict=True)
        ],
        pairs={(person.id, program.code) for person, *_ in planned},
    )
    audit.record_rows(
        [
            audit.row(
                actor,
                now,
                "follow_up_case",
                case_id,
                "OPEN",
                f"{program.code} {opened.reason} at {opened.first_step} for person {person.id}",
            )  # fmt: skip
            for case_id, (person, opened, _, _) in zip(ids, planned, strict=True)
        ]
    )
    return ids


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


def _on_person_registered(person: Person, *, actor: Actor, now: dt.datetime) -> None:
    if person.kind is PersonKind.NEWBORN:
        open_cases_for_newborn(person, actor, now)


def connect_registry_signals() -> None:
    """Follow registry events: a newborn of a positive mother opens its exposed-infant cases."""
    person_registered.connect(_on_person_registered)
