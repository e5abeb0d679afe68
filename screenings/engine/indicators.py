"""Indicator declarations over milestones, and the reference evaluator over fact rows.

A program declares each indicator of programs.md as data: which rows are its denominator, which of
those its numerator (predicates over milestones), its unit, its target with the comparison and the
evidence tag the target's `Setting` carries, and the period basis (birth cohort, delivery or event
period: which milestone's date puts a row in the period). An indicator the data cannot support says
why (`unsupported`) and is never given a number.

`evaluate` counts plain fact rows in Python. It is the reference the set-based SQL engine is checked
against, and what the tests use: same declarations, same rows, same figures.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from .milestones import EpisodeFacts, Milestone, MilestoneRule
from .predicates import Context, Predicate
from .settings import Setting, SettingValues
from .vocabulary import CohortBasis, IndicatorUnit, TargetComparison

_SCALE = {
    IndicatorUnit.PERCENT: Decimal(100),
    IndicatorUnit.PER_MILLE: Decimal(1000),
    IndicatorUnit.PER_100K: Decimal(100000),
}


@dataclass(frozen=True, slots=True)
class Period:
    """Which rows a period holds: those whose `dated_by` milestone falls in it."""

    basis: CohortBasis
    dated_by: str


BIRTH_COHORT = Period(CohortBasis.BIRTH_COHORT, Milestone.BORN)
DELIVERY_PERIOD = Period(CohortBasis.DELIVERY_PERIOD, Milestone.DELIVERED)


def event_period(milestone: str = Milestone.SCREENED) -> Period:
    """Return the event-period basis dated by a milestone (screened, by default)."""
    return Period(CohortBasis.EVENT_PERIOD, milestone)


@dataclass(frozen=True, slots=True)
class Population:
    """A denominator that is not in the facts: a figure the administrator enters for the period.

    The target population of two-cancer screening, the children under management for autism, the
    district's live births for congenital syphilis: `evaluate` reads them from `populations`.
    """

    key: str
    zh: str
    en: str


class Statistic(StrEnum):
    MEDIAN = "MEDIAN"
    P90 = "P90"


_QUANTILE = {Statistic.MEDIAN: Decimal("0.5"), Statistic.P90: Decimal("0.9")}


@dataclass(frozen=True, slots=True)
class DaysBetween:
    """A measure: local calendar days from one milestone to another (age in days from ``born``)."""

    to: str
    from_: str = Milestone.BORN

    def of(self, facts: EpisodeFacts) -> int | None:
        """Return the number of days for one row, or None when either milestone is missing."""
        end, start = facts.mark(self.to), facts.mark(self.from_)
        return None if end is None or start is None else (end.on - start.on).days


class Counting(StrEnum):
    EPISODES = "EPISODES"
    PERSONS = "PERSONS"  # a child screened at two age points in the period counts once


@dataclass(frozen=True)
class Indicator:
    """One indicator of programs.md: words, computable numerator and denominator, unit and target."""

    code: str
    zh: str
    en: str
    numerator: str  # the formula in words, shown beside the figure
    denominator: str
    period: Period
    num: Predicate | None = None  # counted among the denominator's rows
    den: Predicate | Population | None = None
    unit: IndicatorUnit = IndicatorUnit.PERCENT
    target: Setting | None = None  # its evidence tag is the target's
    comparison: TargetComparison = TargetComparison.AT_LEAST
    source: str = ""
    unsupported: str | None = None  # "not supported by the data because …"
    unsupported_zh: str = ""  # the same reason in Chinese, shown in the Chinese interface
    measure: DaysBetween | None = None  # with unit DAYS: a statistic of a measure over the rows
    statistic: Statistic = Statistic.MEDIAN
    counting: Counting = Counting.EPISODES
    note: str = ""  # how the figure departs from the words, when it must

    def __post_init__(self) -> None:
        if self.unsupported is not None:
            if self.num is not None or self.den is not None or self.measure is not None:
                raise ValueError(f"indicator {self.code}: an unsupported indicator has no formula")
            return
        if self.den is None:
            raise ValueError(f"indicator {self.code}: a denominator, or the reason it is unsupported")
        if (self.measure is None) == (self.num is None):
            raise ValueError(f"indicator {self.code}: give a numerator or a measure, not both")
        if (self.measure is not None) != (self.unit is IndicatorUnit.DAYS):
            raise ValueError(f"indicator {self.code}: a measure is counted in days, a ratio is not")

    @property
    def cohort(self) -> CohortBasis:
        """Return the period basis (birth cohort, delivery period, event period …)."""
        return self.period.basis

    @property
    def supported(self) -> bool:
        """Tell whether the data can support a figure for this indicator."""
        return self.unsupported is None

    def settings(self) -> Iterable[Setting]:
        """Yield the settings the indicator reads: its target and the limits of its predicates."""
        if self.target is not None:
            yield self.target
        for predicate in (self.num, self.den):
            if isinstance(predicate, Predicate):
                yield from predicate.settings()

    def names(self) -> set[str]:
        """Return the milestone and step names the indicator reads."""
        found = {self.period.dated_by}
        for predicate in (self.num, self.den):
            if isinstance(predicate, Predicate):
                found.update(predicate.names())
        if self.measure is not None:
            found.update((self.measure.to, self.measure.from_))
        return found


def unsupported(
    code: str,
    zh: str,
    en: str,
    numerator: str,
    denominator: str,
    period: Period,
    reason: str,
    reason_zh: str,
    **kw: object,
) -> Indicator:
    """Declare an indicator the data cannot support, with the reason (English, Chinese) shown in its place."""
    return Indicator(
        code, zh, en, numerator, denominator, period, unsupported=reason, unsupported_zh=reason_zh, **kw
    )  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Figure:
    """An indicator's figure for one period and scope; `reason` says why there is no value."""

    code: str
    numerator: int | None
    denominator: int | None
    value: Decimal | None
    target: Decimal | None
    comparison: TargetComparison
    meets_target: bool | None
    reason: str | None = None


