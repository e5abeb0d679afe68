"""The reports page (报表): a district's monthly reports, built in the worker, downloaded and approved."""

from __future__ import annotations

import datetime as dt
import hashlib
import io

import sqlalchemy as sa
from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _

from registry import audit
from registry.auth.models import User
from registry.extensions import db
from registry.job_records import JobRecord, JobStatus
from registry.web import current_actor, current_user, login_required, refuse, utcnow
from screenings import access
from screenings.engine import LOCAL_TZ
from screenings.reports.models import MonthlyReport, ReportStatus
from screenings.reports.service import (
    LANGS,
    ReportError,
    approve_report,
    district_reports,
    file_path,
)
from screenings.reports.snapshot import month_period
from screenings.reports.tasks import ask_for_build, is_busy
from screenings.texts import month_label

bp = Blueprint("reports", __name__, url_prefix="/reports")

MONTHS_OFFERED = 24  # the build form's month menu; any earlier month may still be posted


def _user() -> User:
    user = current_user._get_current_object()
    if not access.may_see_reports(user):
        refuse(403, "may not see monthly reports")
    return user


def _district(user: User):
    district = user.institution.district
    if district is None:
        abort(404)
    return district


def _report_or_404(report_id: int, district) -> MonthlyReport:
    report = db.session.get(MonthlyReport, report_id)
    if report is None or report.district_code != district.code:
        refuse(404, f"monthly report {report_id} absent or outside the district")
    return report


def _this_month(now: dt.datetime) -> str:
    return now.astimezone(LOCAL_TZ).strftime("%Y-%m")


def _past_months(now: dt.datetime, count: int = MONTHS_OFFERED) -> list[str]:
    first = now.astimezone(LOCAL_TZ).date().replace(day=1)
    months = []
    for _i in range(count):
        first = (first - dt.timedelta(days=1)).replace(day=1)
        months.append(first.strftime("%Y-%m"))
    return months


def _lang_labels() -> dict[str, str]:
    return {"zh": _("Chinese"), "en": _("English")}


def _status_labels() -> dict[str, str]:
    return {
        "QUEUED": _("Queued"), "BUILDING": _("Building"), "READY": _("Ready"), "FAILED": _("Failed"),
    }  # fmt: skip


def _rows(reports: list[MonthlyReport]) -> list[dict]:
    """Each report with its job's progress and the full name of who asked for it."""
    job_ids = [r.job_record_id for r in reports if r.job_record_id is not None]
    jobs = {}
    if job_ids:
        jobs = {j.id: j for j in db.session.scalars(sa.select(JobRecord).where(JobRecord.id.in_(job_ids)))}
    user_ids = {i for r in reports for i in (r.requested_by_id, r.approved_by_id) if i is not None}
    names = {}
    if user_ids:
        found = db.session.execute(sa.select(User.id, User.full_name).where(User.id.in_(user_ids)))
        names = dict(found.all())
    rows = []
    for report in reports:
        job = jobs.get(report.job_record_id)
        failed = report.status is ReportStatus.FAILED
        if report.requested_by_id is not None:
            by = names.get(report.requested_by_id) or report.requested_by_name
        else:
            by = _("System (scheduled)")
        rows.append({
            "report": report, "job": job, "requested_by": by,
            "approved_by": names.get(report.approved_by_id) or report.approved_by_name,
            "percent": job.percent if job is not None and report.status is ReportStatus.BUILDING else None,
            "busy": report.status in (ReportStatus.QUEUED, ReportStatus.BUILDING),
            "retrying": failed and job is not None and job.status is JobStatus.QUEUED,
        })  # fmt: skip
    return rows


@bp.get("/")
@login_required
def index():
    """List the district's reports: status and progress, built at and by whom, pages, SHA-256, download."""
    user = _user()
    district = _district(user)
    now = utcnow()
    rows = _rows(district_reports(district.code))
    return render_template(
        "reports/index.html", district=district, rows=rows,
        months=[(m, month_label(m)) for m in _past_months(now)], month_label=month_label,
        langs=_lang_labels(), status_labels=_status_labels(),
        may_build=access.may_build_reports(user), may_approve=access.may_approve_reports(user),
        busy=any(r["busy"] for r in rows),
    )  # fmt: skip


