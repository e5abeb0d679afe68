"""The year's targets (年度目标), task numbers (任务数) and population figures, per district or facility.

A program declares each indicator's target as a setting with its evidence tag; a district's manager
sets the year's own figure for the district, and optionally for one facility, on the targets page. A
figure's target is the facility's value of the period's year, else the district's, else the declared
default. The year's task of the two-cancer and autism programs is shown as 完成年度任务 %: episodes
screened from the start of the year (or of the statistical year, for a period that starts in October
of the year before) to the period's end, over the task. Population figures (the women 35–64 to screen,
the children 0–6 under management, live births) are the denominators the facts cannot hold.

Every change is one audited row write; removing a value returns the figure to the default.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from registry import audit
from registry.audit import Actor
from registry.db import UTCDateTime
from registry.extensions import db
from registry.institutions import Institution
from screenings.engine import IndicatorUnit, figure_indicators
from screenings.engine.indicators import Population, meets_target, ratio
from screenings.programs import PROGRAMS

# The programs whose year is planned as a number of people to screen (programs.md §4.4, §5.4).
TASK_PROGRAMS = ("CERVICAL_CANCER", "BREAST_CANCER", "AUTISM")
TASK_INDICATOR = "ANNUAL_TASK"


class TargetKind(StrEnum):
    TARGET = "TARGET"  # key: PROGRAM.INDICATOR, value in the indicator's unit
    TASK = "TASK"  # key: PROGRAM, people to screen in the year
    POPULATION = "POPULATION"  # key: the Population's key, people in the year


class IndicatorTarget(db.Model):
    """One year's figure of a district (institution = the district) or of one of its facilities."""

    __tablename__ = "indicator_target"
    __table_args__ = (
        sa.UniqueConstraint("year", "institution_id", "kind", "key", name="uq_indicator_target_key"),
        sa.Index("ix_indicator_target_district_year", "district_id", "year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(sa.Integer)
    district_id: Mapped[int] = mapped_column(sa.ForeignKey("institution.id"))
    institution_id: Mapped[int] = mapped_column(sa.ForeignKey("institution.id"))
    kind: Mapped[str] = mapped_column(sa.String(12))
    key: Mapped[str] = mapped_column(sa.String(80))
    value: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2))
    set_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    set_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


def plain(value) -> Decimal:
    """Return a stored figure without trailing zeros or an exponent (95.00 -> 95, 100 stays 100)."""
    return Decimal(format(Decimal(value).normalize(), "f"))


def target_year(end: dt.date) -> int:
    """Return the year whose targets apply to a period ending on `end` (a statistical year's own)."""
    return end.year


def task_window_start(start: dt.date, end: dt.date) -> dt.date:
    """Return where the year's task progress starts counting for a period [start, end]."""
    return min(start, dt.date(end.year, 1, 1))


@dataclass(frozen=True)
class TargetBook:
    """The stored figures of one district and year, keyed by (facility code or None, kind, key)."""

    year: int
    values: dict[tuple[str | None, str, str], Decimal] = field(default_factory=dict)

    def get(self, place: str | None, kind: TargetKind, key: str) -> Decimal | None:
        """Return the facility's figure, else the district's (place None), else None."""
        if place is not None and (place, str(kind), key) in self.values:
            return self.values[(place, str(kind), key)]
        return self.values.get((None, str(kind), key))

    def own(self, place: str | None, kind: TargetKind, key: str) -> Decimal | None:
        """Return the figure stored for exactly this place (no fallback to the district)."""
        return self.values.get((place, str(kind), key))

    def populations(self, places) -> dict[tuple[str | None, str], int]:
        """Return the population figures as compute_figures reads them, for these places."""
        keys = {key for (_p, kind, key) in self.values if kind == TargetKind.POPULATION}
        out = {}
        for place in places:
            for key in keys:
                value = self.get(place, TargetKind.POPULATION, key)
                if value is not None:
                    out[(place, key)] = int(value)
        return out


def load_targets(district: Institution, year: int) -> TargetBook:
    """Return every stored figure of a district for a year, in one query."""
    place = sa.case((IndicatorTarget.institution_id == district.id, None), else_=Institution.code)
    rows = db.session.execute(
        sa.select(place, IndicatorTarget.kind, IndicatorTarget.key, IndicatorTarget.value)
        .join(Institution, Institution.id == IndicatorTarget.institution_id)
        .where(IndicatorTarget.district_id == district.id, IndicatorTarget.year == year)
    )
    return TargetBook(year, {(p, kind, key): plain(value) for p, kind, key, value in rows})


