"""A database row per background job, so pages show progress and administrators see failures.

The API other features use (kept stable):

    record = start_job("import", screenings.tasks.import_file, upload.id, actor=actor, now=now)
        Insert a JobRecord (status QUEUED), COMMIT the current session (the worker must see the row
        and whatever the caller wrote for the job, e.g. an uploaded file's row), then put the job on
        the queue. Arguments are ids and plain strings only (dates as ISO strings), never personal
        data: they are stored on the row and in Redis. When Redis is down the row stays QUEUED with
        `waiting_for_queue` true and an explanatory `error`; `requeue_waiting_jobs` (run by the
        scheduler every few minutes) or the administrator's retry button sends it later. start_job
        never raises because the queue is down; a page shows the record's progress page as usual.

    The job function is a module-level function called in a worker inside the application as
        func(*ids, record_id=record.id) -> JSON-able result (dict, list, str, int or None)
    It commits its own work (in batches for long work) and must be safe to run twice: a retry after
    a failure or after its worker died runs it again from the start.

    report_progress(record_id, done, total=None)
        Store "done of total" on the row in a short transaction of its own (not the caller's), so a
        polling page sees it at once. On SQLite a progress update made while the caller's session holds
        uncommitted writes would wait for the caller's lock; it is skipped instead (progress is advisory),
        so commit each batch before reporting it.

    GET /jobs/<id> -> JSON {id, kind, status, progress_done, progress_total, percent, result, error,
                            waiting_for_queue, created_at, started_at, finished_at}
        for the user who started the job and for administrators; others get 404.

Failures: every job is retried with backoff (registry.jobs.DEFAULT_RETRY); a failure that will be retried
leaves the row QUEUED with the error, the last one makes it FAILED with the error, shown on the
administrator's jobs page (/admin/jobs), where it can be retried.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import uuid
from collections.abc import Callable

import sqlalchemy as sa
from flask import Blueprint, abort, g, jsonify
from redis.exceptions import RedisError
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.utils import import_string

from registry import audit
from registry.audit import Actor
from registry.db import UTCDateTime, str_enum
from registry.extensions import db

log = logging.getLogger(__name__)

QUEUE_UNAVAILABLE = "queue unavailable: the job is saved and will be queued when Redis is back"
_ERROR_LENGTH = 1000


class JobStatus(enum.StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class JobRecord(db.Model):
    """One background job: what it runs (ids only), where it stands, and how it ended."""

    __tablename__ = "job_record"
    __table_args__ = (
        sa.Index("ix_job_record_status_created", "status", "created_at"),
        sa.Index("ix_job_record_rq_job_id", "rq_job_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    func: Mapped[str] = mapped_column(sa.String(200))
    args: Mapped[list] = mapped_column(sa.JSON, default=list)
    queue: Mapped[str] = mapped_column(sa.String(40), default="default")
    rq_job_id: Mapped[str | None] = mapped_column(sa.String(80))
    status: Mapped[JobStatus] = mapped_column(str_enum(JobStatus, 16), default=JobStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    progress_done: Mapped[int] = mapped_column(default=0)
    progress_total: Mapped[int | None]
    result: Mapped[dict | list | str | int | None] = mapped_column(sa.JSON)
    error: Mapped[str | None] = mapped_column(sa.Text)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    @property
    def waiting_for_queue(self) -> bool:
        """Tell whether the job never reached the queue (Redis was down when it was started)."""
        return self.status is JobStatus.QUEUED and self.rq_job_id is None

    @property
    def percent(self) -> int | None:
        """Return progress as a whole percentage, or None while the total is unknown."""
        if self.status is JobStatus.SUCCEEDED:
            return 100
        if not self.progress_total:
            return None
        return min(100, self.progress_done * 100 // self.progress_total)

    def as_json(self) -> dict:
        """Return what a polling page needs; never personal data (results hold counts and ids)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "status": str(self.status),
            "progress_done": self.progress_done,
            "progress_total": self.progress_total,
            "percent": self.percent,
            "result": self.result,
            "error": self.error,
            "waiting_for_queue": self.waiting_for_queue,
            "created_at": self.created_at.isoformat(),
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }


def _function_path(func: Callable | str) -> str:
    if isinstance(func, str):
        return func
    if "<" in func.__qualname__ or "." in func.__qualname__:
        raise ValueError(f"{func.__qualname__} is not a module-level function; a worker could not import it")
    return f"{func.__module__}.{func.__qualname__}"


