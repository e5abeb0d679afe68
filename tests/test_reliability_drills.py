"""Drills for what goes wrong on a real server: Redis restarted under a running sweep, PostgreSQL restarted
under a request and a job. After each, the work is finished by the ordinary recovery path (a worker started
again by its supervisor, the scheduler's requeue of waiting jobs): nothing lost and nothing done twice."""

from __future__ import annotations

import datetime as dt
import io
import os
import subprocess
import time

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from registry import create_app
from registry.audit import Actor
from registry.auth.models import Role
from registry.extensions import db
from registry.job_records import JobRecord, JobStatus, requeue_waiting_jobs, start_job
from registry.people.models import Person
from screenings.engine import EventKind
from screenings.models import CaseEvent, FollowUpCase, ScreeningResult
from tests import factories
from tests.conftest import app_config
from tests.live_http import Browser, serve
from tests.test_jobs import (
    count_events,
    end_state,
    migrated_app,
    prepared_database,
    queue_sweep,
    uninterrupted,
)
from tests.worker_support import (
    PrivatePostgres,
    ScratchDatabases,
    kill_hard,
    run_burst_worker,
    start_redis_server,
    start_worker,
    stop,
    wait_for,
    worker_env,
)


def restart_redis(process: subprocess.Popen, url: str, directory) -> subprocess.Popen:
    """Kill redis-server hard; start a fresh, empty one on its port (no persistence: RQ's data is lost)."""
    process.kill()
    process.wait(10)
    again, _url = start_redis_server(directory, port=int(url.rsplit(":", 1)[1].split("/")[0]))
    return again


def content_state(app) -> tuple[list, list]:
    """The end state without the ids the database handed out: PostgreSQL's crash recovery moves its sequences
    on (by up to 32), so cases the sweep opens after a restart get other ids with the same content."""
    cases, events = end_state(app)
    columns = [c.name for c in FollowUpCase.__table__.columns]
    id_at, program_at, person_at, reason_at, opened_at = (
        columns.index(name) for name in ("id", "program", "person_id", "reason", "opened_at")
    )
    natural = {
        str(row[id_at]): f"{row[program_at]}/{row[person_at]}/{row[reason_at]}/{row[opened_at]}"
        for row in cases
    }
    case_id_at = [c.name for c in CaseEvent.__table__.columns if c.name != "id"].index("case_id")
    return (
        sorted(str(row[:id_at] + row[id_at + 1 :]) for row in cases),
        sorted(str(row[:case_id_at] + (natural[row[case_id_at]],) + row[case_id_at + 1 :]) for row in events),
    )


def job_status(app, record_id: int) -> JobStatus:
    with app.app_context():
        status = db.session.get(JobRecord, record_id).status
        db.session.remove()
    return status


def test_redis_restarted_under_a_running_sweep_loses_nothing_and_doubles_nothing(scratch_database, tmp_path):
    redis_process, redis_url = start_redis_server(tmp_path)
    url, app = prepared_database(scratch_database, redis_url, "sweep_redis_restart")
    expected = end_state(uninterrupted(scratch_database, url, redis_url))
    env = worker_env(url, redis_url)
    record_id = queue_sweep(app)
    worker = start_worker(env, "default", log=tmp_path / "worker.log")
    try:
        wait_for(lambda: count_events(app, EventKind.ESCALATED) >= 50, timeout=120, interval=0.01)
        redis_process = restart_redis(redis_process, redis_url, tmp_path)
        assert end_state(app) != expected, "the sweep finished before the restart; the test proves nothing"
        # Whatever the first worker does now (finish, or die on the lost connection), a supervisor keeps one
        # worker running, and the scheduler's requeue of waiting jobs runs every few minutes.
        wait_for(lambda: worker.poll() is not None or job_status(app, record_id) is JobStatus.SUCCEEDED,
                 timeout=120, interval=0.5)  # fmt: skip
        with app.app_context():
            requeue_waiting_jobs(dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
            db.session.remove()
            db.engine.dispose()
        run_burst_worker(env, "default")
    finally:
        if worker.poll() is None:
            stop(worker)
        kill_hard(worker) if worker.poll() is None else None
        redis_process.kill()
        redis_process.wait(10)
    assert job_status(app, record_id) is JobStatus.SUCCEEDED
    assert end_state(app) == expected


# -- PostgreSQL restarted ------------------------------------------------------------------------------

# The server is the drill's own; the SQLite pass has nothing to restart, and the drills are slow enough.
postgres_pass_only = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"), reason="a PostgreSQL drill: runs in the PostgreSQL pass"
)


