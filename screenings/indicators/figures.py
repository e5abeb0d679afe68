"""Every indicator of a program for a district and period, by institution and for the district.

One generic function turns each program's indicator declarations into set-based SQL over the fact
table (`screenings.indicator_sql`): a ratio is one grouped COUNT, a time measure one grouped
`percentile_cont` on PostgreSQL (on SQLite the same continuous percentile over the grouped days).
The dashboard, the command and the monthly report read these figures.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from registry.extensions import db
from registry.institutions import Institution, facility_ids_under
from screenings.engine import IndicatorUnit, Predicate, SettingValues, figure_indicators
from screenings.engine.indicators import _QUANTILE, Indicator, Population, meets_target, percentile, ratio
from screenings.engine.predicates import Context
from screenings.indicator_sql import Compiler, counts_query, institution_column
from screenings.indicators.cascade import screened_by_program
from screenings.indicators.facts import FACTS, TABLES, plan_without_jit
from screenings.indicators.targets import (
    TASK_PROGRAMS,
    TargetBook,
    TargetKind,
    task_row,
    task_window_start,
    with_targets,
)
from screenings.programs import PROGRAMS

DISTRICT = None  # the institution of a district-wide figure


@dataclass(frozen=True, slots=True)
class FigureRow:
    """One figure: a program's indicator at one institution (None: the district) for one period."""

    program: str
    indicator: str
    name: str
    institution: str | None
    numerator: int | None
    denominator: int | None
    value: Decimal | None
    unit: IndicatorUnit
    target: Decimal | None
    comparison: str
    meets_target: bool | None
    reason: str | None  # why there is no value: unsupported because …, zero denominator …

    def as_dict(self) -> dict:
        """Return the row as plain JSON-ready values."""
        return {
            "program": self.program,
            "indicator": self.indicator,
            "name": self.name,
            "institution": self.institution,
            "numerator": self.numerator,
            "denominator": self.denominator,
            "value": None if self.value is None else str(round(self.value, 2)),
            "unit": str(self.unit),
            "target": None if self.target is None else str(self.target),
            "comparison": self.comparison,
            "meets_target": self.meets_target,
            "reason": self.reason,
        }


def district_institutions(district: Institution) -> list[str]:
    """Return the codes of the facilities of a district, in code order."""
    ids = facility_ids_under(district.id)
    rows = db.session.execute(
        sa.select(Institution.code, Institution.kind)
        .where(Institution.id.in_(ids))
        .order_by(Institution.code)
    )
    return [code for code, kind in rows if code != district.code]


def _measure_parts(indicator: Indicator, compiler: Compiler):
    """Return (the days of a measure, the conditions a row must meet to be measured) of a days indicator."""
    assert indicator.measure is not None
    days = compiler._day(indicator.measure.to) - compiler._day(indicator.measure.from_)
    conditions = [days.is_not(None)]
    if isinstance(indicator.den, Predicate):
        conditions.append(compiler.condition(indicator.den))
    return days, conditions


def _period_where(indicator: Indicator, compiler: Compiler, start: date, end: date, program, district):
    dated = compiler._day(indicator.period.dated_by)
    return [
        FACTS.c.program == program,
        FACTS.c.district == district,
        dated.is_not(None),
        dated >= start.toordinal(),
        dated <= end.toordinal(),
    ]


def _measure_query(
    indicator: Indicator, start: date, end: date, context: Context, program: str, district: str
):
    compiler = Compiler(TABLES, context)
    days, conditions = _measure_parts(indicator, compiler)
    where = [*_period_where(indicator, compiler, start, end, program, district), *conditions]
    place = institution_column(TABLES, end).label("institution")
    return place, days, where