def _check_args(ids: tuple) -> list:
    for value in ids:
        # Plain ids and codes only: what is queued is readable by anyone with access to Redis.
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise TypeError(f"job arguments must be ids or plain strings, not {type(value).__name__}")
    return list(ids)


def start_job(
    kind: str,
    func: Callable | str,
    *ids: int | str,
    actor: Actor,
    now: dt.datetime,
    queue: str = "default",
    timeout: int = 600,
) -> JobRecord:
    """Record a job, commit, and queue it; when Redis is down the record waits, QUEUED, to be sent later."""
    record = JobRecord(
        kind=kind,
        func=_function_path(func),
        args=_check_args(ids),
        queue=queue,
        status=JobStatus.QUEUED,
        created_by_id=actor.user_id,
        created_at=now,
    )
    db.session.add(record)
    db.session.flush()
    audit.record(actor, now, "job_record", record.id, "QUEUE", f"{kind} {record.func}")
    db.session.commit()
    send_to_queue(record, timeout=timeout)
    return record


def send_to_queue(record: JobRecord, timeout: int = 600) -> bool:
    """Put a recorded job on its queue under a fresh RQ id; on a Redis error keep it waiting. Commits."""
    from rq import Callback

    from registry.jobs import enqueue

    record_id = record.id
    job_id = f"jr{record_id}-{uuid.uuid4().hex[:12]}"
    # Named before it is queued, so a worker that starts at once finds the row already pointing at its job.
    record.rq_job_id = job_id
    record.error = None
    db.session.commit()
    try:
        enqueue(
            run_job_record,
            record_id,
            queue=record.queue,
            job_id=job_id,
            timeout=timeout,
            meta={"job_record_id": record_id},
            on_failure=Callback(record_failure),
        )
    except RedisError as error:
        log.warning("job record %s not queued: %s", record_id, type(error).__name__)
        db.session.rollback()
        db.session.execute(
            sa.update(JobRecord)
            .where(JobRecord.id == record_id, JobRecord.rq_job_id == job_id)
            .values(rq_job_id=None, error=QUEUE_UNAVAILABLE)
        )
        db.session.commit()
        return False
    return True


def report_progress(record_id: int, done: int, total: int | None = None) -> None:
    """Store a job's progress in a transaction of its own, so a polling page sees it at once."""
    values: dict = {"progress_done": done}
    if total is not None:
        values["progress_total"] = total
    statement = sa.update(JobRecord).where(JobRecord.id == record_id).values(**values)
    bind = db.session.get_bind()
    if isinstance(bind, sa.Connection):
        # The test suite joins every session into one outer connection: write through it.
        db.session.execute(statement)
        return
    try:
        with bind.connect() as connection:
            if connection.dialect.name == "sqlite":
                connection.exec_driver_sql("PRAGMA busy_timeout = 200")
            connection.execute(statement)
            connection.commit()
            if connection.dialect.name == "sqlite":
                connection.exec_driver_sql("PRAGMA busy_timeout = 5000")
    except sa.exc.OperationalError:
        # SQLite: the caller holds the write lock with uncommitted work; the next report will show.
        log.info("progress of job record %s skipped: database busy", record_id)


def _now() -> dt.datetime:
    from registry.jobs import utc_now

    return utc_now()


def run_job_record(record_id: int):
    """The RQ entry point of a recorded job: mark it running, run its function, store the result."""
    record = db.session.get(JobRecord, record_id)
    if record is None:
        log.warning("job record %s does not exist; nothing to run", record_id)
        return None
    if record.status is JobStatus.SUCCEEDED:
        # A duplicate delivery (a worker died after finishing): the work is done and recorded.
        return record.result
    func = import_string(record.func)
    args = list(record.args or [])
    record.status = JobStatus.RUNNING
    record.started_at = _now()
    record.finished_at = None
    record.attempts += 1
    db.session.commit()
    try:
        result = func(*args, record_id=record_id)
    except Exception:
        db.session.rollback()
        raise
    record = db.session.get(JobRecord, record_id)
    record.status = JobStatus.SUCCEEDED
    record.result = result
    record.error = None
    record.finished_at = _now()
    if record.progress_total:
        record.progress_done = record.progress_total
    db.session.commit()
    return result


