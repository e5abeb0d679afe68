"""The records behind a figure of 统计分析: the very conditions the figure counts, listed.

A figure's numerator or denominator (an indicator's, the rows a days measure was taken over, the
screened count of 完成年度任务 %, or a cascade stage) is a set of fact rows. This module builds that set
from the same compiled conditions `figures` and `cascade` count (`indicator_sql.ratio_conditions`,
`figures._measure_query`, `cascade._where`), so a list's length is its figure by construction; a
figure counted in persons lists one row per person. The list is then narrowed to the people the user may
see through the one access policy (`registry.auth.access.person_scope_clause`), and the rows left out
are counted, never shown. Whether a restricted program's records are shown at all is the edge's call
(`screenings.access.hidden_programs`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from registry.auth.access import Scope, person_scope_clause
from registry.extensions import db
from registry.people.models import Person
from screenings.engine import ClosureOutcome, Counting, Population, SettingValues, figure_indicators
from screenings.engine.predicates import Context
from screenings.indicator_sql import institution_column, ratio_conditions
from screenings.indicators.cascade import STAGES, _where
from screenings.indicators.facts import FACTS, TABLES, plan_without_jit
from screenings.indicators.figures import _measure_query
from screenings.indicators.targets import TASK_INDICATOR, TASK_PROGRAMS, task_window_start
from screenings.models import FollowUpCase
from screenings.programs import PROGRAMS

NUMERATOR, DENOMINATOR = "num", "den"
STAGE_NAMES = frozenset(str(s) for s in STAGES)


@dataclass(frozen=True, slots=True)
class Drill:
    """Which figure's records: a program's indicator part (num/den), or a cascade stage, at a place."""

    program: str
    indicator: str | None  # None: a cascade stage
    part: str  # "num" or "den"; for a stage, the stage's name
    institution: str | None  # None: the district


@dataclass(frozen=True, slots=True)
class DrillRow:
    """One record behind a figure: the episode's person and milestones, and its latest case."""

    fact_id: int
    person_id: int
    name: str
    birth_on: date | None
    institution: str
    screened_on: date | None
    screened_code: str | None  # the primary screen's result code
    result_class: str | None
    positive_on: date | None
    closed_on: date | None
    outcome: str | None
    case_id: int | None


@dataclass(frozen=True, slots=True)
class DrillPage:
    """A page of a figure's records: the figure, how many of its records the user may see, the rows."""

    total: int
    visible: int
    rows: list[DrillRow]


def _indicator(program: str, code: str):
    for indicator in figure_indicators(PROGRAMS[program]):
        if indicator.code == code:
            return indicator
    return None


def drillable(drill: Drill) -> bool:
    """Tell whether a figure has records behind it (a Population figure or a task is entered, not counted)."""
    return _drillable(drill.program, drill.indicator, drill.part)


@functools.lru_cache(maxsize=4096)  # bounded: the arguments of a drill come from the query string
def _drillable(program: str, code: str | None, part: str) -> bool:
    if program not in PROGRAMS:
        return False
    if code is None:
        return part in STAGE_NAMES
    if code == TASK_INDICATOR:
        return part == NUMERATOR and program in TASK_PROGRAMS
    indicator = _indicator(program, code)
    if indicator is None or not indicator.supported:
        return False
    if indicator.measure is not None:
        return part == DENOMINATOR  # the rows measured
    if part == DENOMINATOR:
        return not isinstance(indicator.den, Population)
    return part == NUMERATOR


def _conditions(drill: Drill, district: str, start: date, end: date) -> tuple[list, bool]:
    """Return (the WHERE conditions of a figure's rows, whether it counts persons)."""
    if not drillable(drill):
        raise ValueError(f"no records behind {drill}")
    facts = FACTS.c
    persons = False
    if drill.indicator is None:
        where = [*_where(drill.program, district, start, end), facts[f"{drill.part}_day"].is_not(None)]
    elif drill.indicator == TASK_INDICATOR:
        where = _where(drill.program, district, task_window_start(start, end), end)
    else:
        indicator = _indicator(drill.program, drill.indicator)
        if indicator.measure is not None:
            context = Context(end, SettingValues())
            _place, _days, where = _measure_query(indicator, start, end, context, drill.program, district)
        else:
            where, numerator = ratio_conditions(
                indicator,
                TABLES,
                start=start,
                end=end,
                values=SettingValues(),
                as_of=end,
                program=drill.program,
            )
            where = [*where, facts.district == district]
            if drill.part == NUMERATOR:
                where.append(numerator)
            persons = indicator.counting is Counting.PERSONS
    if drill.institution is not None:
        where = [*where, institution_column(TABLES, end) == drill.institution]
    return where, persons


