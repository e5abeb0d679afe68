"""The merges a scope may see: the history page and the record an undo starts from."""

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from registry.auth.access import Scope
from registry.extensions import db
from registry.people.merge.models import PersonMerge
from registry.people.models import Person


def visible_merges(scope: Scope, limit: int) -> list[PersonMerge]:
    """The latest merges whose both people lie in the scope, newest first."""
    kept, removed = aliased(Person), aliased(Person)
    return list(
        db.session.scalars(
            sa.select(PersonMerge)
            .join(kept, PersonMerge.kept_person_id == kept.id)
            .join(removed, PersonMerge.removed_person_id == removed.id)
            .where(scope.filter(kept.institution_id), scope.filter(removed.institution_id))
            .order_by(PersonMerge.merged_at.desc(), PersonMerge.id.desc())
            .limit(limit)
        )
    )


def visible_merge(scope: Scope, merge_id: int) -> PersonMerge | None:
    """The merge if both its people lie in the scope; else None, so that absent and hidden look alike."""
    record = db.session.get(PersonMerge, merge_id)
    if record is None:
        return None
    people = (record.kept_person, record.removed_person)
    return record if all(scope.allows(person.institution_id) for person in people) else None
