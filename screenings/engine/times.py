"""Calendar arithmetic for deadlines and ages; no clock is read here, time is always an argument."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta, timezone

from .vocabulary import Subject, TimeUnit

# China keeps one offset all year (no DST), so a fixed offset is exact and needs no tz database.
LOCAL_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")


def as_utc(moment: datetime, what: str = "datetime") -> datetime:
    """Return an aware datetime in UTC; a naive one is refused because its instant is unknown."""
    if moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware")
    return moment.astimezone(UTC)


def local_midnight(day: date) -> datetime:
    """Return the instant a local (Asia/Shanghai) calendar day begins, in UTC."""
    return datetime.combine(day, time(0), LOCAL_TZ).astimezone(UTC)


def add_calendar_months(day: date, months: int) -> date:
    """Add calendar months, clamping to the month's last day (31 Jan + 1 month = 28/29 Feb)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def add_interval(start: datetime, amount: int, unit: TimeUnit) -> datetime:
    """Add an amount of a unit; months, years and working days follow the local calendar."""
    start = as_utc(start)
    if unit is TimeUnit.HOURS:
        return start + timedelta(hours=amount)
    if unit is TimeUnit.DAYS:
        return start + timedelta(days=amount)
    local = start.astimezone(LOCAL_TZ)
    if unit in (TimeUnit.MONTHS, TimeUnit.YEARS):
        months = amount * 12 if unit is TimeUnit.YEARS else amount
        moved = add_calendar_months(local.date(), months)
        return datetime.combine(moved, local.timetz()).astimezone(UTC)
    if unit is TimeUnit.WORKING_DAYS:
        remaining = amount
        while remaining > 0:
            local += timedelta(days=1)
            if local.weekday() < 5:
                remaining -= 1
        return local.astimezone(UTC)
    raise ValueError(f"unknown time unit {unit!r}")


def age_anchor(subject: Subject) -> tuple[datetime, bool]:
    """Return the instant ages are counted from, and whether it is only the start of the birth day.

    Without a birth time, the start of the local birth day is used: it is the earliest the birth
    can have been, so an hour-based deadline comes out early rather than late.
    """
    if subject.birth_at is not None:
        return as_utc(subject.birth_at), False
    return local_midnight(subject.birth_on), True


def completed_age(birth_on: date, on: date, unit: TimeUnit) -> int:
    """Return the age in completed days, months or years on a local date."""
    if unit is TimeUnit.DAYS:
        return (on - birth_on).days
    months = (on.year - birth_on.year) * 12 + (on.month - birth_on.month)
    if add_calendar_months(birth_on, months) > on:
        months -= 1
    if unit is TimeUnit.MONTHS:
        return months
    if unit is TimeUnit.YEARS:
        return months // 12 if months >= 0 else -((-months + 11) // 12)
    raise ValueError(f"ages are not counted in {unit}")


def local_date(moment: datetime) -> date:
    """Return the Asia/Shanghai calendar date of an instant."""
    return as_utc(moment).astimezone(LOCAL_TZ).date()
