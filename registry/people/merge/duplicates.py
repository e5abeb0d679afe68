"""Suspected duplicate people: pairs that share a document, a name and birth date, or a mother."""

import itertools
from collections.abc import Iterable

import sqlalchemy as sa

from registry.extensions import db
from registry.people.merge.models import (
    REASON_ORDER,
    DistinctPeople,
    DuplicateReason,
    SuspectedPair,
)
from registry.people.models import IdDocumentType, Person

# People at most shown per duplicate group: a very common name and birth date is not worth 100 pairs.
GROUP_MEMBERS_SHOWN = 6
# Keeps each IN (...) list well under SQLite's bound-parameter limit.
CHUNK = 500


# -- finding suspected duplicates ---------------------------------------------------------------------


def _add(found: dict, first_id: int, second_id: int, reason: DuplicateReason) -> None:
    if first_id != second_id:
        found.setdefault((min(first_id, second_id), max(first_id, second_id)), set()).add(reason)


def _live(scope_clause: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
    return sa.and_(scope_clause, Person.merged_into_id.is_(None))


def _pairs_sharing(
    found: dict,
    reason: DuplicateReason,
    keys: list[sa.ColumnElement],
    conditions: list[sa.ColumnElement[bool]],
    scope_clause: sa.ColumnElement[bool],
    limit: int,
    unless_differ: sa.Column | None = None,
) -> None:
    """Add the pairs of people in scope who share every key value; the newest groups first.

    With `unless_differ`, two people whose values there are both known and different are no pair (twins
    born minutes apart). One aggregate pass: most groups are a pair, named by their lowest and highest id;
    only the few larger groups are read again for their members.
    """
    where = [_live(scope_clause), *conditions]
    having = [sa.func.count() > 1]
    if unless_differ is not None:
        # Some value missing, or two alike: a group where every value is known and distinct is no pair.
        having.append(sa.func.count(sa.distinct(unless_differ)) < sa.func.count())
    groups = db.session.execute(
        sa.select(sa.func.count(), sa.func.min(Person.id), sa.func.max(Person.id), *keys)
        .where(*where)
        .group_by(*keys)
        .having(*having)
        .order_by(sa.func.max(Person.id).desc())
        .limit(limit)
    ).all()
    for size, lowest, highest, *values in groups:
        if size == 2:
            _add(found, lowest, highest, reason)
            continue
        differ = unless_differ if unless_differ is not None else sa.null()
        members = db.session.execute(
            sa.select(Person.id, differ)
            .where(*where, *(key == value for key, value in zip(keys, values, strict=True)))
            .order_by(Person.id.desc())
            .limit(GROUP_MEMBERS_SHOWN)
        ).all()
        for (first, a), (second, b) in itertools.combinations(sorted(members), 2):
            if a is None or b is None or a == b:
                _add(found, first, second, reason)


def suspected_duplicates(scope_clause: sa.ColumnElement[bool], limit: int = 100) -> list[SuspectedPair]:
    """Pairs of people in scope who may be one person, each with why: same identity document number, same
    pinyin name and birth date, or same mother and birth order, or same mother, birth date and sex with no
    different birth time (newborns).

    `scope_clause` restricts `Person.institution_id`, as for search; both people of a pair are in scope.
    Merged records and pairs marked as different people are left out; the newest registrations come first.
    """
    found: dict[tuple[int, int], set[DuplicateReason]] = {}
    # Every way in (form, import) stores the number normalised, and the unique index allows one person per
    # document type and number: a shared number is the same number under two document types.
    _pairs_sharing(
        found,
        DuplicateReason.SAME_DOCUMENT,
        [Person.id_number_index],
        [Person.id_number_index.is_not(None), Person.id_type != IdDocumentType.NONE],
        scope_clause,
        limit,
    )
    _pairs_sharing(
        found,
        DuplicateReason.SAME_NAME_AND_BIRTH_DATE,
        [Person.name_pinyin, Person.birth_on],
        [Person.name_pinyin != ""],
        scope_clause,
        limit,
    )
    _pairs_sharing(
        found,
        DuplicateReason.SAME_MOTHER_AND_BIRTH_ORDER,
        [Person.mother_id, Person.birth_order],
        [Person.mother_id.is_not(None), Person.birth_order.is_not(None)],
        scope_clause,
        limit,
    )
    # Twins share mother and birth date; a newborn registered twice also shares sex and birth time.
    _pairs_sharing(
        found,
        DuplicateReason.SAME_MOTHER_AND_BIRTH_DATE,
        [Person.mother_id, Person.birth_on, Person.sex],
        [Person.mother_id.is_not(None)],
        scope_clause,
        limit,
        unless_differ=Person.birth_at,
    )
    return _as_pairs(found, limit)


def duplicates_of(person: Person, scope_clause: sa.ColumnElement[bool]) -> list[SuspectedPair]:
    """The suspected duplicates of one person among the people in scope (indexed look-ups only)."""
    if person.merged_into_id is not None:
        return []
    live = sa.and_(_live(scope_clause), Person.id != person.id)
    found: dict[tuple[int, int], set[DuplicateReason]] = {}

    def add_all(query, reason: DuplicateReason) -> None:
        for other_id in db.session.scalars(query.limit(20)):
            _add(found, person.id, other_id, reason)

    if person.id_number and person.id_type != IdDocumentType.NONE:
        # Naming every type lets the (id_type, id_number_index) unique index serve the look-up.
        add_all(
            sa.select(Person.id).where(
                live,
                Person.id_type.in_(list(IdDocumentType)),
                Person.id_number_index == person.id_number_index,
            ),
            DuplicateReason.SAME_DOCUMENT,
        )
    if person.name_pinyin:
        add_all(
            sa.select(Person.id).where(
                live, Person.name_pinyin == person.name_pinyin, Person.birth_on == person.birth_on
            ),
            DuplicateReason.SAME_NAME_AND_BIRTH_DATE,
        )
    if person.mother_id is not None:
        same_mother = sa.and_(live, Person.mother_id == person.mother_id)
        if person.birth_order is not None:
            add_all(
                sa.select(Person.id).where(same_mother, Person.birth_order == person.birth_order),
                DuplicateReason.SAME_MOTHER_AND_BIRTH_ORDER,
            )
        same_birth = sa.and_(same_mother, Person.birth_on == person.birth_on, Person.sex == person.sex)
        if person.birth_at is not None:
            same_birth = sa.and_(
                same_birth, sa.or_(Person.birth_at.is_(None), Person.birth_at == person.birth_at)
            )
        add_all(sa.select(Person.id).where(same_birth), DuplicateReason.SAME_MOTHER_AND_BIRTH_DATE)
    return _as_pairs(found, limit=20)


def _as_pairs(found: dict[tuple[int, int], set[DuplicateReason]], limit: int) -> list[SuspectedPair]:
    """Drop pairs marked distinct, load the people, strongest and newest first."""
    if not found:
        return []
    ids = sorted({person_id for pair in found for person_id in pair})
    for chunk in in_chunks(ids):
        marked = db.session.execute(
            sa.select(DistinctPeople.first_person_id, DistinctPeople.second_person_id).where(
                DistinctPeople.first_person_id.in_(chunk)
            )
        )
        for pair in marked:
            found.pop(tuple(pair), None)
    ranked = sorted(
        found.items(),
        key=lambda item: (
            min(REASON_ORDER.index(r) for r in item[1]),
            -len(item[1]),
            -item[0][1],
            -item[0][0],
        ),
    )[:limit]
    wanted = sorted({person_id for pair, _ in ranked for person_id in pair})
    people = {}
    for chunk in in_chunks(wanted):
        people.update({p.id: p for p in db.session.scalars(sa.select(Person).where(Person.id.in_(chunk)))})
    return [
        SuspectedPair(
            first=people[first],
            second=people[second],
            reasons=tuple(r for r in REASON_ORDER if r in reasons),
        )
        for (first, second), reasons in ranked
    ]


def in_chunks(values: list) -> Iterable[list]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]
