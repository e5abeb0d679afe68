"""A program's cascade and its positive-case closure rate, counted over the fact table.

The cascade follows the episodes screened in a period (by the day of the primary screen) down the
generic milestones; the closure rate is the share of those positives whose follow-up is closed. Both
are one grouped query with a SUM(CASE) per stage, by the institution an episode counts at (after a
transfer, the receiving one) and for the district.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from registry.extensions import db
from screenings.engine import Milestone
from screenings.indicator_sql import institution_column
from screenings.indicators.facts import FACTS, TABLES

STAGES = (
    Milestone.SCREENED,
    Milestone.POSITIVE,
    Milestone.RECALLED,
    Milestone.DIAGNOSED,
    Milestone.CONFIRMED,
    Milestone.TREATED,
    Milestone.CLOSED,
    Milestone.OVERDUE,
    Milestone.LOST,
)


@dataclass(frozen=True, slots=True)
class Cascade:
    """The count of screened episodes of the period that reached each stage."""

    counts: dict[str, int]

    @property
    def closure_rate(self) -> Decimal | None:
        """Return closed positives per 100 positives, or None without positives."""
        positives = self.counts.get(Milestone.POSITIVE, 0)
        if not positives:
            return None
        return Decimal(self.closed_positives) * 100 / positives

    @property
    def closed_positives(self) -> int:
        """Return how many positives are closed (every closed episode was opened by a positive)."""
        return self.counts.get("closed_positive", 0)

    @classmethod
    def total(cls, cascades) -> Cascade:
        """Return the sum of cascades (every stage is a count of rows, so places add up to the district)."""
        keys = [*map(str, STAGES), "closed_positive"]
        return cls({key: sum(c.counts.get(key, 0) for c in cascades) for key in keys})


def _stage_sums():
    facts = FACTS.c
    sums = [
        sa.func.coalesce(sa.func.sum(sa.case((facts[f"{stage}_day"].is_not(None), 1), else_=0)), 0).label(
            str(stage)
        )
        for stage in STAGES
    ]
    both = sa.and_(facts.positive_day.is_not(None), facts.closed_day.is_not(None))
    sums.append(sa.func.coalesce(sa.func.sum(sa.case((both, 1), else_=0)), 0).label("closed_positive"))
    return sums


def _where(program: str, district: str, start: date, end: date):
    return [FACTS.c.program == program, *_screened_in(district, start, end)]


def _screened_in(district: str, start: date, end: date):
    facts = FACTS.c
    return [
        facts.district == district,
        facts.screened_day.is_not(None),
        facts.screened_day >= start.toordinal(),
        facts.screened_day <= end.toordinal(),
    ]


def _cascade(row) -> Cascade:
    mapping = row._mapping
    return Cascade({key: int(mapping[key]) for key in [*map(str, STAGES), "closed_positive"]})


def program_cascade(
    program: str, district: str, start: date, end: date, *, institution: str | None = None
) -> Cascade:
    """Return the cascade of a program's episodes screened in [start, end] in a district (or one facility)."""
    where = _where(program, district, start, end)
    if institution is not None:
        where.append(institution_column(TABLES, end) == institution)
    return _cascade(db.session.execute(sa.select(*_stage_sums()).where(*where)).one())


def cascades_by_institution(program: str, district: str, start: date, end: date) -> dict[str, Cascade]:
    """Return {institution code: cascade} of a program's episodes screened in [start, end]."""
    place = institution_column(TABLES, end).label("institution")
    rows = db.session.execute(
        sa.select(place, *_stage_sums()).where(*_where(program, district, start, end)).group_by(place)
    )
    return {row.institution: _cascade(row) for row in rows}


