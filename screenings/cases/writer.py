"""The one writer of case events and case state.

Every event row on a follow-up case is built here, whoever appends it: a service's action, the sweep's
bulk transitions, a reminder's claim, a merge's move, the bench city's generator. Every stored state column
of a case (status, current step, due dates, escalation, attempts, risk rank, responsibility) is written
here from what the engine derives: from a full replay (`apply_state`) or, for the changes the clock alone
makes, from the engine's rules over the cached columns (`write_clock_transition`, `write_escalations`),
so set-based SQL never restates which status wins.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

import sqlalchemy as sa

from registry.audit import Actor
from registry.extensions import db
from screenings.cases.errors import CaseConflict
from screenings.engine import (
    CaseReason,
    CaseState,
    CaseStatus,
    ClockCondition,
    ClockTransition,
    ContactOutcome,
    EventKind,
    OpenedCase,
    days_overdue,
    open_status,
    reaches_family,
)
from screenings.indicators.facts import mark_cases_stale, mark_stale
from screenings.models import CaseEvent, FollowUpCase

# Why a case exists, most urgent first: a confirmed positive before a referral before a missed screen.
_REASON_RISK = {
    CaseReason.POSITIVE_RESULT: 1,
    CaseReason.EXPOSED_INFANT: 1,
    CaseReason.REFERRED_RESULT: 2,
    CaseReason.UNSATISFACTORY_SPECIMEN: 3,
    CaseReason.MISSED_SCREENING: 3,
    CaseReason.HIGH_RISK_SURVEILLANCE: 4,
}
# What an event may say beyond who, when and what kind; anything else is a mistake of the caller.
EVENT_FIELDS = frozenset(
    {
        "institution_id",
        "step",
        "result_code",
        "result_id",
        "outcome",
        "channel",
        "reached",
        "person_reached",
        "relationship_to_subject",
        "contact_outcome",
        "next_appointment_at",
        "note",
        "dedupe_key",
    }
)
# The case row's columns that cache the engine's derived state; `registry check-cases` compares them all.
STATE_COLUMNS = (
    "status",
    "current_step",
    "track",
    "due_at",
    "warn_at",
    "due_set_at",
    "rule_version",
    "escalated_at",
    "contact_attempts",
    "risk_rank",
    "outcome",
    "closed_at",
    "transfer_to_institution_id",
    "responsible_institution_id",
)


# -- event rows ---------------------------------------------------------------------------------------


def event_row(
    case_id: int | None,
    kind: EventKind,
    occurred_at: dt.datetime,
    *,
    recorded_at: dt.datetime,
    recorded_by_id: int | None,
    recorded_by_name: str,
    rule_version: str,
    data: Mapping[str, object] | None = None,
    **fields: object,
) -> dict:
    """Build one case event row (a dict of column values), the shape every writer inserts.

    A contact attempt's `reached` follows from its outcome unless given.
    """
    unknown = set(fields) - EVENT_FIELDS
    if unknown:
        raise TypeError(f"case events have no {', '.join(sorted(unknown))}")
    row = {name: None for name in EVENT_FIELDS}
    row.update(fields)
    if row["contact_outcome"] is not None:
        row["contact_outcome"] = ContactOutcome(row["contact_outcome"])
        if row["reached"] is None:
            row["reached"] = reaches_family(row["contact_outcome"])
    row.update(
        case_id=case_id,
        kind=EventKind(kind),
        occurred_at=occurred_at,
        recorded_at=recorded_at,
        recorded_by_id=recorded_by_id,
        recorded_by_name=recorded_by_name,
        rule_version=rule_version,
        data=dict(data or {}),
    )
    return row


def actor_event_row(
    case_id: int | None,
    kind: EventKind,
    occurred_at: dt.datetime,
    actor: Actor,
    now: dt.datetime,
    rule_version: str,
    data: Mapping[str, object] | None = None,
    **fields: object,
) -> dict:
    """Build an event row recorded by an actor at `now`."""
    return event_row(
        case_id, kind, occurred_at, recorded_at=now, recorded_by_id=actor.user_id,
        recorded_by_name=actor.username, rule_version=rule_version, data=data, **fields,
    )  # fmt: skip


def new_event(
    case: FollowUpCase,
    kind: EventKind,
    occurred_at: dt.datetime,
    actor: Actor,
    now: dt.datetime,
    rule_version: str,
    data: Mapping[str, object] | None = None,
    **fields: object,
) -> CaseEvent:
    """Build one event of a case as an ORM object (not added to the session)."""
    return CaseEvent(**actor_event_row(case.id, kind, occurred_at, actor, now, rule_version, data, **fields))


def insert_events(rows: Sequence[dict], *, pairs: Iterable[tuple[int, str]] | None = None) -> None:
    """Insert event rows in one statement (the sweep's, the merge's and a chunk of results' bulk path).

    `pairs` names the cases' (person, program) when the caller knows them, saving the look-up.
    """
    if rows:
        db.session.execute(sa.insert(CaseEvent), list(rows))
        if pairs is not None:
            mark_stale(pairs)
        else:
            mark_cases_stale(sorted({row["case_id"] for row in rows if row["case_id"] is not None}))


def opened_case_row(
    program_code: str,
    person_id: int,
    opened: OpenedCase,
    institution_id: int,
    opening_result_id: int | None,
    state: CaseState,
    events: Iterable,
    now: dt.datetime,
    settings_version: int | None = None,
) -> dict:
    """Build a new case row: how it was opened, and every state column as the engine derives it."""
    return {
        "program": program_code,
        "person_id": person_id,
        "reason": opened.reason,
        "opened_at": opened.opened_at,
        "opening_result_id": opening_result_id,
        "opening_result_code": opened.result_code,
        "first_step": opened.first_step,
        "opening_track": opened.track,
        "scheduled_due_at": opened.scheduled_due_at,
        "subject_kind": opened.subject.kind,
        "subject_traits": opened.subject.traits.as_json(),
        "setting_overrides": dict(opened.overrides),
        "settings_version": settings_version,
        "opening_institution_id": institution_id,
        **derived_columns(opened.reason, institution_id, state, events),
        "state_as_of": now,
        "version": 1,
    }


def insert_cases(rows: Sequence[dict]) -> list[int]:
    """Insert new case rows (opened_case_row) in one statement; return their ids in the rows' order."""
    if not rows:
        return []
    table = FollowUpCase.__table__
    if any(row["opening_result_id"] is None for row in rows) or len(rows) == 1:
        ids = (
            db.session.connection()
            .execute(table.insert().returning(table.c.id, sort_by_parameter_order=True), list(rows))
            .scalars()
            .all()
        )
    else:
        # Each case is opened by its own result: mapping by it keeps one multi-row INSERT on SQLite too,
        # where asking for the rows' order would send them one at a time.
        returned = db.session.connection().execute(
            table.insert().returning(table.c.id, table.c.opening_result_id), list(rows)
        )
        by_result = {result_id: case_id for case_id, result_id in returned}
        ids = [by_result[row["opening_result_id"]] for row in rows]
    mark_stale({(row["person_id"], row["program"]) for row in rows})
    return list(ids)


def write_states(rows: Sequence[dict], now: dt.datetime) -> None:
    """Rewrite the state columns of existing cases, each row its id, the version read and derived_columns.

    One UPDATE per row in one executemany; a case another transaction changed since it was read (its
    version moved on) raises CaseConflict and the caller's transaction must be rolled back.
    """
    if not rows:
        return
    table = FollowUpCase.__table__
    statement = (
        table.update()
        .where(table.c.id == sa.bindparam("b_id"), table.c.version == sa.bindparam("b_version"))
        .values(
            {
                **{name: sa.bindparam(f"b_{name}") for name in STATE_COLUMNS},
                "state_as_of": now,
                "version": table.c.version + 1,
            }
        )
    )
    params = [
        {"b_id": row["id"], "b_version": row["version"], **{f"b_{n}": row[n] for n in STATE_COLUMNS}}
        for row in rows
    ]
    result = db.session.connection().execute(statement, params)
    dialect = db.session.get_bind().dialect
    if dialect.supports_sane_multi_rowcount and result.rowcount != len(params):
        raise CaseConflict(rows[0]["id"])


def status_changed_row(
    case_id: int,
    step: str | None,
    rule_version: str,
    old: CaseStatus,
    new: CaseStatus,
    moment: dt.datetime,
    actor: Actor,
    **data: object,
) -> dict:
    """Build the STATUS_CHANGED event recording a derived change of status (it changes no state itself)."""
    return actor_event_row(
        case_id, EventKind.STATUS_CHANGED, moment, actor, moment, rule_version,
        {"status": str(new), "from": str(old), **data}, step=step,
    )  # fmt: skip


def reminder_row(
    case_id: int,
    step: str,
    rule_version: str,
    key: str,
    data: Mapping[str, object],
    now: dt.datetime,
    actor: Actor,
) -> dict:
    """Build the REMINDER event that claims one reminder: its dedupe key is unique per case."""
    return actor_event_row(
        case_id, EventKind.REMINDER, now, actor, now, rule_version, data, step=step, dedupe_key=key
    )


# -- derived state ------------------------------------------------------------------------------------


def risk_rank_of(reason: CaseReason | None, status: CaseStatus, escalated_at: dt.datetime | None) -> int:
    """Return the worklist's risk order: escalated or lost first, then by why the case exists."""
    if escalated_at is not None or status is CaseStatus.LOST_TO_FOLLOW_UP:
        return 0
    return _REASON_RISK.get(reason, 5)


def risk_rank(reason: CaseReason, state: CaseState) -> int:
    """Return the worklist's risk order of a case in a derived state."""
    return risk_rank_of(reason, state.status, state.escalated_at)


def responsible_institution_after(case: FollowUpCase, events: Iterable[CaseEvent]) -> int:
    """Return who is responsible after these events: the opener, then each accepted transfer's receiver."""
    return _responsible_after(case.opening_institution_id, events)


def _responsible_after(opening_institution_id: int, events: Iterable) -> int:
    responsible = opening_institution_id
    for event in events:
        if event.kind is EventKind.TRANSFER_ACCEPTED:
            responsible = int(event.data["to_institution"])
    return responsible


def derived_columns(
    reason: CaseReason, opening_institution_id: int, state: CaseState, events: Iterable
) -> dict:
    """Return every stored state column of a case from the engine's state and the case's events."""
    return {
        "status": state.status,
        "current_step": state.current_step,
        "track": state.track,
        "due_at": state.due_at,
        "warn_at": state.warn_at,
        "due_set_at": state.due_set_at,
        "rule_version": state.rule_version,
        "escalated_at": state.escalated_at,
        "contact_attempts": len(state.attempts),
        "risk_rank": risk_rank(reason, state),
        "outcome": state.outcome,
        "closed_at": state.closed_at,
        "transfer_to_institution_id": int(state.transfer_to) if state.transfer_pending else None,
        "responsible_institution_id": _responsible_after(opening_institution_id, events),
    }


def state_columns(case: FollowUpCase, state: CaseState, events: Iterable[CaseEvent]) -> dict:
    """Return every stored state column of a case as the engine's state and the case's events give it."""
    return derived_columns(case.reason, case.opening_institution_id, state, events)


def apply_state(case: FollowUpCase, state: CaseState, events: list[CaseEvent], as_of: dt.datetime) -> None:
    """Write the derived state into the case row's indexed columns."""
    for name, value in state_columns(case, state, events).items():
        setattr(case, name, value)
    case.state_as_of = as_of
    mark_stale([(case.person_id, case.program)])  # its indicator facts, rewritten before the commit


# -- set-based changes the clock makes ------------------------------------------------------------------


def clock_condition_sql(condition: ClockCondition, moment: dt.datetime) -> sa.ColumnElement[bool]:
    """Return an engine clock condition as SQL over the case table's cached column."""
    column = getattr(FollowUpCase, condition.column)
    return {
        "<": column < moment,
        "<=": column <= moment,
        ">": column > moment,
        ">=": column >= moment,
    }[condition.op]


def clock_transition_sql(transition: ClockTransition, moment: dt.datetime) -> sa.ColumnElement[bool]:
    """Return the SQL condition of the cases a clock transition applies to at a moment."""
    return sa.and_(
        FollowUpCase.status.in_(list(transition.from_statuses)),
        *(clock_condition_sql(c, moment) for c in transition.conditions),
    )


def write_clock_transition(
    rows: Sequence, transition: ClockTransition, moment: dt.datetime, actor: Actor
) -> list[int]:
    """Move these cases (rows of id, status, current_step, rule_version) to a clock status, set-based.

    One STATUS_CHANGED event each, in one INSERT, and one UPDATE. The version is left alone: a status
    that follows from the clock conflicts with no one's edit, and whoever saves next recomputes it anyway.
    """
    new = transition.to_status
    insert_events(
        [status_changed_row(r.id, r.current_step, r.rule_version, r.status, new, moment, actor) for r in rows]
    )
    ids = [row.id for row in rows]
    result = db.session.execute(
        sa.update(FollowUpCase)
        .where(FollowUpCase.id.in_(ids))
        .values(status=new, state_as_of=moment)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != len(ids):
        raise RuntimeError(f"case writer: {len(ids)} cases selected, {result.rowcount} updated")
    return ids


def write_escalations(rows: Sequence, moment: dt.datetime, actor: Actor) -> list[int]:
    """Escalate these open, unescalated, not-lost steps (rows of id, due_at, current_step, rule_version).

    Escalating changes no due date and no attempt count, so the engine's state after it is the cached one
    with escalated_at set: its status and risk rank are computed here by the engine's own rules.
    """
    if not rows:
        return []
    status = open_status(lost=False, escalated=True, due_at=None, warn_at=None, as_of=moment)
    insert_events(
        [
            actor_event_row(
                row.id,
                EventKind.ESCALATED,
                moment,
                actor,
                moment,
                row.rule_version,
                step=row.current_step,
                note=f"overdue {days_overdue(row.due_at, moment)} days",
            )  # fmt: skip
            for row in rows
        ]
    )
    ids = [row.id for row in rows]
    # The version moves on: someone about to escalate or act on the case by hand must see this first.
    db.session.execute(
        sa.update(FollowUpCase)
        .where(FollowUpCase.id.in_(ids))
        .values(
            escalated_at=moment,
            status=status,
            risk_rank=risk_rank_of(None, status, moment),
            state_as_of=moment,
            version=FollowUpCase.version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    return ids
