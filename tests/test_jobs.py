"""The queue with a real Redis and real worker processes: jobs run inside the app, cron enqueues them on its
schedule, a sweep killed half way is finished by the next run, and a dead worker's job by another worker."""

import datetime as dt
import json
import time

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade
from rq import Queue

from registry import create_app
from registry.audit import Actor
from registry.auth.models import LoginSession, Role, User
from registry.cron import build_scheduler
from registry.extensions import db
from registry.institutions import Institution, InstitutionKind
from registry.job_records import JobRecord, JobStatus, start_job
from registry.jobs import (
    DEFAULT_RETRY,
    JOB_HEARTBEAT_GRACE_SECONDS,
    JOB_MONITORING_INTERVAL_SECONDS,
    MAINTENANCE_INTERVAL_SECONDS,
    RETRY_INTERVALS_SECONDS,
    WORKER_TTL_SECONDS,
    RegistryWorker,
    retry_abandoned_at_once,
)
from screenings.engine import EventKind
from screenings.models import CaseEvent, FollowUpCase
from screenings.sweep import run_sweep
from screenings.tasks import daily_sweep
from tests.conftest import app_config
from tests.sweep_cases import clone_cases, make_district, prepare_cases
from tests.worker_support import kill_hard, run_burst_worker, start_worker, stop, wait_for, worker_env

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
SWEEP_DAY = dt.date(2026, 12, 10)
ADMIN = Actor(user_id=None, username="admin-test")


def migrated_app(url: str, redis_url: str, **config):
    app = create_app(app_config(url, REDIS_URL=redis_url, **config))
    with app.app_context():
        upgrade()
        db.session.remove()
        db.engine.dispose()
    return app


def test_a_worker_process_runs_a_queued_job_inside_the_application(scratch_database, redis_url, redis):
    database_url = scratch_database.new("jobs_plain")
    app = migrated_app(database_url, redis_url)
    now = dt.datetime.now(dt.UTC)
    with app.app_context():
        institution = Institution(code="H1", name="医院", kind=InstitutionKind.BIRTHING_HOSPITAL)
        user = User(
            username="u",
            full_name="u",
            role=Role.CLINIC_STAFF,
            institution=institution,
            password_hash="x",
            created_at=now,
        )
        db.session.add_all([institution, user])
        db.session.flush()
        db.session.add_all(
            [
                LoginSession(
                    token_hash="old",
                    user_id=user.id,
                    created_at=now - dt.timedelta(hours=2),
                    last_seen_at=now - dt.timedelta(hours=1),
                ),
                LoginSession(token_hash="live", user_id=user.id, created_at=now, last_seen_at=now),
            ]
        )
        db.session.commit()
        scheduler = build_scheduler(redis)
        scheduler.enqueue_jobs()  # interval jobs are due at once
        assert Queue("maintenance", connection=redis).count == 3  # purge, requeue and seal-audit-trail
        db.session.remove()
        db.engine.dispose()

    run_burst_worker(worker_env(database_url, redis_url), "maintenance")
    with app.app_context():
        remaining = db.session.scalars(sa.select(LoginSession.token_hash)).all()
        assert remaining == ["live"]
        db.session.remove()
        db.engine.dispose()


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at


def queued(connection, queue: str = "default") -> list[tuple]:
    jobs = Queue(queue, connection=connection).get_jobs()
    return [(job.func_name, job.args) for job in jobs]


