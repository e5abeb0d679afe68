"""Factories for the engine and program tests: subjects, events, and a walker for case journeys."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime

import pytest

from screenings.engine import (
    CaseEventFact,
    CaseState,
    ClosureOutcome,
    ContactChannel,
    ContactOutcome,
    EventKind,
    OpenedCase,
    Program,
    Sex,
    Subject,
    SubjectKind,
    Traits,
    derive_case_state,
)
from screenings.programs import newborn_hearing as hearing

# Monday 2 March 2026, 09:00 in Shanghai: a birth time that makes hour and working-day sums easy to read.
BIRTH_AT = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@pytest.fixture
def birth_at() -> datetime:
    return BIRTH_AT


@pytest.fixture
def make_newborn() -> Callable[..., Subject]:
    def make(
        birth_at: datetime | None = BIRTH_AT,
        *,
        nicu: bool = False,
        risk_factors: tuple[str, ...] = (),
        has_address: bool = True,
        kind: SubjectKind = SubjectKind.NEWBORN,
        birth_on: date = date(2026, 3, 2),
        traits: Mapping[str, object] | None = None,
    ) -> Subject:
        # nicu and risk_factors: what a hearing screen told of the baby, as that program's traits
        told: dict[str, object] = dict(traits or {})
        if nicu:
            told[hearing.NICU_STAY] = True
        if risk_factors:
            told[hearing.RISK_FACTOR_TRAIT] = risk_factors
        return Subject(kind, Sex.FEMALE, birth_at, birth_on, Traits(told), has_address)

    return make


@pytest.fixture
def make_woman() -> Callable[..., Subject]:
    def make(
        birth_on: date = date(1980, 6, 15), *, pregnant: bool = False, has_address: bool = True
    ) -> Subject:
        kind = SubjectKind.PREGNANT_WOMAN if pregnant else SubjectKind.WOMAN
        return Subject(kind, Sex.FEMALE, None, birth_on, has_address=has_address)

    return make


@pytest.fixture
def make_child() -> Callable[..., Subject]:
    def make(birth_on: date = date(2024, 1, 15)) -> Subject:
        return Subject(SubjectKind.CHILD, Sex.MALE, None, birth_on)

    return make


@pytest.fixture
def step_result() -> Callable[..., CaseEventFact]:
    def make(occurred_at: datetime, result: str, step: str | None = None, **data: object) -> CaseEventFact:
        return CaseEventFact(EventKind.STEP_RESULT, occurred_at, step=step, result_code=result, data=data)

    return make


@pytest.fixture
def contact() -> Callable[..., CaseEventFact]:
    def make(
        occurred_at: datetime, channel: ContactChannel, outcome: ContactOutcome = ContactOutcome.NO_ANSWER
    ) -> CaseEventFact:
        reached = outcome in (ContactOutcome.REACHED, ContactOutcome.REFUSED, ContactOutcome.MOVED_AWAY)
        return CaseEventFact(
            EventKind.CONTACT_ATTEMPT, occurred_at, channel=channel, contact_outcome=outcome, reached=reached
        )

    return make


Leg = tuple[datetime, str, str, "str | ClosureOutcome", "datetime | None"]


@pytest.fixture
def walk() -> Callable[..., CaseState]:
    """Run a journey: each leg records a step's result and checks where the case goes and when it is due.

    A leg is (when, step being completed, result, next step or closing outcome, next due date or None).
    """

    def run(program: Program, opened: OpenedCase, legs: Sequence[Leg]) -> CaseState:
        events: list[CaseEventFact] = []
        state = derive_case_state(program, opened, events, opened.opened_at)
        for when, step, result, then, due in legs:
            assert state.current_step == step, f"expected to be at {step}, case is at {state.current_step}"
            assert result in state.allowed_results
            events.append(CaseEventFact(EventKind.STEP_RESULT, when, step=step, result_code=result))
            state = derive_case_state(program, opened, events, when)
            if isinstance(then, ClosureOutcome):
                assert state.outcome is then and state.current_step is None and state.due_at is None
            else:
                assert state.current_step == then, f"{step}/{result} led to {state.current_step}, not {then}"
                assert state.due_at == due, f"{then} due {state.due_at}, expected {due}"
                assert state.due_set_at == when
        replayed = derive_case_state(program, opened, list(reversed(events)), events[-1].occurred_at)
        assert replayed == state  # the order events are handed over in does not matter, their times do
        return state

    return run
