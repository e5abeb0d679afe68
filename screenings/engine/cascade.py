"""The cascade every program shares (issue 17): its stages as counts, the closure rate, days to act.

The stages are predicates over the generic milestones, so one declaration serves all nine programs;
what a milestone means in each program is that program's `MilestoneRule`s.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from .declarations import Program
from .indicators import (
    BIRTH_COHORT,
    DELIVERY_PERIOD,
    DaysBetween,
    Indicator,
    Period,
    Statistic,
    event_period,
    select,
)
from .milestones import EpisodeFacts, Milestone, ResultClass
from .predicates import LOST, Context, Has, Predicate, ResultClassIs
from .vocabulary import IndicatorUnit, SubjectKind

M = Milestone
_FOLLOWED = Has(M.POSITIVE) | ResultClassIs(ResultClass.POSITIVE, ResultClass.REFERRED)


@dataclass(frozen=True, slots=True)
class Stage:
    """One stage of the cascade, counted over the rows of a period."""

    code: str
    zh: str
    en: str
    predicate: Predicate


STAGES = (
    # for two-cancer and autism the eligible are a population figure (应查人数 / 管理儿童数), not rows
    Stage("ELIGIBLE", "应筛", "Eligible", Has(M.BORN) | Has(M.DELIVERED)),
    Stage("SCREENED", "已筛", "Screened", Has(M.SCREENED)),
    Stage("POSITIVE", "阳性/未通过/需随访", "Positive, referred or not passed", _FOLLOWED),
    Stage("RECALLED", "已召回/已复筛", "Recalled or rescreened", Has(M.RECALLED) | Has(M.RESCREENED)),
    Stage("DIAGNOSED", "已诊断", "Diagnosed", Has(M.DIAGNOSED)),
    Stage("CONFIRMED", "已确诊", "Confirmed", Has(M.CONFIRMED)),
    Stage("TREATED", "已治疗/干预", "Treated or intervened", Has(M.TREATED)),
    Stage("CLOSED", "已结案", "Closed", _FOLLOWED & Has(M.CLOSED)),
    Stage("OPEN", "在办", "Still open", _FOLLOWED & ~Has(M.CLOSED)),
    Stage("OVERDUE", "逾期", "Overdue", Has(M.OVERDUE) & ~Has(M.CLOSED)),
    Stage("LOST", "失访", "Lost to follow-up", LOST),
)


def cascade_period(program: Program) -> Period:
    """Return the basis a program's cascade is counted on: birth cohort, delivery or screening date."""
    kinds = program.eligibility.kinds
    if SubjectKind.NEWBORN in kinds:
        return BIRTH_COHORT
    if SubjectKind.PREGNANT_WOMAN in kinds:
        return DELIVERY_PERIOD  # the exposed infants' cascade is counted on BIRTH_COHORT
    return event_period(M.SCREENED)


def cascade_indicators(period: Period) -> tuple[Indicator, ...]:
    """Declare the positive-case closure rate and the days from positive to diagnosis and to treatment."""
    positive = "Positive, referred or not passed"

    def days(code: str, zh: str, en: str, to: str, statistic: Statistic) -> Indicator:
        return Indicator(code, zh, en, f"Days from positive to {to}", f"{positive}, {to}", period,
                         den=_FOLLOWED & Has(to), measure=DaysBetween(to, from_=M.POSITIVE),
                         unit=IndicatorUnit.DAYS, statistic=statistic, source="issue 17")  # fmt: skip

    return (
        Indicator(
            "POSITIVE_CLOSURE_RATE",
            "阳性病例结案率",
            "Positive-case closure rate",
            "Closed",
            positive,
            period,
            num=Has(M.CLOSED),
            den=_FOLLOWED,
            source="issue 17",
        ),
        days(
            "DAYS_TO_DIAGNOSIS_MEDIAN",
            "阳性至诊断天数(中位数)",
            "Days to diagnosis, median",
            M.DIAGNOSED,
            Statistic.MEDIAN,
        ),
        days(
            "DAYS_TO_DIAGNOSIS_P90",
            "阳性至诊断天数(P90)",
            "Days to diagnosis, 90th percentile",
            M.DIAGNOSED,
            Statistic.P90,
        ),
        days(
            "DAYS_TO_TREATMENT_MEDIAN",
            "阳性至治疗/干预天数(中位数)",
            "Days to treatment, median",
            M.TREATED,
            Statistic.MEDIAN,
        ),
        days(
            "DAYS_TO_TREATMENT_P90",
            "阳性至治疗/干预天数(P90)",
            "Days to treatment, 90th percentile",
            M.TREATED,
            Statistic.P90,
        ),
    )


_SHOWN: dict[str, tuple[Indicator, ...]] = {}


def figure_indicators(program: Program) -> tuple[Indicator, ...]:
    """Return the indicators a program's figures show: its own, then the cascade's closure rate and days."""
    found = _SHOWN.get(program.code)
    if found is None:
        found = _SHOWN[program.code] = (*program.indicators, *cascade_indicators(cascade_period(program)))
    return found


def cascade_counts(
    facts: Iterable[EpisodeFacts],
    period: Period,
    *,
    start: date,
    end: date,
    as_of: date | None = None,
    program: str | None = None,
    institution: str | None = None,
    district: str | None = None,
) -> dict[str, int]:
    """Count each cascade stage over the rows of a period and scope."""
    rows = select(
        period, facts, start=start, end=end, program=program, institution=institution, district=district
    )
    context = Context(as_of or end)
    return {stage.code: sum(1 for r in rows if stage.predicate.holds(r, context)) for stage in STAGES}


__all__ = [
    "STAGES",
    "Stage",
    "cascade_counts",
    "cascade_indicators",
    "cascade_period",
    "figure_indicators",
]
