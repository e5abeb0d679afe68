"""Monthly reports: ask for one (one row per district × month × language), build it, verify it, approve it.

Services take `now` and an actor from the edge and never read the request or the clock. Building takes the
snapshot (once: a rebuild renders the stored snapshot again unless a fresh one is asked for, which an
approved report refuses) and renders the PDF from it, archived under the reports folder with its SHA-256.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from registry import audit
from registry.audit import Actor
from registry.extensions import db
from registry.institutions import Institution, InstitutionKind
from screenings.reports import render
from screenings.reports.models import MonthlyReport, ReportStatus
from screenings.reports.render import LayoutUnavailable, render_report, snapshot_layout
from screenings.reports.snapshot import month_period, previous_month, take_snapshot

LANGS = ("zh", "en")
APPROVED_DIFFERS = "the approved snapshot renders to other bytes now (the layout changed): archive kept"


class ReportError(ValueError):
    """A report cannot be built or changed as asked (unknown district, approved, not built)."""


def reports_dir() -> Path:
    """Where report PDFs are archived: REPORTS_DIR, or instance/reports/ (never served as static files)."""
    configured = current_app.config.get("REPORTS_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "reports"


def find_district(code: str) -> Institution:
    district = db.session.scalar(
        sa.select(Institution).where(Institution.code == code, Institution.kind == InstitutionKind.DISTRICT)
    )
    if district is None:
        raise ReportError(f"no district {code}")
    return district


def find_report(district_code: str, month: str, lang: str = "zh") -> MonthlyReport | None:
    return db.session.scalar(
        sa.select(MonthlyReport).where(
            MonthlyReport.district_code == district_code,
            MonthlyReport.month == month,
            MonthlyReport.lang == lang,
        )
    )


def request_report(
    district_code: str, month: str, lang: str, actor: Actor, now: dt.datetime
) -> tuple[MonthlyReport, bool]:
    """Return the report row of a district × month × language, creating it (QUEUED) if absent; flushes.

    The unique key makes this safe when the cron and a manager (or two crons) ask at the same moment.
    """
    month_period(month)
    find_district(district_code)
    if lang not in LANGS:
        raise ReportError(f"no language {lang}")
    existing = find_report(district_code, month, lang)
    if existing is not None:
        return existing, False
    report = MonthlyReport(
        district_code=district_code, month=month, lang=lang, status=ReportStatus.QUEUED,
        requested_at=now, requested_by_id=actor.user_id, requested_by_name=actor.username,
    )  # fmt: skip
    try:
        with db.session.begin_nested():
            db.session.add(report)
    except sa.exc.IntegrityError:
        return find_report(district_code, month, lang), False
    audit.record(actor, now, "monthly_report", report.id, "REQUEST", f"{district_code} {month} {lang}")
    return report, True


def district_reports(district_code: str) -> list[MonthlyReport]:
    """Every report of a district, newest month first (Chinese before English)."""
    return list(
        db.session.scalars(
            sa.select(MonthlyReport)
            .where(MonthlyReport.district_code == district_code)
            .order_by(MonthlyReport.month.desc(), MonthlyReport.lang.desc())
        )
    )


def _earlier_snapshot(report: MonthlyReport) -> dict | None:
    before = db.session.scalars(
        sa.select(MonthlyReport.snapshot)
        .where(
            MonthlyReport.district_code == report.district_code,
            MonthlyReport.month == previous_month(report.month),
            MonthlyReport.snapshot.is_not(None),
        )
        .order_by(MonthlyReport.approved_at.is_(None), MonthlyReport.lang != report.lang)
    ).first()
    return before


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_suffix(".tmp")
    scratch.write_bytes(data)
    os.replace(scratch, path)


def file_path(report: MonthlyReport) -> Path:
    return reports_dir() / (report.file_name or f"{report.district_code}/{report.month}-{report.lang}.pdf")


def build_report(
    report: MonthlyReport,
    now: dt.datetime,
    *,
    refresh: bool = False,
    progress: Callable[[int, int], None] | None = None,
    commit: Callable[[], None] = lambda: None,
) -> MonthlyReport:
    """Snapshot (if none yet, or `refresh`) and render a report; archive the PDF and its SHA-256.

    An approved report is never re-snapshotted; rendering it again reproduces the archived bytes.
    """
    if refresh and report.approved:
        raise ReportError("an approved report and its snapshot never change")
    started = time.perf_counter()
    report.status = ReportStatus.BUILDING
    report.error = None
    commit()
    if report.snapshot is None or refresh:
        district = find_district(report.district_code)
        earlier = _earlier_snapshot(report)
        snapshot = take_snapshot(district, report.month, now, earlier=earlier, progress=progress)
        report.snapshot = {**snapshot, "layout": render.CURRENT_LAYOUT}
        report.cut_off_at = now
        commit()
    elif not report.approved and snapshot_layout(report.snapshot) != render.CURRENT_LAYOUT:
        # Not approved yet: its figures are rendered again in today's layout, which the snapshot records.
        report.snapshot = {**report.snapshot, "layout": render.CURRENT_LAYOUT}
    try:
        pdf, pages = render_report(report.snapshot, report.lang)
    except LayoutUnavailable as error:
        if not report.approved:
            raise
        report.status = ReportStatus.READY
        report.error = f"{error}: archive kept"
        return report
    sha256 = hashlib.sha256(pdf).hexdigest()
    if report.approved and report.sha256 is not None and sha256 != report.sha256:
        # The layout changed since approval: the approved PDF is the archived one, never a new rendering.
        report.status = ReportStatus.READY
        report.error = APPROVED_DIFFERS
        return report
    report.file_name = f"{report.district_code}/{report.month}-{report.lang}.pdf"
    _write(file_path(report), pdf)
    report.sha256 = sha256
    report.page_count = pages
    report.file_size = len(pdf)
    report.built_at = now
    report.build_seconds = round(time.perf_counter() - started, 3)
    report.status = ReportStatus.READY
    return report


def verify_report(report: MonthlyReport) -> dict:
    """Render the stored snapshot again, in the layout it records, and compare with the archive.

    Returns the three checksums (archived, rebuilt, on disk), the layout the report was built with and the
    current one, and a `message` that says which of them disagree and why it may be.
    """
    if report.snapshot is None or report.sha256 is None:
        raise ReportError("the report has not been built")
    layout = snapshot_layout(report.snapshot)
    try:
        pdf, pages = render_report(report.snapshot, report.lang)
        rebuilt = hashlib.sha256(pdf).hexdigest()
    except LayoutUnavailable:
        rebuilt, pages = None, None
    path = file_path(report)
    on_disk = hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None
    outcome = {
        "archived": report.sha256,
        "rebuilt": rebuilt,
        "on_disk": on_disk,
        "pages": pages,
        "identical": rebuilt == report.sha256 == on_disk,
        "archive_intact": on_disk == report.sha256,
        "layout": layout,
        "current_layout": render.CURRENT_LAYOUT,
    }
    outcome["message"] = _verdict(outcome)
    return outcome


def _verdict(outcome: dict) -> str:
    layout, current = outcome["layout"], outcome["current_layout"]
    built_with = f"built with layout {layout}, current is {current}"
    if outcome["on_disk"] is None:
        archive = "the archived file is missing"
    elif not outcome["archive_intact"]:
        archive = "the archived file differs from its SHA-256 (changed or damaged on disk)"
    else:
        archive = "the archived file matches its SHA-256"
    if outcome["rebuilt"] is None:
        return f"{built_with}: layout {layout} is no longer available, so no rebuild to compare; {archive}"
    if outcome["rebuilt"] != outcome["archived"]:
        cause = "the renderer, its fonts or the frozen layout's code changed"
        return f"{built_with}: the rebuild with layout {layout} differs from the archive ({cause}); {archive}"
    if not outcome["archive_intact"]:
        return f"{built_with}: the rebuild reproduces the archived SHA-256, but {archive}"
    return f"identical: {built_with}, rebuilt with layout {layout}"


def mark_failed(report_id: int, error: str) -> None:
    """Record a failed build's error on its report (in a fresh transaction; the caller rolled back)."""
    db.session.execute(
        sa.update(MonthlyReport)
        .where(MonthlyReport.id == report_id)
        .values(status=ReportStatus.FAILED, error=error[:1000])
    )


def approve_report(report: MonthlyReport, actor: Actor, now: dt.datetime) -> None:
    """Approve a built report (audited): from now on its snapshot and PDF never change."""
    if report.status is not ReportStatus.READY:
        raise ReportError("only a built report can be approved")
    if report.approved:
        return
    report.approved_at = now
    report.approved_by_id = actor.user_id
    report.approved_by_name = actor.username
    audit.record(actor, now, "monthly_report", report.id, "APPROVE", f"{report.sha256}")


def month_before(now: dt.datetime) -> str:
    """Return the month before the Asia/Shanghai date of an instant (what the cron on the 1st builds)."""
    from screenings.engine import LOCAL_TZ

    first = now.astimezone(LOCAL_TZ).date().replace(day=1)
    return (first - dt.timedelta(days=1)).strftime("%Y-%m")


def districts() -> list[Institution]:
    return list(
        db.session.scalars(
            sa.select(Institution)
            .where(Institution.kind == InstitutionKind.DISTRICT)
            .order_by(Institution.code)
        )
    )
