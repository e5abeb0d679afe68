"""RQ jobs of the monthly reports: build one (in the worker, never in a request), and the cron on the 1st."""

from __future__ import annotations

import datetime as dt

from registry.audit import Actor
from registry.extensions import db
from registry.job_records import JobRecord, report_progress, start_job
from registry.jobs import utc_now
from screenings.reports.models import MonthlyReport, ReportStatus
from screenings.reports.service import build_report, districts, mark_failed, month_before, request_report

CRON_ACTOR = Actor.system("monthly-reports")


def build_monthly_report(report_id: int, refresh: str = "", *, record_id: int | None = None) -> dict:
    """Build (or rebuild) one report; a failure shows its error on the reports page, to be retried."""
    from registry.people.idnumbers import scrub_identifiers

    report = db.session.get(MonthlyReport, report_id)
    if report is None:
        return {"report": report_id, "missing": True}

    def progress(done: int, total: int) -> None:
        if record_id is not None:
            report_progress(record_id, done, total)

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