@bp.get("/progress")
@login_required
def progress():
    """Answer the page's poll: each report's status and percent."""
    user = _user()
    rows = _rows(district_reports(_district(user).code))
    response = jsonify(
        {
            "reports": [
                {"id": r["report"].id, "status": str(r["report"].status), "percent": r["percent"]}
                for r in rows
            ],
            "busy": any(r["busy"] for r in rows),
        }
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/build")
@login_required
def build():
    """Queue a past month's build (or a rebuild, or a retry) in the worker; never render in the request."""
    user = _user()
    if not access.may_build_reports(user):
        refuse(403, "may not build monthly reports")
    district = _district(user)
    now = utcnow()
    month = (request.form.get("month") or "").strip()
    lang = request.form.get("lang") or "zh"
    try:
        month_period(month)
        valid = lang in LANGS and "2000-01" <= month < _this_month(now)
    except ValueError:
        valid = False
    if not valid:
        flash(_("Choose a month before this one and a language."), "error")
        return redirect(url_for("reports.index"))
    label = month_label(month)
    try:
        report, created = ask_for_build(district.code, month, lang, current_actor(), now)
    except ReportError:
        db.session.rollback()
        flash(_("The report of %(month)s is already being built.", month=label), "info")
        return redirect(url_for("reports.index"))
    if created:
        flash(_("The report of %(month)s is queued; it is built in the background.", month=label), "info")
    elif report.approved:
        flash(_("The report of %(month)s is approved: it is rendered again from its stored snapshot, "
                "byte for byte.", month=label), "info")  # fmt: skip
    else:
        flash(_("The report of %(month)s is queued for a rebuild from today's figures.", month=label), "info")
    return redirect(url_for("reports.index"))


@bp.get("/<int:report_id>/download")
@login_required
def download(report_id: int):
    """Send a built report's PDF (audited) if the file on disk still matches its archived SHA-256."""
    user = _user()
    report = _report_or_404(report_id, _district(user))
    if report.status is not ReportStatus.READY or report.sha256 is None:
        abort(404)
    path = file_path(report)
    # The bytes checked are the bytes sent.
    pdf = path.read_bytes() if path.exists() else b""
    if hashlib.sha256(pdf).hexdigest() != report.sha256:
        flash(_("The archived file of %(month)s is missing or no longer matches its SHA-256; build it again.",
                month=month_label(report.month)), "error")  # fmt: skip
        return redirect(url_for("reports.index"))
    audit.record(current_actor(), utcnow(), "monthly_report", report.id, "DOWNLOAD",
                 f"{report.district_code} {report.month} {report.lang} {report.sha256}")  # fmt: skip
    db.session.commit()
    response = send_file(
        io.BytesIO(pdf), mimetype="application/pdf", as_attachment=True,
        download_name=f"{report.district_code}-{report.month}-{report.lang}.pdf",
    )  # fmt: skip
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/<int:report_id>/approve")
@login_required
def approve(report_id: int):
    """A program manager approves a built report (audited): its snapshot and PDF never change again."""
    user = _user()
    if not access.may_approve_reports(user):
        refuse(403, "may not approve monthly reports")
    report = _report_or_404(report_id, _district(user))
    label = month_label(report.month)
    if is_busy(report):
        flash(_("The report of %(month)s is being built; approve it when it is ready.", month=label), "error")
        return redirect(url_for("reports.index"))
    try:
        approve_report(report, current_actor(), utcnow())
    except ReportError:
        db.session.rollback()
        flash(_("Only a built report can be approved."), "error")
        return redirect(url_for("reports.index"))
    db.session.commit()
    flash(
        _("The report of %(month)s is approved; it and its snapshot no longer change.", month=label), "info"
    )
    return redirect(url_for("reports.index"))
