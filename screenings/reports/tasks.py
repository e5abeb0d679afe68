"""RQ jobs of the monthly reports: build one (in the worker, never in a request), and the cron on the 1st."""

from __future__ import annotations

import datetime as dt

from registry.audit import Actor
from registry.extensions import db
from registry.job_records import JobRecord, JobStatus, report_progress, start_job
from registry.jobs import utc_now
from screenings.reports.models import MonthlyReport, ReportStatus
from screenings.reports.service import (
    ReportError,
    build_report,
    districts,
    mark_failed,
    month_before,
    request_report,
)

CRON_ACTOR = Actor.system("monthly-reports")


def build_monthly_report(report_id: int, refresh: str = "", *, record_id: int | None = None) -> dict:
    """Build (or rebuild) one report; a failure shows its error on the reports page, to be retried."""
    from registry.people.idnumbers import scrub_identifiers

    report = db.session.get(MonthlyReport, report_id)
    if report is None:
        return {"report": report_id, "missing": True}

    def progress(done: int, total: int) -> None:
        # One step more than the snapshot's: rendering the PDF comes after it (the bar never waits at 100%).
        if record_id is not None:
            report_progress(record_id, done, total + 1)

    try:
        build_report(
            report, utc_now(), refresh=refresh == "refresh", progress=progress, commit=db.session.commit
        )
        db.session.commit()
    except Exception as error:
        db.session.rollback()
        message = (str(error).strip().splitlines() or [""])[0]
        mark_failed(report_id, scrub_identifiers(f"{type(error).__name__}: {message}"))
        db.session.commit()
        raise
    return {"report": report.id, "sha256": report.sha256, "pages": report.page_count}


def start_report_build(
    report: MonthlyReport, actor: Actor, now: dt.datetime, *, refresh: bool = False
) -> JobRecord:
    """Queue a report's build as a recorded job (commits)."""
    report.status = ReportStatus.QUEUED
    report.error = None
    db.session.commit()
    report_id = report.id
    record = start_job(
        "report",
        build_monthly_report,
        report_id,
        "refresh" if refresh else "",
        actor=actor,
        now=now,
        timeout=1800,
    )
    db.session.get(MonthlyReport, report_id).job_record_id = record.id
    db.session.commit()
    return record


def is_busy(report: MonthlyReport) -> bool:
    """Tell whether a report's build is queued or running in a worker (a second one would be wasted)."""
    if report.status not in (ReportStatus.QUEUED, ReportStatus.BUILDING) or report.job_record_id is None:
        return False
    job = db.session.get(JobRecord, report.job_record_id)
    return job is not None and job.status in (JobStatus.QUEUED, JobStatus.RUNNING)


def ask_for_build(
    district_code: str, month: str, lang: str, actor: Actor, now: dt.datetime
) -> tuple[MonthlyReport, bool]:
    """Queue a build of a district's month (a manager's click): the first, a retry or a rebuild (commits).

    A rebuild of a report not yet approved takes a fresh snapshot; an approved one is rendered again from
    its stored snapshot, byte for byte. Returns the report and whether it was new.
    """
    report, created = request_report(district_code, month, lang, actor, now)
    if not created and is_busy(report):
        raise ReportError("the report is already being built")
    refresh = not created and not report.approved and report.snapshot is not None
    start_report_build(report, actor, now, refresh=refresh)
    return db.session.get(MonthlyReport, report.id), created


def queue_monthly_reports(*, record_id: int | None = None) -> dict:
    """The cron on the 1st at 02:00 Asia/Shanghai: queue one build per district for the month before.

    Safe to run twice: the (district, month, language) key lets only the first run queue a build.
    """
    now = utc_now()
    month = month_before(now)
    queued = []
    for district in districts():
        report, created = request_report(district.code, month, "zh", CRON_ACTOR, now)
        db.session.commit()
        if created:
            start_report_build(report, CRON_ACTOR, now)
            queued.append(district.code)
    return {"month": month, "queued": queued}
