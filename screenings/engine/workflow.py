"""A case's state, derived by replaying its events under its program's rules."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from .deadlines import DueDate, compute_due, compute_earliest, warn_at
from .declarations import NEXT_IN_SCHEDULE, Deadline, Program, Step, Transition
from .events import AUTOMATED, SCHEDULED_DUE_AT, CaseEventError, CaseEventFact, OpenedCase
from .ltfu import is_lost_to_follow_up, ltfu_reason
from .settings import SettingValues
from .status import days_overdue, open_status
from .times import as_utc
from .vocabulary import (
    ADMINISTRATIVE_OUTCOMES,
    CONTACT_OUTCOME_CLOSURES,
    CaseAction,
    CaseStatus,
    ClosureOutcome,
    ContactChannel,
    EventKind,
    LtfuReason,
    Subject,
)


@dataclass(frozen=True, slots=True)
class StepVisit:
    """One stay of the case at a step."""

    step: str
    entered_at: datetime
    due_at: datetime
    result_code: str | None = None
    left_at: datetime | None = None
    earliest_at: datetime | None = None  # the step's "not before", when it declares one

    @property
    def too_early(self) -> bool:
        """Tell whether the step's result was recorded before its earliest date (flag it for a repeat)."""
        return self.earliest_at is not None and self.left_at is not None and self.left_at < self.earliest_at


@dataclass(frozen=True)
class CaseState:
    """Where a case stands as of a moment; what the case row's indexed columns must equal."""

    program_code: str
    rule_version: str  # the rule set that computed due_at
    status: CaseStatus
    current_step: str | None
    track: str | None
    due_at: datetime | None
    warn_at: datetime | None
    due_set_at: datetime | None  # the event whose time the due date was computed from
    age_limit_passed: bool
    days_overdue: int
    escalated_at: datetime | None
    transfer_pending: bool
    transfer_to: object | None
    attempts: tuple[CaseEventFact, ...]  # contact attempts on the current step
    lost_reason: LtfuReason | None  # set while the §0.4 rule holds
    suggested_outcome: ClosureOutcome | None  # a contact learned of a death, refusal or move
    outcome: ClosureOutcome | None
    closed_at: datetime | None
    allowed_actions: tuple[str, ...]
    allowed_results: tuple[str, ...]
    closable_outcomes: tuple[ClosureOutcome, ...]
    overridden_settings: tuple[str, ...]  # district overrides that changed due_at
    history: tuple[StepVisit, ...]
    earliest_at: datetime | None = None  # the current step's "not before", when it declares one

    @property
    def too_early_steps(self) -> tuple[StepVisit, ...]:
        """Return the step results recorded before their earliest date (each to be repeated)."""
        return tuple(visit for visit in self.history if visit.too_early)

    @property
    def is_closed(self) -> bool:
        """Tell whether the case is closed."""
        return self.status is CaseStatus.CLOSED


def step_result_transition(
    program: Program, step: str, result_code: str, subject: Subject | None = None
) -> Transition:
    """Return where a step result leads: a next step (to_step) or closure (outcome)."""
    return program.step(step).transition(result_code, subject)


def allowed_outcomes(program: Program) -> tuple[ClosureOutcome, ...]:
    """Return every outcome a case of the program can close with, in the shared list's order."""
    found = {t.outcome for s in program.steps for t in s.transitions if t.outcome is not None}
    found.update(ADMINISTRATIVE_OUTCOMES)
    if program.exposed_infant is not None:
        found.add(program.exposed_infant.schedule_end_outcome)
    return tuple(o for o in ClosureOutcome if o in found)


