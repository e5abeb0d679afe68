"""The frozen dataclasses a program module is written in: tests, steps, deadlines, policies."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Any

from .messages import Message
from .settings import Setting, SettingValues
from .vocabulary import (
    CaseReason,
    Choice,
    ClosureOutcome,
    ContactChannel,
    FieldError,
    FieldKind,
    Notice,
    Sex,
    StepKind,
    Subject,
    SubjectKind,
    TimeUnit,
)

if TYPE_CHECKING:  # the indicator declarations import this module's result codes
    from .indicators import Indicator
    from .milestones import MilestoneRule

# A transition target that resumes the program's routine schedule after a detour
# (e.g. an exposed infant's positive NAT that the confirmatory test did not confirm).
NEXT_IN_SCHEDULE = "NEXT_IN_SCHEDULE"


@dataclass(frozen=True, slots=True)
class Field:
    """One input of a test, with the range a plausible value falls in."""

    name: str
    kind: FieldKind
    zh: str
    en: str
    unit: str = ""
    min_value: Decimal | int | None = None  # plausible range; TEXT uses max_value as maximum length
    max_value: Decimal | int | None = None
    choices: tuple[Choice, ...] = ()
    required: bool = True
    # (other field, its values): when set, this decides whether the field is required, not `required`.
    # The values are the other field's typed values (a code, True/False), None standing for left empty.
    required_when: tuple[str, tuple[str | bool | None, ...]] | None = None
    # A time of the subject's own test: one before the subject's birth is refused with the other field errors.
    not_before_birth: bool = False

    def choice(self, code: str) -> Choice:
        """Return the choice with this code."""
        for choice in self.choices:
            if choice.code == code:
                return choice
        raise KeyError(f"field {self.name} has no choice {code!r}")


@dataclass(frozen=True, slots=True)
class SubjectTrait:
    """A fact about the subject that one of a test's fields tells, which the program's later rules read.

    `read` is the program's small pure function from the field's typed value to the trait's value
    (a JSON scalar or a tuple of them); the value itself when absent. An empty value, or `read`
    returning None, tells nothing, so what an earlier result told stays.
    """

    name: str
    zh: str
    en: str
    field: str
    read: Callable[[object], object] | None = None

    def value_in(self, values: Mapping[str, object]) -> object | None:
        """Return what these values tell of the trait, or None when they tell nothing."""
        raw = values.get(self.field)
        if raw is None or raw == () or raw == "":
            return None
        return raw if self.read is None else self.read(raw)


@dataclass(frozen=True, slots=True)
class ResultCode:
    """A test's result code and what it sets in motion."""

    code: str
    zh: str
    en: str
    opens_case: bool = False
    case_reason: CaseReason | None = None
    first_step: str | None = None
    exposes_infant: bool = False  # PMTCT: the mother's delivery opens the infant's case


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a program's classify function decides; the engine adds the declared consequences."""

    result_code: str | None
    findings: tuple[str, ...] = ()  # component codes, e.g. ("MURMUR_POS", "POX_REPEAT")
    warnings: tuple[Notice, ...] = ()
    errors: tuple[FieldError, ...] = ()
    first_step: str | None = None  # overrides the result code's first step (e.g. straight to diagnosis)
    track: str | None = None  # selects a step's alternative deadline (e.g. URGENT)
    case_reason: CaseReason | None = None  # opens a case the result code alone would not
    opens_case: bool | None = None  # None: as the result code declares
    scheduled_due_at: datetime | None = None  # a booked date for the first step (an appointment)


ClassifyFunction = Callable[[Mapping[str, object], Subject, SettingValues], Verdict]