def run_scheduled(kind: str, func_path: str):
    """The RQ entry point of a scheduled job: give this run a record (reused by its retries), then run it."""
    from rq import get_current_job

    job = get_current_job()
    rq_job_id = job.id if job is not None else None
    record = None
    if rq_job_id is not None:
        record = db.session.scalar(sa.select(JobRecord).where(JobRecord.rq_job_id == rq_job_id))
    if record is None:
        record = JobRecord(
            kind=kind,
            func=func_path,
            args=[],
            queue=job.origin if job is not None else "default",
            rq_job_id=rq_job_id,
            status=JobStatus.QUEUED,
            created_at=_now(),
        )
        db.session.add(record)
        db.session.commit()
        if job is not None:
            job.meta["job_record_id"] = record.id
            job.save_meta()
    return run_job_record(record.id)


def record_failure(job, connection, exc_type, exc_value, traceback) -> None:
    """RQ's failure callback (also called for a job abandoned by a dead worker): write the error back."""
    from registry.people.idnumbers import scrub_identifiers

    record_id = (job.meta or {}).get("job_record_id")
    # The first line only: SQL errors carry their parameters (personal data) on the lines after it.
    message = str(exc_value).strip().splitlines()[0] if str(exc_value).strip() else ""
    error = scrub_identifiers(f"{exc_type.__name__}: {message}")[:_ERROR_LENGTH]
    final = not job.should_retry
    try:
        db.session.rollback()
        record = None
        if record_id is not None:
            record = db.session.get(JobRecord, int(record_id))
        if record is None:
            record = db.session.scalar(sa.select(JobRecord).where(JobRecord.rq_job_id == job.id))
        if record is None or record.status is JobStatus.SUCCEEDED:
            return
        record.error = error if final else f"{error} (will be retried)"
        record.status = JobStatus.FAILED if final else JobStatus.QUEUED
        record.finished_at = _now() if final else None
        db.session.commit()
    except sa.exc.SQLAlchemyError as problem:
        # The database busy or down: the row keeps its last status. Raising would stop RQ's clean-up of a
        # dead worker's jobs half way (and the surviving worker with it), so the job would not be retried.
        log.warning("job record of %s not updated after its failure: %s", job.id, type(problem).__name__)
    finally:
        engine = db.engine
        if isinstance(engine, sa.Engine):
            # A failure callback may run in the worker's main process, which forks the next work horse:
            # leave no database connection there for a child to inherit.
            db.session.remove()
            engine.dispose()


def retry_job(record: JobRecord, actor: Actor, now: dt.datetime) -> bool:
    """Queue a failed (or never queued) job again, from the start; commits. False when Redis is down."""
    if record.status not in (JobStatus.FAILED, JobStatus.QUEUED):
        raise ValueError(f"job {record.id} is {record.status}; only failed or waiting jobs are retried")
    record.status = JobStatus.QUEUED
    record.finished_at = None
    record.progress_done = 0
    audit.record(actor, now, "job_record", record.id, "RETRY", record.kind)
    db.session.commit()
    return send_to_queue(record)


def requeue_waiting_jobs(now: dt.datetime, older_than: dt.timedelta = dt.timedelta(minutes=2)) -> int:
    """Queue the jobs that were started while Redis was down (or whose RQ job was lost); commits."""
    from rq.job import Job

    from registry.jobs import redis_connection

    connection = redis_connection()
    waiting = db.session.scalars(
        sa.select(JobRecord)
        .where(JobRecord.status == JobStatus.QUEUED, JobRecord.created_at <= now - older_than)
        .order_by(JobRecord.id)
    ).all()
    sent = 0
    for record in waiting:
        if record.rq_job_id is not None and Job.exists(record.rq_job_id, connection=connection):
            continue  # queued, scheduled for a retry, or running: RQ has it
        if send_to_queue(record):
            sent += 1
    return sent


bp = Blueprint("jobs", __name__)


@bp.route("/jobs/<int:record_id>")
def job_status(record_id: int):
    """Answer a polling page with a job's status and progress, for its starter and administrators."""
    from registry.auth.access import may_administer

    user = g.get("user")
    if user is None:
        abort(401)
    record = db.session.get(JobRecord, record_id)
    if record is None or (record.created_by_id != user.id and not may_administer(user)):
        abort(404)
    response = jsonify(record.as_json())
    response.headers["Cache-Control"] = "no-store"
    return response