def declared_targets():
    """Yield (program, indicator) for every supported indicator that declares a target."""
    for prog in PROGRAMS.values():
        for indicator in prog.indicators:
            if indicator.target is not None and indicator.supported:
                yield prog, indicator


def settable_targets():
    """Yield (program, indicator) for every indicator a district may set a year's target for.

    The declared ones, then each program's cascade ratios (the positive-case closure rate): no target is
    declared for them, so the figure shows none until the district enters one.
    """
    yield from declared_targets()
    for prog in PROGRAMS.values():
        for indicator in figure_indicators(prog)[len(prog.indicators) :]:
            if indicator.measure is None and indicator.supported:
                yield prog, indicator


def declared_populations() -> list[Population]:
    """Return every population figure an indicator divides by, once each, in program order."""
    found: dict[str, Population] = {}
    for prog in PROGRAMS.values():
        for indicator in prog.indicators:
            if isinstance(indicator.den, Population):
                found.setdefault(indicator.den.key, indicator.den)
    return list(found.values())


def valid_keys() -> dict[str, set[str]]:
    """Return the keys a figure of each kind may have."""
    return {
        TargetKind.TARGET: {f"{p.code}.{i.code}" for p, i in settable_targets()},
        TargetKind.TASK: {code for code in TASK_PROGRAMS if code in PROGRAMS},
        TargetKind.POPULATION: {p.key for p in declared_populations()},
    }


def set_target(
    district: Institution,
    institution: Institution | None,
    year: int,
    kind: TargetKind,
    key: str,
    value: Decimal | None,
    actor: Actor,
    now: dt.datetime,
) -> bool:
    """Store (or, with None, remove) one year's figure and audit the change; return whether it changed."""
    if key not in valid_keys()[kind]:
        raise ValueError(f"no {kind} {key}")
    if value is not None and value < 0:
        raise ValueError("a target is never negative")
    place = institution or district
    row = db.session.scalar(
        sa.select(IndicatorTarget).where(
            IndicatorTarget.year == year,
            IndicatorTarget.institution_id == place.id,
            IndicatorTarget.kind == str(kind),
            IndicatorTarget.key == key,
        )
    )
    before = None if row is None else plain(row.value)
    value = None if value is None else plain(value)
    if before == value:
        return False
    if value is None:
        db.session.delete(row)
        action = "delete"
    elif row is None:
        row = IndicatorTarget(year=year, district_id=district.id, institution_id=place.id, kind=str(kind),
                              key=key, value=value, set_by_id=actor.user_id, set_at=now)  # fmt: skip
        db.session.add(row)
        action = "create"
    else:
        row.value, row.set_by_id, row.set_at = value, actor.user_id, now
        action = "update"
    db.session.flush()
    summary = f"{year} {place.code} {kind} {key}: {before if before is not None else '-'} -> "
    summary += f"{value if value is not None else '-'}"
    audit.record(actor, now, "indicator_target", f"{year}:{place.code}:{key}"[:40], action, summary)
    return True


def _declared(program: str, code: str):
    return next(i for i in figure_indicators(PROGRAMS[program]) if i.code == code)


def with_targets(rows: list, book: TargetBook) -> list:
    """Return figure rows with the year's stored targets in place of the declared ones."""
    out = []
    for row in rows:
        stored = book.get(row.institution, TargetKind.TARGET, f"{row.program}.{row.indicator}")
        if stored is not None:
            comparison = _declared(row.program, row.indicator).comparison
            row = replace(row, target=stored, meets_target=meets_target(row.value, stored, comparison))
        out.append(row)
    return out


def task_row(row_class, program: str, place: str | None, screened: int, task: Decimal | None):
    """Return the 完成年度任务 % row of a program at a place: screened in the year so far / the task."""
    if task is None:
        value, reason, den = None, "annual task not entered", None
    else:
        den = int(task)
        value = ratio(screened, den, IndicatorUnit.PERCENT)
        reason = None if value is not None else "zero denominator"
    return row_class(program, TASK_INDICATOR, "完成年度任务", place, screened, den, value,
                     IndicatorUnit.PERCENT, None, "AT_LEAST", None, reason)  # fmt: skip
