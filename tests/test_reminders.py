"""Reminders: one per case, step, kind and due date; in-app for the responsible staff, SMS to the family
and e-mail to staff through real local servers; opt-out and quiet hours; two workers send each one once."""

import datetime as dt
import email
import email.policy
from collections import Counter

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade
from redis import Redis
from rq import Queue, Worker
from rq.registry import ScheduledJobRegistry

from registry import create_app
from registry.audit import Actor, AuditEvent
from registry.auth.models import Role, User
from registry.extensions import db
from registry.job_records import JobRecord, JobStatus, start_job
from registry.notifications import Notification
from screenings.cases import escalate_case
from screenings.engine import ContactChannel, ContactOutcome, EventKind
from screenings.models import CaseEvent, FollowUpCase
from screenings.reminders import (
    GatewayUnavailable,
    ReminderSettings,
    claim_reminders,
    deliver_reminder_sms,
    reminder_key,
    send_email_digests,
)
from screenings.tasks import send_reminders
from tests.channel_servers import SmsGateway, SmtpServer
from tests.conftest import app_config
from tests.sweep_cases import CLINIC, NOW, H, clone_cases, make_district, prepare_cases, referred_case
from tests.worker_support import start_worker, stop, wait_for, worker_env

T1 = dt.datetime(2026, 11, 30, 1, 0, tzinfo=dt.UTC)  # 09:00 in Shanghai; the hearing steps are due 2 Dec
T2 = dt.datetime(2026, 12, 3, 1, 0, tzinfo=dt.UTC)  # the hearing steps are a day overdue
PHONE = "13812345678"


@pytest.fixture
def cases(district):
    return prepare_cases(district)


@pytest.fixture
def staff(district, make_user):
    hospital, mch = district["hospital"], district["mch"]
    return {
        "clinic": make_user(Role.CLINIC_STAFF, hospital, email="clinic@example.cn"),
        "away": make_user(Role.CLINIC_STAFF, hospital, active=False),
        "pmtct": make_user(
            Role.CLINIC_STAFF, hospital, sees_restricted_records=True, email="pmtct@example.cn"
        ),
        "coordinator": make_user(Role.FOLLOW_UP_COORDINATOR, mch, email="coordinator@example.cn"),
        "far": make_user(Role.FOLLOW_UP_COORDINATOR, district["far_hospital"]),
    }


def settings(**overrides) -> ReminderSettings:
    return ReminderSettings(**{"quiet_start": dt.time(0), "quiet_end": dt.time(0), **overrides})


def claim(now, **overrides):
    return claim_reminders(now, settings(**overrides), commit=db.session.commit)


def reminders() -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    for case_id, key in db.session.execute(
        sa.select(CaseEvent.case_id, CaseEvent.dedupe_key).where(CaseEvent.kind == EventKind.REMINDER)
    ):
        found.setdefault(case_id, set()).add(key)
    return found


def notified(cases, staff) -> set[tuple[str, str]]:
    case_names = {case.id: name for name, case in cases.items()}
    user_names = {user.id: name for name, user in staff.items()}
    rows = db.session.execute(sa.select(Notification.subject_id, Notification.user_id)).all()
    return {(case_names[c], user_names[u]) for c, u in rows}


def set_phone(case: FollowUpCase, phone: str | None = PHONE, opt_out: bool = False) -> None:
    case.person.phone = phone
    case.person.reminder_opt_out = opt_out
    db.session.flush()


def test_due_soon_and_overdue_steps_get_one_reminder_each_for_the_responsible_staff(cases, staff):
    escalate_case(cases["C"], CLINIC, T1 - H)
    run = claim(T1)
    due = "2026-12-02"
    assert reminders() == {
        cases["A"].id: {reminder_key("RESCREEN", "DUE_SOON", dt.date.fromisoformat(due))},
        cases["B"].id: {f"reminder:RESCREEN:DUE_SOON:{due}"},
        cases["C"].id: {f"reminder:RESCREEN:DUE_SOON:{due}"},
        cases["E"].id: {f"reminder:RESCREEN:DUE_SOON:{due}"},
        cases["F"].id: {"reminder:HBIG_AND_DOSE_1:OVERDUE:2026-11-22"},
    }
    # The clinic's active staff; an escalated case goes to the district coordinator; a PMTCT case only to
    # staff who work on PMTCT.
    assert notified(cases, staff) == {
        ("A", "clinic"), ("A", "pmtct"), ("B", "clinic"), ("B", "pmtct"), ("E", "clinic"), ("E", "pmtct"),
        ("C", "coordinator"), ("F", "pmtct"),
    }  # fmt: skip
    assert (run.claimed, run.notifications, run.already_sent) == (5, 8, 0)

    again = claim(T1 + H)
    assert (again.claimed, again.already_sent) == (0, 5)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 8

    # Three days on the hearing steps are overdue: another kind of reminder; F's is sent; G is due soon.
    later = claim(T2)
    assert later.claimed == 5
    assert reminders()[cases["A"].id] == {
        f"reminder:RESCREEN:DUE_SOON:{due}",
        f"reminder:RESCREEN:OVERDUE:{due}",
    }
    assert reminders()[cases["G"].id] == {"reminder:HEPB_DOSE_2:DUE_SOON:2026-12-05"}


