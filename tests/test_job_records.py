"""A database row per job: queued with ids only, progress a page can poll, retries with backoff, failures on
the administrator's page, and a web application that keeps working while Redis is down."""

import datetime as dt

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade
from redis import Redis
from rq.job import Job

from registry import create_app
from registry.audit import Actor, AuditEvent
from registry.auth.models import Role, User
from registry.auth.passwords import hash_password
from registry.extensions import db
from registry.institutions import Institution, InstitutionKind
from registry.job_records import (
    QUEUE_UNAVAILABLE,
    JobRecord,
    JobStatus,
    report_progress,
    requeue_waiting_jobs,
    start_job,
)
from tests import factories
from tests.conftest import NOW, PASSWORD, app_config
from tests.job_functions import always_fails, count_to, fails_once
from tests.worker_support import free_port, run_burst_worker, start_worker, stop, wait_for, worker_env

ACTOR = Actor(user_id=None, username="test")


@pytest.fixture
def redis(app, redis_url, monkeypatch):
    connection = Redis.from_url(redis_url)
    connection.flushall()
    monkeypatch.setitem(app.config, "RQ_CONNECTION", connection)
    yield connection
    connection.close()


def test_starting_a_job_records_it_and_queues_only_its_id(db_session, redis, district, make_user):
    user = make_user(Role.CLINIC_STAFF, district["hospital"])
    actor = Actor(user_id=user.id, username=user.username)
    record = start_job("import", count_to, 3, actor=actor, now=NOW)
    assert (record.kind, record.status, record.func, record.args) == (
        "import", JobStatus.QUEUED, "tests.job_functions.count_to", [3],
    )  # fmt: skip
    assert record.created_by_id == user.id and not record.waiting_for_queue
    job = Job.fetch(record.rq_job_id, connection=redis)
    # Redis sees the record's id and nothing else; the arguments stay in the database.
    assert (job.func_name, job.args, job.kwargs) == ("registry.job_records.run_job_record", (record.id,), {})
    assert job.retries_left == 3 and job.retry_intervals == [5, 60, 300]
    audit = db_session.scalars(sa.select(AuditEvent).where(AuditEvent.entity == "job_record")).one()
    assert (audit.action, audit.entity_id, audit.user_id) == ("QUEUE", str(record.id), user.id)


def test_jobs_take_ids_and_plain_strings_only(db_session, redis):
    with pytest.raises(TypeError):
        start_job("import", count_to, {"name": "王小宝"}, actor=ACTOR, now=NOW)
    with pytest.raises(ValueError):
        start_job("import", lambda record_id: None, actor=ACTOR, now=NOW)


def test_a_page_polls_the_status_of_its_own_jobs(client, login, district, make_user, db_session):
    starter = make_user(Role.CLINIC_STAFF, district["hospital"])
    other = make_user(Role.CLINIC_STAFF, district["hospital"])
    admin = make_user(Role.SYSTEM_ADMIN, district["mch"])
    record = JobRecord(kind="import", func="tests.job_functions.count_to", args=[4],
                       status=JobStatus.RUNNING, rq_job_id="jr-x", created_by_id=starter.id, created_at=NOW,
                       started_at=NOW)  # fmt: skip
    db_session.add(record)
    db_session.flush()
    report_progress(record.id, 1, 4)

    login(starter)
    data = client.get(f"/jobs/{record.id}").get_json()
    assert (data["status"], data["progress_done"], data["progress_total"], data["percent"]) == (
        "RUNNING",
        1,
        4,
        25,
    )
    client.post("/logout")
    login(other)
    assert client.get(f"/jobs/{record.id}").status_code == 404
    client.post("/logout")
    login(admin)
    assert client.get(f"/jobs/{record.id}").status_code == 200


def test_the_administrators_page_shows_failed_jobs_with_their_error(
    client, login, district, make_user, db_session
):
    admin = make_user(Role.SYSTEM_ADMIN, district["mch"])
    db_session.add(
        JobRecord(kind="import", func="x.y", args=[], status=JobStatus.FAILED, attempts=4, created_at=NOW,
                  finished_at=NOW, error="ValueError: the lab file could not be read")
    )  # fmt: skip
    db_session.flush()
    login(admin)
    page = client.get("/admin/jobs").get_data(as_text=True)
    assert "失败的任务" in page and "ValueError: the lab file could not be read" in page
    clinic = make_user(Role.CLINIC_STAFF, district["hospital"])
    client.post("/logout")
    login(clinic)
    assert client.get("/admin/jobs").status_code == 403


