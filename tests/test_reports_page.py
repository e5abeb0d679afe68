"""The reports page (报表) and the cron: builds queued in the worker, failures shown and retried, approval,
audited downloads, and who sees the page (managers and coordinators; clinics do not)."""

import datetime as dt
import hashlib

import pytest
import sqlalchemy as sa
from redis import Redis

from registry.audit import AuditEvent
from registry.auth.models import Role
from registry.extensions import db
from registry.job_records import JobRecord
from screenings.reports import service
from screenings.reports.models import MonthlyReport, ReportStatus
from screenings.reports.service import file_path, find_report
from screenings.reports.tasks import queue_monthly_reports
from tests import factories

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
NOV = dt.datetime(2026, 11, 10, 9, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def queue_and_folder(app, redis_url, tmp_path, monkeypatch):
    """Builds go through RQ as in production (run eagerly here, in the test's transaction)."""
    connection = Redis.from_url(redis_url)
    connection.flushall()
    monkeypatch.setitem(app.config, "RQ_CONNECTION", connection)
    monkeypatch.setitem(app.config, "RQ_EAGER", True)
    monkeypatch.setitem(app.config, "REPORTS_DIR", str(tmp_path / "reports"))
    yield
    connection.close()


@pytest.fixture
def november(district):
    hospital = district["hospital"]
    for i in range(2):
        baby = factories.newborn(hospital, born_at=NOV + dt.timedelta(days=i), name=f"王小{i}")
        factories.hearing_result(baby, hospital, right="REFER" if i == 0 else "PASS")
    return district


@pytest.fixture
def manager(district, login):
    user = factories.user(Role.PROGRAM_MANAGER, district["mch"])
    login(user)
    return user


def _report_jobs() -> list[JobRecord]:
    return list(db.session.scalars(sa.select(JobRecord).where(JobRecord.kind == "report")))


def _audit(action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.entity == "monthly_report", AuditEvent.action == action)
        )
    )


def test_the_cron_run_twice_queues_and_builds_one_report_per_district_and_month(
    db_session, november, frozen_clock
):
    frozen_clock("2026-12-01 02:00")
    first = queue_monthly_reports()
    second = queue_monthly_reports()
    codes = {november["district"].code, november["other_district"].code}
    assert first["month"] == "2026-11" and codes <= set(first["queued"])
    assert second["queued"] == []
    reports = db.session.scalars(sa.select(MonthlyReport).where(MonthlyReport.district_code.in_(codes))).all()
    assert sorted((r.district_code, r.month, r.status) for r in reports) == sorted(
        (c, "2026-11", ReportStatus.READY) for c in codes
    )
    jobs = [j for j in _report_jobs() if j.id in {r.job_record_id for r in reports}]
    assert len(jobs) == 2 and all(j.status == "SUCCEEDED" for j in jobs)


def test_a_manager_builds_a_past_month_in_the_worker_and_downloads_it_audited(client, november, manager):
    page = client.get("/reports/").get_data(as_text=True)
    assert "报表" in page and "生成或重新生成" in page and "本区尚未生成报表。" in page

    response = client.post("/reports/build", data={"month": "2026-11", "lang": "zh"})

    assert response.status_code == 302
    report = find_report(november["district"].code, "2026-11")
    assert report.status is ReportStatus.READY and report.requested_by_id == manager.id
    assert [j.id for j in _report_jobs()] == [report.job_record_id]
    page = client.get("/reports/").get_data(as_text=True)
    assert "已生成" in page and report.sha256 in page and manager.full_name in page
    assert f"/reports/{report.id}/download" in page and "批准" in page
    download = client.get(f"/reports/{report.id}/download")
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    assert hashlib.sha256(download.data).hexdigest() == report.sha256
    assert [(e.user_id, e.entity_id) for e in _audit("DOWNLOAD")] == [(manager.id, str(report.id))]


def test_the_build_reports_its_progress_and_leaves_room_for_the_render(
    client, november, manager, monkeypatch
):
    real, seen = service.render_report, []

    def watched(snapshot, lang):
        job = _report_jobs()[0]
        db.session.refresh(job)
        seen.append((job.progress_done, job.progress_total, job.percent))
        return real(snapshot, lang)

    monkeypatch.setattr(service, "render_report", watched)
    client.post("/reports/build", data={"month": "2026-11", "lang": "zh"})
    [(done, total, percent)] = seen
    assert 0 < done < total and 80 <= percent < 100
    assert _report_jobs()[0].percent == 100


def test_a_failed_build_shows_its_error_and_a_retry_succeeds(client, november, manager, monkeypatch):
    real = service.render_report

    def broken(snapshot, lang):
        raise RuntimeError("字体文件缺失")

    monkeypatch.setattr(service, "render_report", broken)
    client.post("/reports/build", data={"month": "2026-11", "lang": "zh"})
    report = find_report(november["district"].code, "2026-11")
    assert report.status is ReportStatus.FAILED and "字体文件缺失" in report.error
    page = client.get("/reports/").get_data(as_text=True)
    assert "失败" in page and "RuntimeError: 字体文件缺失" in page and "重试" in page
    assert f"/reports/{report.id}/download" not in page

    monkeypatch.setattr(service, "render_report", real)
    client.post("/reports/build", data={"month": "2026-11", "lang": "zh"})

    db.session.expire_all()
    report = find_report(november["district"].code, "2026-11")
    assert report.status is ReportStatus.READY and report.error is None and report.sha256
    assert file_path(report).exists()
    assert "字体文件缺失" not in client.get("/reports/").get_data(as_text=True)


