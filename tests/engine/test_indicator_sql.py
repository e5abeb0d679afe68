"""The SQL compilation of indicator predicates gives the reference evaluator's counts on the same rows."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from screenings.engine import (
    NEVER_LOST,
    ClosureOutcome,
    EpisodeFacts,
    Milestone,
    Population,
    ResultClass,
    SubjectKind,
    evaluate,
)
from screenings.indicator_sql import count_query, fact_rows, fact_tables
from screenings.programs import PROGRAMS
from tests.engine.indicator_facts import at, fact

ALL = list(PROGRAMS.values())
START, END, AS_OF = date(2026, 3, 1), date(2026, 3, 31), date(2027, 10, 1)


def _codes(program, name: str) -> list[str]:
    if name == Milestone.CLOSED:
        return [str(o) for o in ClosureOutcome]
    if name == Milestone.TRANSFERRED:
        return ["B", "C"]
    sources = {t.code: [r.code for r in t.result_codes] for t in program.tests}
    sources.update({s.code: list(s.result_codes) for s in program.steps})
    if name in sources:
        return sources[name]
    codes = [c for rule in program.milestones if rule.milestone == name for c in rule.results]
    if name == Milestone.SCREENED:
        codes = [c for t in program.tests for c in sources[t.code]]
    return codes or [None]


def _random_rows(program, seed: int, count: int = 100) -> list[EpisodeFacts]:
    rng = random.Random(seed)
    names = sorted(set().union(*(i.names() for i in program.indicators)) | {"closed", "lost", "transferred"})
    findings = sorted({c for t in program.tests for c in (f.code for f in t.findings)})
    rows = []
    for person in range(count):
        born = date(2026, 2, 20) + timedelta(days=rng.randrange(50))
        marks = {}
        for name in names:
            if rng.random() < 0.55:
                offset = rng.choice([rng.randrange(0, 3), rng.randrange(0, 40), rng.randrange(-300, 700)])
                day = born if name == Milestone.BORN else born + timedelta(days=offset)
                marks[name] = (at(day, rng.randrange(24)), rng.choice(_codes(program, name)))
        if "closed" in marks and marks["closed"][1] in NEVER_LOST:
            marks.pop("lost", None)
        rows.append(
            fact(
                program.code,
                person % (count - 7),  # a few people with two episodes
                episode=person,
                institution=rng.choice("ABC"),
                subject=rng.choice(list(SubjectKind)),
                result_class=rng.choice([None, *ResultClass]),
                findings=rng.sample(findings, k=min(len(findings), rng.randrange(3))),
                **marks,
            )
        )
    return rows


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("program", ALL, ids=[p.code for p in ALL])
def test_sql_counts_equal_the_reference_evaluator(program, seed):
    rows = _random_rows(program, seed)
    engine = sa.create_engine("sqlite://")
    tables = fact_tables(sa.MetaData())
    tables.facts.metadata.create_all(engine)
    with engine.begin() as db:
        for values, steps, findings in fact_rows(rows):
            db.execute(tables.facts.insert().values(**values))
            if steps:
                db.execute(tables.marks.insert(), steps)
            if findings:
                db.execute(tables.findings.insert(), findings)
        checked = 0
        for indicator in program.indicators:
            if not indicator.supported or indicator.measure is not None:
                continue
            query = count_query(indicator, tables, start=START, end=END, as_of=AS_OF, program=program.code)
            numerator, denominator = db.execute(query).one()
            expected = evaluate(indicator, rows, start=START, end=END, as_of=AS_OF, populations={"": 0})
            assert numerator == expected.numerator, indicator.code
            if not isinstance(indicator.den, Population):
                assert denominator == expected.denominator, indicator.code
            by_place = dict(
                (place, (n, d))
                for place, n, d in db.execute(
                    count_query(indicator, tables, start=START, end=END, as_of=AS_OF, by_institution=True)
                )
            )
            for place in "ABC":
                part = evaluate(indicator, rows, start=START, end=END, as_of=AS_OF, institution=place)
                assert by_place.get(place, (0, 0))[0] == part.numerator, (indicator.code, place)
            checked += 1
        assert checked


@pytest.mark.parametrize("program", ALL, ids=[p.code for p in ALL])
def test_one_query_per_period_basis_counts_what_one_query_per_indicator_counts(program):
    from collections import defaultdict

    from screenings.indicator_sql import counts_query

    rows = _random_rows(program, 3)
    engine = sa.create_engine("sqlite://")
    tables = fact_tables(sa.MetaData())
    tables.facts.metadata.create_all(engine)
    kw = dict(start=START, end=END, as_of=AS_OF, program=program.code)
    with engine.begin() as db:
        for values, steps, findings in fact_rows(rows):
            db.execute(tables.facts.insert().values(**values))
            if steps:
                db.execute(tables.marks.insert(), steps)
            if findings:
                db.execute(tables.findings.insert(), findings)
        by_basis = defaultdict(list)
        for indicator in program.indicators:
            if indicator.supported and indicator.measure is None:
                by_basis[indicator.period.dated_by].append(indicator)
        assert by_basis
        for indicators in by_basis.values():
            total = db.execute(counts_query(indicators, tables, **kw)).one()
            grouped = {
                r[0]: r[1:] for r in db.execute(counts_query(indicators, tables, by_institution=True, **kw))
            }
            for k, indicator in enumerate(indicators):
                alone = tuple(db.execute(count_query(indicator, tables, **kw)).one())
                assert (total[2 * k], total[2 * k + 1]) == alone, indicator.code
                for place, n, d in db.execute(count_query(indicator, tables, by_institution=True, **kw)):
                    assert (grouped[place][2 * k], grouped[place][2 * k + 1]) == (n, d), (
                        indicator.code,
                        place,
                    )
