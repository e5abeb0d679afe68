"""Small composable predicates over a fact row: the language an indicator's numerator is written in.

Each predicate is a frozen dataclass of plain values, so the Python evaluator here and a later SQL
compiler walk the same tree: `Has`, `ResultIs`, `ResultClassIs`, `Finding`, `SubjectIs`, `Within`,
`Before`, `AgeAtLeast` are the leaves; `And`, `Or`, `Not` combine them (also as ``&``, ``|``, ``~``).
A limit given as a `Setting` follows the district's override of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from .milestones import NEVER_LOST, EpisodeFacts, Milestone, ResultClass
from .settings import Setting, SettingValues
from .times import add_calendar_months
from .vocabulary import ClosureOutcome, SubjectKind

Limit = int | Setting


@dataclass(frozen=True, slots=True)
class Context:
    """What a predicate may read besides the row: the settings in force and the day figures are as of."""

    as_of: date
    values: SettingValues = SettingValues()

    def whole(self, limit: Limit) -> int:
        """Return a limit as a whole number, reading a setting's value in force."""
        return self.values.whole(limit) if isinstance(limit, Setting) else limit


class Predicate:
    """A condition on one fact row."""

    __slots__ = ()

    def holds(self, facts: EpisodeFacts, context: Context) -> bool:
        """Tell whether the row meets the condition."""
        raise NotImplementedError

    def children(self) -> tuple[Predicate, ...]:
        """Return the predicates this one combines (none for a leaf)."""
        return ()

    def names(self) -> Iterator[str]:
        """Yield the milestone and step names this predicate reads."""
        for child in self.children():
            yield from child.names()

    def settings(self) -> Iterator[Setting]:
        """Yield the settings this predicate reads."""
        for child in self.children():
            yield from child.settings()

    def __and__(self, other: Predicate) -> And:
        return And(self, other)

    def __or__(self, other: Predicate) -> Or:
        return Or(self, other)

    def __invert__(self) -> Not:
        return Not(self)


@dataclass(frozen=True, slots=True)
class Has(Predicate):
    """The milestone or step was reached."""

    name: str

    def holds(self, facts: EpisodeFacts, context: Context) -> bool:
        return facts.mark(self.name) is not None

    def names(self) -> Iterator[str]:
        yield self.name


@dataclass(frozen=True, slots=True)
class ResultIs(Predicate):
    """The milestone or step was reached with one of these result codes."""

    name: str
    codes: tuple[str, ...]

    def __init__(self, name: str, *codes: str) -> None:
        if not codes:
            raise ValueError(f"ResultIs({name!r}) needs at least one code; use Has() for any result")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "codes", tuple(codes))

    def holds(self, facts: EpisodeFacts, context: Context) -> bool:
        mark = facts.mark(self.name)
        return mark is not None and mark.code in self.codes

    def names(self) -> Iterator[str]:
        yield self.name


@dataclass(frozen=True, slots=True)
class ResultClassIs(Predicate):
    """The primary screen's result falls in one of these classes."""

    classes: tuple[ResultClass, ...]

    def __init__(self, *classes: ResultClass) -> None:
        object.__setattr__(self, "classes", tuple(ResultClass(c) for c in classes))

    def holds(self, facts: EpisodeFacts, context: Context) -> bool:
        return facts.result_class in self.classes


@dataclass(frozen=True, slots=True)
class Finding(Predicate):
    """The primary screen carries one of these findings."""

    codes: tuple[str, ...]

    def __init__(self, *codes: str) -> None:
        object.__setattr__(self, "codes", tuple(codes))

    def holds(self, facts: EpisodeFacts, context: Context) -> bool:
        return not facts.findings.isdisjoint(self.codes)


@dataclass(frozen=True, slots=True)
class SubjectIs(Predicate):
    """The episode is about a subject of one of these kinds (a PMTCT mother or her exposed infant)."""

    kinds: tuple[SubjectKind, ...]

    def __init__(self, *kinds: SubjectKind) -> None:
        object.__setattr__(self, "kinds", tuple(SubjectKind(k) for k in kinds))

    def holds(self, facts: EpisodeFacts, context: Context) -> bool:
        return facts.subject in self.kinds


