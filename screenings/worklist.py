"""The follow-up worklist: tabs with counts, filters, two sort orders and keyset pagination.

It reads the case row's indexed state columns only (never replays events), in three queries whatever
the page size: two for the tab counts, one for the page of rows with their people.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
from collections.abc import Collection

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager, joinedload

from registry.auth.access import Scope
from registry.extensions import db
from registry.hardening import LARGEST_ID
from registry.i18n import DISPLAY_ZONE
from registry.institutions import ADMINISTRATIVE_KINDS, Institution
from registry.people.models import Person
from screenings.engine import CaseStatus, status_of, step_escalation_due
from screenings.engine import days_overdue as engine_days_overdue
from screenings.models import FollowUpCase
from screenings.programs import PROGRAMS

TABS = ("due_today", "due_week", "overdue", "escalated", "transfers", "lost", "all")
SORTS = ("due", "risk")


@dataclasses.dataclass(frozen=True)
class WorklistRow:
    case: FollowUpCase
    days_overdue: int
    status: CaseStatus  # what is true at the moment of reading, not what the last sweep stored
    past_escalation: bool = False  # overdue by the program's escalation threshold or more


@dataclasses.dataclass(frozen=True)
class Worklist:
    tab: str
    sort: str
    rows: list[WorklistRow]
    counts: dict[str, int]
    next_cursor: str | None
    previous_cursor: str | None = None  # the page before this one, read backwards over the same keys


def _day_end(now: dt.datetime, days: int = 1) -> dt.datetime:
    local_day = now.astimezone(DISPLAY_ZONE).date() + dt.timedelta(days=days)
    return dt.datetime.combine(local_day, dt.time(0), DISPLAY_ZONE).astimezone(dt.UTC)


def _tab_conditions(scope: Scope, now: dt.datetime) -> dict[str, sa.ColumnElement[bool]]:
    mine = scope.filter(FollowUpCase.responsible_institution_id)
    due = FollowUpCase.due_at
    return {
        "due_today": sa.and_(mine, due >= now, due < _day_end(now)),
        "due_week": sa.and_(mine, due >= now, due < _day_end(now, 7)),
        "overdue": sa.and_(mine, due < now),
        "escalated": sa.and_(mine, FollowUpCase.escalated_at.is_not(None)),
        "transfers": scope.filter(FollowUpCase.transfer_to_institution_id),
        "lost": sa.and_(mine, FollowUpCase.status == CaseStatus.LOST_TO_FOLLOW_UP),
        "all": mine,
    }


def _base_filters(
    hidden_programs: Collection[str], program: str | None, step: str | None
) -> list[sa.ColumnElement[bool]]:
    filters: list[sa.ColumnElement[bool]] = [FollowUpCase.status != CaseStatus.CLOSED]
    if hidden_programs:
        filters.append(FollowUpCase.program.not_in(sorted(hidden_programs)))
    if program:
        filters.append(FollowUpCase.program == program)
    if step:
        filters.append(FollowUpCase.current_step == step)
    return filters


def encode_cursor(values: list[object]) -> str:
    plain = [v.isoformat() if isinstance(v, dt.datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, sort: str) -> tuple | None:
    """Return the keyset position a cursor holds; a malformed cursor starts from the top."""
    if not cursor:
        return None
    try:
        plain = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if sort == "risk":
            rank, due, case_id = plain
            position = int(rank), dt.datetime.fromisoformat(due), int(case_id)
        else:
            due, case_id = plain
            position = dt.datetime.fromisoformat(due), int(case_id)
    except (ValueError, TypeError):
        return None
    # A forged cursor must not carry a number the database cannot compare with an id.
    if any(isinstance(v, int) and abs(v) > LARGEST_ID for v in position):
        return None
    return position


def days_overdue(case: FollowUpCase, now: dt.datetime) -> int:
    """Return whole days past the due date (0 when not yet due)."""
    return engine_days_overdue(case.due_at, now)


def _past_escalation(case: FollowUpCase, now: dt.datetime) -> bool:
    if case.due_at is None or case.current_step is None or case.program not in PROGRAMS:
        return False
    program = PROGRAMS[case.program]
    return step_escalation_due(program, case.current_step, case.due_at, now, case.setting_overrides)


def load_worklist(
    scope: Scope,
    now: dt.datetime,
    *,
    tab: str = "overdue",
    sort: str = "due",
    program: str | None = None,
    step: str | None = None,
    institution_id: int | None = None,
    cursor: str | None = None,
    before: str | None = None,
    limit: int = 50,
    hidden_programs: Collection[str] = (),
) -> Worklist:
    """Return one page of a tab, with the counts of every tab under the same filters.

    `cursor` reads the page after a position, `before` the page before one (read backwards over the same
    index, then put back in order). `institution_id` narrows a coordinator's scope to one institution:
    its own cases, and on the transfers tab the cases sent to it.
    """
    tab = tab if tab in TABS else "overdue"
    sort = sort if sort in SORTS else "due"
    if institution_id is not None and scope.allows(institution_id):
        scope = Scope(frozenset({institution_id}), scope.read_only)
    conditions = _tab_conditions(scope, now)
    base = _base_filters(hidden_programs, program, step)

    # Two counting queries, each an index search: an OR of "mine" and "sent to me" would scan every open case.
    own_tabs = {name: condition for name, condition in conditions.items() if name != "transfers"}
    own = db.session.execute(
        sa.select(*(sa.func.count().filter(condition).label(name) for name, condition in own_tabs.items()))
        .select_from(FollowUpCase)
        .where(*base, conditions["all"])
    ).one()
    counts = {name: int(getattr(own, name) or 0) for name in own_tabs}
    counts["transfers"] = db.session.scalar(
        sa.select(sa.func.count()).select_from(FollowUpCase).where(*base, conditions["transfers"])
    )

    order = (
        [FollowUpCase.risk_rank, FollowUpCase.due_at, FollowUpCase.id]
        if sort == "risk"
        else [FollowUpCase.due_at, FollowUpCase.id]
    )
    query = (
        sa.select(FollowUpCase)
        .join(FollowUpCase.person)
        .options(
            contains_eager(FollowUpCase.person).joinedload(Person.institution),
            joinedload(FollowUpCase.responsible_institution),
            joinedload(FollowUpCase.transfer_to_institution),
        )
        .where(*base, conditions[tab])
        .limit(limit + 1)
    )
    backwards = decode_cursor(before, sort)
    position = None if backwards is not None else decode_cursor(cursor, sort)
    if backwards is not None:
        query = query.where(sa.tuple_(*order) < sa.tuple_(*backwards)).order_by(*(c.desc() for c in order))
    else:
        query = query.order_by(*order)
        if position is not None:
            query = query.where(sa.tuple_(*order) > sa.tuple_(*position))
    cases = list(db.session.scalars(query).unique())
    more = len(cases) > limit
    cases = cases[:limit]

    def keys(case: FollowUpCase) -> str:
        return encode_cursor(
            [case.risk_rank, case.due_at, case.id] if sort == "risk" else [case.due_at, case.id]
        )

    next_cursor = previous_cursor = None
    if backwards is not None:
        cases.reverse()
        # Read backwards from a page that exists, so a page follows; one more row read means one precedes.
        next_cursor = keys(cases[-1]) if cases else before
        previous_cursor = keys(cases[0]) if more and cases else None
    else:
        next_cursor = keys(cases[-1]) if more and cases else None
        previous_cursor = keys(cases[0]) if position is not None and cases else None
    rows = [
        WorklistRow(case, days_overdue(case, now), status_of(case, now), _past_escalation(case, now))
        for case in cases
    ]
    return Worklist(tab, sort, rows, counts, next_cursor, previous_cursor)


def institutions_to_filter(scope: Scope) -> list[tuple[int, str]]:
    """Return the facilities a user of several institutions may narrow the worklist to, by name."""
    if scope.institution_ids is not None and len(scope.institution_ids) < 2:
        return []
    query = sa.select(Institution.id, Institution.name).where(
        scope.filter(Institution.id),
        Institution.kind.not_in(sorted(ADMINISTRATIVE_KINDS)),
    )
    return [
        (row.id, row.name) for row in db.session.execute(query.order_by(Institution.name, Institution.id))
    ]
