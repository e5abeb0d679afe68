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

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import smtplib
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Mapping
from email.message import EmailMessage

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from registry.audit import Actor
from registry.auth.models import Role, User
from registry.extensions import db
from registry.institutions import Institution, facility_ids_under
from registry.notifications import Notification
from screenings import access
from screenings.cases import CaseActionRefused, log_contact_attempt
from screenings.cases.writer import reminder_row
from screenings.engine import LOCAL_TZ, CaseStatus, ContactChannel, ContactOutcome, EventKind
from screenings.models import CaseEvent, FollowUpCase
from screenings.notices import NOTIFICATION_SUBJECT, REMINDER_DUE_SOON, REMINDER_OVERDUE
from screenings.programs import get_program

REMINDER_ACTOR = Actor.system("reminders")
DUE_SOON = "DUE_SOON"
OVERDUE = "OVERDUE"
CHANNEL_IN_APP = "IN_APP"
CHANNEL_SMS = "SMS"
CHANNEL_EMAIL = "EMAIL"
_NOTIFICATION_KIND = {DUE_SOON: REMINDER_DUE_SOON, OVERDUE: REMINDER_OVERDUE}


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


class _Recipients:
    """The staff a reminder goes to: the responsible institution's clinic staff, else (or once the case
    is escalated) the district's follow-up coordinators; on a restricted program only those who work on it."""

    def __init__(self) -> None:
        self._staff: dict[int, list[User]] = {}
        self._coordinators: dict[int, list[User]] = {}

    def _active(self, query) -> list[User]:
        return list(db.session.scalars(query.where(User.active.is_(True)).order_by(User.id)))

    def staff(self, institution_id: int) -> list[User]:
        if institution_id not in self._staff:
            self._staff[institution_id] = self._active(
                sa.select(User).where(User.institution_id == institution_id, User.role == Role.CLINIC_STAFF)
            )
        return self._staff[institution_id]

    def coordinators(self, institution_id: int) -> list[User]:
        if institution_id not in self._coordinators:
            institution = db.session.get(Institution, institution_id)
            district = institution.district if institution is not None else None
            under = facility_ids_under(district.id) if district is not None else [institution_id]
            self._coordinators[institution_id] = self._active(
                sa.select(User).where(User.institution_id.in_(under), User.role == Role.FOLLOW_UP_COORDINATOR)
            )
        return self._coordinators[institution_id]

    def for_case(self, institution_id: int, escalated: bool, program_code: str) -> tuple[int, ...]:
        # Who may receive it is the access policy's answer; a restricted case whose institution has no
        # one working on it goes to the district's coordinators who do, rather than to no one.
        def eligible(users: list[User]) -> list[User]:
            return [u for u in users if access.may_receive_about(u, program_code)]

        users = [] if escalated else eligible(self.staff(institution_id))
        if not users:
            users = eligible(self.coordinators(institution_id))
        return tuple(u.id for u in users)


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
    recipients = _Recipients()
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
            kind=_NOTIFICATION_KIND[claim.kind],
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