def test_a_notification_reads_in_the_users_language(cases, staff, client, login):
    claim(T1)
    login(staff["clinic"])
    page = client.get("/notifications", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert f"病例 {cases['A'].id}：复筛 应于 2026-12-02 前完成。" in page
    assert f"/cases/{cases['A'].id}" in page
    client.post("/language/en")
    page = client.get("/notifications").get_data(as_text=True)
    assert f"Case {cases['A'].id}: step Rescreen is due on 2026-12-02." in page
    client.post("/notifications/read")
    assert db.session.scalar(
        sa.select(sa.func.count()).select_from(Notification).where(Notification.read_at.is_(None),
                                                                   Notification.user_id == staff["clinic"].id)
    ) == 0  # fmt: skip


def test_an_sms_goes_out_once_and_its_outcome_is_an_automated_contact_attempt(cases, staff):
    set_phone(cases["A"])
    with SmsGateway() as gateway:
        options = {"sms_gateway_url": gateway.url, "sms_gateway_token": "t0ken"}
        run = claim(T1, **options)
        [event_id] = run.sms_queued
        assert deliver_reminder_sms(event_id, T1, settings(**options)) == "MESSAGE_DELIVERED"
        assert deliver_reminder_sms(event_id, T1 + H, settings(**options)) == "already-sent"
    [message] = gateway.messages
    assert message["to"] == PHONE and gateway.headers[0]["Authorization"] == "Bearer t0ken"
    # The text names the institution to call and the date, never the program or a result.
    assert "第一人民医院" in message["text"] and "2026-12-02" in message["text"]
    assert "听力" not in message["text"] and "HEARING" not in message["text"]
    attempt = db.session.scalars(
        sa.select(CaseEvent).where(
            CaseEvent.case_id == cases["A"].id, CaseEvent.kind == EventKind.CONTACT_ATTEMPT
        )
    ).one()
    assert (attempt.channel, attempt.contact_outcome, attempt.data) == (
        ContactChannel.SMS, ContactOutcome.MESSAGE_DELIVERED, {"automated": True},
    )  # fmt: skip
    # Automated reminders are not documented attempts: they do not count towards lost to follow-up.
    assert db.session.get(FollowUpCase, cases["A"].id).contact_attempts == 0


def test_a_refused_number_is_recorded_and_an_unreachable_gateway_is_retried(cases, staff):
    set_phone(cases["A"])
    set_phone(cases["B"], "13900000000")
    with SmsGateway(status=400) as refusing:
        run = claim(T1, sms_gateway_url=refusing.url)
        first, second = run.sms_queued
        assert deliver_reminder_sms(first, T1, settings(sms_gateway_url=refusing.url)) == "WRONG_CONTACT"
        refusing.status = 503
        with pytest.raises(GatewayUnavailable):
            deliver_reminder_sms(second, T1, settings(sms_gateway_url=refusing.url))
    # Nothing was written back for the failed one: the job's retry sends it again.
    written_back = db.session.execute(
        sa.select(CaseEvent.case_id, CaseEvent.contact_outcome).where(
            CaseEvent.kind == EventKind.CONTACT_ATTEMPT, CaseEvent.dedupe_key.is_not(None)
        )
    ).all()
    assert written_back == [(cases["A"].id, ContactOutcome.WRONG_CONTACT)]


def test_a_family_that_opted_out_gets_no_sms_but_the_staff_are_still_reminded(cases, staff):
    set_phone(cases["A"], opt_out=True)
    set_phone(cases["B"], phone=None)
    with SmsGateway() as gateway:
        run = claim(T1, sms_gateway_url=gateway.url)
    assert run.sms_queued == []
    event = db.session.scalars(
        sa.select(CaseEvent).where(CaseEvent.case_id == cases["A"].id, CaseEvent.kind == EventKind.REMINDER)
    ).one()
    assert event.data["channels"] == ["IN_APP"]
    assert ("A", "clinic") in notified(cases, staff)


def test_quiet_hours_end_in_the_morning_in_shanghai():
    quiet = settings(quiet_start=dt.time(21), quiet_end=dt.time(8))
    at = dt.datetime(2026, 11, 30, 14, 30, tzinfo=dt.UTC)  # 22:30 in Shanghai
    assert quiet.quiet_until(at) == dt.datetime(2026, 11, 30, 0, 0, tzinfo=dt.UTC) + dt.timedelta(days=1)
    assert quiet.quiet_until(dt.datetime(2026, 11, 30, 23, 0, tzinfo=dt.UTC)) == dt.datetime(
        2026, 12, 1, 0, 0, tzinfo=dt.UTC
    )  # 07:00 → 08:00 the same morning
    assert quiet.quiet_until(dt.datetime(2026, 11, 30, 4, 0, tzinfo=dt.UTC)) is None  # noon
    assert settings().quiet_until(at) is None  # no quiet hours configured


def test_during_quiet_hours_the_sms_waits_for_their_end(cases, staff, app, redis_url, monkeypatch):
    """The reminder job runs now; quiet hours around now make its SMS wait, on RQ's schedule."""
    connection = Redis.from_url(redis_url)
    connection.flushall()
    monkeypatch.setitem(app.config, "RQ_CONNECTION", connection)
    local_now = dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=8)))
    start = (local_now - dt.timedelta(hours=1)).strftime("%H:%M")
    end = (local_now + dt.timedelta(hours=1)).strftime("%H:%M")
    monkeypatch.setitem(app.config, "REMINDER_QUIET_HOURS", (start, end))
    monkeypatch.setitem(app.config, "SMS_GATEWAY_URL", "http://127.0.0.1:9/sms")
    # Make A due tomorrow, whatever today is.
    cases["A"].due_at = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    set_phone(cases["A"])
    result = send_reminders()
    assert result["sms_queued"] == 1
    assert Queue("default", connection=connection).count == 0
    [job_id] = ScheduledJobRegistry("default", connection=connection).get_job_ids()
    when = ScheduledJobRegistry("default", connection=connection).get_scheduled_time(job_id)
    assert abs(when - (local_now + dt.timedelta(hours=1)).replace(second=0, microsecond=0)) < dt.timedelta(
        minutes=1
    )
    connection.close()


