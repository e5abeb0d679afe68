"""A district's monthly report: its snapshot (JSON, in the database), its archived PDF and its state."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from registry.db import UTCDateTime, str_enum
from registry.extensions import db


class ReportStatus(enum.StrEnum):
    QUEUED = "QUEUED"
    BUILDING = "BUILDING"
    READY = "READY"
    FAILED = "FAILED"


class MonthlyReport(db.Model):
    """One district × month × language: at most one row (the cron and a manager's click share it)."""

    __tablename__ = "monthly_report"
    __table_args__ = (
        sa.UniqueConstraint("district_code", "month", "lang", name="uq_monthly_report_district_month"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    district_code: Mapped[str] = mapped_column(sa.String(40))
    month: Mapped[str] = mapped_column(sa.String(7))  # "2026-11"
    lang: Mapped[str] = mapped_column(sa.String(5), default="zh")
    status: Mapped[ReportStatus] = mapped_column(str_enum(ReportStatus, 16), default=ReportStatus.QUEUED)
    # The figures as they stood at the cut-off; the PDF is rendered from this and nothing else.
    snapshot: Mapped[dict | None] = mapped_column(sa.JSON)
    cut_off_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    file_name: Mapped[str | None] = mapped_column(sa.String(200))  # relative to the reports folder
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    page_count: Mapped[int | None]
    file_size: Mapped[int | None]
    build_seconds: Mapped[float | None] = mapped_column(sa.Float)
    error: Mapped[str | None] = mapped_column(sa.Text)
    job_record_id: Mapped[int | None] = mapped_column(sa.ForeignKey("job_record.id"))
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    requested_by_name: Mapped[str] = mapped_column(sa.String(80))
    built_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    approved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    approved_by_name: Mapped[str | None] = mapped_column(sa.String(80))

    @property
    def approved(self) -> bool:
        return self.approved_at is not None


class LateCorrection(db.Model):
    """A result or case entry dated in a month whose report is approved: its reason, for the next report.

    The approved report and its snapshot never change; the next report lists these (security.md item 8).
    """

    __tablename__ = "late_correction"
    __table_args__ = (sa.Index("ix_late_correction_district_recorded", "district_code", "recorded_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    district_code: Mapped[str] = mapped_column(sa.String(40))
    month: Mapped[str] = mapped_column(sa.String(7))  # the approved month the entry falls in
    program: Mapped[str] = mapped_column(sa.String(40))
    institution_code: Mapped[str] = mapped_column(sa.String(40))
    entity: Mapped[str] = mapped_column(sa.String(40))  # "screening_result" or "case_event"
    entity_id: Mapped[int]
    reason: Mapped[str] = mapped_column(sa.Text)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    recorded_by_name: Mapped[str] = mapped_column(sa.String(80))
