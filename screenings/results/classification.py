"""Adapters between raw values and the engine's classifier: the subject it sees, the test's time, JSON."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Mapping

from registry.people.models import Person
from screenings.cases.subjects import subject_kind_for, subject_of
from screenings.engine import (
    LOCAL_TZ,
    Classification,
    Program,
    Subject,
    classify,
)


def classified(
    person: Person,
    program: Program,
    test_code: str,
    values: Mapping[str, object],
    traits: Mapping[str, object] | None = None,
) -> tuple[Subject, Classification]:
    """Classify raw values; return the subject as the case will keep it, with what the values told of them.

    `traits` are what earlier results told the person's open case (e.g. when the CHD screen read the SpO2,
    which times a repeat entered on its own form).
    """
    subject = subject_of(person, subject_kind_for(person, program), traits)
    classification = classify(program, test_code, values, subject)
    # The traits the values told (the test's subject_traits) stay with the case, for its later steps.
    return subject.told(classification.traits), classification


def performed_at_of(
    classification: Classification, field: str | None, given: dt.datetime | None, now: dt.datetime
) -> dt.datetime:
    value = classification.values.get(field) if field else None
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        # A date means some time that day: noon, or, on the morning of that very day, now (not the future).
        noon = dt.datetime.combine(value, dt.time(12), LOCAL_TZ).astimezone(dt.UTC)
        return min(noon, now) if value == now.astimezone(LOCAL_TZ).date() else noon
    return given or now


def jsonable(values: Mapping[str, object]) -> dict:
    def convert(value: object) -> object:
        if isinstance(value, dt.datetime | dt.date):
            return value.isoformat()
        if isinstance(value, decimal.Decimal):
            return str(value)
        if isinstance(value, tuple | list | frozenset | set):
            return [convert(v) for v in value]
        return value

    return {name: convert(value) for name, value in values.items()}
