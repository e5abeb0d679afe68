"""Replay cases through the engine and report every drift between their events and their stored columns.

A case row's state columns are a cache of what the engine derives from the case's events (see the writer);
this check recomputes them and compares, column by column. By default each case is replayed as of the
moment its state was written (`state_as_of`, or its latest event if later), which is what the writer
wrote; with `as_of` (a sweep's moment) cases not touched since are replayed as of that moment instead,
which is what they should say once the sweep for that day has run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from registry.extensions import db
from screenings.cases import case_state
from screenings.cases.writer import STATE_COLUMNS, state_columns
from screenings.engine import CaseEventError
from screenings.models import CaseEvent, FollowUpCase


@dataclasses.dataclass(frozen=True)
class Drift:
    """One stored column that is not what the engine derives from the case's events."""

    case_id: int
    column: str
    stored: object
    derived: object

    def __str__(self) -> str:
        return f"case {self.case_id}: {self.column} stored {self.stored!r}, events say {self.derived!r}"


@dataclasses.dataclass
class CheckReport:
    """What a check of cases found."""

    checked: int = 0
    drifts: list[Drift] = dataclasses.field(default_factory=list)

    @property
    def drifted_cases(self) -> int:
        """Return how many cases have at least one drifting column."""
        return len({d.case_id for d in self.drifts})


def load_cases_with_events(ids: list[int]) -> tuple[list[FollowUpCase], dict[int, list[CaseEvent]]]:
    """Load cases with their people and all their events in three queries, for replay."""
    cases = db.session.scalars(
        sa.select(FollowUpCase)
        .where(FollowUpCase.id.in_(ids))
        .options(selectinload(FollowUpCase.person))
        .order_by(FollowUpCase.due_at, FollowUpCase.id)
        .execution_options(populate_existing=True)
    ).all()
    events: dict[int, list[CaseEvent]] = defaultdict(list)
    for event in db.session.scalars(
        sa.select(CaseEvent).where(CaseEvent.case_id.in_(ids)).order_by(CaseEvent.occurred_at, CaseEvent.id)
    ):
        events[event.case_id].append(event)
    return list(cases), events


def replay_moment(
    case: FollowUpCase, events: list[CaseEvent], as_of: dt.datetime | None = None
) -> dt.datetime:
    """Return the moment a case's stored state should match a replay at."""
    moments = [case.state_as_of, *(e.occurred_at for e in events)]
    if as_of is not None:
        moments.append(as_of)
    return max(moments)


def case_drift(case: FollowUpCase, events: list[CaseEvent], as_of: dt.datetime | None = None) -> list[Drift]:
    """Return every stored state column of a case that differs from the engine's replay of its events."""
    try:
        state = case_state(case, replay_moment(case, events, as_of), events)
    except CaseEventError as problem:
        return [Drift(case.id, "events", "stored", f"cannot be replayed: {problem.code}: {problem}")]
    derived = state_columns(case, state, events)
    return [
        Drift(case.id, column, getattr(case, column), derived[column])
        for column in STATE_COLUMNS
        if getattr(case, column) != derived[column]
    ]


def check_cases(
    as_of: dt.datetime | None = None, sample: int | None = None, batch_size: int = 500
) -> CheckReport:
    """Replay every case (or a random sample of `sample`) and report each drifting column."""
    report = CheckReport()
    query = sa.select(FollowUpCase.id)
    if sample is not None:
        ids = sorted(db.session.scalars(query.order_by(sa.func.random()).limit(sample)))
    else:
        ids = list(db.session.scalars(query.order_by(FollowUpCase.id)))
    for start in range(0, len(ids), batch_size):
        cases, events = load_cases_with_events(ids[start : start + batch_size])
        for case in cases:
            report.checked += 1
            report.drifts.extend(case_drift(case, events[case.id], as_of))
        db.session.expunge_all()  # a city's cases are read once; the session stays small
    return report
