"""The staff a reminder goes to, as the access policy allows."""

from __future__ import annotations

import sqlalchemy as sa

from registry.auth.models import Role, User
from registry.extensions import db
from registry.institutions import Institution, facility_ids_under
from screenings import access


class Recipients:
    """The staff a reminder goes to: the responsible institution's clinic staff, else (or once the case
    is escalated) the district's follow-up coordinators; on a restricted program only those who work on it."""

    def __init__(self) -> None:
        self._staff: dict[int, list[User]] = {}
        self._coordinators: dict[int, list[User]] = {}

    def _active(self, query) -> list[User]:
        return list(db.session.scalars(query.where(User.active.is_(True)).order_by(User.id)))

    def staff(self, institution_id: int) -> list[User]:
        if institution_id not in self._staff:
            self._staff[institution_id] = self._active(
                sa.select(User).where(User.institution_id == institution_id, User.role == Role.CLINIC_STAFF)
            )
        return self._staff[institution_id]

    def coordinators(self, institution_id: int) -> list[User]:
        if institution_id not in self._coordinators:
            institution = db.session.get(Institution, institution_id)
            district = institution.district if institution is not None else None
            under = facility_ids_under(district.id) if district is not None else [institution_id]
            self._coordinators[institution_id] = self._active(
                sa.select(User).where(User.institution_id.in_(under), User.role == Role.FOLLOW_UP_COORDINATOR)
            )
        return self._coordinators[institution_id]

    def for_case(self, institution_id: int, escalated: bool, program_code: str) -> tuple[int, ...]:
        # Who may receive it is the access policy's answer; a restricted case whose institution has no
        # one working on it goes to the district's coordinators who do, rather than to no one.
        def eligible(users: list[User]) -> list[User]:
            return [u for u in users if access.may_receive_about(u, program_code)]

        users = [] if escalated else eligible(self.staff(institution_id))
        if not users:
            users = eligible(self.coordinators(institution_id))
        return tuple(u.id for u in users)
