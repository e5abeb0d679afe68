"""Indicator predicates compiled to SQLAlchemy Core over a fact-table layout (a sketch for issue 17).

The pure evaluator (`screenings.engine.evaluate`) is the reference; this module turns the very same
declarations into set-based SQL and is tested to give the same counts on the same rows.

The layout it compiles against (`fact_tables`) is the contract proposed to the fact table's author:
one row per person × program × episode, and for each generic milestone three plain columns,
``<m>_day`` (the local date as an ordinal, so day differences are integer arithmetic on every
dialect), ``<m>_sec`` (epoch seconds, for limits in hours) and ``<m>_code``. A program's step marks
live in a child table (fact, name, day, sec, code) and the primary screen's findings in another, so
`Has("HBIG_AND_DOSE_1")` is an indexed EXISTS. The tables here are not registered with the
application's metadata: the model and its migration are the fact table's own work.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from screenings.engine import (
    AgeAtLeast,
    And,
    Before,
    Counting,
    EpisodeFacts,
    Finding,
    Has,
    Indicator,
    Milestone,
    Not,
    Or,
    Period,
    Predicate,
    ResultClassIs,
    ResultIs,
    SettingValues,
    SubjectIs,
    Within,
    add_calendar_months,
)
from screenings.engine.predicates import Context

GENERIC = tuple(Milestone)
PERIOD_MILESTONES = (Milestone.BORN, Milestone.SCREENED, Milestone.DELIVERED)  # what indicators are dated by
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# What the cascade's counts by institution read besides the period: on PostgreSQL the screened-day index
# carries them (INCLUDE), so a year's screened count is an index-only scan.
_PLACE = ("institution", "transferred_day", "transferred_code")
_COVER = {Milestone.SCREENED: {"postgresql_include": [*_PLACE, "positive_day", "closed_day"]}}


@dataclass(frozen=True)
class FactTables:
    """The fact table and its two child tables."""

    facts: sa.Table
    marks: sa.Table  # a program's step marks
    findings: sa.Table


def fact_tables(metadata: sa.MetaData, prefix: str = "indicator_fact") -> FactTables:
    """Declare the fact-table layout the compiler reads, on a metadata of the caller's."""
    columns: list[sa.Column[Any]] = [
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("program", sa.String(32), nullable=False),
        sa.Column("person_id", sa.Integer, nullable=False),
        sa.Column("episode", sa.Integer, nullable=False),
        sa.Column("institution", sa.String(40), nullable=False),
        sa.Column("district", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(20), nullable=False),
        sa.Column("result_class", sa.String(20)),
        sa.Column("birth_month", sa.String(7)),  # "2026-11", the birth cohort's month
    ]
    for m in GENERIC:
        columns += [
            sa.Column(f"{m}_day", sa.Integer),
            sa.Column(f"{m}_sec", sa.BigInteger),
            sa.Column(f"{m}_code", sa.String(40)),
        ]
    facts = sa.Table(
        prefix,
        metadata,
        *columns,
        sa.UniqueConstraint("person_id", "program", "episode", name=f"uq_{prefix}_episode"),
        sa.Index(f"ix_{prefix}_district_program", "district", "program"),
        # every indicator is dated by one of these (birth cohort, event period, delivery period): a period's
        # figures read the district's rows of that period, not all of them
        *(
            sa.Index(f"ix_{prefix}_{m}_period", "district", "program", f"{m}_day", **_COVER.get(m, {}))
            for m in PERIOD_MILESTONES
        ),
        # the 12-month closure trend reads a year of positives only
        sa.Index(
            f"ix_{prefix}_positive_screened",
            "district",
            "program",
            "screened_day",
            postgresql_include=[*_PLACE, "closed_day"],
            postgresql_where=sa.text("positive_day IS NOT NULL"),
            sqlite_where=sa.text("positive_day IS NOT NULL"),
        ),
    )
    marks = sa.Table(
        f"{prefix}_mark",
        metadata,
        sa.Column("fact_id", sa.ForeignKey(f"{prefix}.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("day", sa.Integer, nullable=False),
        sa.Column("sec", sa.BigInteger, nullable=False),
        sa.Column("code", sa.String(40)),
    )
    findings = sa.Table(
        f"{prefix}_finding",
        metadata,
        sa.Column("fact_id", sa.ForeignKey(f"{prefix}.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("code", sa.String(40), primary_key=True),
    )
    return FactTables(facts, marks, findings)


def _seconds(moment: datetime) -> int:
    return int((moment - _EPOCH).total_seconds())


def fact_rows(facts: Iterable[EpisodeFacts]) -> Iterator[tuple[dict, list[dict], list[dict]]]:
    """Yield (fact, step marks, findings) row values for each fact, ids numbered from 1."""
    for number, row in enumerate(facts, start=1):
        values: dict[str, Any] = {
            "id": number,
            "program": row.program,
            "person_id": row.person_id,
            "episode": row.episode,
            "institution": row.institution,
            "district": row.district,
            "subject": str(row.subject),
            "result_class": None if row.result_class is None else str(row.result_class),
        }
        steps: list[dict] = []
        for name, mark in row.marks.items():
            day, sec, code = mark.on.toordinal(), _seconds(mark.at), mark.code
            if name in GENERIC:
                values.update({f"{name}_day": day, f"{name}_sec": sec, f"{name}_code": code})
            else:
                steps.append({"fact_id": number, "name": name, "day": day, "sec": sec, "code": code})
        findings = [{"fact_id": number, "code": code} for code in sorted(row.findings)]
        yield values, steps, findings


class Compiler:
    """Compile predicates to SQL conditions over the fact tables, for one as-of day and settings."""

    def __init__(self, tables: FactTables, context: Context) -> None:
        self.t = tables
        self.context = context

    def _step(self, name: str, *conditions: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
        marks = self.t.marks
        return sa.exists().where(marks.c.fact_id == self.t.facts.c.id, marks.c.name == name, *conditions)

    def _day(self, name: str) -> sa.ColumnElement[Any]:
        if name in GENERIC:
            return self.t.facts.c[f"{name}_day"]
        marks = self.t.marks
        return (
            sa.select(marks.c.day)
            .where(marks.c.fact_id == self.t.facts.c.id, marks.c.name == name)
            .scalar_subquery()
        )

    def _sec(self, name: str) -> sa.ColumnElement[Any]:
        if name in GENERIC:
            return self.t.facts.c[f"{name}_sec"]
        marks = self.t.marks
        return (
            sa.select(marks.c.sec)
            .where(marks.c.fact_id == self.t.facts.c.id, marks.c.name == name)
            .scalar_subquery()
        )

    def condition(self, predicate: Predicate) -> sa.ColumnElement[bool]:
        """Return the SQL condition of a predicate; NULLs never leak into NOT (coalesce, IS NOT NULL)."""
        c, facts = self.context, self.t.facts.c
        match predicate:
            case Has(name=name):
                return facts[f"{name}_day"].is_not(None) if name in GENERIC else self._step(name)
            case ResultIs(name=name, codes=codes):
                if name in GENERIC:
                    code = sa.func.coalesce(facts[f"{name}_code"], "")
                    return sa.and_(facts[f"{name}_day"].is_not(None), code.in_([str(x) for x in codes]))
                return self._step(name, self.t.marks.c.code.in_([str(x) for x in codes]))
            case ResultClassIs(classes=classes):
                return sa.func.coalesce(facts.result_class, "").in_([str(x) for x in classes])
            case Finding(codes=codes):
                found = self.t.findings
                return sa.exists().where(found.c.fact_id == facts.id, found.c.code.in_(list(codes)))
            case SubjectIs(kinds=kinds):
                return facts.subject.in_([str(k) for k in kinds])
            case Within(name=name, days=days, hours=hours, from_=start):
                if days is not None:
                    end, begin, limit = self._day(name), self._day(start), c.whole(days)
                else:
                    assert hours is not None
                    end, begin, limit = self._sec(name), self._sec(start), c.whole(hours) * 3600
                gap = end - begin
                return sa.and_(end.is_not(None), begin.is_not(None), gap >= 0, gap <= limit)
            case Before(name=name, other=other):
                mine, theirs = self._day(name), self._day(other)
                return sa.and_(mine.is_not(None), theirs.is_not(None), mine <= theirs)
            case AgeAtLeast(days=days, months=months):
                born = facts[f"{Milestone.BORN}_day"]
                return sa.and_(born.is_not(None), born <= self._latest_birth(days, months))
            case And(parts=parts):
                return sa.and_(*(self.condition(p) for p in parts))
            case Or(parts=parts):
                return sa.or_(*(self.condition(p) for p in parts))
            case Not(part=part):
                return sa.not_(self.condition(part))
        raise TypeError(f"no SQL for predicate {predicate!r}")

    def _latest_birth(self, days: int | Any, months: int | Any) -> int:
        """Return the last birth day (ordinal) that has reached the age by the as-of day."""
        as_of = self.context.as_of
        if days is not None:
            return (as_of - timedelta(days=self.context.whole(days))).toordinal()
        n = self.context.whole(months)
        # calendar months clamp (31 Jan + 1 month = 28 Feb), so search forward from a safe start
        day = add_calendar_months(as_of, -n) - timedelta(days=3)
        while add_calendar_months(day + timedelta(days=1), n) <= as_of:
            day += timedelta(days=1)
        return day.toordinal()


def institution_column(tables: FactTables, end: date) -> sa.ColumnElement[str]:
    """Return the institution an episode counts at for a period ending on `end` (after a transfer)."""
    facts = tables.facts.c
    moved = sa.and_(facts.transferred_day.is_not(None), facts.transferred_day <= end.toordinal())
    return sa.case((moved, facts.transferred_code), else_=facts.institution)


def ratio_parts(
    indicator: Indicator,
    tables: FactTables,
    *,
    start: date,
    end: date,
    values: SettingValues | None = None,
    as_of: date | None = None,
    program: str | None = None,
) -> tuple[list[sa.ColumnElement[bool]], sa.ColumnElement[bool] | None, sa.ColumnElement[bool]]:
    """Return (the period's WHERE conditions, the denominator's condition or None, the numerator's)."""
    if indicator.unsupported is not None or indicator.measure is not None:
        raise ValueError(f"indicator {indicator.code}: only supported ratios compile to counts")
    compiler = Compiler(tables, Context(as_of or end, values or SettingValues()))
    facts = tables.facts.c
    period: Period = indicator.period
    dated = compiler._day(period.dated_by)
    where = [dated.is_not(None), dated >= start.toordinal(), dated <= end.toordinal()]
    if program is not None:
        where.append(facts.program == program)
    den = compiler.condition(indicator.den) if isinstance(indicator.den, Predicate) else None
    assert indicator.num is not None
    return where, den, compiler.condition(indicator.num)


def ratio_conditions(
    indicator: Indicator,
    tables: FactTables,
    *,
    start: date,
    end: date,
    values: SettingValues | None = None,
    as_of: date | None = None,
    program: str | None = None,
) -> tuple[list[sa.ColumnElement[bool]], sa.ColumnElement[bool]]:
    """Return (the denominator's WHERE conditions, the numerator's condition) of a ratio indicator.

    `count_query` and `counts_query` count these rows and the drill-down lists them, so a list always holds
    its figure's rows.
    """
    where, den, num = ratio_parts(
        indicator, tables, start=start, end=end, values=values, as_of=as_of, program=program
    )
    return ([*where, den] if den is not None else where), num


def counts_query(
    indicators: list[Indicator],
    tables: FactTables,
    *,
    start: date,
    end: date,
    values: SettingValues | None = None,
    as_of: date | None = None,
    program: str | None = None,
    by_institution: bool = False,
    district: str | None = None,
    scoped_children: bool = False,
    with_total: bool = False,
) -> sa.Select:
    """Return one SELECT of (institution?, n0, d0, n1, d1, …) for ratio indicators dated by one milestone.

    The same counts as one `count_query` per indicator, in one pass over the period's rows: each
    denominator is a CASE over the rows instead of a WHERE (a NULL condition counts as false in both).
    `district` keeps that district's rows. `scoped_children` reads the step marks and findings of the
    period's rows only, through two CTEs (`scoped_tables`): PostgreSQL hashes an EXISTS inside a CASE by
    reading the whole child table once per EXISTS, the city's marks, not the month's. `with_total` (grouped,
    PostgreSQL) adds the district's row in the same statement, GROUP BY ROLLUP, flagged by a last column
    `is_total` = 1.
    """
    dated = {i.period.dated_by for i in indicators}
    if len(dated) != 1:
        raise ValueError(f"indicators dated by {sorted(dated)}: one milestone per query")
    kw = dict(start=start, end=end, values=values, as_of=as_of, program=program)
    if scoped_children:
        tables = scoped_tables(tables, ratio_parts(indicators[0], tables, **kw)[0], district=district)
    facts = tables.facts.c
    where: list[sa.ColumnElement[bool]] = []
    columns: list[Any] = []
    for k, indicator in enumerate(indicators):
        where, den, num = ratio_parts(indicator, tables, **kw)
        counted = num if den is None else sa.and_(den, num)
        if indicator.counting is Counting.PERSONS:
            n = sa.func.count(sa.distinct(sa.case((counted, facts.person_id))))
            d = sa.func.count(
                sa.distinct(facts.person_id if den is None else sa.case((den, facts.person_id)))
            )
        else:
            n = sa.func.coalesce(sa.func.sum(sa.case((counted, 1), else_=0)), 0)
            d = (
                sa.func.count()
                if den is None
                else sa.func.coalesce(sa.func.sum(sa.case((den, 1), else_=0)), 0)
            )
        columns += [n.label(f"n{k}"), d.label(f"d{k}")]
    if district is not None:
        where.append(facts.district == district)
    if by_institution:
        place = institution_column(tables, end)
        if with_total:
            columns.append(sa.func.grouping(place).label("is_total"))
            group = sa.func.rollup(place)
        else:
            group = place
        return (
            sa.select(place.label("institution"), *columns)
            .select_from(tables.facts)
            .where(*where)
            .group_by(group)
        )
    return sa.select(*columns).select_from(tables.facts).where(*where)


def scoped_tables(
    tables: FactTables, where: list[sa.ColumnElement[bool]], *, district: str | None = None
) -> FactTables:
    """Return the fact tables with the marks and findings narrowed to the rows `where` (and `district`) keeps.

    The child CTEs have the child tables' columns, so the compiler reads them as it reads the tables; an
    EXISTS over a fact's marks finds the same rows for every fact the query counts.
    """
    facts = tables.facts
    kept = sa.select(facts.c.id).where(*where)
    if district is not None:
        kept = kept.where(facts.c.district == district)
    marks = sa.select(tables.marks).where(tables.marks.c.fact_id.in_(kept)).cte("period_mark")
    findings = sa.select(tables.findings).where(tables.findings.c.fact_id.in_(kept)).cte("period_finding")
    return FactTables(facts, marks, findings)


def count_query(
    indicator: Indicator,
    tables: FactTables,
    *,
    start: date,
    end: date,
    values: SettingValues | None = None,
    as_of: date | None = None,
    program: str | None = None,
    by_institution: bool = False,
) -> sa.Select:
    """Return the SELECT of (institution?, numerator, denominator) of a ratio indicator.

    A Population denominator is not in the facts: the query's denominator column is then the count of
    rows in the period, and the caller divides the numerator by the entered figure.
    """
    where, numerator = ratio_conditions(
        indicator, tables, start=start, end=end, values=values, as_of=as_of, program=program
    )
    facts = tables.facts.c
    if indicator.counting is Counting.PERSONS:
        num_col = sa.func.count(sa.distinct(sa.case((numerator, facts.person_id))))
        den_col = sa.func.count(sa.distinct(facts.person_id))
    else:
        num_col = sa.func.coalesce(sa.func.sum(sa.case((numerator, 1), else_=0)), 0)
        den_col = sa.func.count()
    columns: list[Any] = [num_col.label("numerator"), den_col.label("denominator")]
    query = sa.select(*columns).select_from(tables.facts).where(*where)
    if by_institution:
        place = institution_column(tables, end).label("institution")
        query = sa.select(place, *columns).select_from(tables.facts).where(*where).group_by(place)
    return query


__all__ = [
    "Compiler",
    "FactTables",
    "count_query",
    "counts_query",
    "fact_rows",
    "fact_tables",
    "institution_column",
    "ratio_conditions",
    "ratio_parts",
    "scoped_tables",
]
