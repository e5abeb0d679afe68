"""The messages that leave the system: an SMS to the family, an e-mail digest to staff."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import smtplib
import urllib.error
import urllib.request
from collections import defaultdict
from email.message import EmailMessage

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from registry.audit import Actor
from registry.auth.models import User
from registry.extensions import db
from registry.notifications import Notification
from screenings.cases import CaseActionRefused, log_contact_attempt
from screenings.engine import CaseStatus, ContactChannel, ContactOutcome, EventKind
from screenings.models import CaseEvent, FollowUpCase
from screenings.reminders.settings import REMINDER_ACTOR, ReminderSettings, sms_key

# -- SMS ---------------------------------------------------------------------------------------------


class GatewayUnavailable(RuntimeError):
    """The SMS gateway or the mail server did not answer; the job is retried with backoff."""


def sms_text(case: FollowUpCase, due_on: str, settings: ReminderSettings) -> str:
    """Return the reminder SMS, in Chinese: the institution to contact and the date, nothing clinical."""
    institution = case.responsible_institution
    with force_locale("zh_CN"):
        return _(
            "[%(signature)s] Hello, a maternal and child health follow-up for your family is due by "
            "%(due_on)s. Please contact %(institution)s %(phone)s. Ignore this message if it is done.",
            signature=settings.sms_signature,
            due_on=due_on,
            institution=institution.name,
            phone=institution.phone or "",
        )


def gateway_message_id(case_id: int, key: str) -> str:
    """Return the gateway's id for a reminder SMS: the same on every resend, so the gateway drops repeats."""
    return hashlib.sha256(f"{case_id}:{key}".encode()).hexdigest()[:32]


def send_sms(settings: ReminderSettings, phone: str, text: str, message_id: str) -> ContactOutcome:
    """POST one SMS to the gateway; a refused number is an outcome, an unreachable gateway an exception."""
    body = json.dumps({"to": phone, "text": text, "message_id": message_id}).encode()
    request = urllib.request.Request(
        settings.sms_gateway_url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    if settings.sms_gateway_token:
        request.add_header("Authorization", f"Bearer {settings.sms_gateway_token}")
    try:
        with urllib.request.urlopen(request, timeout=settings.timeout_seconds) as response:
            response.read()
            return ContactOutcome.MESSAGE_DELIVERED
    except urllib.error.HTTPError as error:
        if 400 <= error.code < 500 and error.code not in (408, 429):
            return ContactOutcome.WRONG_CONTACT
        raise GatewayUnavailable(f"SMS gateway answered {error.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        raise GatewayUnavailable(f"SMS gateway unreachable: {type(error).__name__}") from None


def deliver_reminder_sms(
    event_id: int, now: dt.datetime, settings: ReminderSettings, actor: Actor = REMINDER_ACTOR
) -> str:
    """Text the family about one claimed reminder and write the outcome back once; return what happened."""
    claim = db.session.get(CaseEvent, event_id)
    if claim is None or claim.kind is not EventKind.REMINDER or claim.dedupe_key is None:
        return "no-reminder"
    outcome_key = sms_key(claim.dedupe_key)
    done = db.session.scalar(
        sa.select(CaseEvent.id).where(CaseEvent.case_id == claim.case_id, CaseEvent.dedupe_key == outcome_key)
    )
    if done is not None:
        return "already-sent"
    case = claim.case
    person = case.person
    if case.status is CaseStatus.CLOSED:
        return "case-closed"
    if person.reminder_opt_out or not person.phone or not settings.sms_enabled:
        return "not-sent"
    text = sms_text(case, claim.data["due_on"], settings)
    outcome = send_sms(settings, person.phone, text, gateway_message_id(case.id, claim.dedupe_key))
    try:
        log_contact_attempt(
            case,
            ContactChannel.SMS,
            outcome,
            actor,
            now,
            note="automated reminder",
            dedupe_key=outcome_key,
            automated=True,
        )
        db.session.flush()
    except IntegrityError:
        db.session.rollback()  # another delivery of the same reminder wrote it back first
        return "already-sent"
    except CaseActionRefused:
        db.session.rollback()
        return "case-closed"
    return str(outcome)


# -- e-mail ------------------------------------------------------------------------------------------


def send_email_digests(
    now: dt.datetime, settings: ReminderSettings, since: dt.timedelta = dt.timedelta(days=2)
) -> int:
    """E-mail each staff member with an address one list of their new reminders; return how many went.

    Each user's notifications are claimed (emailed_at set) and committed before the message is sent, so two
    workers never send the same digest; a failed send releases them and raises, and the job is retried.
    """
    if not settings.mail_enabled:
        return 0
    pending = db.session.execute(
        sa.select(Notification.id, Notification.user_id)
        .join(User, User.id == Notification.user_id)
        .where(
            Notification.emailed_at.is_(None),
            Notification.created_at >= now - since,
            User.email.is_not(None),
            User.active.is_(True),
        )
        .order_by(Notification.user_id, Notification.id)
    ).all()
    by_user: dict[int, list[int]] = defaultdict(list)
    for notification_id, user_id in pending:
        by_user[user_id].append(notification_id)
    sent = 0
    for user_id, ids in by_user.items():
        claimed = db.session.execute(
            sa.update(Notification)
            .where(Notification.id.in_(ids), Notification.emailed_at.is_(None))
            .values(emailed_at=now, email_error=None)
        ).rowcount
        db.session.commit()
        if claimed != len(ids):
            continue  # another worker took some of them; it sends them
        user = db.session.get(User, user_id)
        notifications = db.session.scalars(
            sa.select(Notification).where(Notification.id.in_(ids)).order_by(Notification.id)
        ).all()
        try:
            _send_mail(settings, user.email, _digest(notifications))
        except (OSError, smtplib.SMTPException) as error:
            db.session.execute(
                sa.update(Notification)
                .where(Notification.id.in_(ids))
                .values(emailed_at=None, email_error=f"{type(error).__name__}"[:200])
            )
            db.session.commit()
            raise GatewayUnavailable(f"mail server: {type(error).__name__}") from None
        sent += 1
    return sent


def _digest(notifications: list[Notification]) -> tuple[str, str]:
    with force_locale("zh_CN"):
        subject = _("Follow-up reminders: %(n)d cases", n=len(notifications))
        # E-mail leaves the system: a PMTCT step's name would tell its reader what the case is about.
        lines = [
            _(
                "Case %(case)s needs follow-up by %(due_on)s.",
                case=n.subject_id,
                due_on=n.data.get("due_on", ""),
            )
            if n.data.get("restricted")
            else n.text
            for n in notifications
        ]
        footer = _("Log in to the Screening Registry to see the cases.")
    return subject, "\n".join([*lines, "", footer])


def _send_mail(settings: ReminderSettings, to: str, content: tuple[str, str]) -> None:
    message = EmailMessage()
    message["Subject"], body = content[0], content[1]
    message["From"] = settings.mail_sender
    message["To"] = to
    message.set_content(body)
    with smtplib.SMTP(settings.mail_server, settings.mail_port, timeout=settings.timeout_seconds) as smtp:
        if settings.mail_use_tls:
            smtp.starttls()
        if settings.mail_username:
            smtp.login(settings.mail_username, settings.mail_password or "")
        smtp.send_message(message)