def meets_target(value: Decimal | None, target: Decimal | None, comparison: TargetComparison) -> bool | None:
    """Tell whether a value meets its target (None when either is missing)."""
    if value is None or target is None:
        return None
    if comparison is TargetComparison.AT_LEAST:
        return value >= target
    if comparison is TargetComparison.AT_MOST:
        return value <= target
    return value < target


def percentile(values: Sequence[int | Decimal], fraction: Decimal) -> Decimal | None:
    """Return the continuous percentile (as PostgreSQL's percentile_cont), None for no values."""
    if not values:
        return None
    ordered = sorted(Decimal(v) for v in values)
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def ratio(numerator: int, denominator: int, unit: IndicatorUnit) -> Decimal | None:
    """Return a ratio in its unit; None when it is undefined (zero denominator, or 1/N of nothing)."""
    if unit is IndicatorUnit.ONE_IN_N:
        return None if numerator == 0 else Decimal(denominator) / Decimal(numerator)
    if denominator == 0:
        return None
    return Decimal(numerator) * _SCALE[unit] / Decimal(denominator)


def in_period(facts: EpisodeFacts, period: Period, start: date, end: date) -> bool:
    """Tell whether a row belongs to a period [start, end] on the indicator's basis."""
    mark = facts.mark(period.dated_by)
    return mark is not None and start <= mark.on <= end


def _count(rows: Iterable[EpisodeFacts], counting: Counting) -> int:
    if counting is Counting.PERSONS:
        return len({row.person_id for row in rows})
    return sum(1 for _ in rows)


def select(
    period: Period,
    facts: Iterable[EpisodeFacts],
    *,
    start: date,
    end: date,
    program: str | None = None,
    institution: str | None = None,
    district: str | None = None,
) -> list[EpisodeFacts]:
    """Return the rows of a period and scope (institution as of the period's end, after transfers)."""
    return [
        row
        for row in facts
        if (program is None or row.program == program)
        and (district is None or row.district == district)
        and (institution is None or row.institution_on(end) == institution)
        and in_period(row, period, start, end)
    ]


