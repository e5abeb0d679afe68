"""Claiming reminders: one REMINDER event per (case, step, kind, due date), with its in-app notifications."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from registry.audit import Actor
from registry.extensions import db
from registry.notifications import Notification
from screenings.cases.writer import reminder_row
from screenings.engine import LOCAL_TZ, CaseStatus
from screenings.models import CaseEvent, FollowUpCase
from screenings.notices import NOTIFICATION_SUBJECT
from screenings.programs import get_program
from screenings.reminders.recipients import Recipients
from screenings.reminders.settings import (
    CHANNEL_IN_APP,
    CHANNEL_SMS,
    DUE_SOON,
    NOTIFICATION_KIND,
    OVERDUE,
    REMINDER_ACTOR,
    ReminderRun,
    ReminderSettings,
    reminder_key,
)


@dataclasses.dataclass(frozen=True)
class _Claim:
    case_id: int
    key: str
    kind: str
    step: str
    due_on: dt.date
    rule_version: str
    recipients: tuple[int, ...]
    program_zh: str
    program_en: str
    step_zh: str
    step_en: str
    sms: bool
    restricted: bool


def claim_reminders(
    now: dt.datetime,
    settings: ReminderSettings,
    actor: Actor = REMINDER_ACTOR,
    *,
    batch_size: int = 200,
    commit: Callable[[], None] | None = None,
) -> ReminderRun:
    """Create every reminder due at `now` that does not exist yet, with its in-app notifications.

    Due soon: the step is due within `days_ahead` days. Overdue: the due date passed within the last
    `overdue_lookback_days` days (older ones were reminded when they became overdue). Closed and
    lost-to-follow-up cases get none. With `commit` each batch is committed on its own.
    """
    run = ReminderRun()
    recipients = Recipients()
    window_start = now - dt.timedelta(days=settings.overdue_lookback_days)
    window_end = now + dt.timedelta(days=settings.days_ahead)
    last: tuple[dt.datetime, int] | None = None
    while True:
        query = (
            sa.select(FollowUpCase)
            .where(
                FollowUpCase.status.not_in([CaseStatus.CLOSED, CaseStatus.LOST_TO_FOLLOW_UP]),
                FollowUpCase.due_at > window_start,
                FollowUpCase.due_at <= window_end,
                FollowUpCase.current_step.is_not(None),
            )
            .order_by(FollowUpCase.due_at, FollowUpCase.id)
            .limit(batch_size)
        )
        if last is not None:
            query = query.where(
                sa.or_(
                    FollowUpCase.due_at > last[0],
                    sa.and_(FollowUpCase.due_at == last[0], FollowUpCase.id > last[1]),
                )
            )
        cases = db.session.scalars(query).all()
        if not cases:
            break
        last = (cases[-1].due_at, cases[-1].id)
        claims = [_claim_for(case, now, settings, recipients) for case in cases]
        _store_claims(claims, now, actor, run, commit)
    return run


def _claim_for(case: FollowUpCase, now: dt.datetime, settings: ReminderSettings, recipients) -> _Claim:
    program = get_program(case.program)
    step = program.step(case.current_step)
    kind = OVERDUE if now > case.due_at else DUE_SOON
    due_on = case.due_at.astimezone(LOCAL_TZ).date()
    person = case.person
    return _Claim(
        case_id=case.id,
        key=reminder_key(step.code, kind, due_on),
        kind=kind,
        step=step.code,
        due_on=due_on,
        rule_version=case.rule_version,
        recipients=recipients.for_case(
            case.responsible_institution_id, case.escalated_at is not None, program.code
        ),
        program_zh=program.zh,
        program_en=program.en,
        step_zh=step.zh,
        step_en=step.en,
        sms=settings.sms_enabled and bool(person.phone) and not person.reminder_opt_out,
        restricted=program.restricted,
    )


def _store_claims(
    claims: list[_Claim], now: dt.datetime, actor: Actor, run: ReminderRun, commit: Callable[[], None] | None
) -> None:
    """Insert the batch's new claims in one transaction; on a race with another worker, one by one."""
    existing = set(
        db.session.execute(
            sa.select(CaseEvent.case_id, CaseEvent.dedupe_key).where(
                CaseEvent.case_id.in_([c.case_id for c in claims]),
                CaseEvent.dedupe_key.in_(sorted({c.key for c in claims})),
            )
        ).all()
    )
    new = [c for c in claims if (c.case_id, c.key) not in existing]
    run.already_sent += len(claims) - len(new)
    if not new:
        return
    if commit is None:
        for claim in new:
            _insert_claim(claim, now, actor, run)
        db.session.flush()
        return
    attempt = ReminderRun()
    try:
        for claim in new:
            _insert_claim(claim, now, actor, attempt)
        db.session.flush()
        commit()
    except IntegrityError:
        # Another worker claimed some of these between our read and our insert: take them one at a time.
        db.session.rollback()
        for claim in new:
            try:
                _insert_claim(claim, now, actor, run)
                db.session.flush()
                commit()
            except IntegrityError:
                db.session.rollback()
                run.already_sent += 1
        return
    run.claimed += attempt.claimed
    run.notifications += attempt.notifications
    run.sms_queued.extend(attempt.sms_queued)


def _insert_claim(claim: _Claim, now: dt.datetime, actor: Actor, run: ReminderRun) -> CaseEvent:
    channels = [CHANNEL_IN_APP] + ([CHANNEL_SMS] if claim.sms else [])
    event = CaseEvent(
        **reminder_row(
            claim.case_id,
            claim.step,
            claim.rule_version,
            claim.key,
            {
                "kind": claim.kind,
                "due_on": claim.due_on.isoformat(),
                "channels": channels,
                "recipients": len(claim.recipients),
            },
            now,
            actor,
        )
    )
    db.session.add(event)
    db.session.flush()
    data = {
        "step": claim.step,
        "step_zh": claim.step_zh,
        "step_en": claim.step_en,
        "due_on": claim.due_on.isoformat(),
        "restricted": claim.restricted,
    }
    db.session.add_all(
        Notification(
            user_id=user_id,
            kind=NOTIFICATION_KIND[claim.kind],
            subject_type=NOTIFICATION_SUBJECT,
            subject_id=claim.case_id,
            data=data,
            created_at=now,
        )
        for user_id in claim.recipients
    )
    run.claimed += 1
    run.notifications += len(claim.recipients)
    if claim.sms:
        run.sms_queued.append(event.id)
    return event
