"""The monthly snapshot: every figure of a district's report, computed once at the cut-off, as plain JSON.

The PDF is rendered from this dictionary and nothing else, so a rebuild from the stored snapshot gives the
same document whatever was entered since. Lists are in a fixed order (program, indicator, institution code)
and numbers are strings or ints, so the JSON itself is stable.

Late corrections: when the month before has a stored snapshot, its figures are computed again now; every
figure that changed is listed (indicator, institution, month, old and new value) with the count of results
and case events recorded after that month's cut-off that fall in it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from datetime import date, timedelta

import sqlalchemy as sa

from registry.extensions import db
from registry.institutions import Institution, facility_ids_under
from registry.people.models import Person
from screenings.engine import LOCAL_TZ, CaseReason, CaseStatus
from screenings.imports.models import ImportBatch, UnmatchedRow, UnmatchedStatus
from screenings.indicators.cascade import STAGES, cascades_by_institution, monthly_closure, program_cascade
from screenings.indicators.figures import compute_figures, district_institutions
from screenings.indicators.periods import ReportPeriod, parse_period
from screenings.models import CaseEvent, FollowUpCase, ScreeningResult
from screenings.programs import PROGRAMS
from screenings.reports.corrections import corrections_between

SNAPSHOT_VERSION = 1
# Table letters of programs.md §7, by program.
TABLE_LETTERS = {
    "NEWBORN_METABOLIC": "A",
    "NEWBORN_HEARING": "B",
    "NEWBORN_CHD": "C",
    "CERVICAL_CANCER": "D1",
    "BREAST_CANCER": "D2",
    "AUTISM": "E",
    "PMTCT_HIV": "F",
    "PMTCT_SYPHILIS": "F",
    "PMTCT_HBV": "F",
}
# Age bands (years at the cut-off) of the overdue and lost-to-follow-up counts.
AGE_BANDS = ((0, 1, "<1"), (1, 7, "1-6"), (7, 35, "7-34"), (35, 65, "35-64"), (65, 200, "65+"))
OVERDUE = (CaseStatus.OVERDUE, CaseStatus.ESCALATED)
OPEN = (CaseStatus.OPEN, CaseStatus.DUE_SOON, CaseStatus.OVERDUE, CaseStatus.ESCALATED)


def month_period(month: str) -> ReportPeriod:
    """Return the period of a month written 2026-11."""
    period = parse_period(month)
    if period.start.day != 1 or period.end.month != period.start.month or len(month) != 7:
        raise ValueError(f"not a month: {month!r}")
    return period


def previous_month(month: str) -> str:
    """Return the month before 2026-11 (2026-10)."""
    first = month_period(month).start
    return (first - timedelta(days=1)).strftime("%Y-%m")


def _months_back(end: date, count: int) -> list[tuple[date, date]]:
    months = []
    first = end.replace(day=1)
    for _ in range(count):
        following = (first + timedelta(days=32)).replace(day=1)
        months.append((first, following - timedelta(days=1)))
        first = (first - timedelta(days=1)).replace(day=1)
    return months[::-1]


def _age_band(birth_on: date | None, on: date) -> str:
    if birth_on is None:
        return "?"
    years = on.year - birth_on.year - ((on.month, on.day) < (birth_on.month, birth_on.day))
    for low, high, label in AGE_BANDS:
        if low <= years < high:
            return label
    return "?"


def _rows(figures) -> list[dict]:
    rows = [r.as_dict() for r in figures]
    return sorted(rows, key=lambda r: (r["program"], r["indicator"], r["institution"] or "~"))


def _case_counts(facility_ids: list[int], on: date) -> list[dict]:
    """Open, overdue and lost-to-follow-up cases by program and age band at the cut-off."""
    rows = db.session.execute(
        sa.select(FollowUpCase.program, FollowUpCase.status, Person.birth_on, sa.func.count())
        .join(Person, Person.id == FollowUpCase.person_id)
        .where(FollowUpCase.responsible_institution_id.in_(facility_ids), FollowUpCase.status.in_(
            [*OPEN, CaseStatus.LOST_TO_FOLLOW_UP]
        ))
        .group_by(FollowUpCase.program, FollowUpCase.status, Person.birth_on)
    )  # fmt: skip
    counted: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: {"open": 0, "overdue": 0, "lost": 0})
    for program, status, birth_on, n in rows:
        cell = counted[(program, _age_band(birth_on, on))]
        if status == CaseStatus.LOST_TO_FOLLOW_UP:
            cell["lost"] += n
        else:
            cell["open"] += n
            if status in OVERDUE:
                cell["overdue"] += n
    return [{"program": p, "age_band": band, **counted[(p, band)]} for p, band in sorted(counted)]


def _data_quality(facility_ids: list[int], period: ReportPeriod, cut_off: dt.datetime) -> dict:
    start = dt.datetime.combine(period.start, dt.time(), LOCAL_TZ)
    end = dt.datetime.combine(period.end + timedelta(days=1), dt.time(), LOCAL_TZ)
    unmatched = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(UnmatchedRow)
        .where(UnmatchedRow.institution_id.in_(facility_ids), UnmatchedRow.status == UnmatchedStatus.WAITING)
    )
    rejected = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(ImportBatch.rejected_count), 0)).where(
            ImportBatch.institution_id.in_(facility_ids),
            ImportBatch.created_at >= start,
            ImportBatch.created_at < end,
        )
    )
    no_contact = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(FollowUpCase)
        .where(
            FollowUpCase.responsible_institution_id.in_(facility_ids),
            FollowUpCase.status.in_(OPEN),
            FollowUpCase.contact_attempts == 0,
            FollowUpCase.opened_at < cut_off,
        )
    )
    missing = dict(
        db.session.execute(
            sa.select(FollowUpCase.program, sa.func.count())
            .where(
                FollowUpCase.responsible_institution_id.in_(facility_ids),
                FollowUpCase.reason == CaseReason.MISSED_SCREENING,
                FollowUpCase.status.in_(OPEN),
            )
            .group_by(FollowUpCase.program)
        ).all()
    )
    return {
        "unmatched_waiting": int(unmatched or 0),
        "rejected_rows": int(rejected or 0),
        "no_contact_attempt": int(no_contact or 0),
        "missing_screenings": {p: int(missing[p]) for p in sorted(missing)},
    }


def _records_after(facility_ids: list[int], period: ReportPeriod, after: dt.datetime) -> dict:
    """Count the people whose results or case events in a period were recorded after a cut-off.

    By program × institution (and program × None for the district): one person whose late result also
    opened a case counts once.
    """
    start = dt.datetime.combine(period.start, dt.time(), LOCAL_TZ)
    end = dt.datetime.combine(period.end + timedelta(days=1), dt.time(), LOCAL_TZ)
    results = db.session.execute(
        sa.select(ScreeningResult.program, Institution.code, ScreeningResult.person_id)
        .join(Institution, Institution.id == ScreeningResult.institution_id)
        .where(
            ScreeningResult.institution_id.in_(facility_ids),
            ScreeningResult.entered_at > after,
            ScreeningResult.performed_at >= start,
            ScreeningResult.performed_at < end,
        )
        .distinct()
    )
    events = db.session.execute(
        sa.select(FollowUpCase.program, Institution.code, FollowUpCase.person_id)
        .select_from(CaseEvent)
        .join(FollowUpCase, FollowUpCase.id == CaseEvent.case_id)
        .join(Institution, Institution.id == FollowUpCase.responsible_institution_id)
        .where(
            FollowUpCase.responsible_institution_id.in_(facility_ids),
            CaseEvent.recorded_at > after,
            CaseEvent.occurred_at >= start,
            CaseEvent.occurred_at < end,
        )
        .distinct()
    )
    people: dict[tuple[str, str | None], set[int]] = defaultdict(set)
    for program, code, person_id in [*results, *events]:
        people[(program, code)].add(person_id)
        people[(program, None)].add(person_id)
    return {key: len(found) for key, found in people.items()}


def late_corrections(earlier: dict, now_rows: list[dict], facility_ids: list[int]) -> list[dict]:
    """Compare a stored month's figures with the same month's figures now; list each one that changed."""
    old = {
        (r["program"], r["indicator"], r["institution"]): r for p in earlier["programs"] for r in p["month"]
    }
    cut_off = dt.datetime.fromisoformat(earlier["cut_off"])
    changed_records = _records_after(facility_ids, month_period(earlier["month"]), cut_off)
    out = []
    for row in now_rows:
        key = (row["program"], row["indicator"], row["institution"])
        before = old.get(key)
        if before is None:
            continue
        fields = ("numerator", "denominator", "value")
        if all(before[f] == row[f] for f in fields):
            continue
        out.append({
            "program": row["program"], "indicator": row["indicator"], "name": row["name"],
            "institution": row["institution"], "month": earlier["month"], "unit": row["unit"],
            "old": {f: before[f] for f in fields}, "new": {f: row[f] for f in fields},
            "records": changed_records.get((row["program"], row["institution"]), 0),
        })  # fmt: skip
    return out


def take_snapshot(
    district: Institution,
    month: str,
    cut_off: dt.datetime,
    *,
    earlier: dict | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Compute every figure of a district's report for a month as it stands at `cut_off`.

    `earlier` is the stored snapshot of the month before (its late corrections are listed).
    """
    period = month_period(month)
    prev = month_period(previous_month(month))
    ytd = ReportPeriod(date(period.start.year, 1, 1), period.end, f"YTD{period.start.year}")
    as_of = cut_off.astimezone(LOCAL_TZ).date()
    facility_ids = facility_ids_under(district.id)
    codes = district_institutions(district)
    names = dict(
        db.session.execute(
            sa.select(Institution.code, Institution.name).where(Institution.code.in_(codes))
        ).all()
    )
    steps = len(PROGRAMS) + 2
    done = 0

    def step():
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, steps)

    month_rows = _rows(compute_figures(district, period.start, period.end))
    prev_rows = _rows(compute_figures(district, prev.start, prev.end))
    ytd_rows = _rows(compute_figures(district, ytd.start, ytd.end))
    step()
    months = _months_back(period.end, 12)
    programs = []
    for code, prog in PROGRAMS.items():
        cascade = program_cascade(code, district.code, period.start, period.end)
        trend = monthly_closure(code, district.code, months)
        by_place = cascades_by_institution(code, district.code, period.start, period.end)
        programs.append({
            "code": code, "name": prog.zh, "name_en": prog.en,
            "table": TABLE_LETTERS.get(code, "?"), "restricted": bool(prog.restricted),
            "indicators": [[i.code, i.zh, i.en] for i in prog.indicators],
            "month": [r for r in month_rows if r["program"] == code],
            "previous": [r for r in prev_rows if r["program"] == code and r["institution"] is None],
            "ytd": [r for r in ytd_rows if r["program"] == code and r["institution"] is None],
            "cascade": [[str(s), cascade.counts[str(s)]] for s in STAGES],
            "trend": [[f"{a.year}-{a.month:02d}", _rate(c.closure_rate)]
                      for (a, _b), c in zip(months, trend, strict=True)],
            "by_institution": [
                {"institution": p, "closure_rate": _rate(by_place[p].closure_rate),
                 "overdue": by_place[p].counts.get("overdue", 0), "lost": by_place[p].counts.get("lost", 0)}
                for p in sorted(by_place) if p in names
            ],
        })  # fmt: skip
        step()
    corrections = []
    if earlier is not None:
        corrections = late_corrections(earlier, prev_rows, facility_ids)
    # Entries dated in an approved month, with their reasons: those recorded since the last report's cut-off.
    since = (
        dt.datetime.fromisoformat(earlier["cut_off"])
        if earlier is not None
        else dt.datetime.combine(period.start, dt.time(), LOCAL_TZ)
    )
    late_entries = corrections_between(district.code, since, cut_off)
    snapshot = {
        "version": SNAPSHOT_VERSION,
        "district": {"code": district.code, "name": district.name},
        "month": month,
        "period": [period.start.isoformat(), period.end.isoformat()],
        "cut_off": cut_off.astimezone(dt.UTC).isoformat(),
        "institutions": [{"code": c, "name": names.get(c, c)} for c in codes],
        "programs": programs,
        "cases": _case_counts(facility_ids, as_of),
        "quality": _data_quality(facility_ids, period, cut_off),
        "corrections": corrections,
        "late_entries": late_entries,
    }
    step()
    return snapshot


def _rate(value) -> str | None:
    return None if value is None else str(round(value, 1))
