"""What the API reads: people, results and cases as the access policy lets an account see them.

The edges ask `screenings.access` whether a record may be opened; these functions turn the records
into the API's dicts and run the few set-based queries (a person's result → case links, the keyset of
cases changed since a cursor).
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.orm

from registry.auth.access import Scope
from registry.extensions import db
from registry.people.idnumbers import mask_id_number
from registry.people.models import Person
from screenings.engine import EventKind
from screenings.models import CaseEvent, FollowUpCase, ScreeningResult


def person_dict(person: Person) -> dict:
    return {
        "id": person.id,
        "kind": str(person.kind),
        "name": person.name,
        "sex": str(person.sex),
        "birth_on": person.birth_on,
        "id_number_masked": mask_id_number(person.id_number) or None,
        "mother_id": person.mother_id,
        "birth_order": person.birth_order,
        "institution_code": person.institution.code,
    }


def result_dict(result: ScreeningResult, source_system: str, case_id: int | None) -> dict:
    return {
        "id": result.id,
        "program": result.program,
        "test": result.test,
        "person_id": result.person_id,
        "performed_at": result.performed_at,
        "result_code": result.result_code,
        "findings": list(result.findings or ()),
        "values": dict(result.measured_values or {}),
        # Another system's key is its own business.
        "source_key": result.source_key if result.source_system == source_system else None,
        "case_id": case_id,
    }


def case_dict(case: FollowUpCase, last_event_id: int | None = None) -> dict:
    return {
        "id": case.id,
        "program": case.program,
        "person_id": case.person_id,
        "status": str(case.status),
        "current_step": case.current_step,
        "due_at": case.due_at,
        "opened_at": case.opened_at,
        "closed_at": case.closed_at,
        "outcome": str(case.outcome) if case.outcome else None,
        "responsible_institution_code": case.responsible_institution.code,
        "last_event_id": last_event_id,
    }


def event_dict(event: CaseEvent) -> dict:
    # Contact notes and names stay on the case page: the timeline says what happened, not who said what.
    return {
        "id": event.id,
        "kind": str(event.kind),
        "occurred_at": event.occurred_at,
        "step": event.step,
        "result_code": event.result_code,
        "result_id": event.result_id,
        "outcome": str(event.outcome) if event.outcome else None,
    }


def timeline(case_id: int) -> list[CaseEvent]:
    return list(
        db.session.scalars(
            sa.select(CaseEvent)
            .where(CaseEvent.case_id == case_id)
            .order_by(CaseEvent.occurred_at, CaseEvent.id)
        )
    )


def cases_of_results(result_ids: list[int]) -> dict[int, int]:
    """The case each result opened or moved on (one query for all of them)."""
    if not result_ids:
        return {}
    rows = db.session.execute(
        sa.select(CaseEvent.result_id, sa.func.min(CaseEvent.case_id))
        .where(CaseEvent.result_id.in_(result_ids))
        .group_by(CaseEvent.result_id)
    )
    return dict(rows.all())


def cases_changed_after(
    scope: Scope, hidden_programs: frozenset[str], after: int, limit: int
) -> list[tuple[FollowUpCase, int]]:
    """Cases with an event after the cursor (an event id), in the order of their latest event: a keyset.

    A case's state only changes by an event (the one writer), so its latest event id says when it last
    changed; a case changed again later comes again on a later page.
    """
    latest = sa.func.max(CaseEvent.id).label("latest")
    accepted = sa.orm.aliased(CaseEvent)
    # A former holder (an institution that accepted the case and passed it on) still reads it
    # (access.may_read_case), so it is told of its changes too, the transfer away first of all.
    held_before = (
        sa.exists()
        .where(
            accepted.case_id == FollowUpCase.id,
            accepted.kind == EventKind.TRANSFER_ACCEPTED,
            scope.filter(accepted.data["to_institution"].as_integer()),
        )
        .correlate(FollowUpCase)
    )
    changed = (
        sa.select(CaseEvent.case_id, latest)
        .where(CaseEvent.id > after)
        .group_by(CaseEvent.case_id)
        .subquery()
    )
    query = (
        sa.select(FollowUpCase, changed.c.latest)
        .join(changed, changed.c.case_id == FollowUpCase.id)
        .where(
            sa.or_(
                scope.filter(FollowUpCase.responsible_institution_id),
                scope.filter(FollowUpCase.transfer_to_institution_id),
                scope.filter(FollowUpCase.opening_institution_id),
                held_before,
            )
        )
        .order_by(changed.c.latest)
        .limit(limit)
    )
    if hidden_programs:
        query = query.where(FollowUpCase.program.not_in(sorted(hidden_programs)))
    return [(case, latest_id) for case, latest_id in db.session.execute(query)]
