"""What a chunk of new results does to follow-up: worked out in memory with the engine, written in bulk.

For each new result, in the chunk's order, exactly what a result recorded alone does: advance the
person's open case when the result is its current step's test, else note the result on that case when
it concerns it, else open a case when the classification calls for one. The people's open cases and
their events are read once for the chunk; each row is checked by the engine against its case as the
earlier rows of the chunk left it; then the new cases, every event, the changed state columns and the
audit rows are written by the one writer in a few statements.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Mapping, Sequence

import sqlalchemy as sa

from registry import audit
from registry.audit import Actor
from registry.extensions import db
from registry.institutions import Institution
from registry.people.models import Person
from screenings.cases.actions import refuse_unless_appendable
from screenings.cases.errors import CaseActionRefused
from screenings.cases.replay import event_fact, opened_case_of
from screenings.cases.writer import (
    actor_event_row,
    derived_columns,
    insert_cases,
    insert_events,
    opened_case_row,
    write_states,
)
from screenings.district_settings import DistrictSettings, for_program, settings_for_institution
from screenings.engine import (
    CaseEventFact,
    CaseState,
    CaseStatus,
    Classification,
    EventKind,
    OpenedCase,
    Program,
    Subject,
    derive_case_state,
    open_case,
)
from screenings.models import CaseEvent, FollowUpCase

_NEW_ORDER = 10**15  # cases opened in this chunk sort after every stored case of the same opening time


@dataclasses.dataclass
class _Work:
    """A case as this chunk sees it: read from the database, or opened by an earlier row of the chunk."""

    person: Person
    opened: OpenedCase
    reason: object
    opening_institution_id: int
    order: tuple[dt.datetime, int]  # open_case_for's order: the latest opening, then the highest id
    facts: list[CaseEventFact]
    state: CaseState | None = None
    stored: FollowUpCase | None = None
    opening_row: int | None = None  # the chunk row whose result opened it
    case_id: int | None = None
    settings_version: int | None = None  # the district's last setting change in force at the opening

    @property
    def current_step(self) -> str | None:
        return self.state.current_step if self.state is not None else self.stored.current_step

    @property
    def closed(self) -> bool:
        status = self.state.status if self.state is not None else self.stored.status
        return status is CaseStatus.CLOSED


@dataclasses.dataclass(frozen=True)
class Planned:
    """What one row does to follow-up; `exposes` is set when its step result makes a mother positive."""

    work: _Work | None = None
    opened: bool = False
    advanced: bool = False
    exposes_at: dt.datetime | None = None

    @property
    def case_id(self) -> int | None:
        return self.work.case_id if self.work is not None else None


@dataclasses.dataclass
class _Event:
    work: _Work
    row: dict
    result_row: int | None
    action: str
    summary: str


class ChunkFollowUp:
    """The follow-up of one chunk of one program's new results: plan row by row, then write once."""

    def __init__(self, program: Program, people: Sequence[Person], actor: Actor, now: dt.datetime) -> None:
        self.program = program
        self.actor = actor
        self.now = now
        self._cases: dict[int, list[_Work]] = defaultdict(list)
        self._events: list[_Event] = []
        self._new: list[_Work] = []
        self._serial = itertools.count(1)
        self._district_settings: dict[int, DistrictSettings] = {}
        by_id = {person.id: person for person in people}
        if not by_id:
            return
        stored = db.session.scalars(
            sa.select(FollowUpCase).where(
                FollowUpCase.program == program.code,
                FollowUpCase.status != CaseStatus.CLOSED,
                FollowUpCase.person_id.in_(sorted(by_id)),
            )
        ).all()
        facts: dict[int, list[CaseEventFact]] = defaultdict(list)
        if stored:
            for event in db.session.scalars(
                sa.select(CaseEvent)
                .where(CaseEvent.case_id.in_([case.id for case in stored]))
                .order_by(CaseEvent.occurred_at, CaseEvent.id)
            ):
                facts[event.case_id].append(event_fact(event))
        for case in stored:
            self._cases[case.person_id].append(
                _Work(
                    person=by_id[case.person_id],
                    opened=opened_case_of(case),
                    reason=case.reason,
                    opening_institution_id=case.opening_institution_id,
                    order=(case.opened_at, case.id),
                    facts=facts[case.id],
                    stored=case,
                    case_id=case.id,
                )
            )

    def open_case(self, person: Person) -> _Work | None:
        """Return the person's most recent case that is not closed, as the chunk's earlier rows left it."""
        open_ones = [work for work in self._cases.get(person.id, ()) if not work.closed]
        return max(open_ones, key=lambda work: work.order, default=None)

    def advance(self, work: _Work, row: int, step: str, result_code: str, occurred_at: dt.datetime) -> bool:
        """Record a result as the case's current step; False (nothing planned) if the engine refuses it."""
        fact = CaseEventFact(EventKind.STEP_RESULT, occurred_at, step=step, result_code=result_code)
        try:
            refuse_unless_appendable(self.program, work.opened, work.facts, fact, self.now)
        except CaseActionRefused:
            return False
        event = self._row(EventKind.STEP_RESULT, occurred_at, step=step, result_code=result_code)
        self._append(
            work, fact, _Event(work, event, row, str(EventKind.STEP_RESULT), f"{step} {result_code}")
        )
        return True

    def note(self, work: _Work, row: int, note: str, result_code: str, occurred_at: dt.datetime) -> None:
        """Note a result on the case's timeline; raises CaseActionRefused if the engine refuses it."""
        step = work.current_step
        fact = CaseEventFact(EventKind.NOTE, occurred_at, step=step, result_code=result_code)
        refuse_unless_appendable(self.program, work.opened, work.facts, fact, self.now)
        event = self._row(EventKind.NOTE, occurred_at, step=step, note=note, result_code=result_code)
        self._append(work, fact, _Event(work, event, row, str(EventKind.NOTE), "note"))

    def open(
        self,
        person: Person,
        row: int,
        classification: Classification,
        subject: Subject,
        performed_at: dt.datetime,
        institution_id: int,
    ) -> _Work:
        """Open a case for a result whose classification calls for one; its clock starts at the screen.

        The case keeps the overrides of its institution's district in force now (read once per chunk).
        """
        settings = self._district_settings.get(institution_id)
        if settings is None:
            institution = db.session.get(Institution, institution_id)
            settings = settings_for_institution(institution, self.now)
            self._district_settings[institution_id] = settings
        opened = open_case(classification, subject, performed_at)
        opened = dataclasses.replace(opened, overrides=for_program(settings, self.program.code))
        state = derive_case_state(self.program, opened, [], max(self.now, opened.opened_at))
        fact = CaseEventFact(
            EventKind.OPENED, opened.opened_at, step=opened.first_step, result_code=opened.result_code
        )
        work = _Work(
            person=person,
            opened=opened,
            reason=opened.reason,
            opening_institution_id=institution_id,
            order=(opened.opened_at, _NEW_ORDER + next(self._serial)),
            facts=[fact],
            state=state,
            opening_row=row,
            settings_version=settings.version,
        )
        self._cases[person.id].append(work)
        self._new.append(work)
        event = self._row(
            EventKind.OPENED, opened.opened_at, step=opened.first_step, result_code=opened.result_code
        )
        summary = f"{self.program.code} {opened.reason} at {opened.first_step} for person {person.id}"
        self._events.append(_Event(work, event, row, "OPEN", summary))
        return work

    def _row(self, kind: EventKind, occurred_at: dt.datetime, **fields: object) -> dict:
        return actor_event_row(
            None, kind, occurred_at, self.actor, self.now, self.program.rule_version, **fields
        )

    def _append(self, work: _Work, fact: CaseEventFact, event: _Event) -> None:
        facts = [*work.facts, fact]
        work.state = derive_case_state(self.program, work.opened, facts, max(self.now, fact.occurred_at))
        work.facts = sorted(facts, key=lambda f: f.occurred_at)  # stable: as the stored order (time, id)
        self._events.append(event)

    def write(self, result_ids: Mapping[int, int]) -> None:
        """Write the planned cases, events, state columns and audit rows; `result_ids` by chunk row."""
        if not self._events:
            return
        program, now = self.program, self.now
        ids = insert_cases(
            [
                opened_case_row(
                    program.code,
                    work.person.id,
                    work.opened,
                    work.opening_institution_id,
                    result_ids[work.opening_row],
                    work.state,
                    work.facts,
                    now,
                    work.settings_version,
                )  # fmt: skip
                for work in self._new
            ]
        )
        for work, case_id in zip(self._new, ids, strict=True):
            work.case_id = case_id
        rows = []
        for event in self._events:
            rows.append(
                {**event.row, "case_id": event.work.case_id, "result_id": result_ids.get(event.result_row)}
            )
        insert_events(rows, pairs={(e.work.person.id, program.code) for e in self._events})
        changed = {id(e.work): e.work for e in self._events if e.work.stored is not None}
        write_states(
            [
                {
                    "id": work.case_id,
                    "version": work.stored.version,
                    **derived_columns(work.reason, work.opening_institution_id, work.state, work.facts),
                }
                for work in changed.values()
            ],
            now,
        )
        for work in changed.values():
            db.session.expire(work.stored)  # written by Core: the session's copy is read afresh
        audit.record_rows(
            [
                audit.row(self.actor, now, "follow_up_case", e.work.case_id, e.action, e.summary)
                for e in self._events
            ]
        )
