"""Who is reminded of what, when and through which channels; the keys that make a reminder happen once."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping

from registry.audit import Actor
from screenings.engine import LOCAL_TZ
from screenings.notices import REMINDER_DUE_SOON, REMINDER_OVERDUE

REMINDER_ACTOR = Actor.system("reminders")
DUE_SOON = "DUE_SOON"
OVERDUE = "OVERDUE"
CHANNEL_IN_APP = "IN_APP"
CHANNEL_SMS = "SMS"
CHANNEL_EMAIL = "EMAIL"
NOTIFICATION_KIND = {DUE_SOON: REMINDER_DUE_SOON, OVERDUE: REMINDER_OVERDUE}


@dataclasses.dataclass(frozen=True)
class ReminderSettings:
    """Who is reminded of what, when, and through which channels (from the application's configuration)."""

    days_ahead: int = 3
    overdue_lookback_days: int = 14
    quiet_start: dt.time = dt.time(21, 0)
    quiet_end: dt.time = dt.time(8, 0)
    sms_gateway_url: str | None = None
    sms_gateway_token: str | None = None
    sms_signature: str = "妇幼保健"
    mail_server: str | None = None
    mail_port: int = 25
    mail_use_tls: bool = False
    mail_username: str | None = None
    mail_password: str | None = None
    mail_sender: str = "registry@localhost"
    timeout_seconds: float = 10.0

    @classmethod
    def from_config(cls, config: Mapping) -> ReminderSettings:
        """Read the REMINDER_*, SMS_* and MAIL_* settings."""
        start, end = config.get("REMINDER_QUIET_HOURS", ("21:00", "08:00"))
        return cls(
            days_ahead=int(config.get("REMINDER_DAYS_AHEAD", 3)),
            overdue_lookback_days=int(config.get("REMINDER_OVERDUE_LOOKBACK_DAYS", 14)),
            quiet_start=dt.time.fromisoformat(start),
            quiet_end=dt.time.fromisoformat(end),
            sms_gateway_url=config.get("SMS_GATEWAY_URL") or None,
            sms_gateway_token=config.get("SMS_GATEWAY_TOKEN") or None,
            sms_signature=config.get("SMS_SIGNATURE") or "妇幼保健",
            mail_server=config.get("MAIL_SERVER") or None,
            mail_port=int(config.get("MAIL_PORT") or 25),
            mail_use_tls=bool(config.get("MAIL_USE_TLS")),
            mail_username=config.get("MAIL_USERNAME") or None,
            mail_password=config.get("MAIL_PASSWORD") or None,
            mail_sender=config.get("MAIL_DEFAULT_SENDER") or "registry@localhost",
        )

    @property
    def sms_enabled(self) -> bool:
        return self.sms_gateway_url is not None

    @property
    def mail_enabled(self) -> bool:
        return self.mail_server is not None

    def quiet_until(self, now: dt.datetime) -> dt.datetime | None:
        """Return when the quiet hours around `now` end, or None when `now` is not in them."""
        local = now.astimezone(LOCAL_TZ)
        start, end, clock = self.quiet_start, self.quiet_end, local.timetz().replace(tzinfo=None)
        if start == end:
            return None
        crosses_midnight = start > end
        quiet = (clock >= start or clock < end) if crosses_midnight else (start <= clock < end)
        if not quiet:
            return None
        day = local.date() + dt.timedelta(days=1) if crosses_midnight and clock >= start else local.date()
        return dt.datetime.combine(day, end, LOCAL_TZ).astimezone(dt.UTC)


def reminder_key(step: str, kind: str, due_on: dt.date) -> str:
    """Return the dedupe key of a reminder: one per case, step, kind and due date."""
    return f"reminder:{step}:{kind}:{due_on.isoformat()}"


def sms_key(claim_key: str) -> str:
    """Return the dedupe key of the SMS outcome written back for a reminder."""
    return f"{claim_key}:{CHANNEL_SMS}"


@dataclasses.dataclass
class ReminderRun:
    """What one reminders run did."""

    claimed: int = 0
    already_sent: int = 0
    notifications: int = 0
    sms_queued: list[int] = dataclasses.field(default_factory=list)  # REMINDER event ids to text

    def as_dict(self) -> dict:
        return {
            "claimed": self.claimed,
            "already_sent": self.already_sent,
            "notifications": self.notifications,
            "sms_queued": len(self.sms_queued),
        }