@dataclass(frozen=True, slots=True)
class Within(Predicate):
    """The milestone came at most `days` (local calendar days) or `hours` after `from_`, not before it."""

    name: str
    days: Limit | None = None
    hours: Limit | None = None
    from_: str = Milestone.BORN

    def __post_init__(self) -> None:
        if (self.days is None) == (self.hours is None):
            raise ValueError("Within needs exactly one of days and hours")

    def holds(self, facts: EpisodeFacts, context: Context) -> bool:
        mark, start = facts.mark(self.name), facts.mark(self.from_)
        if mark is None or start is None:
            return False
        if self.days is not None:
            return 0 <= (mark.on - start.on).days <= context.whole(self.days)
        assert self.hours is not None
        return timedelta(0) <= mark.at - start.at <= timedelta(hours=context.whole(self.hours))

    def names(self) -> Iterator[str]:
        yield self.name
        yield self.from_

    def settings(self) -> Iterator[Setting]:
        yield from (s for s in (self.days, self.hours) if isinstance(s, Setting))


@dataclass(frozen=True, slots=True)
class Before(Predicate):
    """The milestone came on or before the local day of `other` (tested before or at delivery)."""

    name: str
    other: str

    def holds(self, facts: EpisodeFacts, context: Context) -> bool:
        mark, other = facts.mark(self.name), facts.mark(self.other)
        return mark is not None and other is not None and mark.on <= other.on

    def names(self) -> Iterator[str]:
        yield self.name
        yield self.other


@dataclass(frozen=True, slots=True)
class AgeAtLeast(Predicate):
    """The subject has reached this age by the day figures are as of (exposed infants reaching 18 months)."""

    days: Limit | None = None
    months: Limit | None = None

    def __post_init__(self) -> None:
        if (self.days is None) == (self.months is None):
            raise ValueError("AgeAtLeast needs exactly one of days and months")

    def holds(self, facts: EpisodeFacts, context: Context) -> bool:
        born = facts.mark(Milestone.BORN)
        if born is None:
            return False
        if self.days is not None:
            return born.on + timedelta(days=context.whole(self.days)) <= context.as_of
        assert self.months is not None
        return add_calendar_months(born.on, context.whole(self.months)) <= context.as_of

    def names(self) -> Iterator[str]:
        yield Milestone.BORN

    def settings(self) -> Iterator[Setting]:
        yield from (s for s in (self.days, self.months) if isinstance(s, Setting))


@dataclass(frozen=True, slots=True)
class And(Predicate):
    """Every part holds."""

    parts: tuple[Predicate, ...]

    def __init__(self, *parts: Predicate) -> None:
        object.__setattr__(self, "parts", tuple(parts))

    def holds(self, facts: EpisodeFacts, context: Context) -> bool:
        return all(p.holds(facts, context) for p in self.parts)

    def children(self) -> tuple[Predicate, ...]:
        return self.parts


@dataclass(frozen=True, slots=True)
class Or(Predicate):
    """At least one part holds."""

    parts: tuple[Predicate, ...]

    def __init__(self, *parts: Predicate) -> None:
        object.__setattr__(self, "parts", tuple(parts))

    def holds(self, facts: EpisodeFacts, context: Context) -> bool:
        return any(p.holds(facts, context) for p in self.parts)

    def children(self) -> tuple[Predicate, ...]:
        return self.parts


@dataclass(frozen=True, slots=True)
class Not(Predicate):
    """The part does not hold."""

    part: Predicate

    def holds(self, facts: EpisodeFacts, context: Context) -> bool:
        return not self.part.holds(facts, context)

    def children(self) -> tuple[Predicate, ...]:
        return (self.part,)


def OutcomeIs(*outcomes: ClosureOutcome) -> ResultIs:  # noqa: N802 (reads like the other predicates)
    """Return the predicate "follow-up closed with one of these outcomes"."""
    return ResultIs(Milestone.CLOSED, *(ClosureOutcome(o) for o in outcomes))


# Lost to follow-up, and never a death, a move or a refusal (§0.4); the fact row refuses both at once,
# the predicate says it again so that a SQL compiler walking it keeps the rule.
LOST = And(Has(Milestone.LOST), Not(OutcomeIs(*sorted(NEVER_LOST))))

__all__ = [
    "LOST",
    "AgeAtLeast",
    "And",
    "Before",
    "Context",
    "Finding",
    "Has",
    "Limit",
    "Not",
    "Or",
    "OutcomeIs",
    "Predicate",
    "ResultClassIs",
    "ResultIs",
    "SubjectIs",
    "Within",
]