def test_the_jobs_page_names_each_job_kind_in_chinese(client, login, district, make_user, db_session):
    db_session.add(
        JobRecord(kind="sweep", func="x.y", args=[], status=JobStatus.FAILED, attempts=1, created_at=NOW,
                  finished_at=NOW, error="boom")
    )  # fmt: skip
    db_session.flush()
    login(make_user(Role.SYSTEM_ADMIN, district["mch"]))
    page = client.get("/admin/jobs").get_data(as_text=True)
    assert '<td title="sweep">每日状态更新</td>' in page


def test_the_jobs_page_links_an_import_job_to_its_batch(client, login, district, make_user, db_session):
    staff = make_user(Role.CLINIC_STAFF, district["hospital"])
    batch = factories.import_batch(factories.import_source(district["hospital"]), staff)
    db_session.add_all([
        JobRecord(kind="import", func="x.y", args=[batch.id], status=JobStatus.SUCCEEDED, created_at=NOW,
                  finished_at=NOW),
        JobRecord(kind="sweep", func="x.y", args=["2026-12-02"], status=JobStatus.SUCCEEDED, created_at=NOW),
    ])  # fmt: skip
    db_session.flush()
    login(make_user(Role.SYSTEM_ADMIN, district["mch"]))
    page = client.get("/admin/jobs").get_data(as_text=True)
    assert page.count('class="job-result"') == 1
    assert f'<a href="/imports/{batch.id}" class="job-result">查看结果</a>' in page
    assert client.get(f"/imports/{batch.id}").status_code == 200  # the link opens the batch's result


def test_the_jobs_page_links_a_monthly_report_build_to_its_row_on_the_reports_page(
    client, login, district, make_user, db_session
):
    from screenings.reports.models import MonthlyReport, ReportStatus

    report = MonthlyReport(district_code=district["district"].code, month="2026-11", lang="zh",
                           status=ReportStatus.READY, sha256="ab" * 32, page_count=12, requested_at=NOW,
                           requested_by_name="seed")  # fmt: skip
    db_session.add(report)
    db_session.flush()
    db_session.add(JobRecord(kind="report", func="x.y", args=[report.id, ""], status=JobStatus.SUCCEEDED,
                             created_at=NOW, finished_at=NOW, result={"report": report.id}))  # fmt: skip
    db_session.flush()
    login(make_user(Role.SYSTEM_ADMIN, district["mch"]))
    page = client.get("/admin/jobs").get_data(as_text=True)
    assert f'<a href="/reports/#report-{report.id}" class="job-result">查看结果</a>' in page
    reports = client.get("/reports/")  # the link opens the row: month, status, SHA-256 and the download
    assert reports.status_code == 200
    row = reports.get_data(as_text=True).split(f'id="report-{report.id}"')[1].split("</tr>")[0]
    assert "2026年11月" in row and "ab" * 32 in row and f"/reports/{report.id}/download" in row


def test_the_jobs_page_says_what_a_sweep_and_a_reminder_run_did(
    client, login, district, make_user, db_session
):
    swept = {"as_of": "2026-12-02", "moment": "x", "overdue": 3, "due_soon": 2, "lost": 1, "escalated": 4,
             "missed_screenings": 5, "batches": 1}  # fmt: skip
    reminded = {"claimed": 6, "already_sent": 0, "notifications": 6, "sms_queued": 2}
    done = {"func": "x.y", "args": [], "status": JobStatus.SUCCEEDED, "created_at": NOW}
    db_session.add_all([
        JobRecord(kind="sweep", result=swept, **done),
        JobRecord(kind="reminders", result=reminded, **done),
        JobRecord(kind="sweep", result="an older result", **done),
    ])  # fmt: skip
    db_session.flush()
    login(make_user(Role.SYSTEM_ADMIN, district["mch"]))
    page = client.get("/admin/jobs").get_data(as_text=True)
    assert "逾期 3 · 即将到期 2 · 失访 1 · 上报 4 · 漏筛 5" in page
    assert "提醒 6 条，站内通知 6 条，待发短信 2 条" in page


# -- with worker processes -------------------------------------------------------------------------------


@pytest.fixture
def worker_app(scratch_database, redis_url):
    connection = Redis.from_url(redis_url)
    connection.flushall()
    connection.close()
    url = scratch_database.new("job_records")
    app = create_app(app_config(url, REDIS_URL=redis_url, RQ_RETRY_INTERVALS=(1, 2)))
    with app.app_context():
        upgrade()
        db.session.remove()
        db.engine.dispose()
    app.database_url = url
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def record_of(app, record_id: int) -> JobRecord:
    with app.app_context():
        record = db.session.get(JobRecord, record_id)
        db.session.expunge(record)
        db.session.remove()
    return record