def test_the_cron_schedule_enqueues_the_sweep_at_one_in_the_morning_shanghai_time(
    scratch_database, redis_url, redis
):
    database_url = scratch_database.new("jobs_cron")
    app = migrated_app(database_url, redis_url)
    sweep = ("registry.job_records.run_scheduled", ("sweep", "screenings.tasks.daily_sweep"))
    clock = Clock(dt.datetime(2026, 12, 9, 23, 30, tzinfo=SHANGHAI))
    with app.app_context():
        scheduler = build_scheduler(redis, clock=clock)
        scheduler.enqueue_jobs()
        assert queued(redis) == []  # housekeeping went to the maintenance queue; nothing else is due

        clock.at = dt.datetime(2026, 12, 10, 0, 59, 59, tzinfo=SHANGHAI)
        scheduler.enqueue_jobs()
        assert queued(redis) == []

        clock.at = dt.datetime(2026, 12, 10, 1, 0, 0, tzinfo=SHANGHAI)  # 17:00 UTC the day before
        scheduler.enqueue_jobs()
        assert queued(redis) == [sweep]

        clock.at = dt.datetime(2026, 12, 10, 1, 0, 30, tzinfo=SHANGHAI)
        scheduler.enqueue_jobs()
        assert queued(redis) == [sweep]  # once a day

        clock.at = dt.datetime(2026, 12, 10, 9, 0, tzinfo=SHANGHAI)
        scheduler.enqueue_jobs()
        assert queued(redis)[-1] == (
            "registry.job_records.run_scheduled",
            ("reminders", "screenings.tasks.send_reminders"),
        )

        clock.at = dt.datetime(2026, 12, 11, 1, 0, 5, tzinfo=SHANGHAI)
        scheduler.enqueue_jobs()
        assert queued(redis).count(sweep) == 2
        db.session.remove()
        db.engine.dispose()

    # The worker runs what cron queued, each run with its own job record.
    run_burst_worker(worker_env(database_url, redis_url), "default")
    with app.app_context():
        records = db.session.scalars(sa.select(JobRecord).order_by(JobRecord.id)).all()
        assert [(r.kind, r.status) for r in records] == [
            ("sweep", JobStatus.SUCCEEDED),
            ("reminders", JobStatus.SUCCEEDED),
            ("sweep", JobStatus.SUCCEEDED),
        ]
        assert set(records[0].result) >= {"overdue", "escalated", "lost", "missed_screenings"}
        db.session.remove()
        db.engine.dispose()


# -- a sweep killed half way ------------------------------------------------------------------------------

COPIES = 150  # of each hearing case A, B, C and E: 600 cases to mark, 150 to flag lost, 450 to escalate
BATCH = 20


def prepared_database(scratch_database, redis_url, name: str) -> tuple[str, object]:
    """A database holding the prepared cases, cloned into a sweep that takes some seconds."""
    url = scratch_database.new(name)
    app = migrated_app(url, redis_url)
    with app.app_context():
        cases = prepare_cases(make_district())
        clone_cases([cases[n] for n in "ABCE"], COPIES)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return url, app


def end_state(app) -> tuple[list, list]:
    """Every case row and every case event (without its id), in a stable order."""
    with app.app_context():
        cases = db.session.execute(sa.select(FollowUpCase.__table__).order_by(FollowUpCase.id)).all()
        columns = [c for c in CaseEvent.__table__.columns if c.name != "id"]
        events = db.session.execute(sa.select(*columns)).all()
        db.session.remove()
        db.engine.dispose()
    normalised = sorted(
        tuple(json.dumps(v, sort_keys=True) if isinstance(v, dict) else str(v) for v in row) for row in events
    )
    return [tuple(row) for row in cases], normalised


def queue_sweep(app) -> int:
    """Record and queue the sweep for SWEEP_DAY as an administrator would; return its job record's id."""
    with app.app_context():
        record = start_job(
            "sweep", daily_sweep, SWEEP_DAY.isoformat(), BATCH, actor=ADMIN, now=dt.datetime.now(dt.UTC)
        )
        record_id = record.id
        db.session.remove()
        db.engine.dispose()
    return record_id


def count_events(app, kind: EventKind) -> int:
    with app.app_context():
        count = db.session.scalar(
            sa.select(sa.func.count()).select_from(CaseEvent).where(CaseEvent.kind == kind)
        )
        db.session.remove()
    return count