@dataclass(frozen=True, slots=True)
class ScreeningTest:
    """One test of a program: its inputs, result codes and the pure function that classifies."""

    code: str
    zh: str
    en: str
    fields: tuple[Field, ...]
    result_codes: tuple[ResultCode, ...]
    classify: ClassifyFunction
    findings: tuple[Choice, ...] = ()
    performed_field: str | None = None  # the DATE/DATETIME field that says when it was done
    subject_traits: tuple[SubjectTrait, ...] = ()  # which fields describe the subject, not the test

    def traits_told(self, values: Mapping[str, object]) -> dict[str, object]:
        """Return the subject traits these typed values tell, by trait name (untold ones left out)."""
        told = {trait.name: trait.value_in(values) for trait in self.subject_traits}
        return {name: value for name, value in told.items() if value is not None}

    def field(self, name: str) -> Field:
        """Return the input field with this name."""
        for candidate in self.fields:
            if candidate.name == name:
                return candidate
        raise KeyError(f"test {self.code} has no field {name!r}")

    def result(self, code: str) -> ResultCode:
        """Return the declared result code."""
        for candidate in self.result_codes:
            if candidate.code == code:
                return candidate
        raise KeyError(f"test {self.code} has no result code {code!r}")


@dataclass(frozen=True, slots=True)
class Deadline:
    """When a step is due: after the previous event and/or by an age; the earlier one wins."""

    after_previous: Setting | None = None
    after_previous_unit: TimeUnit = TimeUnit.DAYS
    by_age: Setting | None = None
    by_age_unit: TimeUnit = TimeUnit.DAYS
    # The relative limit runs from leaving this earlier step (or from the case's opening when the case
    # never stood there), not from the previous event: maternal ART runs from confirmation (§6.3 row 3).
    after_step: str | None = None

    def __post_init__(self) -> None:
        if self.after_previous is None and self.by_age is None:
            raise ValueError("a deadline needs a relative or an age limit")
        if self.by_age_unit is TimeUnit.WORKING_DAYS:
            raise ValueError("ages are not counted in working days")

    @property
    def settings(self) -> tuple[Setting, ...]:
        """Return the settings this deadline reads."""
        return tuple(s for s in (self.after_previous, self.by_age) if s is not None)


def within(setting: Setting, unit: TimeUnit = TimeUnit.DAYS) -> Deadline:
    """Build a deadline relative to the event that entered the step."""
    return Deadline(after_previous=setting, after_previous_unit=unit)


def by_age(setting: Setting, unit: TimeUnit = TimeUnit.DAYS) -> Deadline:
    """Build a deadline at an age of the subject."""
    return Deadline(by_age=setting, by_age_unit=unit)


def within_and_by_age(
    relative: Setting, relative_unit: TimeUnit, age: Setting, age_unit: TimeUnit = TimeUnit.DAYS
) -> Deadline:
    """Build a deadline that is the earlier of a relative and an age limit."""
    return Deadline(relative, relative_unit, age, age_unit)


@dataclass(frozen=True, slots=True)
class Transition:
    """A step result and where it leads: the next step, or closure with an outcome."""

    result: str
    zh: str
    en: str
    to_step: str | None = None
    outcome: ClosureOutcome | None = None
    when: Callable[[Subject], bool] | None = None  # taken only when true for the subject
    deadline: Deadline | None = None  # replaces the next step's own deadline
    sets_track: str | None = None

    def __post_init__(self) -> None:
        if (self.to_step is None) == (self.outcome is None):
            raise ValueError(f"transition {self.result}: give exactly one of to_step and outcome")


def goto(
    result: str,
    zh: str,
    en: str,
    step: str,
    *,
    when: Callable[[Subject], bool] | None = None,
    deadline: Deadline | None = None,
    sets_track: str | None = None,
) -> Transition:
    """Build a transition to a next step."""
    return Transition(result, zh, en, to_step=step, when=when, deadline=deadline, sets_track=sets_track)


def close(
    result: str, zh: str, en: str, outcome: ClosureOutcome, *, when: Callable[[Subject], bool] | None = None
) -> Transition:
    """Build a transition that closes the case."""
    return Transition(result, zh, en, outcome=outcome, when=when)