class _Replay:
    """Mutable only while one replay runs; the result is a frozen CaseState."""

    def __init__(self, program: Program, opened: OpenedCase, values: SettingValues) -> None:
        self.program = program
        self.opened = opened
        self.values = values
        self.track = opened.track
        self.history: list[StepVisit] = []
        self.attempts: list[CaseEventFact] = []
        self.step: Step | None = None
        self.due: DueDate | None = None
        self.escalated_at: datetime | None = None
        self.transfer_to: object | None = None
        self.transfer_pending = False
        self.outcome: ClosureOutcome | None = None
        self.closed_at: datetime | None = None
        self.last_step: str = opened.first_step
        self._enter(opened.first_step, as_utc(opened.opened_at), None, opened.scheduled_due_at)

    def _enter(self, code: str, at: datetime, deadline: Deadline | None, scheduled: object) -> None:
        step = self.program.step(code)
        if scheduled is not None and (not isinstance(scheduled, datetime) or scheduled.utcoffset() is None):
            raise CaseEventError("BAD_SCHEDULED_DUE", "a scheduled due date must be an aware datetime")
        self.step = step
        self.last_step = code
        chosen = deadline or step.deadline_for(self.track)
        relative_from = None
        if chosen.after_step is not None:
            left = [v.left_at for v in self.history if v.step == chosen.after_step and v.left_at is not None]
            relative_from = left[-1] if left else as_utc(self.opened.opened_at)
        self.due = compute_due(
            chosen,
            relative_from=relative_from,
            set_at=at,
            subject=self.opened.subject,
            values=self.values,
            scheduled_at=scheduled if step.accepts_scheduled_due else None,
        )
        earliest = None
        if step.earliest is not None:
            subject = self.opened.subject
            earliest = compute_earliest(step.earliest, set_at=at, subject=subject, values=self.values)
            if earliest > self.due.due_at:
                # Never due before it may be done (a late last dose moves the deadline with it).
                self.due = dataclasses.replace(self.due, due_at=earliest)
        self.attempts = []
        self.escalated_at = None
        self.history.append(StepVisit(code, at, self.due.due_at, earliest_at=earliest))

    def _leave(self, result: str | None, at: datetime) -> None:
        last = self.history[-1]
        self.history[-1] = dataclasses.replace(last, result_code=result, left_at=at)

    def _resume_schedule(self) -> str | None:
        plan = self.program.exposed_infant
        if plan is None:
            raise CaseEventError("NO_SCHEDULE", f"{self.program.code} has no schedule to resume")
        visited = [v.step for v in self.history if v.step in plan.schedule]
        if not visited:
            return plan.schedule[0]
        position = plan.schedule.index(visited[-1]) + 1
        return plan.schedule[position] if position < len(plan.schedule) else None

    def _close(self, outcome: ClosureOutcome, at: datetime) -> None:
        self.outcome = outcome
        self.closed_at = at
        self.step = None
        self.due = None
        self.escalated_at = None
        self.transfer_pending = False

    def _require_open(self, event: CaseEventFact) -> Step:
        if self.step is None:
            raise CaseEventError("CASE_CLOSED", f"{event.kind} on a closed case")
        return self.step

    def lost(self, at: datetime) -> bool:
        due = self.due.due_at if self.due else None
        return self.step is not None and is_lost_to_follow_up(
            self.program.ltfu_policy,
            self.attempts,
            due,
            at,
            self.opened.subject.has_address,
            self.values.overrides,
        )

    def apply(self, event: CaseEventFact) -> None:
        at = as_utc(event.occurred_at)
        kind = event.kind
        if kind in (EventKind.OPENED, EventKind.NOTE, EventKind.STATUS_CHANGED, EventKind.REMINDER):
            return  # OpenedCase carries the opening; notes and records of derived changes change nothing
        if kind is EventKind.REOPENED:
            if self.step is not None:
                raise CaseEventError("NOT_CLOSED", "only a closed case can be reopened")
            target = event.step or self.last_step
            if target not in {step.code for step in self.program.steps}:
                raise CaseEventError("UNKNOWN_STEP", f"{self.program.code} has no step {target!r}")
            self.outcome = None
            self.closed_at = None
            self._enter(target, at, None, None)
            return
        step = self._require_open(event)
        if kind is EventKind.STEP_RESULT:
            self._apply_step_result(step, event, at)
        elif kind is EventKind.CONTACT_ATTEMPT:
            if event.channel is None:
                raise CaseEventError("NO_CHANNEL", "a contact attempt needs a channel")
            if event.channel not in set(ContactChannel):
                raise CaseEventError("BAD_CHANNEL", f"unknown contact channel {event.channel!r}")
            if not event.data.get(AUTOMATED):
                self.attempts.append(event)
        elif kind is EventKind.TRANSFER_REQUESTED:
            if self.transfer_pending:
                raise CaseEventError("TRANSFER_PENDING", "a transfer is already waiting for an answer")
            self.transfer_pending = True
            self.transfer_to = event.data.get("to_institution")
        elif kind in (EventKind.TRANSFER_ACCEPTED, EventKind.TRANSFER_REFUSED, EventKind.TRANSFER_WITHDRAWN):
            if not self.transfer_pending:
                raise CaseEventError("NO_TRANSFER", "no transfer is waiting for an answer")
            self.transfer_pending = False
        elif kind is EventKind.ESCALATED:
            if self.escalated_at is not None:
                raise CaseEventError("ALREADY_ESCALATED", "this step is already escalated")
            self.escalated_at = at
        elif kind is EventKind.CLOSED:
            self._apply_close(event, at)
        else:  # pragma: no cover - EventKind is closed
            raise CaseEventError("UNKNOWN_EVENT", f"unknown event kind {kind!r}")

    def _apply_step_result(self, step: Step, event: CaseEventFact, at: datetime) -> None:
        if event.step is not None and event.step != step.code:
            raise CaseEventError("WRONG_STEP", f"result for {event.step}, but the case is at {step.code}")
        if event.result_code is None:
            raise CaseEventError("NO_RESULT", "a step result needs a result code")
        try:
            transition = step.transition(event.result_code, self.opened.subject)
        except KeyError as exc:
            raise CaseEventError("UNKNOWN_RESULT", str(exc.args[0])) from exc
        self._leave(event.result_code, at)
        if transition.sets_track is not None:
            self.track = transition.sets_track
        if transition.outcome is not None:
            self._close(transition.outcome, at)
            return
        target = transition.to_step
        if target == NEXT_IN_SCHEDULE:
            target = self._resume_schedule()
            if target is None:
                assert self.program.exposed_infant is not None
                self._close(self.program.exposed_infant.schedule_end_outcome, at)
                return
        assert target is not None
        self._enter(target, at, transition.deadline, event.data.get(SCHEDULED_DUE_AT))

    def _apply_close(self, event: CaseEventFact, at: datetime) -> None:
        if event.outcome is None or event.outcome not in ADMINISTRATIVE_OUTCOMES:
            raise CaseEventError(
                "BAD_OUTCOME",
                f"close by hand with one of {', '.join(ADMINISTRATIVE_OUTCOMES)}, not {event.outcome}",
            )
        if event.outcome is ClosureOutcome.LOST_TO_FOLLOW_UP and not self.lost(at):
            raise CaseEventError("NOT_LOST", "the lost-to-follow-up rule (§0.4) does not hold yet")
        self._leave(None, at)
        self._close(ClosureOutcome(event.outcome), at)

    def snapshot(self, as_of: datetime, overridden: tuple[str, ...]) -> CaseState:
        program = self.program
        history = tuple(self.history)
        if self.step is None or self.due is None:
            return CaseState(
                program_code=program.code,
                rule_version=program.rule_version,
                status=CaseStatus.CLOSED,
                current_step=None,
                track=self.track,
                due_at=None,
                warn_at=None,
                due_set_at=None,
                age_limit_passed=False,
                days_overdue=0,
                escalated_at=None,
                transfer_pending=False,
                transfer_to=None,
                attempts=(),
                lost_reason=None,
                suggested_outcome=None,
                outcome=self.outcome,
                closed_at=self.closed_at,
                allowed_actions=(CaseAction.ADD_NOTE, CaseAction.REOPEN),
                allowed_results=(),
                closable_outcomes=(),
                overridden_settings=(),
                history=history,
            )
        due = self.due
        lost = self.lost(as_of)
        warning = warn_at(due, self.values(program.warn_fraction))
        status = open_status(
            lost=lost,
            escalated=self.escalated_at is not None,
            due_at=due.due_at,
            warn_at=warning,
            as_of=as_of,
        )
        actions: list[str] = [
            f"{CaseAction.RECORD_STEP}:{self.step.code}",
            CaseAction.LOG_CONTACT,
            CaseAction.ADD_NOTE,
        ]
        if self.transfer_pending:
            actions += [CaseAction.ACCEPT_TRANSFER, CaseAction.REFUSE_TRANSFER, CaseAction.WITHDRAW_TRANSFER]
        else:
            actions.append(CaseAction.TRANSFER)
        if self.escalated_at is None:
            actions.append(CaseAction.ESCALATE)
        actions.append(CaseAction.CLOSE)
        closable = tuple(
            o for o in ADMINISTRATIVE_OUTCOMES if o is not ClosureOutcome.LOST_TO_FOLLOW_UP or lost
        )
        settled = [
            CONTACT_OUTCOME_CLOSURES[a.contact_outcome]
            for a in self.attempts
            if a.contact_outcome in CONTACT_OUTCOME_CLOSURES
        ]
        return CaseState(
            program_code=program.code,
            rule_version=program.rule_version,
            status=status,
            current_step=self.step.code,
            track=self.track,
            due_at=due.due_at,
            warn_at=warning,
            due_set_at=due.set_at,
            age_limit_passed=due.age_limit_passed,
            days_overdue=days_overdue(due.due_at, as_of),
            escalated_at=self.escalated_at,
            transfer_pending=self.transfer_pending,
            transfer_to=self.transfer_to,
            attempts=tuple(self.attempts),
            lost_reason=ltfu_reason(self.attempts) if lost else None,
            suggested_outcome=settled[-1] if settled else None,
            outcome=None,
            closed_at=None,
            allowed_actions=tuple(str(a) for a in actions),
            allowed_results=self.step.result_codes,
            closable_outcomes=closable,
            overridden_settings=overridden,
            history=history,
            earliest_at=self.history[-1].earliest_at if self.history else None,
        )


