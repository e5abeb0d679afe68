"""The project's one schedule, run by `registry cron` (RQ's own cron scheduler); run exactly one.

Cron strings are Asia/Shanghai wall-clock times, whatever the machine's time zone: rq 2.12 reads them in
UTC and rq 3 in the process's local zone, so the scheduler here evaluates them in Asia/Shanghai itself
(the zone has no daylight saving time). Its clock is a parameter, so a test can drive it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from croniter import croniter
from rq import Callback, Queue, cron_job_registry
from rq.cron import CronJob, CronScheduler
from rq.defaults import DEFAULT_CRON_JOB_HISTORY_LIMIT, DEFAULT_CRON_JOB_HISTORY_TTL

from registry.i18n import DISPLAY_ZONE
from registry.job_records import record_failure, run_scheduled
from registry.jobs import retry_policy, utc_now
from registry.tasks import purge_expired_login_sessions, requeue_waiting_jobs, seal_audit_trail

log = logging.getLogger(__name__)


# Each entry: (function, queue, RQ cron keyword arguments, record kind). A job with a record kind runs
# through registry.job_records.run_scheduled, so each run has a JobRecord row (its failures show on the
# administrator's jobs page); cheap housekeeping jobs run bare.
SCHEDULE: list[tuple[Callable | str, str, dict, str | None]] = [
    ("screenings.tasks.daily_sweep", "default", {"cron": "0 1 * * *", "name": "daily-sweep"}, "sweep"),
    ("screenings.tasks.send_reminders", "default", {"cron": "0 9 * * *", "name": "reminders"}, "reminders"),
    # The month before, for every district, at 02:00 on the 1st (one build per district and month).
    (
        "screenings.reports.tasks.queue_monthly_reports",
        "default",
        {"cron": "0 2 1 * *", "name": "monthly-reports"},
        "reports",
    ),
    (
        purge_expired_login_sessions,
        "maintenance",
        {"interval": 3600, "name": "purge-expired-login-sessions"},
        None,
    ),
    (requeue_waiting_jobs, "maintenance", {"interval": 300, "name": "requeue-waiting-jobs"}, None),
    (seal_audit_trail, "maintenance", {"interval": 60, "name": "seal-audit-trail"}, None),
]


class ShanghaiCronJob(CronJob):
    """A cron job whose cron string is read in Asia/Shanghai, on an injectable clock, queued with retries."""

    def __init__(self, *args, clock: Callable[[], dt.datetime], **kwargs) -> None:
        self.clock = clock
        super().__init__(*args, **kwargs)
        if self.cron:
            self.next_enqueue_time = self._next_after(clock())

    def _next_after(self, moment: dt.datetime) -> dt.datetime:
        return croniter(self.cron, moment.astimezone(DISPLAY_ZONE)).get_next(dt.datetime)

    def get_next_enqueue_time(self) -> dt.datetime:
        if self.cron:
            return self._next_after(self.latest_enqueue_time or self.clock())
        return super().get_next_enqueue_time()

    def should_run(self) -> bool:
        if not self.latest_enqueue_time and not self.cron:
            return True  # an interval job runs at once when the scheduler starts
        return self.next_enqueue_time is not None and self.clock() >= self.next_enqueue_time

    def enqueue(self, connection):
        """Queue the job with the project's retries and failure write-back (RQ's CronJob passes neither)."""
        queue = Queue(self.queue_name, connection=connection)
        with connection.pipeline() as pipeline:
            job = queue.enqueue(
                self.func,
                *self.args,
                **self.kwargs,
                **self.job_options,
                retry=retry_policy(),
                on_failure=Callback(record_failure),
                pipeline=pipeline,
            )
            pipeline.zadd(self.job_history_key, {job.id: job.enqueued_at.timestamp()})
            pipeline.zremrangebyrank(self.job_history_key, 0, -(DEFAULT_CRON_JOB_HISTORY_LIMIT + 1))
            pipeline.expire(self.job_history_key, DEFAULT_CRON_JOB_HISTORY_TTL)
            cron_job_registry.add(self.name, pipeline, enqueue_timestamp=job.enqueued_at.timestamp())
            pipeline.execute()
        log.info("cron: queued %s on %s", self.name, self.queue_name)
        return job


class RegistryCronScheduler(CronScheduler):
    """RQ's cron scheduler with Asia/Shanghai cron strings and a clock that tests can set."""

    def __init__(self, connection, clock: Callable[[], dt.datetime] = utc_now, **kwargs) -> None:
        super().__init__(connection=connection, **kwargs)
        self.clock = clock

    def register(self, func, queue_name: str, **options) -> CronJob:
        cron_job = ShanghaiCronJob(queue_name=queue_name, func=func, clock=self.clock, **options)
        self._cron_jobs.append(cron_job)
        return cron_job

    def enqueue_jobs(self) -> list[CronJob]:
        enqueue_time = self.clock()
        enqueued = []
        for job in self._cron_jobs:
            if job.should_run():
                job.enqueue(self.connection)
                job.set_enqueue_time(enqueue_time)
                enqueued.append(job)
        return enqueued


def build_scheduler(connection, clock: Callable[[], dt.datetime] = utc_now) -> RegistryCronScheduler:
    """Build the one scheduler with the project's SCHEDULE."""
    scheduler = RegistryCronScheduler(connection, clock=clock, name="registry-cron")
    for func, queue, options, kind in SCHEDULE:
        if kind is None:
            scheduler.register(func, queue, job_timeout=600, **options)
        else:
            path = func if isinstance(func, str) else f"{func.__module__}.{func.__qualname__}"
            scheduler.register(run_scheduled, queue, args=(kind, path), job_timeout=3600, **options)
    return scheduler


def run_forever(
    connect: Callable[[], object], clock: Callable[[], dt.datetime] = utc_now, pause: float = 10.0
):
    """Run the scheduler; when Redis goes away, wait and start again rather than exit."""
    import time

    from redis.exceptions import RedisError

    while True:
        try:
            build_scheduler(connect(), clock=clock).start()
            return  # stopped on request (SIGTERM, Ctrl-C)
        except RedisError as error:
            log.warning("cron: Redis unavailable (%s); trying again in %.0f s", type(error).__name__, pause)
            time.sleep(pause)
