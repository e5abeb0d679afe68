"""Follow-up journeys walked with the engine once, then stamped out onto thousands of cases.

A journey is the list of events a case goes through after it opens (contact attempts, step results,
escalations by the daily sweep, a closure), with times as offsets from the opening. It is built by
walking the programme's own steps: every event is appended only after `check_event` accepts it and the
next deadline comes from `derive_case_state`, so each journey is one the services would have accepted.

Offsets stay valid for any opening time: the engine's rules read intervals and ages, and a journey is
stamped only onto a subject of the same age at opening. A case whose journey reaches past the moment
of generation is cut there and its state is derived by the engine for that very case (see generate.py);
a finished journey's closed state is the same wherever it is stamped.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random

from screenings.engine import (
    CaseEventFact,
    CaseReason,
    ClosureOutcome,
    ContactChannel,
    ContactOutcome,
    EventKind,
    OpenedCase,
    Program,
    StepKind,
    Subject,
    check_event,
    derive_case_state,
    reaches_family,
)

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
_MAX_EVENTS = 40
_NEGATIVE_OUTCOMES = {
    ClosureOutcome.NOT_CONFIRMED,
    ClosureOutcome.RESCREEN_NORMAL,
    ClosureOutcome.SCREENING_COMPLETED,
}
# Steps where someone has to reach the family first: every case gets a contact attempt there.
_CONTACT_STEPS = {StepKind.NOTIFY, StepKind.RECALL, StepKind.REFERRAL}


@dataclasses.dataclass(frozen=True)
class Fates:
    """How often, at each step, the family is not brought back (programs.md §0.4 and §8).

    Jinshan's recall rate rose from 56% to 86% (§8); Haidian's first attempt came at 15.9 days and the
    second at 43.8 days (§0.4). The defaults give a recall of about 85–90% per case.
    """

    lost: float = 0.03  # three attempts through two channels fail, the coordinator closes it as lost
    linger: float = 0.06  # attempts fail and nobody closes the case: it stays open and overdue
    refused: float = 0.01
    moved: float = 0.008
    died: float = 0.001
    late: float = 0.2  # the step is done after its deadline
    extra_attempts: float = 0.3  # a reaching attempt before a step that is not a recall


@dataclasses.dataclass(frozen=True)
class JEvent:
    """One event of a journey, at an offset from the opening."""

    kind: EventKind
    offset: dt.timedelta
    step: str | None = None
    result_code: str | None = None
    test: str | None = None  # a step done by a screening test: the stamp adds that result
    outcome: ClosureOutcome | None = None
    channel: ContactChannel | None = None
    contact_outcome: ContactOutcome | None = None
    reached: bool | None = None
    by_system: bool = False  # recorded by the daily sweep, not by a person

    def fact(self, opened_at: dt.datetime) -> CaseEventFact:
        return CaseEventFact(
            kind=self.kind,
            occurred_at=opened_at + self.offset,
            step=self.step,
            result_code=self.result_code,
            outcome=self.outcome,
            channel=self.channel,
            reached=self.reached,
            contact_outcome=self.contact_outcome,
        )


@dataclasses.dataclass(frozen=True)
class Journey:
    events: tuple[JEvent, ...]
    closed: bool
    outcome: ClosureOutcome | None
    track: str | None
    duration: dt.timedelta  # offset of the last event
    final_state: object = None  # the engine's CaseState after the last event


def _attempt(offset, channel, outcome, step) -> JEvent:
    return JEvent(
        EventKind.CONTACT_ATTEMPT,
        offset,
        step=step,
        channel=channel,
        contact_outcome=outcome,
        reached=reaches_family(outcome),
    )


class _Walk:
    def __init__(self, program: Program, opened: OpenedCase, rng: random.Random, fates: Fates, weights):
        self.program = program
        self.opened = opened
        self.rng = rng
        self.fates = fates
        self.weights = weights
        self.events: list[JEvent] = []
        self.facts: list[CaseEventFact] = []

    def add(self, event: JEvent) -> bool:
        fact = event.fact(self.opened.opened_at)
        if check_event(self.program, self.opened, self.facts, fact):
            return False
        self.events.append(event)
        self.facts.append(fact)
        return True

    def state(self, offset: dt.timedelta):
        return derive_case_state(self.program, self.opened, self.facts, self.opened.opened_at + offset)

    def pick_result(self, step) -> str:
        codes = step.result_codes
        table = self.weights.get(step.code)
        if table:
            known = [c for c in codes if c in table]
            return self.rng.choices(known, [table[c] for c in known])[0]
        weights = []
        for code in codes:
            transition = step.transition(code, self.opened.subject) if self._applies(step, code) else None
            if transition is None:
                weights.append(0.0)
            elif transition.outcome in _NEGATIVE_OUTCOMES:
                weights.append(3.0)
            elif transition.to_step == step.code:
                weights.append(0.5)  # a repeat of the same step (another visit, an invalid sample)
            else:
                weights.append(1.0)
        return self.rng.choices(codes, weights)[0]

    def _applies(self, step, code) -> bool:
        try:
            step.transition(code, self.opened.subject)
        except KeyError:
            return False
        return True

    def escalate_if_overdue(self, state, offset_done: dt.timedelta) -> None:
        """The daily sweep escalates a step once it is a week overdue (the programme's threshold)."""
        if state.is_closed or state.due_at is None:
            return
        threshold = self.program.values(None).whole(self.program.escalate_after_days)
        at = state.due_at + dt.timedelta(days=threshold) + HOUR
        offset = at - self.opened.opened_at
        if state.escalated_at is None and offset < offset_done and offset > self.events_end():
            self.add(JEvent(EventKind.ESCALATED, offset, step=state.current_step, by_system=True))

    def events_end(self) -> dt.timedelta:
        return self.events[-1].offset if self.events else dt.timedelta(0)

    def run(self) -> Journey:
        rng, fates = self.rng, self.fates
        offset = dt.timedelta(minutes=30)
        while len(self.events) < _MAX_EVENTS:
            state = self.state(offset)
            if state.is_closed:
                break
            step = self.program.step(state.current_step)
            entered = max(offset, state.due_set_at - self.opened.opened_at) if state.due_set_at else offset
            window = max(state.due_at - self.opened.opened_at - entered, HOUR)
            roll = rng.random()
            if roll < fates.linger:
                self._linger(step, entered, window)
                break
            roll -= fates.linger
            if roll < fates.lost:
                if self._lost(step, entered, window, state):
                    continue
                self._linger(step, entered, window)
                break
            roll -= fates.lost
            if roll < fates.refused + fates.moved + fates.died:
                self._settled(step, entered, window, roll, fates)
                continue
            # The step gets done, on time or late.
            if rng.random() < fates.late:
                done = state.due_at - self.opened.opened_at + DAY * rng.uniform(1, 45)
            else:
                done = entered + window * rng.uniform(0.15, 0.95)
            if step.kind in _CONTACT_STEPS or rng.random() < fates.extra_attempts:
                self._reach(step, entered, done)
            self.escalate_if_overdue(state, done)
            code = self.pick_result(step)
            done = max(done, self.events_end() + dt.timedelta(minutes=10))
            if not self.add(
                JEvent(EventKind.STEP_RESULT, done, step=step.code, result_code=code, test=step.test)
            ):
                break
            offset = done
        final = self.state(self.events_end() + dt.timedelta(minutes=1))
        return Journey(
            events=tuple(self.events),
            closed=final.is_closed,
            outcome=final.outcome,
            track=final.track,
            duration=self.events_end(),
            final_state=final,
        )

    def _reach(self, step, entered, done) -> None:
        rng = self.rng
        misses = rng.choice([0, 0, 0, 1, 1, 2])
        span = max(done - entered, HOUR)
        for index in range(misses + 1):
            at = entered + span * ((index + 1) / (misses + 2))
            at = max(at, self.events_end() + dt.timedelta(minutes=5))
            outcome = ContactOutcome.REACHED if index == misses else ContactOutcome.NO_ANSWER
            self.add(_attempt(at, rng.choice([ContactChannel.PHONE, ContactChannel.SMS]), outcome, step.code))

    def _failed_attempts(self, step, entered, count: int) -> dt.timedelta:
        # Haidian: first attempt at about 16 days, the second at about 44 (§0.4); here a bit sooner.
        at = max(entered, self.events_end()) + DAY * self.rng.uniform(1, 5)
        channels = [
            ContactChannel.PHONE,
            ContactChannel.SMS,
            ContactChannel.HOME_VISIT,
            ContactChannel.COMMUNITY,
        ]
        for index in range(count):
            channel = channels[index] if index < 2 else self.rng.choice(channels[2:])
            outcome = self.rng.choice([ContactOutcome.NO_ANSWER, ContactOutcome.WRONG_CONTACT])
            self.add(_attempt(at, channel, outcome, step.code))
            at += DAY * self.rng.uniform(7, 12)
        return self.events_end()

    def _linger(self, step, entered, window) -> None:
        """Nobody reaches the family and nobody closes the case: it stays open, overdue, escalated."""
        self._failed_attempts(step, entered, self.rng.choice([1, 2, 3, 3]))
        state = self.state(self.events_end())
        self.escalate_if_overdue(state, dt.timedelta(days=10_000))

    def _lost(self, step, entered, window, state) -> bool:
        last = self._failed_attempts(step, entered, 3)
        due = state.due_at - self.opened.opened_at
        self.escalate_if_overdue(state, max(last, due) + DAY * 3)
        close_at = max(last, due, self.events_end()) + DAY * self.rng.uniform(3, 20)
        return self.add(
            JEvent(EventKind.CLOSED, close_at, step=step.code, outcome=ClosureOutcome.LOST_TO_FOLLOW_UP)
        )

    def _settled(self, step, entered, window, roll, fates) -> None:
        if roll < fates.refused:
            outcome, contact = ClosureOutcome.REFUSED, ContactOutcome.REFUSED
        elif roll < fates.refused + fates.moved:
            outcome, contact = ClosureOutcome.MOVED_AWAY, ContactOutcome.MOVED_AWAY
        else:
            outcome, contact = ClosureOutcome.DIED, ContactOutcome.DIED
        at = max(entered, self.events_end()) + window * self.rng.uniform(0.1, 0.6)
        self.add(_attempt(at, ContactChannel.PHONE, contact, step.code))
        self.add(
            JEvent(EventKind.CLOSED, at + DAY * self.rng.uniform(0.5, 5), step=step.code, outcome=outcome)
        )


def build_journeys(
    program: Program,
    opened: OpenedCase,
    rng: random.Random,
    count: int,
    fates: Fates | None = None,
    weights: dict | None = None,
) -> list[Journey]:
    """Walk `count` journeys of a case opened like `opened`, each checked event by event by the engine."""
    return [_Walk(program, opened, rng, fates or Fates(), weights or {}).run() for _ in range(count)]


@dataclasses.dataclass(frozen=True)
class Opening:
    """What a case's journeys depend on: programme, reason, first step, track, subject, booked date."""

    program: str
    reason: CaseReason
    first_step: str
    track: str | None
    subject: Subject
    age_at_open: dt.timedelta | None  # exact for newborns and infants (their deadlines are ages)
    scheduled_offset: dt.timedelta | None
    result_code: str | None

    def opened(self, opened_at: dt.datetime, subject: Subject | None = None) -> OpenedCase:
        return OpenedCase(
            reason=self.reason,
            first_step=self.first_step,
            opened_at=opened_at,
            subject=subject or self.subject,
            result_code=self.result_code,
            track=self.track,
            scheduled_due_at=None if self.scheduled_offset is None else opened_at + self.scheduled_offset,
        )
