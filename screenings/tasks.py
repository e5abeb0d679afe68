"""RQ jobs of the screenings: ids and dates in, one service call, commit. Each is safe to run twice."""

from __future__ import annotations

import datetime as dt

from flask import current_app

from registry.extensions import db
from registry.job_records import report_progress
from registry.jobs import enqueue, enqueue_at, utc_now
from screenings.reminders import ReminderSettings, claim_reminders, deliver_reminder_sms, send_email_digests
from screenings.sweep import DEFAULT_BATCH_SIZE, DEFAULT_MISSED_LOOKBACK_DAYS, local_today, run_sweep

# Reminder SMS are sent in jobs of this many, each SMS committed on its own.
SMS_PER_JOB = 100


def daily_sweep(
    as_of: str | None = None, batch_size: int | None = None, *, record_id: int | None = None
) -> dict:
    """Sweep every open case as of a day (ISO date; default today in Asia/Shanghai), batch by batch."""
    config = current_app.config
    day = dt.date.fromisoformat(as_of) if as_of else local_today(utc_now())

    def progress(changed: int) -> None:
        if record_id is not None:
            report_progress(record_id, changed)

    report = run_sweep(
        day,
        batch_size=int(batch_size or config.get("SWEEP_BATCH_SIZE", DEFAULT_BATCH_SIZE)),
        missed_lookback_days=int(config.get("MISSED_SCREENING_LOOKBACK_DAYS", DEFAULT_MISSED_LOOKBACK_DAYS)),
        commit=db.session.commit,
        progress=progress,
    )
    db.session.commit()
    return report.as_dict()


def send_reminders(*, record_id: int | None = None) -> dict:
    """Create the due reminders with their in-app notifications, then queue the SMS and e-mails they need."""
    now = utc_now()
    settings = ReminderSettings.from_config(current_app.config)
    run = claim_reminders(now, settings, commit=db.session.commit)
    db.session.commit()
    start = settings.quiet_until(now)
    for first in range(0, len(run.sms_queued), SMS_PER_JOB):
        chunk = run.sms_queued[first : first + SMS_PER_JOB]
        # A fixed id per chunk of reminders: only the run that claimed them queues them.
        _queue(deliver_reminders, *chunk, job_id=f"sms-{chunk[0]}-{chunk[-1]}", at=start)
    if settings.mail_enabled and run.notifications:
        _queue(email_reminder_digests, job_id=None, at=start)
    return run.as_dict()


def _queue(func, *args, job_id: str | None, at: dt.datetime | None) -> None:
    if at is None:
        enqueue(func, *args, job_id=job_id)
    else:
        enqueue_at(at, func, *args, job_id=job_id)


def deliver_reminders(*event_ids: int) -> dict:
    """Text the families of claimed reminders (outside quiet hours); write each outcome on its case.

    Each SMS is committed as soon as its outcome is written, so a retry after a gateway failure resends
    only the ones not yet written back (with the same gateway message id, which the gateway deduplicates).
    """
    now = utc_now()
    settings = ReminderSettings.from_config(current_app.config)
    later = settings.quiet_until(now)
    if later is not None:
        # A retry that fell into the night waits for the morning.
        enqueue_at(
            later, deliver_reminders, *event_ids, job_id=f"sms-{event_ids[0]}-{int(later.timestamp())}"
        )
        return {"deferred": len(event_ids)}
    outcomes: dict[str, int] = {}
    for event_id in event_ids:
        outcome = deliver_reminder_sms(event_id, utc_now(), settings)
        db.session.commit()
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def email_reminder_digests() -> int:
    """E-mail staff their new reminders, one message each (outside quiet hours)."""
    now = utc_now()
    settings = ReminderSettings.from_config(current_app.config)
    later = settings.quiet_until(now)
    if later is not None:
        enqueue_at(later, email_reminder_digests)
        return 0
    sent = send_email_digests(now, settings)
    db.session.commit()
    return sent
