"""Schedules known in advance: an exposed infant's PMTCT duties and the primary screen's window."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from .deadlines import compute_due
from .declarations import Program
from .times import add_calendar_months, add_interval, age_anchor, as_utc, local_date
from .vocabulary import Sex, Subject, SubjectKind


def exposed_infant_schedule(
    program: Program,
    birth_at: datetime,
    overrides: Mapping[str, object] | None = None,
    birth_on: date | None = None,
) -> list[tuple[str, datetime]]:
    """Return an exposed infant's routine steps with their due dates, from the birth time.

    Each step is taken as entered when the one before it was due, which is how the case will run
    when every visit happens on time; age limits (12 h, 48 h, 6 weeks …) fix most of the dates.
    """
    plan = program.exposed_infant
    if plan is None:
        raise ValueError(f"{program.code} has no exposed-infant schedule")
    birth_at = as_utc(birth_at, "birth_at")
    infant = Subject(SubjectKind.EXPOSED_INFANT, Sex.UNKNOWN, birth_at, birth_on or local_date(birth_at))
    values = program.values(overrides)
    schedule: list[tuple[str, datetime]] = []
    previous = birth_at
    for code in plan.schedule:
        step = program.step(code)
        due = compute_due(step.deadline, set_at=previous, subject=infant, values=values).due_at
        schedule.append((code, due))
        previous = due
    return schedule


@dataclass(frozen=True, slots=True)
class ScreeningWindowTimes:
    """When a subject's primary screen may start, is due, and counts as missed."""

    test: str
    earliest_at: datetime | None
    due_at: datetime
    missed_after: datetime


def screening_window(
    program: Program, subject: Subject, overrides: Mapping[str, object] | None = None
) -> ScreeningWindowTimes | None:
    """Return the primary screen's window for a subject, or None when the program has none."""
    window = program.screening_window
    if window is None:
        return None
    values = program.values(overrides)
    anchor, _ = age_anchor(subject)
    earliest = None
    if window.earliest_age is not None:
        earliest = add_interval(anchor, values.whole(window.earliest_age), window.earliest_unit)
    due = add_interval(anchor, values.whole(window.due_age), window.due_unit)
    missed = due
    if window.missed_after_age is not None:
        missed = add_interval(anchor, values.whole(window.missed_after_age), window.missed_after_unit)
    return ScreeningWindowTimes(window.test, earliest, due, missed)


def is_screening_missed(
    program: Program, subject: Subject, as_of: datetime, overrides: Mapping[str, object] | None = None
) -> bool:
    """Tell a sweep whether a subject with no primary screen yet has now missed it (漏筛)."""
    times = screening_window(program, subject, overrides)
    return times is not None and as_utc(as_of, "as_of") > times.missed_after


def next_routine_screen_on(
    program: Program,
    test: str,
    result_code: str,
    performed_at: datetime,
    overrides: Mapping[str, object] | None = None,
) -> date | None:
    """Return the local date a person screened normal is due for routine screening again, or None.

    Calendar years from the local date of the screen (a screen on 29 February is due on 28 February).
    """
    for rule in program.routine_recall:
        if rule.test == test and result_code in rule.results:
            years = program.values(overrides).whole(rule.interval)
            return add_calendar_months(local_date(as_utc(performed_at, "performed_at")), 12 * years)
    return None