def monthly_closure(
    program: str, district: str, months: list[tuple[date, date]], *, institution: str | None = None
) -> list[Cascade]:
    """Return one cascade per month [(first day, last day), ...] in one grouped query."""
    facts = FACTS.c
    bucket = sa.case(
        *(
            (sa.and_(facts.screened_day >= a.toordinal(), facts.screened_day <= b.toordinal()), i)
            for i, (a, b) in enumerate(months)
        ),
        else_=None,
    ).label("bucket")
    where = _where(program, district, months[0][0], months[-1][1])
    if institution is not None:
        where.append(institution_column(TABLES, months[-1][1]) == institution)
    found = {
        row.bucket: _cascade(row)
        for row in db.session.execute(sa.select(bucket, *_stage_sums()).where(*where).group_by(bucket))
    }
    return [found.get(i, Cascade({})) for i in range(len(months))]


def cascades_by_program(
    programs: list[str], district: str, start: date, end: date
) -> dict[str, dict[str | None, Cascade]]:
    """Return {program: {institution code: cascade}} of episodes screened in [start, end], one query.

    The same groups `cascades_by_institution` counts, for several programs in one pass; a program's
    district cascade (`program_cascade`) is `Cascade.total` of its groups.
    """
    facts = FACTS.c
    place = institution_column(TABLES, end).label("institution")
    where = _screened_in(district, start, end)
    rows = db.session.execute(
        sa.select(facts.program, place, *_stage_sums())
        .where(facts.program.in_(programs), *where)
        .group_by(facts.program, place)
    )
    out: dict[str, dict[str | None, Cascade]] = {code: {} for code in programs}
    for row in rows:
        out[row.program][row.institution] = _cascade(row)
    return out


def screened_by_program(
    programs: list[str], district: str, start: date, end: date
) -> dict[str, dict[str | None, int]]:
    """Return {program: {institution code: episodes screened in [start, end]}}, one query.

    The SCREENED stage of `cascades_by_program`, alone: the year's count of 完成年度任务 % reads only the
    columns the screened-day index carries.
    """
    facts = FACTS.c
    place = institution_column(TABLES, end).label("institution")
    rows = db.session.execute(
        sa.select(facts.program, place, sa.func.count())
        .where(facts.program.in_(programs), *_screened_in(district, start, end))
        .group_by(facts.program, place)
    )
    out: dict[str, dict[str | None, int]] = {code: {} for code in programs}
    for code, institution, count in rows:
        out[code][institution] = int(count)
    return out


def closure_trends(
    programs: list[str], district: str, months: list[tuple[date, date]], *, institution: str | None = None
) -> dict[str, list[Decimal | None]]:
    """Return {program: [closure rate of each month]}: `monthly_closure`'s rates, for many programs at once.

    A closure rate reads only positives, so the query keeps only the period's positive rows (the partial
    index `ix_indicator_fact_positive_screened` holds them and the columns read).
    """
    facts = FACTS.c
    bucket = sa.case(
        *(
            (sa.and_(facts.screened_day >= a.toordinal(), facts.screened_day <= b.toordinal()), i)
            for i, (a, b) in enumerate(months)
        ),
        else_=None,
    ).label("bucket")
    where = [
        facts.program.in_(programs),
        *_screened_in(district, months[0][0], months[-1][1]),
        facts.positive_day.is_not(None),
    ]
    if institution is not None:
        where.append(institution_column(TABLES, months[-1][1]) == institution)
    closed = sa.func.coalesce(sa.func.sum(sa.case((facts.closed_day.is_not(None), 1), else_=0)), 0)
    found: dict[tuple[str, int], Cascade] = {}
    for code, number, positives, closed_positives in db.session.execute(
        sa.select(facts.program, bucket, sa.func.count(), closed)
        .where(*where)
        .group_by(facts.program, bucket)
    ):
        found[(code, number)] = Cascade(
            {str(Milestone.POSITIVE): int(positives), "closed_positive": int(closed_positives)}
        )
    return {
        code: [found[(code, i)].closure_rate if (code, i) in found else None for i in range(len(months))]
        for code in programs
    }
