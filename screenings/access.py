"""The screenings half of the one access policy: programs, results, cases, letters, import rows.

Every edge asks here (views, the lab-file import, reminders, the coming API):

- which programs a user may see (`hidden_programs`, `may_see_program`);
- may this user open this result / case / letter / import row now (`opening`: ALLOWED, AUDITED when
  it shows a restricted program's values, or HIDDEN until the glass is broken);
- may this user act on this case (`may_act_on_case`, `may_answer_transfer`) or read it (`may_read_case`).

Scope follows responsibility: the institution responsible for a case sees its person and may contact
the family; every institution that held the case keeps read access to its history. A restricted record
the user may not open is HIDDEN, and the edges answer exactly as for a record that does not exist
(`case_or_404`, `result_or_404`); the glass is broken on the person, never on the record.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable

import sqlalchemy as sa

from registry import audit
from registry.audit import Actor
from registry.auth.access import Scope, may_open_restricted_of, works_on_restricted
from registry.auth.models import Role, User
from registry.extensions import db
from screenings.engine import CaseStatus, EventKind
from screenings.models import CaseEvent, FollowUpCase, ScreeningResult
from screenings.programs import PROGRAMS


class Opening(enum.StrEnum):
    """What opening a record means for this user now."""

    ALLOWED = "ALLOWED"
    AUDITED = "AUDITED"  # allowed, and the view shows a restricted program's values: audit it
    HIDDEN = "HIDDEN"  # restricted and not open to this user: indistinguishable from no record


def restricted_programs() -> frozenset[str]:
    return frozenset(code for code, program in PROGRAMS.items() if program.restricted)


def is_restricted(program_code: str) -> bool:
    program = PROGRAMS.get(program_code)
    return program is not None and program.restricted


# -- programs ---------------------------------------------------------------------------------------


def hidden_programs(
    user: User, person_id: int | None = None, now: dt.datetime | None = None
) -> frozenset[str]:
    """The restricted programs left out for this user (of one person, when a grant may open them)."""
    if works_on_restricted(user):
        return frozenset()
    if person_id is not None and now is not None and may_open_restricted_of(user, person_id, now):
        return frozenset()
    return restricted_programs()


def may_see_program(user: User, program_code: str) -> bool:
    """May the user see this program in lists, imports and forms (not one person's records)?"""
    return program_code in PROGRAMS and program_code not in hidden_programs(user)


def may_set_targets(user: User) -> bool:
    """May the user set the year's indicator targets, tasks and population figures (of their district)?"""
    return user.role in (Role.PROGRAM_MANAGER, Role.SYSTEM_ADMIN)


def may_view_district_settings(user: User) -> bool:
    """May the user read the district settings page (the values in force and their history)?"""
    return user.active and user.role in (Role.PROGRAM_MANAGER, Role.FOLLOW_UP_COORDINATOR, Role.SYSTEM_ADMIN)


def may_change_district_settings(user: User, district_id: int | None) -> bool:
    """May the user change this district's [P]/[R] settings: an administrator any district's, a program
    manager their own district's (coordinators follow the rules, they do not set them)."""
    if not user.active or district_id is None:
        return False
    if user.role is Role.SYSTEM_ADMIN:
        return True
    own = user.institution.district if user.institution is not None else None
    return user.role is Role.PROGRAM_MANAGER and own is not None and own.id == district_id


def may_approve_reports(user: User) -> bool:
    """May the user approve a district's monthly report, freezing its snapshot and PDF?"""
    return user.active and user.role is Role.PROGRAM_MANAGER


def may_see_reports(user: User) -> bool:
    """May the user see the district's monthly reports (报表) and download them?

    The administrator too: it runs their build jobs, and the jobs page links each build to its row here
    (reports hold district figures, no person; building and approving stay with the program manager).
    """
    return user.active and user.role in (Role.PROGRAM_MANAGER, Role.FOLLOW_UP_COORDINATOR, Role.SYSTEM_ADMIN)


def may_build_reports(user: User) -> bool:
    """May the user build a past month's report on demand, or rebuild one?"""
    return user.active and user.role is Role.PROGRAM_MANAGER


def may_enter_results(user: User, scope: Scope) -> bool:
    from registry.auth.access import may_record_results

    return may_record_results(user) and not scope.read_only


# -- records ----------------------------------------------------------------------------------------


def opening(user: User, program_code: str, person_id: int, now: dt.datetime) -> Opening:
    """May the user open a record of this program and person now, given it is in scope?"""
    if not is_restricted(program_code):
        return Opening.ALLOWED
    if may_open_restricted_of(user, person_id, now):
        return Opening.AUDITED
    return Opening.HIDDEN


def case_holders(case: FollowUpCase) -> set[int]:
    """Every institution that held the case: the opener, each accepted receiver, and one asked to take it."""
    holders = {case.opening_institution_id, case.responsible_institution_id, case.transfer_to_institution_id}
    accepted = db.session.scalars(
        sa.select(CaseEvent.data).where(
            CaseEvent.case_id == case.id, CaseEvent.kind == EventKind.TRANSFER_ACCEPTED
        )
    )
    for data in accepted:
        target = (data or {}).get("to_institution")
        if target is not None:
            holders.add(int(target))
    holders.discard(None)
    return holders


def may_read_case(scope: Scope, case: FollowUpCase) -> bool:
    """The responsible institution, one asked to take the case, and every former holder read it."""
    if scope.allows_any((case.responsible_institution_id, case.transfer_to_institution_id)):
        return True
    return scope.allows_any(case_holders(case))


def may_act_on_case(scope: Scope, case: FollowUpCase) -> bool:
    """Only the responsible institution acts on a case (logs contacts, records steps, closes)."""
    return not scope.read_only and scope.allows(case.responsible_institution_id)


def may_answer_transfer(scope: Scope, case: FollowUpCase) -> bool:
    return (
        not scope.read_only
        and case.transfer_to_institution_id is not None
        and scope.allows(case.transfer_to_institution_id)
    )


def may_read_result(scope: Scope, result: ScreeningResult) -> bool:
    """The recording institution, the person's, and any institution responsible for the person's case."""
    if scope.allows_any((result.institution_id, result.person.institution_id)):
        return True
    return scope.allows_any(person_case_institutions(result.person_id))


def person_case_institutions(person_id: int) -> set[int]:
    """Institutions responsible for, or asked to take, one of the person's cases (a responsibility hook)."""
    rows = db.session.execute(
        sa.select(FollowUpCase.responsible_institution_id, FollowUpCase.transfer_to_institution_id).where(
            FollowUpCase.person_id == person_id
        )
    )
    return {i for row in rows for i in row if i is not None}


def person_case_clause(scope: Scope, person_id: sa.ColumnElement) -> sa.ColumnElement[bool]:
    """People with a case this scope is responsible for or asked to take (a set-based responsibility hook)."""
    cases = sa.select(FollowUpCase.person_id).where(
        sa.or_(
            scope.filter(FollowUpCase.responsible_institution_id),
            scope.filter(FollowUpCase.transfer_to_institution_id),
        )
    )
    return person_id.in_(cases)


def audit_restricted_view(
    actor: Actor, now: dt.datetime, entity: str, entity_ids: Iterable[int], what: str
) -> None:
    """Record that restricted values were shown: one READ row per record shown."""
    for entity_id in entity_ids:
        audit.record(actor, now, entity, entity_id, "READ", f"restricted {what} viewed")


# -- merge preview ----------------------------------------------------------------------------------


def merge_preview_for(preview, first, second, user: User):
    """Take restricted results and cases the user may not open out of a merge preview's counts."""
    import dataclasses

    from registry.web import utcnow

    now = utcnow()
    hidden = {p.id: hidden_programs(user, p.id, now) for p in (first, second)}
    if not any(hidden.values()):
        return preview

    def hidden_count(model, person) -> int:
        if not hidden[person.id]:
            return 0
        return db.session.scalar(
            sa.select(sa.func.count())
            .select_from(model)
            .where(model.person_id == person.id, model.program.in_(sorted(hidden[person.id])))
        )

    keys = {"screening_result.person_id": ScreeningResult, "follow_up_case.person_id": FollowUpCase}
    linked = []
    for row in preview.linked:
        model = keys.get(row.key)
        if model is not None:
            row = dataclasses.replace(
                row,
                first=row.first - hidden_count(model, first),
                second=row.second - hidden_count(model, second),
            )
        if row.first or row.second or row.stuck:
            linked.append(row)
    in_common = preview.open_case_programs_in_common
    if in_common:
        open_programs = [
            set(
                db.session.scalars(
                    sa.select(FollowUpCase.program).where(
                        FollowUpCase.person_id == p.id, FollowUpCase.status != CaseStatus.CLOSED
                    )
                )
            )
            for p in (first, second)
        ]
        shared = open_programs[0] & open_programs[1]
        in_common = len(shared - (hidden[first.id] | hidden[second.id]))
    return dataclasses.replace(preview, linked=linked, open_case_programs_in_common=in_common)


# -- recipients -------------------------------------------------------------------------------------


def may_receive_about(user: User, program_code: str) -> bool:
    """May a reminder about a case of this program go to this user (restricted: only those who work on it)?"""
    return not is_restricted(program_code) or works_on_restricted(user)


# -- at the edges -----------------------------------------------------------------------------------
# One behaviour for a restricted record everywhere: 404 exactly as for no record until the glass is
# broken on the person's page, then allowed and audited.


def _current():
    from registry.web import current_actor, current_scope, utcnow

    return current_scope(), current_actor(), utcnow()


def _gate(
    user: User, program_code: str, person_id: int, entity: str, entity_id: int, audit_view: bool
) -> None:
    from registry.web import refuse

    _scope, actor, now = _current()
    decision = opening(user, program_code, person_id, now)
    if decision is Opening.HIDDEN:
        refuse(404, f"restricted {entity} without a grant")
    if decision is Opening.AUDITED and audit_view:
        audit_restricted_view(actor, now, entity, [entity_id], program_code)
        db.session.commit()


def case_or_404(case_id: int, *, audit_view: bool = True) -> FollowUpCase:
    """The case if this user may read it now; otherwise 404, the same as for a case that does not exist."""
    from flask import abort, g
    from sqlalchemy.orm import joinedload

    from registry.web import refuse

    case = db.session.get(FollowUpCase, case_id, options=[joinedload(FollowUpCase.person)])
    if case is None:
        abort(404)
    scope, _actor, _now = _current()
    if not may_read_case(scope, case):
        refuse(404, f"case outside scope (institution {case.responsible_institution_id})")
    _gate(g.user, case.program, case.person_id, "follow_up_case", case.id, audit_view)
    return case


def result_or_404(result_id: int, *, audit_view: bool = True) -> ScreeningResult:
    """The result if this user may read it now; otherwise 404, as for a result that does not exist."""
    from flask import abort, g

    from registry.web import refuse

    result = db.session.get(ScreeningResult, result_id)
    if result is None:
        abort(404)
    scope, _actor, _now = _current()
    if not may_read_result(scope, result):
        refuse(404, "result outside scope")
    _gate(g.user, result.program, result.person_id, "screening_result", result.id, audit_view)
    return result