@dataclass(frozen=True, slots=True)
class Step:
    """A follow-up step: its deadline and the results that move the case on."""

    code: str
    zh: str
    en: str
    kind: StepKind
    deadline: Deadline
    transitions: tuple[Transition, ...]
    track_deadlines: tuple[tuple[str, Deadline], ...] = ()
    test: str | None = None  # the test whose result codes this step records
    # The step is recorded by entering its test's measured values (SpO2 readings), which the test
    # classifies; a bare result code is the exception, not the case page's next action.
    entered_as_test: bool = False
    accepts_scheduled_due: bool = False  # "per clinician": a booked date replaces the relative deadline
    escalate_after_days: Setting | None = None  # replaces the program's threshold for this step
    # Not before: the later of its relative and its age limit (a serology drawn too early is flagged).
    earliest: Deadline | None = None

    def deadline_for(self, track: str | None) -> Deadline:
        """Return the deadline for the case's track."""
        for name, deadline in self.track_deadlines:
            if name == track:
                return deadline
        return self.deadline

    @property
    def result_codes(self) -> tuple[str, ...]:
        """Return the distinct result codes this step accepts, in declaration order."""
        return tuple(dict.fromkeys(t.result for t in self.transitions))

    def transition(self, result: str, subject: Subject | None = None) -> Transition:
        """Return the transition a result takes for this subject."""
        candidates = [t for t in self.transitions if t.result == result]
        if not candidates:
            raise KeyError(f"step {self.code} has no result {result!r}")
        for candidate in candidates:
            if candidate.when is None or (subject is not None and candidate.when(subject)):
                return candidate
        raise KeyError(f"step {self.code}: no transition for {result!r} applies to this subject")


@dataclass(frozen=True, slots=True)
class Eligibility:
    """Who a program screens: the subject kinds and an age window in completed units."""

    kinds: tuple[SubjectKind, ...]
    min_age: Setting | None = None
    max_age: Setting | None = None
    age_unit: TimeUnit = TimeUnit.YEARS
    description: str = ""


@dataclass(frozen=True, slots=True)
class RoutineRecall:
    """A normal primary screen of this test sets the person's next routine screen, `interval` years on."""

    test: str
    results: tuple[str, ...]  # the result codes after which the person returns to routine screening
    interval: Setting  # years


@dataclass(frozen=True, slots=True)
class ScreeningWindow:
    """When the primary screen is due, so a sweep can find births with no screen (漏筛)."""

    test: str
    due_age: Setting
    due_unit: TimeUnit
    missed_step: str
    earliest_age: Setting | None = None
    earliest_unit: TimeUnit = TimeUnit.HOURS
    missed_after_age: Setting | None = None  # when absent, missed as soon as due_age has passed
    missed_after_unit: TimeUnit = TimeUnit.DAYS
    missed_track: str | None = None  # the track a missed-screening case starts on


@dataclass(frozen=True, slots=True)
class MaternalDecision:
    """What the mother's own record decides at one of her infant's steps (e.g. prophylaxis, §6.4 row 7)."""

    reason: str  # a message code of the program: why (mother untreated, non-penicillin, treated late …)
    refused_results: tuple[str, ...] = ()  # infant step results the mother's record rules out
    data: Mapping[str, object] = dataclass_field(default_factory=dict, hash=False)  # stored on the event


# (the mother's step results of the program, in time order; the delivery time; the settings in force)
MaternalRule = Callable[[Sequence[Any], datetime, SettingValues], MaternalDecision]


@dataclass(frozen=True, slots=True)
class ExposedInfantPlan:
    """PMTCT: which maternal results open the exposed infant's case, and its routine schedule."""

    first_step: str
    schedule: tuple[str, ...]  # the routine path, in order; NEXT_IN_SCHEDULE resumes along it
    schedule_end_outcome: ClosureOutcome = ClosureOutcome.NOT_CONFIRMED  # resumed past the last step
    # A maternal result this long after a birth still belongs to that pregnancy (tests at labour).
    delivery_testing_margin: timedelta = timedelta(0)
    # Step results that make the mother positive as surely as an exposing result does ("this mother is
    # positive"): a confirmation or a clinical judgement recorded on her case opens the infant's plan too.
    exposing_steps: tuple[tuple[str, str], ...] = ()
    # An infant step decided from the mother's own record rather than left to choice: the step and the
    # program's pure rule over the mother's step results (engine CaseEventFacts) and the delivery time.
    maternal_step: str | None = None
    maternal_rule: MaternalRule | None = dataclass_field(default=None, hash=False, compare=False)

    def exposes(self, step: str | None, result: str | None) -> bool:
        """Tell whether recording this result at this step makes the mother positive."""
        return (step, result) in self.exposing_steps