@postgres_pass_only
def test_a_request_while_postgresql_is_down_is_told_to_retry_and_saves_nothing_then_works(tmp_path):
    server = PrivatePostgres()
    try:
        app = create_app(app_config(server.url))
        with app.app_context():
            upgrade()
            hospital = factories.district()["hospital"]
            factories.user(Role.CLINIC_STAFF, hospital, username="clerk")
            db.session.commit()
            db.session.remove()
        woman = {"name": "林晓雯", "birth_on": "1991-03-05", "id_type": "NONE", "phone": "13900001111",
                 "household": "LOCAL"}  # fmt: skip
        with serve(app) as base:
            clerk = Browser(base)
            clerk.log_in("clerk")
            assert clerk.get("/")[0] == 200

            server.stop()
            status, body = clerk.post("/people/register/woman", woman)
            assert status == 503
            assert "数据库暂时无法连接" in body and "未保存" in body
            assert clerk.get("/")[0] == 503

            server.start()
            assert clerk.get("/")[0] == 200  # the same login: sessions live in the database
            assert clerk.post("/people/register/woman", woman)[0] == 302
        with app.app_context():
            assert db.session.scalar(sa.select(sa.func.count()).select_from(Person)) == 1
            db.session.remove()
            db.engine.dispose()
    finally:
        server.close()


@postgres_pass_only
def test_a_sweep_running_when_postgresql_restarts_is_retried_and_finishes_once(tmp_path, redis_url, redis):
    server = PrivatePostgres()
    databases = ScratchDatabases(server.url, tmp_path)
    worker = None
    try:
        url, app = prepared_database(databases, redis_url, "sweep_pg_restart")
        expected = content_state(uninterrupted(databases, url, redis_url))
        env = worker_env(url, redis_url)
        record_id = queue_sweep(app)
        worker = start_worker(env, "default", log=tmp_path / "worker.log")
        wait_for(lambda: count_events(app, EventKind.ESCALATED) >= 50, timeout=120, interval=0.01)
        server.stop()
        time.sleep(1)
        server.start()
        assert content_state(app) != expected, (
            "the sweep finished before the restart; the test proves nothing"
        )
        wait_for(lambda: job_status(app, record_id) is JobStatus.SUCCEEDED, timeout=120, interval=0.5,
                 message="the sweep was not finished after PostgreSQL came back")  # fmt: skip
        with app.app_context():
            assert db.session.get(JobRecord, record_id).attempts == 2
            db.session.remove()
            db.engine.dispose()
        assert content_state(app) == expected
    finally:
        if worker is not None:
            stop(worker)
        databases.drop_all()
        server.close()


# -- a worker killed mid-import -----------------------------------------------------------------------

IMPORT_ROWS = 6000  # twelve chunks: the kill lands after the first commits and well before the end


def prepared_import(scratch_database, redis_url, tmp_path, monkeypatch, name: str):
    """A scratch database with one registered baby and a queued import job of IMPORT_ROWS hearing rows: the
    baby's screen, then babies not registered yet (their rows wait in the unmatched queue)."""
    from screenings.imports import service, tasks
    from tests.test_imports import csv_bytes, hearing_row

    monkeypatch.setenv("REGISTRY_INSTANCE_PATH", str(tmp_path / "instance"))
    url = scratch_database.new(name)
    app = migrated_app(url, redis_url)
    now = dt.datetime.now(dt.UTC)
    with app.app_context():
        hospital = factories.district()["hospital"]
        staff = factories.clinic_user(hospital)
        baby = factories.newborn(hospital)
        actor = Actor(staff.id, staff.username)
        source = service.create_source("听力筛查设备", "NBS-DRILL", hospital.id, actor, now)
        rows = [hearing_row("S0", name=baby.name, birth=baby.birth_on.isoformat())]
        rows += [hearing_row(f"S{n}", name=f"未登记{n}", birth="2026-11-19") for n in range(1, IMPORT_ROWS)]
        batch = service.receive_file(
            io.BytesIO(csv_bytes(rows)), "hearing.csv", source, "NEWBORN_HEARING", "INITIAL", staff, actor,
            now, tasks.storage_path(),
        )  # fmt: skip
        assert service.confirm_mapping(batch, service.initial_mapping(batch), False, actor, now) == []
        record = start_job("import", tasks.import_file, batch.id, actor=actor, now=now)
        ids = {"batch": batch.id, "record": record.id, "baby": baby.id}
        db.session.remove()
        db.engine.dispose()
    env = worker_env(url, redis_url, REGISTRY_INSTANCE_PATH=str(tmp_path / "instance"))
    return app, env, ids


