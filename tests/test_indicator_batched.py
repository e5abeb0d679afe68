"""The month page's batched statements count what the per-program and per-indicator statements count.

统计分析 reads every program's ratio counts in one statement per period basis (on PostgreSQL with the
district's row by ROLLUP and the period's marks only), every program's cascades by institution in one,
and every program's 12-month closure trend in one. Each is checked here against the plain statement it
replaces, on random rows with marks and findings, on the database the suite runs on.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from datetime import date, timedelta

import pytest

from registry.extensions import db
from screenings.indicator_sql import count_query, counts_query
from screenings.indicators.cascade import (
    Cascade,
    cascades_by_institution,
    cascades_by_program,
    closure_trends,
    monthly_closure,
    program_cascade,
)
from screenings.indicators.facts import TABLES, write_facts
from screenings.indicators.views import _last_twelve_months
from screenings.programs import PROGRAMS
from tests.engine.test_indicator_sql import AS_OF, END, START, _random_rows

ALL = list(PROGRAMS.values())


@pytest.fixture
def city_rows(db_session):
    """Random episodes of every program in two districts (D1 and D2), written through the fact writer."""
    rows = []
    for k, program in enumerate(ALL):
        for i, row in enumerate(_random_rows(program, 10 + k, count=60)):
            person = 1000 * k + row.person_id
            rows.append(dataclasses.replace(row, person_id=person, district="D1" if i % 3 else "D2"))
    pairs = sorted({(r.person_id, r.program) for r in rows})
    write_facts(pairs, rows)
    db.session.flush()
    return rows


@pytest.mark.parametrize("program", ALL, ids=[p.code for p in ALL])
def test_one_statement_with_the_district_row_counts_what_the_plain_statements_count(city_rows, program):
    postgres = db.session.get_bind().dialect.name == "postgresql"
    kw = dict(start=START, end=END, as_of=AS_OF, program=program.code, district="D1")
    by_basis = defaultdict(list)
    for indicator in program.indicators:
        if indicator.supported and indicator.measure is None:
            by_basis[indicator.period.dated_by].append(indicator)
    for indicators in by_basis.values():
        plain = {
            r[0]: tuple(r[1:])
            for r in db.session.execute(counts_query(indicators, TABLES, by_institution=True, **kw))
        }
        plain[None] = tuple(db.session.execute(counts_query(indicators, TABLES, **kw)).one())
        scoped = {
            r[0]: tuple(r[1:])
            for r in db.session.execute(
                counts_query(indicators, TABLES, by_institution=True, scoped_children=True, **kw)
            )
        }
        scoped[None] = tuple(
            db.session.execute(counts_query(indicators, TABLES, scoped_children=True, **kw)).one()
        )
        assert scoped == plain
        if postgres:
            query = counts_query(
                indicators, TABLES, by_institution=True, scoped_children=True, with_total=True, **kw
            )
            rolled = {None if r[-1] else r[0]: tuple(r[1:-1]) for r in db.session.execute(query)}
            assert rolled == plain
        for k, indicator in enumerate(indicators):  # and each equals the one-indicator statement
            where = count_query(indicator, TABLES, start=START, end=END, as_of=AS_OF, program=program.code)
            alone = tuple(db.session.execute(where.where(TABLES.facts.c.district == "D1")).one())
            assert plain[None][2 * k : 2 * k + 2] == alone, indicator.code


def test_every_programs_cascades_in_one_statement_equal_each_programs(city_rows):
    codes = list(PROGRAMS)
    for start, end in ((START, END), (START - timedelta(days=400), END + timedelta(days=400))):
        found = cascades_by_program(codes, "D1", start, end)
        assert any(found.values())
        for code in codes:
            assert found[code] == cascades_by_institution(code, "D1", start, end), code
            assert Cascade.total(found[code].values()) == program_cascade(code, "D1", start, end), code
            for place in "ABC":
                alone = program_cascade(code, "D1", start, end, institution=place)
                assert Cascade.total([c for p, c in found[code].items() if p == place]) == alone


@pytest.mark.parametrize("institution", [None, "A"])
def test_every_programs_closure_trend_in_one_statement_equals_each_programs(city_rows, institution):
    codes = list(PROGRAMS)
    months = _last_twelve_months(date(2026, 12, 31))
    trends = closure_trends(codes, "D1", months, institution=institution)
    assert any(rate is not None for rates in trends.values() for rate in rates)
    for code in codes:
        expected = [c.closure_rate for c in monthly_closure(code, "D1", months, institution=institution)]
        assert trends[code] == expected, code


def test_the_years_screened_counts_equal_the_cascades_screened_stage(city_rows):
    from screenings.indicators.cascade import screened_by_program

    codes = list(PROGRAMS)
    start, end = START - timedelta(days=400), END + timedelta(days=400)
    cascades = cascades_by_program(codes, "D1", start, end)
    screened = screened_by_program(codes, "D1", start, end)
    assert any(screened.values())
    for code in codes:
        expected = {p: c.counts["screened"] for p, c in cascades[code].items() if c.counts["screened"]}
        assert {p: n for p, n in screened[code].items() if n} == expected, code


def test_the_month_page_of_every_program_sends_a_fixed_few_statements(
    client, login, district, make_user, count_queries
):
    """66 statements a page before the batching; a bound that has to rise is a design decision, not a bump."""
    from registry.auth.models import Role
    from tests.test_indicator_figures import _load

    _load(district)
    login(make_user(Role.PROGRAM_MANAGER, district["mch"]))
    client.get("/statistics?period=2026-11")  # warm the process-wide caches
    db.session.expire_all()
    with count_queries() as queries:
        assert client.get("/statistics?period=2026-11").status_code == 200
    # PostgreSQL: the district's row comes with the institutions' (ROLLUP); plus its SET LOCAL statements
    # +7 / +8 (stats-times): one days-measure statement per program (closure times, issue 17)
    bound = 37 if db.session.get_bind().dialect.name == "postgresql" else 46
    assert queries.count <= bound, str(queries)