def _measures(
    indicators: list[Indicator], start, end, context, program, district
) -> dict[str, dict[str | None, tuple[int, Decimal | None]]]:
    """Return {indicator: {institution or None: (rows measured, statistic)}} of days measures of one basis.

    One statement for all of them: each measure's days are a CASE over the period's rows (NULL when the
    row is not measured), which count() and percentile_cont skip; on PostgreSQL the district's row comes
    by ROLLUP, on SQLite the days are read once and the same continuous percentile taken in Python.
    """
    compiler = Compiler(TABLES, context)
    where = _period_where(indicators[0], compiler, start, end, program, district)
    measured = []
    for indicator in indicators:
        days, conditions = _measure_parts(indicator, compiler)
        measured.append(sa.case((sa.and_(*conditions), days), else_=None))
    where.append(sa.or_(*(m.is_not(None) for m in measured)))
    place = institution_column(TABLES, end).label("institution")
    out: dict[str, dict[str | None, tuple[int, Decimal | None]]] = {i.code: {} for i in indicators}
    if db.session.get_bind().dialect.name == "postgresql":
        columns = [place]
        for indicator, m in zip(indicators, measured, strict=True):
            fraction = float(_QUANTILE[indicator.statistic])
            columns += [sa.func.count(m), sa.func.percentile_cont(fraction).within_group(m)]
        columns.append(sa.func.grouping(place))
        query = sa.select(*columns).where(*where).group_by(sa.func.rollup(place))
        for row in db.session.execute(query):
            code = DISTRICT if row[-1] else row[0]
            for k, indicator in enumerate(indicators):
                n, value = row[1 + 2 * k], row[2 + 2 * k]
                out[indicator.code][code] = (n, None if value is None else Decimal(str(value)))
        return out
    grouped: list[dict[str | None, list[int]]] = [defaultdict(list) for _ in indicators]
    for row in db.session.execute(sa.select(place, *measured).where(*where)):
        for k, value in enumerate(row[1:]):
            if value is not None:
                grouped[k][row[0]].append(value)
                grouped[k][DISTRICT].append(value)
    for indicator, by_place in zip(indicators, grouped, strict=True):
        fraction = _QUANTILE[indicator.statistic]
        out[indicator.code] = {code: (len(v), percentile(v, fraction)) for code, v in by_place.items()}
    return out


def _program_counts(
    prog, indicators, start, end, context, district
) -> dict[str, dict[str | None, tuple[int, int]]]:
    """Return {indicator: {institution or None: (numerator, rows of the denominator)}} of a program's ratios.

    One grouped and one district-wide query per period basis (birth cohort, event, delivery), not two per
    indicator: the bench's busiest district read 173 statements a month page before.
    """
    kw = dict(start=start, end=end, values=context.values, as_of=context.as_of, program=prog.code)
    by_basis: dict[str, list[Indicator]] = defaultdict(list)
    for indicator in indicators:
        if indicator.supported and indicator.measure is None:
            by_basis[indicator.period.dated_by].append(indicator)
    out: dict[str, dict[str | None, tuple[int, int]]] = {}
    postgres = db.session.get_bind().dialect.name == "postgresql"
    for indicators in by_basis.values():
        found = {i.code: {} for i in indicators}
        if postgres:  # one statement: the institutions and the district (ROLLUP), the period's marks only
            grouped = counts_query(
                indicators, TABLES, by_institution=True, district=district, scoped_children=True,
                with_total=True, **kw,
            )  # fmt: skip
            rows = [(DISTRICT if row[-1] else row[0], row[1:-1]) for row in db.session.execute(grouped)]
        else:  # SQLite probes each fact's marks by their primary key: no CTE, no ROLLUP
            grouped = counts_query(indicators, TABLES, by_institution=True, district=district, **kw)
            total = counts_query(indicators, TABLES, district=district, **kw)
            rows = [(row[0], row[1:]) for row in db.session.execute(grouped)]
            rows.append((DISTRICT, tuple(db.session.execute(total).one())))
        for code, values in rows:
            for k, indicator in enumerate(indicators):
                found[indicator.code][code] = (int(values[2 * k] or 0), int(values[2 * k + 1] or 0))
        out.update(found)
    return out


