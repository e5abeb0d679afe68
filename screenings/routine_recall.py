"""Routine recall (women's two-cancer screening): who is due for her next routine screen, by institution.

A woman whose latest screen in a program is a normal primary result of a recall test (HPV negative, cytology
NILM, BI-RADS 1/2) is due again the program's interval after it (programs.md §4.2, §4.3; the program's
`routine_recall` declarations). She is on the list from `days_ahead` days before that date until she is
screened again, has a follow-up case open in the program, or is past the program's age limit; those whose
date has passed are the missed routine screens. Set-based: one query per program and recall test for the
rows, one for the counts by institution; the clock comes from the edge.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import sqlalchemy as sa
from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _
from sqlalchemy.orm import aliased, contains_eager

from registry.auth.access import Scope
from registry.extensions import db
from registry.institutions import Institution
from registry.people.models import Person
from registry.web import current_scope, current_user, login_required, utcnow
from screenings import texts
from screenings.access import may_see_program
from screenings.engine import LOCAL_TZ, CaseStatus, Program, RoutineRecall
from screenings.engine.times import add_calendar_months, local_midnight
from screenings.models import FollowUpCase, ScreeningResult
from screenings.programs import PROGRAMS
from screenings.worklist import institutions_to_filter

DEFAULT_DAYS_AHEAD = 30
LIST_LIMIT = 200


@dataclasses.dataclass(frozen=True)
class DueWoman:
    """One woman due for a routine screen: her last normal screen and the date she is due again."""

    person: Person
    program: str
    test: str
    result_code: str
    screened_at: dt.datetime
    due_on: dt.date
    institution_id: int
    days_overdue: int


@dataclasses.dataclass
class RoutineDue:
    """The list and the counts by institution (due soon, overdue) of one program."""

    rows: list[DueWoman]
    due_soon: dict[int, int]
    overdue: dict[int, int]
    total: int


def programs_with_recall() -> list[Program]:
    return [program for program in PROGRAMS.values() if program.routine_recall]


def _due_clause(program: Program, rule: RoutineRecall, due_by: dt.date, today: dt.date):
    """Return (SQL condition, last-screen-before instant) of the women due by `due_by` after this rule."""
    years = program.values(None).whole(rule.interval)
    # Screened on or before this local day → due on or before due_by.
    screened_by = add_calendar_months(due_by, -12 * years)
    later = aliased(ScreeningResult)
    condition = sa.and_(
        ScreeningResult.program == program.code,
        ScreeningResult.test == rule.test,
        ScreeningResult.result_code.in_(rule.results),
        ScreeningResult.performed_at < local_midnight(screened_by + dt.timedelta(days=1)),
        ~sa.exists().where(
            later.person_id == ScreeningResult.person_id,
            later.program == program.code,
            # the latest screen, one per woman even for a co-test recorded at the same time
            sa.or_(
                later.performed_at > ScreeningResult.performed_at,
                sa.and_(later.performed_at == ScreeningResult.performed_at, later.id > ScreeningResult.id),
            ),
        ),
        ~sa.exists().where(
            FollowUpCase.person_id == ScreeningResult.person_id,
            FollowUpCase.program == program.code,
            FollowUpCase.status != CaseStatus.CLOSED,
        ),
        Person.merged_into_id.is_(None),
    )
    limit = program.eligibility.max_age
    if limit is not None:
        # Past the program's age today: no longer recalled (completed years).
        oldest = add_calendar_months(today, -12 * (program.values(None).whole(limit) + 1))
        condition = sa.and_(condition, Person.birth_on > oldest)
    return condition, years


def routine_due(
    scope: Scope,
    program: Program,
    now: dt.datetime,
    days_ahead: int = DEFAULT_DAYS_AHEAD,
    institution_id: int | None = None,
    limit: int = LIST_LIMIT,
) -> RoutineDue:
    """Return the women of this scope due for a routine screen in a program within `days_ahead` days."""
    today = now.astimezone(LOCAL_TZ).date()
    due_by = today + dt.timedelta(days=days_ahead)
    rows: list[DueWoman] = []
    due_soon: dict[int, int] = {}
    overdue: dict[int, int] = {}
    for rule in program.routine_recall:
        condition, years = _due_clause(program, rule, due_by, today)
        where = sa.and_(condition, scope.filter(ScreeningResult.institution_id))
        if institution_id is not None:
            where = sa.and_(where, ScreeningResult.institution_id == institution_id)
        base = sa.select(ScreeningResult).join(Person, Person.id == ScreeningResult.person_id).where(where)
        # Overdue: screened on or before the day `years` before today.
        past_due = ScreeningResult.performed_at < local_midnight(add_calendar_months(today, -12 * years))
        counts = db.session.execute(
            sa.select(ScreeningResult.institution_id, past_due.label("overdue"), sa.func.count())
            .join(Person, Person.id == ScreeningResult.person_id)
            .where(where)
            .group_by(ScreeningResult.institution_id, past_due)
        )
        for place, is_overdue, count in counts:
            bucket = overdue if is_overdue else due_soon
            bucket[place] = bucket.get(place, 0) + count
        found = db.session.scalars(
            base.options(contains_eager(ScreeningResult.person))
            .order_by(ScreeningResult.performed_at, ScreeningResult.id)
            .limit(limit)
        )
        for result in found:
            screened_on = result.performed_at.astimezone(LOCAL_TZ).date()
            due_on = add_calendar_months(screened_on, 12 * years)
            rows.append(
                DueWoman(
                    person=result.person,
                    program=program.code,
                    test=result.test,
                    result_code=result.result_code,
                    screened_at=result.performed_at,
                    due_on=due_on,
                    institution_id=result.institution_id,
                    days_overdue=max(0, (today - due_on).days),
                )
            )
    rows.sort(key=lambda row: (row.due_on, row.person.id))
    total = sum(due_soon.values()) + sum(overdue.values())
    return RoutineDue(rows[:limit], due_soon, overdue, total)


bp = Blueprint("routine", __name__)


@bp.get("/routine-recall/")
@login_required
def due_list():
    """Show the women due (or overdue) for their routine two-cancer screen, with counts by institution."""
    user = current_user._get_current_object()
    programs = [p for p in programs_with_recall() if may_see_program(user, p.code)]
    if not programs:
        abort(404)
    code = request.args.get("program") or programs[0].code
    program = next((p for p in programs if p.code == code), None) or abort(404)
    scope = current_scope()
    institutions = institutions_to_filter(scope)
    institution_id = request.args.get("institution", type=int)
    if institution_id not in {i for i, _name in institutions}:
        institution_id = None
    due = routine_due(scope, program, utcnow(), institution_id=institution_id)
    places = set(due.due_soon) | set(due.overdue)
    names = dict(
        db.session.execute(
            sa.select(Institution.id, Institution.name).where(Institution.id.in_(sorted(places)))
        ).all()
    )
    by_place = sorted(
        ((names.get(i, ""), due.due_soon.get(i, 0), due.overdue.get(i, 0)) for i in places),
        key=lambda row: row[0],
    )
    rules = [
        _(
            "%(results)s: every %(years)d years",
            results="、".join(texts.result_label(program.code, code, rule.test) for code in rule.results),
            years=program.values(None).whole(rule.interval),
        )
        for rule in program.routine_recall
    ]
    return render_template(
        "screenings/routine_recall.html",
        rules=rules,
        program=program,
        programs=programs,
        due=due,
        by_place=by_place,
        names=names,
        institutions=institutions,
        institution_id=institution_id,
        days_ahead=DEFAULT_DAYS_AHEAD,
        limit=LIST_LIMIT,
    )
