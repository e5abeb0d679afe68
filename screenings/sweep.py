"""The daily sweep: overdue and due-soon steps, lost to follow-up, escalation, missed screenings.

The sweep for a day D acts as of one moment, midnight at the start of D in Asia/Shanghai: every case event,
state and audit row it writes carries that moment, so any number of runs for D (a retry, a run after a
worker was killed half way) reach the same state, and the second run finds nothing to change. A case
whose state was rewritten after that moment (someone recorded something on it since) is left alone: the
service that touched it already brought its status up to date, and tomorrow's sweep looks at it again.

Work is done in short batches, each one transaction, walking the partial index on (due_at, id) of open
cases. Changes that need no replay are set-based: OPEN → DUE_SOON → OVERDUE follow from the cached due_at
and warn_at, and an escalation from the cached step and due date (the engine's step_escalation_due); each
batch is one UPDATE with its events inserted in one statement beside it. Only the lost-to-follow-up rule
needs the events themselves: the overdue cases with enough attempts are replayed by the engine, a batch of
events loaded at a time. Missed screenings look only at recent births with no result and no case in a
newborn program, and open each case through the service.

Measured on PostgreSQL (2 cores), 200,000 open cases: the next day's sweep (about 2,000 changes of each
kind) takes about 4 s and a rerun 2 s; a first sweep that marks 120,000 steps overdue and escalates 108,000
of them, as after loading a city's history, about 60 s.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable

import sqlalchemy as sa

from registry import audit
from registry.audit import Actor
from registry.extensions import db
from registry.people.models import Person
from screenings.cases.check import load_cases_with_events
from screenings.cases.writer import (
    apply_state,
    clock_transition_sql,
    status_changed_row,
    write_clock_transition,
    write_escalations,
)
from screenings.engine import (
    LOCAL_TZ,
    CaseStatus,
    ClockTransition,
    clock_transitions,
    escalation_threshold,
    is_screening_missed,
    step_escalation_due,
)
from screenings.models import CaseEvent, FollowUpCase, ScreeningResult
from screenings.programs import PROGRAMS, get_program
from screenings.services import (
    case_state,
    open_missed_screening,
    person_kinds_screened,
    subject_kind_for,
    subject_of,
)

SWEEP_ACTOR = Actor.system("sweep")
DEFAULT_BATCH_SIZE = 2000
# Births further back than this are not searched for a missed screen: every window is days long, and a
# sweep that was down for weeks is caught up by this margin.
DEFAULT_MISSED_LOOKBACK_DAYS = 60
# Overdue steps are checked against the lost-to-follow-up rule for this long after their due date.
LOST_RECHECK = dt.timedelta(days=30)

_OPEN = CaseStatus.OPEN
_DUE_SOON = CaseStatus.DUE_SOON
_OVERDUE = CaseStatus.OVERDUE
_ESCALATED = CaseStatus.ESCALATED
_LOST = CaseStatus.LOST_TO_FOLLOW_UP


@dataclasses.dataclass
class SweepReport:
    """What one sweep changed, by rule."""

    as_of: dt.date
    moment: dt.datetime
    overdue: int = 0
    due_soon: int = 0
    lost: int = 0
    escalated: int = 0
    missed_screenings: int = 0
    batches: int = 0

    @property
    def changed(self) -> int:
        """Return how many changes the sweep made."""
        return self.overdue + self.due_soon + self.lost + self.escalated + self.missed_screenings

    def as_dict(self) -> dict:
        """Return the report as JSON-able data (a job's result)."""
        return {
            "as_of": self.as_of.isoformat(),
            "moment": self.moment.isoformat(),
            "overdue": self.overdue,
            "due_soon": self.due_soon,
            "lost": self.lost,
            "escalated": self.escalated,
            "missed_screenings": self.missed_screenings,
            "batches": self.batches,
        }


def sweep_moment(as_of: dt.date) -> dt.datetime:
    """Return the moment the sweep for a day acts at: midnight starting that day in Asia/Shanghai, in UTC."""
    return dt.datetime.combine(as_of, dt.time(0), LOCAL_TZ).astimezone(dt.UTC)


def local_today(now: dt.datetime) -> dt.date:
    """Return the date in Asia/Shanghai at an aware moment."""
    return now.astimezone(LOCAL_TZ).date()


def smallest_escalation_threshold() -> dt.timedelta:
    """Return the shortest time overdue after which any step of any program escalates."""
    return min(
        escalation_threshold(program, step.code) for program in PROGRAMS.values() for step in program.steps
    )


def fewest_attempts_for_loss() -> int:
    """Return the fewest documented attempts any program's lost-to-follow-up policy asks for."""
    return min(program.values(None).whole(program.ltfu_policy.min_attempts) for program in PROGRAMS.values())


class _Batches:
    """Commit after each batch (the task passes the session's commit) and report progress."""

    def __init__(self, report: SweepReport, commit: Callable[[], None] | None, progress) -> None:
        self.report = report
        self.commit = commit
        self.progress = progress

    def done(self) -> None:
        self.report.batches += 1
        if self.commit is not None:
            self.commit()
        else:
            db.session.flush()
        if self.progress is not None:
            self.progress(self.report.changed)


def run_sweep(
    as_of: dt.date,
    actor: Actor = SWEEP_ACTOR,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    missed_lookback_days: int = DEFAULT_MISSED_LOOKBACK_DAYS,
    commit: Callable[[], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> SweepReport:
    """Bring every open case up to a day: overdue, due soon, lost, escalated; open missed screenings.

    With `commit` (the job passes the session's commit) each batch is committed as it is done, so a run
    that dies half way keeps what it did and the next run finishes it; without, everything is flushed
    into the caller's transaction.
    """
    moment = sweep_moment(as_of)
    report = SweepReport(as_of=as_of, moment=moment)
    batches = _Batches(report, commit, progress)
    # The engine says which statuses the clock moves a step into, from which, and when; highest first.
    for transition in clock_transitions():
        changed = _mark_statuses(moment, actor, batch_size, batches, transition)
        if transition.to_status is _OVERDUE:
            report.overdue += changed
        elif transition.to_status is _DUE_SOON:
            report.due_soon += changed
    # Lost before escalated: a case that is both gets the LOST flag recorded, then the escalation.
    report.lost = _flag_lost(moment, actor, batch_size, batches)
    report.escalated = _escalate(moment, actor, batch_size, batches)
    report.missed_screenings = _open_missed_screenings(
        moment, actor, batch_size, missed_lookback_days, batches
    )
    return report


def _keyset_batches(condition, batch_size: int, lock: bool = False) -> Iterable[list[sa.Row]]:
    """Yield batches of (id, program, due_at, status, current_step, rule_version) of open cases, by due_at.

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


def _mark_statuses(
    moment: dt.datetime, actor: Actor, batch_size: int, batches: _Batches, transition: ClockTransition
) -> int:
    """Move cases whose cached dates say so to a status, with one STATUS_CHANGED event each."""
    condition = sa.and_(clock_transition_sql(transition, moment), FollowUpCase.state_as_of <= moment)
    new_status = transition.to_status
    changed = 0
    for rows in _keyset_batches(condition, batch_size, lock=True):
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


def _flag_lost(moment: dt.datetime, actor: Actor, batch_size: int, batches: _Batches) -> int:
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
    for rows in _keyset_batches(condition, batch_size, lock=True):
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


def _escalate(moment: dt.datetime, actor: Actor, batch_size: int, batches: _Batches) -> int:
    """Hand to the district coordinator each step overdue past its program's threshold.

    Set-based like the status changes: escalating changes no due date and no attempt count, so the engine's
    state after it is the cached one with escalated_at set and status ESCALATED (a lost case, which would
    stay LOST, is not a candidate; the lost phase before this one has flagged every case the §0.4 rule
    holds for). Replaying each case instead costs about 2 ms a case, which the first sweep of a city with
    100,000 overdue steps cannot afford. The decision per case is the engine's own step_escalation_due.
    """
    condition = sa.and_(
        FollowUpCase.escalated_at.is_(None),
        # A lost case already waits for the district coordinator, who confirms the loss: no second flag.
        FollowUpCase.status != _LOST,
        FollowUpCase.current_step.is_not(None),
        FollowUpCase.due_at <= moment - smallest_escalation_threshold(),
        FollowUpCase.state_as_of <= moment,
    )
    escalated = 0
    for rows in _keyset_batches(condition, batch_size, lock=True):
        due = [
            row
            for row in rows
            if step_escalation_due(get_program(row.program), row.current_step, row.due_at, moment)
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


def _open_missed_screenings(
    moment: dt.datetime, actor: Actor, batch_size: int, lookback_days: int, batches: _Batches
) -> int:
    """Open a "missed screening" case for each recent birth past a newborn program's window with no screen."""
    today = local_today(moment)
    earliest = today - dt.timedelta(days=lookback_days)
    opened = 0
    for program in PROGRAMS.values():
        if program.screening_window is None:
            continue
        # Who the program screens is its eligibility's to say, not the sweep's.
        kinds = person_kinds_screened(program)
        if not kinds:
            continue
        last_id = 0
        while True:
            screened = sa.exists().where(
                ScreeningResult.person_id == Person.id, ScreeningResult.program == program.code
            )
            has_case = sa.exists().where(
                FollowUpCase.person_id == Person.id, FollowUpCase.program == program.code
            )
            people = db.session.scalars(
                sa.select(Person)
                .where(
                    Person.kind.in_(kinds),
                    # A record merged into another is no longer a person of its own; the kept one is searched.
                    Person.merged_into_id.is_(None),
                    Person.birth_on >= earliest,
                    Person.birth_on <= today,
                    Person.id > last_id,
                    ~screened,
                    ~has_case,
                )
                .order_by(Person.id)
                .limit(batch_size)
            ).all()
            if not people:
                break
            last_id = people[-1].id
            for person in people:
                subject = subject_of(person, subject_kind_for(person, program))
                if not is_screening_missed(program, subject, moment):
                    continue
                if open_missed_screening(person, program, person.institution, actor, moment) is not None:
                    opened += 1
            batches.done()
    return opened