def uninterrupted(scratch_database, source_url: str, redis_url: str):
    copy = scratch_database.new("sweep_uninterrupted", template=source_url)
    app = migrated_app(copy, redis_url)
    with app.app_context():
        run_sweep(SWEEP_DAY, batch_size=BATCH, missed_lookback_days=60, commit=db.session.commit)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return app


@pytest.mark.parametrize(
    ("phase", "kill_after"),
    [(EventKind.STATUS_CHANGED, 150), (EventKind.ESCALATED, 75)],
    ids=["while-marking-overdue", "while-escalating"],
)
def test_a_worker_killed_mid_sweep_then_a_fresh_run_reaches_the_uninterrupted_state(
    scratch_database, redis_url, redis, tmp_path, phase, kill_after
):
    url, app = prepared_database(scratch_database, redis_url, "sweep_killed")
    expected = end_state(uninterrupted(scratch_database, url, redis_url))
    env = worker_env(url, redis_url)

    with app.app_context():
        start_job(
            "sweep", daily_sweep, SWEEP_DAY.isoformat(), BATCH, actor=ADMIN, now=dt.datetime.now(dt.UTC)
        )
        db.session.remove()
        db.engine.dispose()
    worker = start_worker(env, "default", log=tmp_path / "worker.log")
    try:
        wait_for(lambda: count_events(app, phase) >= kill_after, timeout=120, interval=0.01)
    finally:
        kill_hard(worker)
    partial = end_state(app)
    assert partial != expected, "the sweep finished before the kill; the test proves nothing"

    # A fresh run for the same day (cron tomorrow, or an administrator's retry) finishes the work.
    with app.app_context():
        start_job(
            "sweep", daily_sweep, SWEEP_DAY.isoformat(), BATCH, actor=ADMIN, now=dt.datetime.now(dt.UTC)
        )
        db.session.remove()
        db.engine.dispose()
    run_burst_worker(env, "default")
    assert end_state(app) == expected


def test_a_job_whose_worker_dies_is_finished_by_another_worker_within_a_minute(
    scratch_database, redis_url, redis, tmp_path
):
    url, app = prepared_database(scratch_database, redis_url, "sweep_abandoned")
    expected = end_state(uninterrupted(scratch_database, url, redis_url))
    env = worker_env(url, redis_url)
    record_id = queue_sweep(app)

    first = start_worker(env, "default", log=tmp_path / "first.log")
    second = None
    try:
        wait_for(lambda: count_events(app, EventKind.ESCALATED) >= 50, timeout=120, interval=0.01)
        kill_hard(first)
        died = time.monotonic()
        assert end_state(app) != expected, "the sweep finished before the kill; the test proves nothing"
        second = start_worker(env, "default", log=tmp_path / "second.log")

        def finished():
            with app.app_context():
                status = db.session.get(JobRecord, record_id).status
                db.session.remove()
            return status is JobStatus.SUCCEEDED

        wait_for(finished, timeout=120, interval=0.5, message="no other worker finished the job")
        took = time.monotonic() - died
    finally:
        stop(second) if second is not None else None
        if first.poll() is None:
            kill_hard(first)
    assert took <= 60, f"another worker needed {took:.0f} s"
    with app.app_context():
        record = db.session.get(JobRecord, record_id)
        assert record.attempts == 2 and record.error is None
        db.session.remove()
        db.engine.dispose()
    # No duplicate effect: the same cases, events and escalations as one uninterrupted run.
    assert end_state(app) == expected


# -- how a dead worker's job is found (registry.jobs) -------------------------------------------------------


