"""The lost-to-follow-up rule (§0.4): an explicit rule over documented attempts, never time alone."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from .declarations import LtfuPolicy
from .settings import SettingBook, SettingValues
from .times import as_utc
from .vocabulary import CONTACT_OUTCOME_CLOSURES, ContactChannel, ContactOutcome, LtfuReason


class ContactAttempt(Protocol):
    """What the rule reads of an attempt; CaseEventFact of kind CONTACT_ATTEMPT fits."""

    @property
    def occurred_at(self) -> datetime: ...

    @property
    def channel(self) -> ContactChannel | str | None: ...

    @property
    def contact_outcome(self) -> ContactOutcome | str | None: ...


def default_ltfu_policy(book: SettingBook) -> LtfuPolicy:
    """Declare the §0.4 default policy [P] in a program's setting book."""
    source = "§0.4 (cf. S23)"
    return LtfuPolicy(
        min_attempts=book.add("LTFU_MIN_ATTEMPTS", 3, "P", source, "attempts"),
        min_channels=book.add("LTFU_MIN_CHANNELS", 2, "P", source, "channels"),
        min_span_days=book.add("LTFU_MIN_SPAN_DAYS", 14, "P", source, "days"),
    )


def settles_case(attempts: Sequence[ContactAttempt]) -> bool:
    """Tell whether an attempt learned of a death, refusal or move, which is never a loss."""
    return any(a.contact_outcome in CONTACT_OUTCOME_CLOSURES for a in attempts)


def is_lost_to_follow_up(
    policy: LtfuPolicy,
    attempts: Sequence[ContactAttempt],
    due_at: datetime | None,
    as_of: datetime,
    has_address: bool = True,
    overrides: Mapping[str, object] | None = None,
) -> bool:
    """Decide whether a step's documented attempts make the case lost to follow-up as of a moment.

    All must hold: enough attempts, through enough channels (one a home or community visit when an
    address exists), spanning enough days, and the step's due date has passed. An attempt that
    learned of a death, refusal or move rules the loss out: those cases close with their own outcome.
    """
    as_of = as_utc(as_of, "as_of")
    values = SettingValues.resolve(policy.settings, overrides, strict=False)
    done = [a for a in attempts if as_utc(a.occurred_at) <= as_of]
    if settles_case(done):
        return False
    if policy.require_overdue and (due_at is None or as_of <= as_utc(due_at)):
        return False
    if len(done) < values.whole(policy.min_attempts):
        return False
    channels = {str(a.channel) for a in done if a.channel is not None}
    if len(channels) < values.whole(policy.min_channels):
        return False
    if has_address and not channels.intersection(str(c) for c in policy.visit_channels):
        return False
    times = sorted(as_utc(a.occurred_at) for a in done)
    return times[-1] - times[0] >= timedelta(days=values.whole(policy.min_span_days))


def ltfu_shortfalls(
    policy: LtfuPolicy,
    attempts: Sequence[ContactAttempt],
    due_at: datetime | None,
    as_of: datetime,
    has_address: bool = True,
    overrides: Mapping[str, object] | None = None,
) -> list[tuple[str, int]]:
    """Return which conditions of the rule do not hold yet, each as (code, the number the rule asks for).

    Codes: SETTLED (an attempt learned of a death, refusal or move), NOT_OVERDUE, ATTEMPTS, CHANNELS,
    VISIT, SPAN_DAYS. Empty exactly when `is_lost_to_follow_up` holds.
    """
    as_of = as_utc(as_of, "as_of")
    values = SettingValues.resolve(policy.settings, overrides, strict=False)
    done = [a for a in attempts if as_utc(a.occurred_at) <= as_of]
    if settles_case(done):
        return [("SETTLED", 0)]
    missing: list[tuple[str, int]] = []
    if policy.require_overdue and (due_at is None or as_of <= as_utc(due_at)):
        missing.append(("NOT_OVERDUE", 0))
    if len(done) < values.whole(policy.min_attempts):
        missing.append(("ATTEMPTS", values.whole(policy.min_attempts)))
    channels = {str(a.channel) for a in done if a.channel is not None}
    if len(channels) < values.whole(policy.min_channels):
        missing.append(("CHANNELS", values.whole(policy.min_channels)))
    if has_address and not channels.intersection(str(c) for c in policy.visit_channels):
        missing.append(("VISIT", 0))
    times = sorted(as_utc(a.occurred_at) for a in done)
    span = values.whole(policy.min_span_days)
    if not times or times[-1] - times[0] < timedelta(days=span):
        missing.append(("SPAN_DAYS", span))
    return missing


def ltfu_reason(attempts: Sequence[ContactAttempt]) -> LtfuReason:
    """Return the reason code of a loss: nobody reached, reached but unresponsive, or unknown."""
    reached = (ContactOutcome.REACHED, ContactOutcome.MESSAGE_DELIVERED)
    if any(a.contact_outcome in reached or getattr(a, "reached", None) for a in attempts):
        return LtfuReason.CONTACTED_UNRESPONSIVE
    if any(a.contact_outcome is not None for a in attempts):
        return LtfuReason.UNABLE_TO_CONTACT
    return LtfuReason.UNKNOWN