def test_staff_get_one_email_digest_of_their_reminders(cases, staff):
    escalate_case(cases["C"], CLINIC, T1 - H)
    claim(T1)
    with SmtpServer() as smtp:
        options = {"mail_server": "127.0.0.1", "mail_port": smtp.port, "mail_sender": "registry@example.cn"}
        assert send_email_digests(T1, settings(**options)) == 3
        assert send_email_digests(T1 + H, settings(**options)) == 0  # nothing new: nothing sent twice
    by_recipient = {
        m["to"][0]: email.message_from_bytes(m["data"], policy=email.policy.default) for m in smtp.messages
    }
    assert set(by_recipient) == {"clinic@example.cn", "coordinator@example.cn", "pmtct@example.cn"}
    clinic = by_recipient["clinic@example.cn"]
    assert clinic["Subject"] == "随访提醒：3 个病例"
    body = clinic.get_content()
    assert str(cases["A"].id) in body and "复筛" in body and PHONE not in body
    # An e-mail names no PMTCT step: whoever reads it must not learn what the case is about.
    pmtct = by_recipient["pmtct@example.cn"].get_content()
    assert f"病例 {cases['F'].id} 需在 2026-11-22 前完成随访。" in pmtct
    assert "乙肝" not in pmtct and "免疫球蛋白" not in pmtct


def test_a_mail_server_that_is_down_leaves_the_digest_to_the_retry(cases, staff):
    claim(T1)
    from tests.worker_support import free_port

    with pytest.raises(GatewayUnavailable):
        send_email_digests(T1, settings(mail_server="127.0.0.1", mail_port=free_port()))
    pending = db.session.scalars(
        sa.select(Notification).where(Notification.user_id == staff["clinic"].id)
    ).all()
    assert pending and all(n.emailed_at is None and n.email_error for n in pending)


# -- two worker processes at once ---------------------------------------------------------------------------


def _queue_idle(connection) -> bool:
    queue = Queue("default", connection=connection)
    return queue.count == 0 and queue.started_job_registry.count == 0