def abandoned_job(redis, seconds_ago: float, **options):
    """A job with the project's retries, running in the started registry of a worker that stopped
    sending heartbeats `seconds_ago` (its entry expired then)."""
    from rq.executions import Execution
    from rq.registry import StartedJobRegistry

    queue = Queue("default", connection=redis)
    job = queue.enqueue(
        "registry.tasks.purge_expired_login_sessions", retry=DEFAULT_RETRY, job_id="abandoned", **options
    )
    queue.remove(job)
    execution = Execution("e1", job.id, connection=redis)
    registry = StartedJobRegistry("default", connection=redis)
    with redis.pipeline() as pipeline:
        registry.add_execution(execution, pipeline=pipeline, ttl=0)
        pipeline.zadd(registry.key, {execution.composite_key: time.time() - seconds_ago})
        pipeline.execute()
    return queue, job


def test_an_abandoned_job_goes_back_on_its_queue_at_once_not_through_the_scheduler(redis):
    from rq.registry import ScheduledJobRegistry, clean_registries

    queue, job = abandoned_job(redis, seconds_ago=1)
    clean_registries(queue, [retry_abandoned_at_once])
    assert queue.job_ids == [job.id]
    assert ScheduledJobRegistry("default", connection=redis).get_job_ids() == []
    job.refresh()
    # One retry used; the next failures keep their backoff.
    assert job.retries_left == len(RETRY_INTERVALS_SECONDS) - 1
    assert job.retry_intervals == [0, *RETRY_INTERVALS_SECONDS[1:]]


def test_an_ordinary_failure_keeps_its_retry_backoff(redis):
    queue, job = abandoned_job(redis, seconds_ago=1)
    assert retry_abandoned_at_once(job, ValueError, ValueError("boom"), None) is True
    assert job.retry_intervals == list(RETRY_INTERVALS_SECONDS)


def test_a_running_job_is_given_up_twenty_seconds_after_its_last_heartbeat_not_sixty_five(redis):
    queue = Queue("default", connection=redis)
    job = queue.enqueue("registry.tasks.purge_expired_login_sessions", job_timeout=600)
    worker = RegistryWorker(
        ["default"], connection=redis, job_monitoring_interval=JOB_MONITORING_INTERVAL_SECONDS
    )
    assert (
        worker.get_heartbeat_ttl(job) == JOB_MONITORING_INTERVAL_SECONDS + JOB_HEARTBEAT_GRACE_SECONDS == 20
    )
    worker.current_job_working_time = 598  # two seconds left of its timeout: the next beat comes sooner
    assert worker.get_heartbeat_ttl(job) == 2 + JOB_HEARTBEAT_GRACE_SECONDS
    worker.current_job_working_time = 700  # past its timeout, about to be killed: never a lapsed entry
    assert worker.get_heartbeat_ttl(job) == JOB_HEARTBEAT_GRACE_SECONDS
    # Found within a minute of the kill: lapsed entry + a surviving worker's maintenance pass and wait.
    assert (
        JOB_MONITORING_INTERVAL_SECONDS
        + JOB_HEARTBEAT_GRACE_SECONDS
        + MAINTENANCE_INTERVAL_SECONDS
        + (WORKER_TTL_SECONDS - 15)
        <= 30
    )


def test_a_dead_workers_job_is_requeued_even_when_its_record_cannot_be_written(
    scratch_database, redis_url, redis, monkeypatch
):
    """The database busy or down while a surviving worker cleans up: the job still goes back on its queue
    (RQ runs the failure write-back inside its clean-up; an error there would stop the surviving worker)."""
    from rq import Callback
    from rq.registry import clean_registries

    from registry.job_records import record_failure

    app = migrated_app(scratch_database.new("jobs_record_down"), redis_url)
    queue, job = abandoned_job(
        redis, seconds_ago=1, on_failure=Callback(record_failure), meta={"job_record_id": 1}
    )

    def unreachable(*args, **kwargs):
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("database is locked"))

    with app.app_context():
        monkeypatch.setattr(db.session, "get", unreachable)
        clean_registries(queue, [retry_abandoned_at_once])
        db.session.remove()
        db.engine.dispose()
    assert queue.job_ids == [job.id]
