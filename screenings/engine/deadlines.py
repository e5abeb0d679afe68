"""Due dates: the earlier of a relative and an age deadline (§0.5 rule 1), and the warn time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from .declarations import Deadline
from .settings import SettingValues
from .times import add_interval, age_anchor, as_utc
from .vocabulary import Subject


@dataclass(frozen=True, slots=True)
class DueDate:
    """A computed due date and how it came about."""

    due_at: datetime
    set_at: datetime  # the event that set it
    relative_due_at: datetime | None
    age_due_at: datetime | None
    age_limit_passed: bool  # the age limit was already behind us when the step began
    age_anchor_approximate: bool  # no birth time: ages counted from the start of the birth day
    overridden_settings: tuple[str, ...]


def compute_due(
    deadline: Deadline,
    *,
    set_at: datetime,
    subject: Subject,
    values: SettingValues,
    scheduled_at: datetime | None = None,
    relative_from: datetime | None = None,
) -> DueDate:
    """Compute when a step entered at `set_at` is due.

    `scheduled_at` is a date booked by a clinician for a step that accepts one ("per cardiologist");
    it replaces the relative deadline but never the age limit. A due date is never earlier than the
    event that set it: when an age limit has already passed, the step is due at once and the
    passed limit is reported, so the worklist shows it overdue from the next moment on.
    """
    set_at = as_utc(set_at, "set_at")
    relative_due = None
    if scheduled_at is not None:
        relative_due = as_utc(scheduled_at, "scheduled due date")
    elif deadline.after_previous is not None:
        start = as_utc(relative_from, "relative_from") if relative_from is not None else set_at
        relative_due = add_interval(
            start, values.whole(deadline.after_previous), deadline.after_previous_unit
        )
    age_due = None
    approximate = False
    if deadline.by_age is not None:
        anchor, approximate = age_anchor(subject)
        age_due = add_interval(anchor, values.whole(deadline.by_age), deadline.by_age_unit)
    candidates = [d for d in (relative_due, age_due) if d is not None]
    earliest = min(candidates)
    overridden = tuple(s.name for s in deadline.settings if values.is_overridden(s))
    return DueDate(
        due_at=max(earliest, set_at),
        set_at=set_at,
        relative_due_at=relative_due,
        age_due_at=age_due,
        age_limit_passed=age_due is not None and age_due < set_at,
        age_anchor_approximate=approximate and deadline.by_age is not None,
        overridden_settings=overridden,
    )


def compute_earliest(
    rule: Deadline,
    *,
    set_at: datetime,
    subject: Subject,
    values: SettingValues,
) -> datetime:
    """Return the earliest a step entered at `set_at` may be done: the later of its two limits."""
    set_at = as_utc(set_at, "set_at")
    candidates = [set_at]
    if rule.after_previous is not None:
        candidates.append(add_interval(set_at, values.whole(rule.after_previous), rule.after_previous_unit))
    if rule.by_age is not None:
        anchor, _approximate = age_anchor(subject)
        candidates.append(add_interval(anchor, values.whole(rule.by_age), rule.by_age_unit))
    return max(candidates)


def warn_at(due: DueDate, fraction: Decimal | int | bool) -> datetime:
    """Return when a step becomes "due soon": the last `fraction` of its window (§0.5 rule 2)."""
    window = (due.due_at - due.set_at) // timedelta(microseconds=1)
    return due.due_at - timedelta(microseconds=int(window * Decimal(fraction)))  # exact, no float rounding