@dataclass(frozen=True, slots=True)
class LtfuPolicy:
    """When a case counts as lost to follow-up (§0.4)."""

    min_attempts: Setting
    min_channels: Setting
    min_span_days: Setting
    require_overdue: bool = True
    visit_channels: frozenset[ContactChannel] = frozenset(
        {ContactChannel.HOME_VISIT, ContactChannel.COMMUNITY}
    )

    @property
    def settings(self) -> tuple[Setting, ...]:
        """Return the settings of the policy."""
        return (self.min_attempts, self.min_channels, self.min_span_days)


@dataclass(frozen=True)
class Program:
    """Everything programs.md says about one screening program, as data."""

    code: str
    zh: str
    en: str
    rule_version: str
    eligibility: Eligibility
    tests: tuple[ScreeningTest, ...]
    steps: tuple[Step, ...]
    ltfu_policy: LtfuPolicy
    warn_fraction: Setting
    escalate_after_days: Setting
    indicators: tuple[Indicator, ...]
    settings: tuple[Setting, ...]
    tracks: tuple[Choice, ...] = ()
    screening_window: ScreeningWindow | None = None
    exposed_infant: ExposedInfantPlan | None = None
    # Routine recall (women's screening): which normal primary results set the next screen, and when.
    routine_recall: tuple[RoutineRecall, ...] = ()
    sources: str = ""
    # Results and cases only the users who work on the program may open; others break the glass.
    restricted: bool = False
    # What the screens say about the program's concepts, by notice/error/refusal code (engine.messages).
    messages: Mapping[str, Message] = dataclass_field(default_factory=dict, hash=False, compare=False)
    # Which step results set the cascade milestones (positive, recalled … treated) of the fact table.
    milestones: tuple[MilestoneRule, ...] = ()

    def test(self, code: str) -> ScreeningTest:
        """Return the test with this code."""
        found = self._tests.get(code)
        if found is None:
            raise KeyError(f"program {self.code} has no test {code!r}; known: {', '.join(self._tests)}")
        return found

    def step(self, code: str) -> Step:
        """Return the follow-up step with this code."""
        found = self._steps.get(code)
        if found is None:
            raise KeyError(f"program {self.code} has no step {code!r}; known: {', '.join(self._steps)}")
        return found

    def setting(self, name: str) -> Setting:
        """Return a setting by its full name or by its key within the program."""
        full = name if "." in name else f"{self.code}.{name}"
        for setting in self.settings:
            if setting.name == full:
                return setting
        raise KeyError(f"program {self.code} has no setting {name!r}")

    @property
    def subjects_sex(self) -> Sex | None:
        """The sex every subject of the program has: female for a women's program (two cancers), else None.

        A program that follows its mothers' infants (PMTCT) screens boys too.
        """
        women = {SubjectKind.WOMAN, SubjectKind.PREGNANT_WOMAN}
        if self.exposed_infant is None and self.eligibility.kinds and set(self.eligibility.kinds) <= women:
            return Sex.FEMALE
        return None

    @cached_property
    def subject_traits(self) -> dict[str, SubjectTrait]:
        """Return the traits the program's tests declare, by name (labels for pages and exports)."""
        return {trait.name: trait for test in self.tests for trait in reversed(test.subject_traits)}

    @cached_property
    def _tests(self) -> dict[str, ScreeningTest]:
        return {t.code: t for t in self.tests}

    @cached_property
    def _steps(self) -> dict[str, Step]:
        return {s.code: s for s in self.steps}

    def values(self, overrides: Mapping[str, object] | None) -> SettingValues:
        """Return this program's setting values with a district's overrides applied."""
        return SettingValues.resolve(self.settings, overrides)
