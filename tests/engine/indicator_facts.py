"""Hand-built fact rows for the indicator tests: one call per person × program × episode."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time

from screenings.engine import (
    LOCAL_TZ,
    EpisodeFacts,
    Figure,
    Mark,
    Program,
    ResultClass,
    SettingValues,
    SubjectKind,
    evaluate,
)

MarkSpec = date | datetime | tuple[date | datetime, str | None]


def at(day: date, hour: int = 9, minute: int = 0) -> datetime:
    """Return a local (Asia/Shanghai) time on a day."""
    return datetime.combine(day, time(hour, minute), LOCAL_TZ)


def _mark(spec: MarkSpec) -> Mark:
    moment, code = spec if isinstance(spec, tuple) else (spec, None)
    if not isinstance(moment, datetime):
        moment = at(moment)
    return Mark(moment, code)


def fact(
    program: str,
    person: int,
    *,
    institution: str = "CLINIC_A",
    subject: SubjectKind = SubjectKind.NEWBORN,
    result_class: ResultClass | None = None,
    findings: Iterable[str] = (),
    episode: int = 1,
    district: str = "D1",
    **marks: MarkSpec,
) -> EpisodeFacts:
    """Build a fact row; keyword names are milestones (lower case) or the program's step codes."""
    return EpisodeFacts(
        program=program,
        person_id=person,
        institution=institution,
        subject=subject,
        marks={name: _mark(spec) for name, spec in marks.items()},
        result_class=result_class,
        findings=frozenset(findings),
        episode=episode,
        district=district,
    )


def figures(
    program: Program,
    rows: Iterable[EpisodeFacts],
    start: date,
    end: date,
    *,
    as_of: date | None = None,
    populations: dict[str, int] | None = None,
    values: SettingValues | None = None,
    institution: str | None = None,
) -> dict[str, Figure]:
    """Evaluate every indicator of a program over the rows for one period."""
    rows = list(rows)
    return {
        indicator.code: evaluate(
            indicator,
            rows,
            start=start,
            end=end,
            as_of=as_of,
            populations=populations,
            values=values,
            program=program.code,
            institution=institution,
        )
        for indicator in program.indicators
    }


def counts(program: Program, rows: Iterable[EpisodeFacts], start: date, end: date, **kw: object) -> dict:
    """Return {code: (numerator, denominator)} for the supported indicators of a program."""
    found = figures(program, rows, start, end, **kw)  # type: ignore[arg-type]
    return {
        code: (figure.numerator, figure.denominator)
        for code, figure in found.items()
        if program_indicator(program, code).supported
    }


def program_indicator(program: Program, code: str):
    """Return a program's indicator by code."""
    return next(i for i in program.indicators if i.code == code)