def started(app, func, *args) -> int:
    with app.app_context():
        record_id = start_job("test", func, *args, actor=ACTOR, now=dt.datetime.now(dt.UTC)).id
        db.session.remove()
        db.engine.dispose()
        return record_id


def test_a_worker_runs_the_job_and_stores_its_progress_and_result(worker_app, redis_url):
    record_id = started(worker_app, count_to, 5)
    run_burst_worker(worker_env(worker_app.database_url, redis_url), "default")
    record = record_of(worker_app, record_id)
    assert (record.status, record.result, record.attempts) == (JobStatus.SUCCEEDED, {"counted": 5}, 1)
    assert (record.progress_done, record.progress_total, record.percent) == (5, 5, 100)
    assert record.started_at <= record.finished_at


def test_a_failing_job_is_retried_with_backoff_then_shows_as_failed_with_its_error(
    worker_app, redis_url, tmp_path
):
    failing = started(worker_app, always_fails)
    flaky = started(worker_app, fails_once, str(tmp_path / "marker"))
    worker = start_worker(
        worker_env(worker_app.database_url, redis_url), "default", log=tmp_path / "worker.log"
    )
    try:
        wait_for(lambda: record_of(worker_app, failing).status is JobStatus.FAILED, timeout=60, interval=0.3)
        wait_for(lambda: record_of(worker_app, flaky).status is JobStatus.SUCCEEDED, timeout=60, interval=0.3)
    finally:
        stop(worker)
    record = record_of(worker_app, failing)
    # The first try and both retries (after 1 s, then 2 s), each recorded.
    assert record.attempts == 3
    assert record.finished_at - record.started_at < dt.timedelta(seconds=2)
    # The error names what went wrong; the phone number in the message is masked; no traceback.
    assert record.error == "ValueError: the lab file could not be read; call 138****5678"
    recovered = record_of(worker_app, flaky)
    assert (recovered.attempts, recovered.error, recovered.result) == (2, None, {"ok": True})


# -- Redis down -------------------------------------------------------------------------------------------


def test_the_web_application_keeps_working_while_redis_is_down(scratch_database, redis_url, tmp_path):
    url = scratch_database.new("redis_down")
    down = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    app = create_app(app_config(url, REDIS_URL=down))
    with app.app_context():
        upgrade()
        mch = Institution(code="M1", name="区妇幼保健院", kind=InstitutionKind.MCH_CENTRE)
        db.session.add(mch)
        db.session.flush()
        admin = User(username="admin1", full_name="管理员", role=Role.SYSTEM_ADMIN, institution_id=mch.id,
                     password_hash=hash_password(PASSWORD), created_at=NOW)  # fmt: skip
        db.session.add(admin)
        db.session.commit()

    client = app.test_client()
    # Logging in (its rate limit falls back to memory), and every page that needs no job, work as usual.
    response = client.post("/login", data={"username": "admin1", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    page = client.get("/admin/jobs").get_data(as_text=True)
    assert "任务队列（Redis）无法连接" in page

    # A page that starts a job says so clearly, and the job waits in the database.
    response = client.post("/admin/jobs/start/sweep", follow_redirects=True)
    assert response.status_code == 200
    assert "已保存，队列恢复后会自动执行" in response.get_data(as_text=True)
    with app.app_context():
        record = db.session.scalars(sa.select(JobRecord)).one()
        assert record.waiting_for_queue and record.error == QUEUE_UNAVAILABLE
        record_id = record.id
    status = client.get(f"/jobs/{record_id}").get_json()
    assert (status["status"], status["waiting_for_queue"]) == ("QUEUED", True)

    # Redis is back: the scheduler's requeue sends the waiting job, and a worker runs it.
    app.config.update(REDIS_URL=redis_url, RQ_CONNECTION=None)
    Redis.from_url(redis_url).flushall()
    with app.app_context():
        assert requeue_waiting_jobs(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=3)) == 1
        assert requeue_waiting_jobs(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=3)) == 0  # queued once
        db.session.remove()
        db.engine.dispose()
    run_burst_worker(worker_env(url, redis_url), "default")
    with app.app_context():
        record = db.session.get(JobRecord, record_id)
        assert record.status is JobStatus.SUCCEEDED and record.kind == "sweep"
        assert set(record.result) >= {"overdue", "escalated", "lost", "missed_screenings"}
        db.session.remove()
        db.engine.dispose()
