"""The one place that decides which institutions' records a user may see, and whether they may write."""

import dataclasses

import sqlalchemy as sa

from registry.auth.models import Role, User
from registry.institutions import facility_ids_under

DISTRICT_ROLES = {Role.FOLLOW_UP_COORDINATOR, Role.PROGRAM_MANAGER, Role.AUDITOR}
READ_ONLY_ROLES = {Role.AUDITOR}
# Roles allowed to show a full identity or phone number after an audited reveal.
REVEAL_ROLES = {Role.CLINIC_STAFF, Role.FOLLOW_UP_COORDINATOR}
REGISTERING_ROLES = {Role.CLINIC_STAFF, Role.FOLLOW_UP_COORDINATOR}
# Clinic staff merge within their institution, coordinators across the district (their scope decides which).
MERGING_ROLES = {Role.CLINIC_STAFF, Role.FOLLOW_UP_COORDINATOR}


@dataclasses.dataclass(frozen=True)
class Scope:
    """The institutions whose records a user may see; `institution_ids is None` means every one."""

    institution_ids: frozenset[int] | None
    read_only: bool

    def allows(self, institution_id: int | None) -> bool:
        return self.institution_ids is None or institution_id in self.institution_ids

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


def may_register_people(user: User) -> bool:
    return user.role in REGISTERING_ROLES


def may_merge_people(user: User) -> bool:
    return user.role in MERGING_ROLES


def may_reveal_identifiers(user: User) -> bool:
    return user.role in REVEAL_ROLES


def may_administer(user: User) -> bool:
    return user.role == Role.SYSTEM_ADMIN
