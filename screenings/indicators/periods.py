"""Reporting periods: month, quarter, year to date, the statistical year (1 Oct – 30 Sep), a range."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True, slots=True)
class ReportPeriod:
    """A closed range of local dates [start, end] with the label it was asked for."""

    start: date
    end: date
    label: str


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def parse_period(text: str, today: date | None = None) -> ReportPeriod:
    """Read a period: 2026-11, 2026-Q4, 2026 (calendar year), SY2026 (1 Oct 2025 – 30 Sep 2026),
    YTD2026 (1 Jan to today, or to 31 Dec for a past year), or 2026-01-01..2026-03-31."""
    text = text.strip().upper()
    if m := re.fullmatch(r"(\d{4})-(\d{2})", text):
        year, month = int(m[1]), int(m[2])
        if not 1 <= month <= 12:
            raise ValueError(f"no month {month}")
        return ReportPeriod(date(year, month, 1), _month_end(year, month), text)
    if m := re.fullmatch(r"(\d{4})-Q([1-4])", text):
        year, quarter = int(m[1]), int(m[2])
        return ReportPeriod(date(year, 3 * quarter - 2, 1), _month_end(year, 3 * quarter), text)
    if m := re.fullmatch(r"SY(\d{4})", text):
        year = int(m[1])
        return ReportPeriod(date(year - 1, 10, 1), date(year, 9, 30), text)
    if m := re.fullmatch(r"YTD(\d{4})", text):
        year = int(m[1])
        end = date(year, 12, 31) if today is None or today.year != year else today
        return ReportPeriod(date(year, 1, 1), end, text)
    if m := re.fullmatch(r"(\d{4})", text):
        year = int(m[1])
        return ReportPeriod(date(year, 1, 1), date(year, 12, 31), text)
    if m := re.fullmatch(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})", text):
        start, end = date.fromisoformat(m[1]), date.fromisoformat(m[2])
        if end < start:
            raise ValueError("the range ends before it starts")
        return ReportPeriod(start, end, text)
    raise ValueError(f"not a period: {text!r} (2026-11, 2026-Q4, 2026, SY2026, YTD2026, or a..b)")


def period_menu(today: date) -> list[tuple[str, str]]:
    """Return the usual periods as (key, period text) as of today: this and last month, this and last
    quarter, the year to date, this and last statistical year (the year from 1 Oct that ends in it)."""
    last_month = date(today.year, today.month, 1) - timedelta(days=1)
    quarter = (today.month - 1) // 3 + 1
    last_quarter = (today.year, quarter - 1) if quarter > 1 else (today.year - 1, 4)
    statistical_year = today.year + 1 if today.month >= 10 else today.year
    return [
        ("month", today.strftime("%Y-%m")),
        ("last_month", last_month.strftime("%Y-%m")),
        ("quarter", f"{today.year}-Q{quarter}"),
        ("last_quarter", f"{last_quarter[0]}-Q{last_quarter[1]}"),
        ("year_to_date", f"YTD{today.year}"),
        ("statistical_year", f"SY{statistical_year}"),
        ("last_statistical_year", f"SY{statistical_year - 1}"),
    ]