def derive_case_state(
    program: Program,
    opened: OpenedCase,
    events: Sequence[CaseEventFact],
    as_of: datetime,
    overrides: Mapping[str, object] | None = None,
) -> CaseState:
    """Replay a case's events up to `as_of` and return its state.

    Events are taken in order of occurred_at (ties keep the given order), so a step recorded late
    with its true time lands where it happened; events after `as_of` are not yet known. An event
    that cannot happen raises CaseEventError: the service checks each new event with check_event.
    With no `overrides`, the case's own (the district's values in force at its opening) apply.
    """
    as_of = as_utc(as_of, "as_of")
    values = program.values(opened.overrides if overrides is None else overrides)
    opened_at = as_utc(opened.opened_at)
    replay = _Replay(program, opened, values)
    known = sorted((e for e in events if as_utc(e.occurred_at) <= as_of), key=lambda e: as_utc(e.occurred_at))
    for event in known:
        if as_utc(event.occurred_at) < opened_at:
            raise CaseEventError("BEFORE_OPENING", f"{event.kind} at {event.occurred_at} precedes the case")
        replay.apply(event)
    overridden = replay.due.overridden_settings if replay.due else ()
    return replay.snapshot(as_of, overridden)


def check_event(
    program: Program,
    opened: OpenedCase,
    events: Sequence[CaseEventFact],
    new_event: CaseEventFact,
    overrides: Mapping[str, object] | None = None,
) -> tuple[str, ...]:
    """Return why a new event cannot be appended (empty when it can); nothing is stored here."""
    everything = [*events, new_event]
    latest = max(as_utc(e.occurred_at) for e in everything)
    try:
        derive_case_state(program, opened, everything, latest, overrides)
    except CaseEventError as problem:
        return (f"{problem.code}: {problem}",)
    return ()


def escalation_threshold(
    program: Program, step_code: str, overrides: Mapping[str, object] | None = None
) -> timedelta:
    """Return how long past its due date a step may go before it is escalated."""
    step = program.step(step_code)
    values = program.values(overrides)
    return timedelta(days=values.whole(step.escalate_after_days or program.escalate_after_days))


def step_escalation_due(
    program: Program,
    step_code: str,
    due_at: datetime,
    as_of: datetime,
    overrides: Mapping[str, object] | None = None,
) -> bool:
    """Tell whether a step due at `due_at` is overdue by its threshold or more as of a moment."""
    as_of = as_utc(as_of, "as_of")
    due_at = as_utc(due_at, "due_at")
    return as_of > due_at and as_of - due_at >= escalation_threshold(program, step_code, overrides)


def escalation_due(
    program: Program, state: CaseState, as_of: datetime, overrides: Mapping[str, object] | None = None
) -> bool:
    """Tell a sweep whether an open, unescalated step is overdue by the program's threshold or more."""
    if (
        state.is_closed
        or state.escalated_at is not None
        or state.due_at is None
        or state.current_step is None
    ):
        return False
    return step_escalation_due(program, state.current_step, state.due_at, as_of, overrides)
