"""Small helpers the program modules share, so that each declares only what is its own."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from screenings.engine import (
    Choice,
    LtfuPolicy,
    Notice,
    Setting,
    SettingBook,
    Subject,
    default_ltfu_policy,
)
from screenings.engine.times import age_anchor, local_midnight

POSITIVE_NEGATIVE = (
    Choice("POSITIVE", "阳性", "Positive"),
    Choice("NEGATIVE", "阴性", "Negative"),
)

POSITIVE_NEGATIVE_NOT_DONE = (*POSITIVE_NEGATIVE, Choice("NOT_DONE", "未检测", "Not done"))


def standard_policies(book: SettingBook) -> tuple[Setting, Setting, LtfuPolicy]:
    """Declare the warn fraction, the escalation threshold and the §0.4 policy, all [P]."""
    warn = book.add("WARN_FRACTION", "0.2", "P", "§0.5 rule 2", "of the step's window")
    escalate = book.add(
        "ESCALATE_AFTER_DAYS_OVERDUE",
        7,
        "P",
        "product.md (clinic → district escalation); no national rule",
        "days",
    )
    return warn, escalate, default_ltfu_policy(book)


def hours_since_birth(subject: Subject, moment: datetime) -> tuple[float, bool]:
    """Return a subject's age in hours at a moment, and whether birth time was only a date."""
    anchor, approximate = age_anchor(subject)
    return (moment - anchor) / timedelta(hours=1), approximate


def approximate_birth_notice(field: str) -> Notice:
    """Warn that an hour-based rule was checked against the start of the birth day."""
    return Notice(
        field, "BIRTH_TIME_UNKNOWN", "birth time unknown: age in hours counted from the start of the day"
    )


def end_of_local_day(day: object) -> datetime | None:
    """Return the end of a local appointment day (a booked date is due until that day is over)."""
    if not isinstance(day, date) or isinstance(day, datetime):
        return None
    return local_midnight(day + timedelta(days=1))