def evaluate(
    indicator: Indicator,
    facts: Iterable[EpisodeFacts],
    *,
    start: date,
    end: date,
    values: SettingValues | None = None,
    as_of: date | None = None,
    populations: Mapping[str, int] | None = None,
    program: str | None = None,
    institution: str | None = None,
    district: str | None = None,
) -> Figure:
    """Count an indicator's numerator and denominator over fact rows for one period and scope."""
    values = values if values is not None else SettingValues()
    target = values.number(indicator.target) if indicator.target is not None else None

    def figure(num: int | None, den: int | None, value: Decimal | None, reason: str | None) -> Figure:
        met = meets_target(value, target, indicator.comparison)
        return Figure(indicator.code, num, den, value, target, indicator.comparison, met, reason)

    if indicator.unsupported is not None:
        return figure(None, None, None, indicator.unsupported)
    context = Context(as_of or end, values)
    rows = select(
        indicator.period,
        facts,
        start=start,
        end=end,
        program=program,
        institution=institution,
        district=district,
    )
    den = indicator.den
    if isinstance(den, Population):
        known = (populations or {}).get(den.key)
        counted = [r for r in rows if indicator.num is not None and indicator.num.holds(r, context)]
        numerator = _count(counted, indicator.counting)
        if known is None:
            return figure(numerator, None, None, f"population figure {den.key} not entered")
        value = ratio(numerator, known, indicator.unit)
        return figure(numerator, known, value, None if value is not None else "zero denominator")
    assert den is not None
    among = [r for r in rows if den.holds(r, context)]
    if indicator.measure is not None:
        days = [d for r in among if (d := indicator.measure.of(r)) is not None]
        value = percentile(days, _QUANTILE[indicator.statistic])
        return figure(None, len(days), value, None if days else "no rows to measure")
    assert indicator.num is not None
    numerator = _count([r for r in among if indicator.num.holds(r, context)], indicator.counting)
    denominator = _count(among, indicator.counting)
    value = ratio(numerator, denominator, indicator.unit)
    return figure(numerator, denominator, value, None if value is not None else "zero denominator")


def indicator_problems(
    indicators: Sequence[Indicator],
    rules: Sequence[MilestoneRule],
    steps: Mapping[str, tuple[str, ...]],
) -> list[str]:
    """Return every inconsistency of a program's indicators and milestone rules.

    `steps` maps each step and test code of the program to the result codes it accepts.
    """
    problems: list[str] = []
    codes = [i.code for i in indicators]
    problems += [f"indicator {c} declared twice" for c in sorted({c for c in codes if codes.count(c) > 1})]
    generic = set(Milestone.__members__.values())
    for indicator in indicators:
        for name in sorted(indicator.names()):
            if name not in generic and name not in steps:
                problems.append(f"indicator {indicator.code} reads unknown milestone or step {name!r}")
        if indicator.unsupported is not None and not indicator.unsupported.strip():
            problems.append(f"indicator {indicator.code} is unsupported without a reason")
    for rule in rules:
        if rule.source not in steps:
            problems.append(f"milestone rule {rule.milestone}: unknown step or test {rule.source}")
            continue
        for result in rule.results:
            if result not in steps[rule.source]:
                problems.append(f"milestone rule {rule.milestone}: {rule.source} has no result {result}")
    return problems


__all__ = [
    "BIRTH_COHORT",
    "DELIVERY_PERIOD",
    "Counting",
    "DaysBetween",
    "Figure",
    "Indicator",
    "Period",
    "Population",
    "Statistic",
    "evaluate",
    "event_period",
    "in_period",
    "indicator_problems",
    "meets_target",
    "percentile",
    "ratio",
    "select",
    "unsupported",
]