def _rows_clause(drill: Drill, district: str, start: date, end: date) -> sa.ColumnElement[bool]:
    """Return the condition on fact rows: the figure's rows, one per person when it counts persons."""
    where, persons = _conditions(drill, district, start, end)
    if not persons:
        return sa.and_(*where)
    first = sa.select(sa.func.min(FACTS.c.id)).where(*where).group_by(FACTS.c.person_id)
    return FACTS.c.id.in_(first)


def drill_count(drill: Drill, district: str, start: date, end: date) -> int:
    """Return how many records are behind a figure (what the dashboard shows for it)."""
    clause = _rows_clause(drill, district, start, end)
    return db.session.scalar(sa.select(sa.func.count()).select_from(FACTS).where(clause))


def _day(ordinal: int | None) -> date | None:
    return None if ordinal is None else date.fromordinal(ordinal)


def drill_page(
    drill: Drill, district: str, start: date, end: date, scope: Scope, *, offset: int = 0, limit: int = 100
) -> DrillPage:
    """Return the figure, how many of its records this scope may see, and a page of those (by fact id)."""
    facts = FACTS.c
    plan_without_jit()
    clause = _rows_clause(drill, district, start, end)
    seen = person_scope_clause(scope, Person.institution_id, Person.id)
    joined = FACTS.join(Person, Person.id == facts.person_id)
    if db.session.get_bind().dialect.name == "postgresql":
        # The figure's rows first, then their people by id: joined in one statement PostgreSQL read every
        # person of the city against the scope's subquery (3.4 s a page at scale 1.0, for 819 rows).
        figure = db.session.execute(sa.select(facts.id, facts.person_id).where(clause)).all()
        total = len(figure)
        people = sorted({person for _, person in figure})
        shown = set(
            db.session.scalars(
                sa.select(Person.id).where(
                    Person.id == sa.any_(sa.bindparam("people", people, type_=ARRAY(sa.Integer))), seen
                )
            )
        )
        kept = [fact_id for fact_id, person in figure if person in shown]
        visible = len(kept)
        clause = facts.id == sa.any_(
            sa.bindparam("page", sorted(kept)[offset : offset + limit], type_=ARRAY(sa.Integer))
        )
        seen, offset = sa.true(), 0
    else:
        total = db.session.scalar(sa.select(sa.func.count()).select_from(FACTS).where(clause))
        visible = db.session.scalar(sa.select(sa.func.count()).select_from(joined).where(clause, seen))
    place = institution_column(TABLES, end).label("place")
    found = db.session.execute(
        sa.select(
            facts.id,
            facts.person_id,
            Person.name,
            Person.birth_on,
            place,
            facts.screened_day,
            facts.screened_code,
            facts.result_class,
            facts.positive_day,
            facts.closed_day,
            facts.closed_code,
        )  # fmt: skip
        .select_from(joined)
        .where(clause, seen)
        .order_by(facts.id)
        .offset(offset)
        .limit(limit)
    ).all()
    cases = _latest_cases(drill.program, [r.person_id for r in found])
    rows = [
        DrillRow(
            r.id,
            r.person_id,
            r.name,
            r.birth_on,
            r.place,
            _day(r.screened_day),
            r.screened_code,
            r.result_class,
            _day(r.positive_day),
            _day(r.closed_day),
            r.closed_code,
            cases.get(r.person_id),
        )  # fmt: skip
        for r in found
    ]
    return DrillPage(total, visible, rows)


def _latest_cases(program: str, person_ids: list[int]) -> dict[int, int]:
    """Return {person id: their latest case of the program} (one query for a page)."""
    if not person_ids:
        return {}
    return dict(
        db.session.execute(
            sa.select(FollowUpCase.person_id, sa.func.max(FollowUpCase.id))
            .where(
                FollowUpCase.program == program,
                FollowUpCase.person_id.in_(sorted(set(person_ids))),
                sa.or_(
                    FollowUpCase.outcome.is_(None), FollowUpCase.outcome != ClosureOutcome.OPENED_IN_ERROR
                ),
            )
            .group_by(FollowUpCase.person_id)
        ).all()
    )