def committed_rows(app, batch_id: int) -> int:
    from screenings.imports.models import ImportBatch

    with app.app_context():
        done = db.session.get(ImportBatch, batch_id).processed_through_row
        db.session.remove()
    return done


def assert_imported_once(app, ids: dict, attempts: int) -> None:
    from screenings.imports.models import ImportBatch, UnmatchedRow

    with app.app_context():
        batch = db.session.get(ImportBatch, ids["batch"])
        assert (batch.processed_rows, batch.imported_count, batch.unmatched_count) == (
            IMPORT_ROWS,
            1,
            IMPORT_ROWS - 1,
        )
        waiting = sa.select(UnmatchedRow.source_key).where(UnmatchedRow.batch_id == ids["batch"])
        keys = db.session.scalars(waiting).all()
        assert len(keys) == len(set(keys)) == IMPORT_ROWS - 1  # every waiting row once
        of_the_baby = sa.select(sa.func.count()).where(ScreeningResult.person_id == ids["baby"])
        assert db.session.scalar(of_the_baby) == 1
        assert db.session.get(JobRecord, ids["record"]).attempts == attempts
        db.session.remove()
        db.engine.dispose()


@postgres_pass_only  # another worker takes the dead worker's job over within about 30 s: once is enough
def test_a_worker_killed_mid_import_has_its_job_finished_by_another_each_row_once(
    scratch_database, redis_url, redis, tmp_path, monkeypatch
):
    app, env, ids = prepared_import(scratch_database, redis_url, tmp_path, monkeypatch, "import_killed")
    first = start_worker(env, "default", log=tmp_path / "first.log")
    second = None
    try:
        wait_for(lambda: committed_rows(app, ids["batch"]) >= 500, timeout=120, interval=0.01)
        kill_hard(first)
        killed_at = dt.datetime.now(dt.UTC)
        assert committed_rows(app, ids["batch"]) < IMPORT_ROWS, "the import finished before the kill"
        second = start_worker(env, "default", log=tmp_path / "second.log")
        wait_for(lambda: job_status(app, ids["record"]) is JobStatus.SUCCEEDED, timeout=120, interval=0.5,
                 message="no other worker finished the import")  # fmt: skip
    finally:
        stop(second) if second is not None else None
        if first.poll() is None:
            kill_hard(first)
    assert_imported_once(app, ids, attempts=2)
    with app.app_context():
        restarted_at = db.session.get(JobRecord, ids["record"]).started_at  # the run that finished
        db.session.remove()
        db.engine.dispose()
    # Taken over within a minute of the kill (about 30 s: registry/jobs.py), the rest is the import's work.
    assert (restarted_at - killed_at).total_seconds() <= 60


def test_redis_restarted_under_a_running_import_loses_no_row_and_doubles_none(
    scratch_database, tmp_path, monkeypatch
):
    redis_process, redis_url = start_redis_server(tmp_path)
    app, env, ids = prepared_import(scratch_database, redis_url, tmp_path, monkeypatch, "import_redis")
    worker = start_worker(env, "default", log=tmp_path / "worker.log")
    try:
        wait_for(lambda: committed_rows(app, ids["batch"]) >= 500, timeout=120, interval=0.01)
        redis_process = restart_redis(redis_process, redis_url, tmp_path)
        assert committed_rows(app, ids["batch"]) < IMPORT_ROWS, "the import finished before the restart"
        wait_for(lambda: job_status(app, ids["record"]) is JobStatus.SUCCEEDED, timeout=120, interval=0.5,
                 message="the import did not finish after Redis came back")  # fmt: skip
    finally:
        stop(worker)
        redis_process.kill()
        redis_process.wait(10)
    assert_imported_once(app, ids, attempts=1)