def compute_figures(
    district: Institution,
    start: date,
    end: date,
    *,
    program: str | None = None,
    institution: str | None = None,
    as_of: date | None = None,
    values: Mapping[str, SettingValues] | None = None,
    populations: Mapping[tuple[str | None, str], int] | None = None,
    targets: TargetBook | None = None,
) -> list[FigureRow]:
    """Compute every indicator of a program (or all) for a district and period [start, end].

    Returns one row per program × indicator × institution (the district's facilities, then the
    district as institution None); `institution` keeps only that facility's rows. `populations`
    maps (institution or None, population key) to an entered figure for population denominators.
    `targets` (the district's stored figures of the year) supplies the year's targets in place of the
    declared ones, the population figures not given in `populations`, and the 完成年度任务 % rows.
    """
    plan_without_jit()
    programs = [PROGRAMS[program]] if program else list(PROGRAMS.values())
    places: list[str | None] = [*district_institutions(district), DISTRICT]
    if institution is not None:
        places = [institution]
    if targets is not None:
        populations = {**targets.populations(places), **(populations or {})}
    rows: list[FigureRow] = []
    tasks = [p.code for p in programs if p.code in TASK_PROGRAMS] if targets is not None else []
    task_screened = _task_screened(tasks, district.code, start, end)
    for prog in programs:
        settings = (values or {}).get(prog.code, SettingValues())
        context = Context(as_of or end, settings)
        shown = figure_indicators(prog)
        ratios = _program_counts(prog, shown, start, end, context, district.code)
        by_basis: dict[str, list[Indicator]] = defaultdict(list)
        for indicator in shown:
            if indicator.supported and indicator.measure is not None:
                by_basis[indicator.period.dated_by].append(indicator)
        measures = {}
        for same_basis in by_basis.values():
            measures.update(_measures(same_basis, start, end, context, prog.code, district.code))
        for indicator in shown:
            target = settings.number(indicator.target) if indicator.target is not None else None

            def row(place, num, den, value, reason, indicator=indicator, target=target, prog=prog):
                met = meets_target(value, target, indicator.comparison)
                return FigureRow(prog.code, indicator.code, indicator.zh, place, num, den, value,
                                 indicator.unit, target, str(indicator.comparison), met, reason)  # fmt: skip

            if not indicator.supported:
                rows += [row(p, None, None, None, f"unsupported: {indicator.unsupported}") for p in places]
                continue
            if indicator.measure is not None:
                found = measures[indicator.code]
                for p in places:
                    n, value = found.get(p, (0, None))
                    rows.append(row(p, None, n, value, None if value is not None else "no rows to measure"))
                continue
            counted = ratios[indicator.code]
            for p in places:
                n, d = counted.get(p, (0, 0))
                if isinstance(indicator.den, Population):
                    known = (populations or {}).get((p, indicator.den.key))
                    if known is None:
                        rows.append(
                            row(p, n, None, None, f"population figure {indicator.den.key} not entered")
                        )
                        continue
                    d = known
                value = ratio(n, d, indicator.unit)
                rows.append(row(p, n, d, value, None if value is not None else "zero denominator"))
        if targets is not None and prog.code in TASK_PROGRAMS:
            rows += _task_rows(prog.code, task_screened[prog.code], places, targets)
    return rows if targets is None else with_targets(rows, targets)


def _task_screened(programs: list[str], district: str, start: date, end: date) -> dict[str, dict]:
    """Return {program: {institution or None: episodes screened since the year's start}}, one query."""
    if not programs:
        return {}
    found = screened_by_program(programs, district, task_window_start(start, end), end)
    out = {}
    for program, by_place in found.items():
        screened = dict(by_place)
        screened[DISTRICT] = sum(screened.values())
        out[program] = screened
    return out


def _task_rows(program, screened, places, targets: TargetBook) -> list[FigureRow]:
    """Return the 完成年度任务 % rows: screened since the year's start over the year's task, by place."""
    return [
        task_row(FigureRow, program, p, screened.get(p, 0), targets.get(p, TargetKind.TASK, program))
        for p in places
    ]