def test_a_manager_approves_from_the_page_and_a_rebuild_then_reproduces_the_archived_bytes(
    client, november, manager
):
    client.post("/reports/build", data={"month": "2026-11", "lang": "zh"})
    report = find_report(november["district"].code, "2026-11")
    archived = report.sha256

    client.post(f"/reports/{report.id}/approve")

    db.session.expire_all()
    report = find_report(november["district"].code, "2026-11")
    assert report.approved_by_id == manager.id
    assert [e.user_id for e in _audit("APPROVE")] == [manager.id]
    assert "已批准" in client.get("/reports/").get_data(as_text=True)
    # A late result, then a rebuild: an approved report renders its stored snapshot again, byte for byte.
    baby = factories.newborn(november["hospital"], born_at=NOV + dt.timedelta(days=5))
    factories.hearing_result(baby, november["hospital"], right="REFER")
    response = client.post("/reports/build", data={"month": "2026-11", "lang": "zh"}, follow_redirects=True)
    assert "已批准" in response.get_data(as_text=True)
    db.session.expire_all()
    assert find_report(november["district"].code, "2026-11").sha256 == archived


def test_an_approved_report_is_never_replaced_by_a_different_rendering(
    client, november, manager, monkeypatch
):
    client.post("/reports/build", data={"month": "2026-11", "lang": "zh"})
    report = find_report(november["district"].code, "2026-11")
    client.post(f"/reports/{report.id}/approve")
    archived, on_disk = report.sha256, file_path(report).read_bytes()
    real = service.render_report
    monkeypatch.setattr(service, "render_report", lambda snapshot, lang: (real(snapshot, lang)[0] + b"%", 16))

    client.post("/reports/build", data={"month": "2026-11", "lang": "zh"})

    db.session.expire_all()
    report = find_report(november["district"].code, "2026-11")
    assert report.status is ReportStatus.READY and report.sha256 == archived
    assert file_path(report).read_bytes() == on_disk
    assert "已批准的报表按原样保留" in client.get("/reports/").get_data(as_text=True)


def test_only_past_months_are_built(client, november, login, frozen_clock):
    frozen_clock("2026-12-15 10:00")
    login(factories.user(Role.PROGRAM_MANAGER, november["mch"]))
    response = client.post("/reports/build", data={"month": "2026-12", "lang": "zh"}, follow_redirects=True)
    assert "请选择本月之前的月份和语言。" in response.get_data(as_text=True)
    client.post("/reports/build", data={"month": "11/2026", "lang": "zh"})
    client.post("/reports/build", data={"month": "2026-11", "lang": "fr"})
    assert _report_jobs() == []


def test_a_coordinator_sees_and_downloads_reports_but_neither_builds_nor_approves(client, november, login):
    report, _created = service.request_report(
        november["district"].code, "2026-11", "zh", service.Actor.system("test"), NOV
    )
    service.build_report(report, NOV)
    db.session.commit()
    coordinator = factories.user(Role.FOLLOW_UP_COORDINATOR, november["mch"])
    login(coordinator)
    home = client.get("/").get_data(as_text=True)
    assert 'href="/reports/"' in home
    page = client.get("/reports/").get_data(as_text=True)
    assert report.sha256 in page and "系统（定时任务）" in page
    assert "生成或重新生成" not in page and f"/reports/{report.id}/approve" not in page
    assert client.get(f"/reports/{report.id}/download").status_code == 200
    assert client.post("/reports/build", data={"month": "2026-10", "lang": "zh"}).status_code == 403
    assert client.post(f"/reports/{report.id}/approve").status_code == 403


def test_clinic_staff_neither_see_the_page_nor_reach_a_report(client, november, login):
    report, _created = service.request_report(
        november["district"].code, "2026-11", "zh", service.Actor.system("test"), NOV
    )
    db.session.commit()
    login(factories.clinic_user(november["hospital"]))
    assert 'href="/reports/"' not in client.get("/").get_data(as_text=True)
    assert client.get("/reports/").status_code == 403
    assert client.get(f"/reports/{report.id}/download").status_code == 403
    assert client.post("/reports/build", data={"month": "2026-11", "lang": "zh"}).status_code == 403


def test_another_districts_report_is_not_found(client, november, login):
    report, _created = service.request_report(
        november["other_district"].code, "2026-11", "zh", service.Actor.system("test"), NOV
    )
    db.session.commit()
    login(factories.user(Role.PROGRAM_MANAGER, november["mch"]))
    assert client.get(f"/reports/{report.id}/download").status_code == 404
    assert client.post(f"/reports/{report.id}/approve").status_code == 404
