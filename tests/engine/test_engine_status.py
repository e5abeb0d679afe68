"""The one order of statuses, and the clock transitions a sweep builds its SQL from."""

from datetime import UTC, datetime, timedelta

import pytest

from screenings.engine import (
    CaseStatus,
    ClockCondition,
    clock_transitions,
    days_overdue,
    escalatable_statuses,
    open_status,
)

AT = datetime(2026, 6, 1, 12, tzinfo=UTC)
DUE = AT + timedelta(days=2)
WARN = AT - timedelta(days=1)


@pytest.mark.parametrize(
    ("lost", "escalated", "as_of", "expected"),
    [
        (True, True, DUE + timedelta(days=9), CaseStatus.LOST_TO_FOLLOW_UP),
        (False, True, DUE + timedelta(days=9), CaseStatus.ESCALATED),
        (False, False, DUE + timedelta(seconds=1), CaseStatus.OVERDUE),
        (False, False, DUE, CaseStatus.DUE_SOON),
        (False, False, WARN, CaseStatus.DUE_SOON),
        (False, False, WARN - timedelta(seconds=1), CaseStatus.OPEN),
    ],
)
def test_the_first_status_that_holds_wins(lost, escalated, as_of, expected):
    assert open_status(lost=lost, escalated=escalated, due_at=DUE, warn_at=WARN, as_of=as_of) is expected


def test_the_sweep_transitions_follow_from_the_precedence():
    overdue, due_soon = clock_transitions()
    assert overdue.to_status is CaseStatus.OVERDUE
    assert overdue.from_statuses == (CaseStatus.DUE_SOON, CaseStatus.OPEN)
    assert overdue.conditions == (ClockCondition("due_at", "<"),)
    assert due_soon.to_status is CaseStatus.DUE_SOON and due_soon.from_statuses == (CaseStatus.OPEN,)
    assert due_soon.conditions == (ClockCondition("warn_at", "<="), ClockCondition("due_at", ">="))
    assert escalatable_statuses() == (CaseStatus.OVERDUE, CaseStatus.DUE_SOON, CaseStatus.OPEN)


def test_days_overdue_counts_whole_days_past_the_due_date():
    assert days_overdue(DUE, DUE) == 0
    assert days_overdue(DUE, DUE + timedelta(hours=47)) == 1
    assert days_overdue(None, DUE) == 0
