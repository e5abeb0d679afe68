"""The kernel half of the one access policy: institution scope, person visibility, the kernel's permissions.

Which institutions' records a user may see (`scope_of`), whether a person is visible (their institution
of record is in scope, or an institution in scope is responsible for something of theirs: the domain
says what through `registry.hooks` responsibility providers), whether a user works on the restricted
programs or holds a break-the-glass grant for a person. The program, result and case half is
`screenings.access`, which builds on this one; nothing else decides.
"""

import dataclasses
import datetime as dt

import sqlalchemy as sa

from registry import hooks
from registry.auth.models import BreakGlassGrant, Role, User
from registry.extensions import db
from registry.institutions import facility_ids_under
from registry.people.models import Person

DISTRICT_ROLES = {Role.FOLLOW_UP_COORDINATOR, Role.PROGRAM_MANAGER, Role.AUDITOR}
READ_ONLY_ROLES = {Role.AUDITOR}
# Roles allowed to show a full identity or phone number after an audited reveal.
REVEAL_ROLES = {Role.CLINIC_STAFF, Role.FOLLOW_UP_COORDINATOR}
REGISTERING_ROLES = {Role.CLINIC_STAFF, Role.FOLLOW_UP_COORDINATOR}
# Clinic staff merge within their institution, coordinators across the district (their scope decides which).
MERGING_ROLES = {Role.CLINIC_STAFF, Role.FOLLOW_UP_COORDINATOR}
# Those who enter results, by form or by lab file, and the lab and hospital systems through the API.
RECORDING_ROLES = {Role.CLINIC_STAFF, Role.FOLLOW_UP_COORDINATOR, Role.SYSTEM_ACCOUNT}


@dataclasses.dataclass(frozen=True)
class Scope:
    """The institutions whose records a user may see; `institution_ids is None` means every one."""

    institution_ids: frozenset[int] | None
    read_only: bool

    def allows(self, institution_id: int | None) -> bool:
        return self.institution_ids is None or institution_id in self.institution_ids

    def allows_any(self, institution_ids) -> bool:
        return any(self.allows(i) for i in institution_ids if i is not None)

    def filter(self, column: sa.ColumnElement) -> sa.ColumnElement[bool]:
        """A WHERE clause restricting `column` (an institution id) to this scope."""
        if self.institution_ids is None:
            return sa.true()
        return column.in_(sorted(self.institution_ids))


def scope_of(user: User) -> Scope:
    """Clinic staff see their institution, district roles their district, administrators everything."""
    if user.role == Role.SYSTEM_ADMIN:
        return Scope(institution_ids=None, read_only=False)
    if user.role in DISTRICT_ROLES:
        district = user.institution.district
        root_id = district.id if district is not None else user.institution_id
        return Scope(frozenset(facility_ids_under(root_id)), read_only=user.role in READ_ONLY_ROLES)
    return Scope(frozenset({user.institution_id}), read_only=False)


def responsible_institutions(person_id: int) -> set[int]:
    """Institutions responsible for something of this person's, as the registered providers say."""
    found: set[int] = set()
    for provider in hooks.current().responsibility:
        found.update(i for i in provider(person_id) if i is not None)
    return found


def may_see_person(scope: Scope, person) -> bool:
    """Scope follows responsibility: the institution of record, or one responsible for the person's care."""
    if scope.allows(person.institution_id):
        return True
    return scope.allows_any(responsible_institutions(person.id))


def visible_person(scope: Scope, person_id: int):
    """The person if this scope may see them; else None, so that absent and hidden look alike."""
    person = db.session.get(Person, person_id)
    if person is None or not may_see_person(scope, person):
        return None
    return person


def person_scope_clause(scope: Scope, person_institution: sa.ColumnElement, person_id: sa.ColumnElement):
    """A WHERE clause for the people this scope may see: by institution of record, or responsibility."""
    if scope.institution_ids is None:
        return sa.true()
    clauses = [scope.filter(person_institution)]
    clauses.extend(clause(scope, person_id) for clause in hooks.current().responsibility_clauses)
    return sa.or_(*clauses)


def may_register_people(user: User) -> bool:
    return user.role in REGISTERING_ROLES


def may_record_results(user: User) -> bool:
    """Enter results by form or lab file (auditors and administrators do not)."""
    return user.role in RECORDING_ROLES


def may_merge_people(user: User) -> bool:
    return user.role in MERGING_ROLES


def may_reveal_identifiers(user: User) -> bool:
    return user.role in REVEAL_ROLES


def may_administer(user: User) -> bool:
    return user.role == Role.SYSTEM_ADMIN


def may_read_audit_trail(user: User) -> bool:
    return user.role == Role.AUDITOR


# -- restricted programs (PMTCT) -----------------------------------------------------------------------


def works_on_restricted(user: User) -> bool:
    """Tell whether the user works on the restricted programs and needs no grant to open their records."""
    return bool(user.sees_restricted_records)


def active_grant(user: User, person_id: int, now: dt.datetime) -> BreakGlassGrant | None:
    """The user's unexpired break-the-glass grant for this person, if any."""
    return db.session.scalar(
        sa.select(BreakGlassGrant)
        .where(
            BreakGlassGrant.user_id == user.id,
            BreakGlassGrant.person_id == person_id,
            BreakGlassGrant.expires_at > now,
        )
        .order_by(BreakGlassGrant.expires_at.desc())
        .limit(1)
    )


def may_open_restricted_of(user: User, person_id: int, now: dt.datetime) -> bool:
    """May the user open this person's restricted records now (works on them, or broke the glass)?"""
    return works_on_restricted(user) or active_grant(user, person_id, now) is not None
