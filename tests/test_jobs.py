"""The queue with a real Redis and real worker processes: jobs run inside the app, cron enqueues them."""

import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade
from redis import Redis
from rq import Queue

from registry import create_app
from registry.auth.models import LoginSession, Role, User
from registry.cron import build_scheduler
from registry.extensions import db
from registry.institutions import Institution, InstitutionKind
from tests.conftest import app_config


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    executable = shutil.which("redis-server") or pytest.skip("redis-server is not installed")
    port = _free_port()
    process = subprocess.Popen(
        [
            executable,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path_factory.mktemp("redis")),
        ],
        stdout=subprocess.DEVNULL,
    )
    connection = Redis(port=port)
    for _ in range(100):
        try:
            connection.ping()
            break
        except Exception:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(10)


def test_a_worker_process_runs_a_queued_job_inside_the_application(tmp_path, redis_url):
    database_url = f"sqlite:///{tmp_path / 'jobs.db'}"
    app = create_app(app_config(database_url, REDIS_URL=redis_url))
    now = dt.datetime.now(dt.UTC)
    with app.app_context():
        upgrade()
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
        connection = Redis.from_url(redis_url)
        connection.flushall()
        scheduler = build_scheduler(connection)
        scheduler.enqueue_jobs()  # interval jobs are due at once
        assert Queue("maintenance", connection=connection).count == 1
        db.engine.dispose()

    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
    }
    result = subprocess.run(
        [sys.executable, "-m", "registry.cli", "worker", "--burst", "maintenance"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    with app.app_context():
        remaining = db.session.scalars(sa.select(LoginSession.token_hash)).all()
        assert remaining == ["live"]
        db.engine.dispose()
