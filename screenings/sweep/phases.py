"""The sweep's changes to open cases: clock statuses and escalations set-based, losses by replay."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import sqlalchemy as sa

from registry import audit
from registry.audit import Actor
from registry.extensions import db
from screenings.cases import case_state
from screenings.cases.check import load_cases_with_events
from screenings.cases.writer import (
    apply_state,
    clock_transition_sql,
    status_changed_row,
    write_clock_transition,
    write_escalations,
)
from screenings.district_settings import stored_values_of
from screenings.engine import (
    CaseStatus,
    ClockTransition,
    escalatable_statuses,
    escalation_threshold,
    step_escalation_due,
)
from screenings.models import CaseEvent, FollowUpCase
from screenings.programs import PROGRAMS, get_program
from screenings.sweep.report import Batches

# Overdue steps are checked against the lost-to-follow-up rule for this long after their due date.
LOST_RECHECK = dt.timedelta(days=30)

_OVERDUE = CaseStatus.OVERDUE
_ESCALATED = CaseStatus.ESCALATED
_LOST = CaseStatus.LOST_TO_FOLLOW_UP


def _candidate_overrides(name: str, stored: dict[str, set[str]]) -> list[dict | None]:
    """Return the defaults and every value a district ever set for a setting: a case keeps the values of
    its opening, so a set-based pre-filter must hold for the lowest of them."""
    return [None, *({name: value} for value in sorted(stored.get(name, ())))]


def smallest_escalation_threshold(stored: dict[str, set[str]] | None = None) -> dt.timedelta:
    """Return the shortest time overdue after which any step of any program escalates, under any district's
    values (`stored`: every value districts ever set, by setting name; read when not given)."""
    stored = stored_values_of() if stored is None else stored
    thresholds = []
    for program in PROGRAMS.values():
        for step in program.steps:
            name = (step.escalate_after_days or program.escalate_after_days).name
            for overrides in _candidate_overrides(name, stored):
                thresholds.append(escalation_threshold(program, step.code, overrides))
    return min(thresholds)


def fewest_attempts_for_loss(stored: dict[str, set[str]] | None = None) -> int:
    """Return the fewest documented attempts any program's lost-to-follow-up policy asks for, under any
    district's values."""
    stored = stored_values_of() if stored is None else stored
    counts = []
    for program in PROGRAMS.values():
        name = program.ltfu_policy.min_attempts.name
        for overrides in _candidate_overrides(name, stored):
            counts.append(program.values(overrides).whole(program.ltfu_policy.min_attempts))
    return min(counts)


def keyset_batches(condition, batch_size: int, lock: bool = False) -> Iterable[list[sa.Row]]:
    """Yield batches of (id, program, due_at, status, current_step, rule_version, setting_overrides)
    of open cases, by due_at.

    Cases whose state is newer than the sweep's moment are excluded by the caller's condition; the keyset
    walks the partial index ix_follow_up_case_open_due once, so rows a batch changed are never re-read.
    """
    last: tuple[dt.datetime, int] | None = None
    while True:
        query = sa.select(
            FollowUpCase.id,
            FollowUpCase.program,
            FollowUpCase.due_at,
            FollowUpCase.status,
            FollowUpCase.current_step,
            FollowUpCase.rule_version,
            FollowUpCase.setting_overrides,
        ).where(FollowUpCase.status != CaseStatus.CLOSED, condition)
        if last is not None:
            query = query.where(
                sa.or_(
                    FollowUpCase.due_at > last[0],
                    sa.and_(FollowUpCase.due_at == last[0], FollowUpCase.id > last[1]),
                )
            )
        query = query.order_by(FollowUpCase.due_at, FollowUpCase.id).limit(batch_size)
        if lock:
            # PostgreSQL: a case someone is writing right now is skipped; its writer computes its status.
            query = query.with_for_update(skip_locked=True, of=FollowUpCase)
        rows = db.session.execute(query).all()
        if not rows:
            return
        last = (rows[-1].due_at, rows[-1].id)
        yield rows


