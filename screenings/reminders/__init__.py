"""Reminders of steps due soon and overdue: once per (case, step, kind, due date), through every channel.

A reminder is claimed by inserting its REMINDER event, whose dedupe key
`reminder:<step>:<kind>:<due date>` is unique per case in the database; the in-app notifications for the
responsible staff are written in the same transaction. Two workers running the reminders at once therefore
create each reminder exactly once: the loser's insert fails on the unique index and it moves on.

Messages that leave the system go afterwards, from jobs of their own, outside quiet hours:
- an SMS to the family (unless they opted out, or have no phone) through the configured HTTP gateway; its
  outcome is written back as an automated CONTACT_ATTEMPT event whose dedupe key makes the write-back
  happen once, and whose gateway message id (derived from that key) lets the gateway drop a resend;
- one e-mail digest per staff member with an address, by SMTP, listing their new reminders.

Automated SMS reminders are on the case's timeline but are not documented attempts for the
lost-to-follow-up rule (see screenings.engine.events.AUTOMATED). The texts name no program or result: an SMS
about a PMTCT case must not tell whoever reads the phone that the mother is HIV positive.
"""

from screenings.reminders.channels import (
    GatewayUnavailable,
    deliver_reminder_sms,
    gateway_message_id,
    send_email_digests,
    send_sms,
    sms_text,
)
from screenings.reminders.claims import claim_reminders
from screenings.reminders.recipients import Recipients
from screenings.reminders.settings import (
    CHANNEL_EMAIL,
    CHANNEL_IN_APP,
    CHANNEL_SMS,
    DUE_SOON,
    OVERDUE,
    REMINDER_ACTOR,
    ReminderRun,
    ReminderSettings,
    reminder_key,
    sms_key,
)

__all__ = [
    "CHANNEL_EMAIL",
    "CHANNEL_IN_APP",
    "CHANNEL_SMS",
    "DUE_SOON",
    "OVERDUE",
    "REMINDER_ACTOR",
    "GatewayUnavailable",
    "Recipients",
    "ReminderRun",
    "ReminderSettings",
    "claim_reminders",
    "deliver_reminder_sms",
    "gateway_message_id",
    "reminder_key",
    "send_email_digests",
    "send_sms",
    "sms_key",
    "sms_text",
]