def test_two_workers_sending_reminders_at_once_send_each_reminder_exactly_once(
    scratch_database, redis_url, tmp_path
):
    connection = Redis.from_url(redis_url)
    connection.flushall()
    url = scratch_database.new("reminders_race")
    app = create_app(app_config(url, REDIS_URL=redis_url))
    copies = 150
    with app.app_context():
        upgrade()
        district = make_district()
        template = referred_case(district["hospital"], "甲宝")
        db.session.add_all(
            User(username=f"staff{i}", full_name="护士", role=Role.CLINIC_STAFF,
                 institution_id=district["hospital"].id, password_hash="x", created_at=NOW)
            for i in range(2)
        )  # fmt: skip
        template.person.phone = PHONE
        ids = clone_cases([template], copies)
        # Due tomorrow, whatever day the test runs.
        db.session.execute(
            sa.update(FollowUpCase)
            .where(FollowUpCase.id.in_([*ids, template.id]))
            .values(due_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
        )
        db.session.commit()
        db.session.remove()
        db.engine.dispose()

    with SmsGateway() as gateway:
        env = worker_env(url, redis_url, SMS_GATEWAY_URL=gateway.url, REMINDER_QUIET_HOURS="00:00-00:00")
        workers = [start_worker(env, "default", log=tmp_path / f"worker{i}.log") for i in range(2)]
        try:
            # Both workers idle and waiting on the queue, then two reminder jobs at once: one each, together.
            wait_for(lambda: len(Worker.all(connection=connection)) == 2, timeout=60, interval=0.1)
            with app.app_context():
                for _ in range(2):
                    start_job(
                        "reminders", send_reminders, actor=Actor.system("test"), now=dt.datetime.now(dt.UTC)
                    )
                db.session.remove()
                db.engine.dispose()
            wait_for(lambda: len(gateway.messages) >= copies + 1 and _queue_idle(connection), timeout=180)
        finally:
            for worker in workers:
                stop(worker)
        sent = gateway.per_message_id()

    reminded = copies + 1
    with app.app_context():
        records = db.session.scalars(sa.select(JobRecord)).all()
        assert [r.status for r in records] == [JobStatus.SUCCEEDED] * 2
        # Both jobs ran at the same time over the same cases; together they claimed each reminder once.
        assert max(r.started_at for r in records) < min(r.finished_at for r in records)
        assert sum(r.result["claimed"] for r in records) == reminded
        keys = db.session.execute(
            sa.select(CaseEvent.case_id, CaseEvent.dedupe_key).where(CaseEvent.kind == EventKind.REMINDER)
        ).all()
        assert len(keys) == len(set(keys)) == reminded
        per_case = Counter(db.session.scalars(sa.select(Notification.subject_id)).all())
        assert set(per_case.values()) == {2} and len(per_case) == reminded  # each of the two staff, once
        attempts = db.session.scalars(
            sa.select(CaseEvent.case_id).where(CaseEvent.kind == EventKind.CONTACT_ATTEMPT)
        ).all()
        assert len(attempts) == len(set(attempts)) == reminded
        db.session.remove()
        db.engine.dispose()
    # The gateway got one message per reminder, each once.
    assert len(sent) == reminded and set(sent.values()) == {1}
    connection.close()


def test_clinic_staff_record_that_a_family_declines_sms_reminders(
    client, login, district, make_user, make_person
):
    staff = make_user(Role.CLINIC_STAFF, district["hospital"])
    mother = make_person(district["hospital"], phone=PHONE)
    login(staff)
    response = client.post(f"/people/{mother.id}/reminders", data={"opt_out": "1"}, follow_redirects=True)
    assert response.status_code == 200 and "家庭已拒绝接收" in response.get_data(as_text=True)
    assert db.session.get(type(mother), mother.id).reminder_opt_out is True
    client.post(f"/people/{mother.id}/reminders", data={"opt_out": "0"})
    assert db.session.get(type(mother), mother.id).reminder_opt_out is False
    actions = db.session.scalars(
        sa.select(AuditEvent.summary).where(
            AuditEvent.entity == "person", AuditEvent.entity_id == str(mother.id)
        )
    ).all()
    assert actions == ["reminder_opt_out on", "reminder_opt_out off"]


def test_a_pmtct_case_whose_institution_has_no_pmtct_staff_reaches_the_district_coordinator_who_does(
    cases, district, make_user
):
    clinic = make_user(Role.CLINIC_STAFF, district["hospital"])
    plain = make_user(Role.FOLLOW_UP_COORDINATOR, district["mch"])
    pmtct = make_user(Role.FOLLOW_UP_COORDINATOR, district["mch"], sees_restricted_records=True)
    claim(T1)
    rows = db.session.execute(
        sa.select(Notification.user_id).where(Notification.subject_id == cases["F"].id)
    ).scalars()
    # Nobody at the hospital works on PMTCT: the exposed infant's reminder goes to the coordinator who does.
    assert set(rows) == {pmtct.id} and clinic.id != plain.id