def mark_statuses(
    moment: dt.datetime, actor: Actor, batch_size: int, batches: Batches, transition: ClockTransition
) -> int:
    """Move cases whose cached dates say so to a status, with one STATUS_CHANGED event each."""
    condition = sa.and_(clock_transition_sql(transition, moment), FollowUpCase.state_as_of <= moment)
    new_status = transition.to_status
    changed = 0
    for rows in keyset_batches(condition, batch_size, lock=True):
        ids = write_clock_transition(rows, transition, moment, actor)
        audit.record(
            actor, moment, "follow_up_case", None, f"SWEEP_{new_status}",
            f"{len(ids)} cases {new_status} as of {moment.isoformat()} (ids {ids[0]}…{ids[-1]})",
        )  # fmt: skip
        changed += len(ids)
        batches.done()
    return changed


def _status_event(
    case: FollowUpCase, old: CaseStatus, moment: dt.datetime, actor: Actor, **data
) -> CaseEvent:
    row = status_changed_row(
        case.id, case.current_step, case.rule_version, old, case.status, moment, actor, **data
    )
    return CaseEvent(**row)


def flag_lost(moment: dt.datetime, actor: Actor, batch_size: int, batches: Batches) -> int:
    """Replay the recently overdue cases with enough attempts; flag those the §0.4 rule now calls lost.

    With no new event, the rule can only start to hold when the step's due date passes (its other terms
    are about attempts already made), and every service that records an attempt rewrites the status itself.
    So only steps that fell overdue lately need a replay here; LOST_RECHECK keeps a margin for runs
    that were missed or died between their phases.
    """
    condition = sa.and_(
        FollowUpCase.status.in_([_OVERDUE, _ESCALATED]),
        FollowUpCase.due_at < moment,
        FollowUpCase.due_at >= moment - LOST_RECHECK,
        FollowUpCase.contact_attempts >= fewest_attempts_for_loss(),
        FollowUpCase.state_as_of <= moment,
    )
    flagged = 0
    for rows in keyset_batches(condition, batch_size, lock=True):
        cases, events = load_cases_with_events([row.id for row in rows])
        for case in cases:
            state = case_state(case, moment, events[case.id])
            if state.status is not _LOST:
                continue
            old = case.status
            apply_state(case, state, events[case.id], moment)
            db.session.add(_status_event(case, old, moment, actor, reason=str(state.lost_reason)))
            audit.record(
                actor, moment, "follow_up_case", case.id, "LOST_TO_FOLLOW_UP", str(state.lost_reason)
            )
            flagged += 1
        batches.done()
    return flagged


def escalate(moment: dt.datetime, actor: Actor, batch_size: int, batches: Batches) -> int:
    """Hand to the district coordinator each step overdue past its program's threshold.

    Set-based like the status changes: escalating changes no due date and no attempt count, so the engine's
    state after it is the cached one with escalated_at set and status ESCALATED (a lost case, which would
    stay LOST, is not a candidate; the lost phase before this one has flagged every case the §0.4 rule
    holds for). Replaying each case instead costs about 2 ms a case, which the first sweep of a city with
    100,000 overdue steps cannot afford. The decision per case is the engine's own step_escalation_due.
    """
    condition = sa.and_(
        FollowUpCase.escalated_at.is_(None),
        # Which statuses may escalate is the engine's precedence (a lost case is not flagged twice).
        FollowUpCase.status.in_(list(escalatable_statuses())),
        FollowUpCase.current_step.is_not(None),
        FollowUpCase.due_at <= moment - smallest_escalation_threshold(),
        FollowUpCase.state_as_of <= moment,
    )
    escalated = 0
    for rows in keyset_batches(condition, batch_size, lock=True):
        due = [
            row
            for row in rows
            if step_escalation_due(
                get_program(row.program), row.current_step, row.due_at, moment, row.setting_overrides
            )
        ]
        if due:
            ids = write_escalations(due, moment, actor)
            audit.record(
                actor, moment, "follow_up_case", None, "SWEEP_ESCALATED",
                f"{len(ids)} cases escalated as of {moment.isoformat()} (ids {ids[0]}…{ids[-1]})",
            )  # fmt: skip
            escalated += len(ids)
        batches.done()
    return escalated
