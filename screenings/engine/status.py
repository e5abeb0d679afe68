"""The status of an open step, and the status changes the passing of time alone makes.

The one place that says which status wins (lost > escalated > overdue > due soon > open) and which of a
case's cached columns (due_at, warn_at) decide the clock-driven ones. The replay uses it to derive a
state from the events; the sweep builds its set-based SQL conditions from `clock_transitions()`, so the
rules are never restated by hand in a query.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from .vocabulary import CaseStatus

# Highest first: the first status whose condition holds is the step's status; OPEN when none does.
STATUS_PRECEDENCE: tuple[CaseStatus, ...] = (
    CaseStatus.LOST_TO_FOLLOW_UP,
    CaseStatus.ESCALATED,
    CaseStatus.OVERDUE,
    CaseStatus.DUE_SOON,
    CaseStatus.OPEN,
)

_OPERATORS: dict[str, Callable[[object, object], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_NEGATION = {"<": ">=", "<=": ">", ">": "<=", ">=": "<"}


@dataclass(frozen=True, slots=True)
class ClockCondition:
    """`column OP as_of` over one of a case's cached datetime columns, e.g. due_at < as_of (overdue)."""

    column: str
    op: str

    def holds(self, value: datetime | None, as_of: datetime) -> bool:
        """Tell whether the condition holds for a column's value at a moment (never for a missing value)."""
        return value is not None and _OPERATORS[self.op](value, as_of)

    def negated(self) -> ClockCondition:
        """Return the condition that holds exactly when this one does not (for a value that is present)."""
        return ClockCondition(self.column, _NEGATION[self.op])


# The statuses the clock alone moves a step into, each with the cached column that decides it.
CLOCK_STATUS_RULES: tuple[tuple[CaseStatus, ClockCondition], ...] = (
    (CaseStatus.OVERDUE, ClockCondition("due_at", "<")),  # as_of > due_at
    (CaseStatus.DUE_SOON, ClockCondition("warn_at", "<=")),  # as_of >= warn_at
)


def open_status(
    *, lost: bool, escalated: bool, due_at: datetime | None, warn_at: datetime | None, as_of: datetime
) -> CaseStatus:
    """Return the status of an open step from the facts that decide it, in the one order of precedence."""
    columns = {"due_at": due_at, "warn_at": warn_at}
    holding = {CaseStatus.LOST_TO_FOLLOW_UP: lost, CaseStatus.ESCALATED: escalated}
    for status, condition in CLOCK_STATUS_RULES:
        holding[status] = condition.holds(columns[condition.column], as_of)
    return next((status for status in STATUS_PRECEDENCE if holding.get(status)), CaseStatus.OPEN)


def status_of(cached: object, as_of: datetime) -> CaseStatus:
    """Return the status a case's cached columns give it at a moment, with no replay.

    `cached` has the case row's status, current_step, escalated_at, due_at and warn_at. Closed and lost
    are facts of the events (only a new event changes them), so they are kept; the rest follow the clock.
    """
    if cached.status is CaseStatus.CLOSED or cached.current_step is None:
        return CaseStatus.CLOSED
    return open_status(
        lost=cached.status is CaseStatus.LOST_TO_FOLLOW_UP,
        escalated=cached.escalated_at is not None,
        due_at=cached.due_at,
        warn_at=cached.warn_at,
        as_of=as_of,
    )


@dataclass(frozen=True, slots=True)
class ClockTransition:
    """A status change a sweep may make on cached columns alone: from which statuses, when."""

    to_status: CaseStatus
    from_statuses: tuple[CaseStatus, ...]
    conditions: tuple[ClockCondition, ...]  # all hold at the moment of the sweep


def clock_transitions() -> tuple[ClockTransition, ...]:
    """Return the clock-driven status changes in the order a sweep makes them, derived from the precedence.

    A step moves into a clock status from any status below it, when that status's condition holds and no
    higher clock status's does (a step past its due date is overdue, not due soon).
    """
    found: list[ClockTransition] = []
    higher: list[ClockCondition] = []
    for status, condition in CLOCK_STATUS_RULES:
        below = STATUS_PRECEDENCE[STATUS_PRECEDENCE.index(status) + 1 :]
        found.append(ClockTransition(status, below, (condition, *(c.negated() for c in higher))))
        higher.append(condition)
    return tuple(found)


def escalatable_statuses() -> tuple[CaseStatus, ...]:
    """Return the statuses a step may be escalated from: those below ESCALATED in the precedence.

    A lost step already waits for the district coordinator, who confirms the loss: it is not flagged twice.
    """
    return STATUS_PRECEDENCE[STATUS_PRECEDENCE.index(CaseStatus.ESCALATED) + 1 :]


def days_overdue(due_at: datetime | None, as_of: datetime) -> int:
    """Return how many whole days a step due at `due_at` is overdue at a moment (0 when it is not)."""
    if due_at is None or not as_of > due_at:
        return 0
    return (as_of - due_at) // timedelta(days=1)
