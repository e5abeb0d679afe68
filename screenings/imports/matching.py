"""Finding the registered person each row is about, a chunk of rows at a time with indexed look-ups.

In order: the identity document number; else name and birth date (pinyin, index ix_person_pinyin_birth,
then the exact characters); else, for a newborn, the mother's document number and the birth order.
Only people the importing user may act on are matched; a row that is unclear is not guessed at but
waits in the unmatched queue with the reason.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa

from registry.auth.access import Scope
from registry.db import among, pairs_among
from registry.extensions import db
from registry.people.models import IdDocumentType, Person
from registry.people.protection import blind_index_of_document
from registry.people.services import pinyin_of

NOT_FOUND = "NOT_FOUND"
AMBIGUOUS = "AMBIGUOUS"
NAME_MISMATCH = "NAME_MISMATCH"
BIRTH_DATE_MISMATCH = "BIRTH_DATE_MISMATCH"
ID_MISMATCH = "ID_MISMATCH"


@dataclasses.dataclass(frozen=True)
class Identity:
    """What a row says about its person."""

    id_number: str | None = None
    name: str | None = None
    birth_on: dt.date | None = None
    mother_id_number: str | None = None
    birth_order: int | None = None

    @property
    def usable(self) -> bool:
        return bool(self.id_number or (self.name and self.birth_on) or self.mother_id_number)


@dataclasses.dataclass(frozen=True)
class Match:
    person: Person | None
    reason: str | None = None  # why there is no person: NOT_FOUND, AMBIGUOUS, ...


def match_people(identities: Sequence[Identity], scope: Scope) -> list[Match]:
    """Return one Match per identity, reading the database a fixed number of times for the whole chunk."""
    live = Person.merged_into_id.is_(None)
    dialect = db.session.get_bind().dialect.name
    numbers = {i.id_number for i in identities if i.id_number} | {
        i.mother_id_number for i in identities if i.mother_id_number
    }
    by_number: dict[str, list[Person]] = defaultdict(list)
    if numbers:
        indexes = [blind_index_of_document(number) for number in numbers]
        # Naming every document type lets the (id_type, id_number_index) unique index serve the look-up:
        # without it PostgreSQL scanned the whole table for each chunk (0.6 s at 3.7 M people).
        same_number = sa.and_(
            Person.id_type.in_(list(IdDocumentType)),
            among(Person.id_number_index, sorted(indexes), dialect),
            Person.id_number_index.is_not(None),
        )
        for person in db.session.scalars(sa.select(Person).where(same_number, live)):
            by_number[person.id_number].append(person)

    # Exact name and birth date first (index on both); the pinyin look-up only for rows with no exact
    # match, to tell "nobody" from "a person whose name sounds the same" (张/章).
    # A row whose document number is registered is decided by that number alone (see _decide): its name
    # is not looked up (in a lab file that is nearly every row, and half the chunk's look-up time).
    named = [
        i for i in identities if i.name and i.birth_on and not (i.id_number and by_number.get(i.id_number))
    ]
    by_name: dict[tuple[str, dt.date], list[Person]] = defaultdict(list)
    if named:
        query = sa.select(Person).where(
            pairs_among(Person.name, Person.birth_on, sorted({(i.name, i.birth_on) for i in named}), dialect),
            live,
            scope.filter(Person.institution_id),
        )
        for person in db.session.scalars(query):
            by_name[(person.name, person.birth_on)].append(person)
    pinyins = {i.name: pinyin_of(i.name)[0] for i in named if (i.name, i.birth_on) not in by_name}
    pairs = {(pinyins[i.name], i.birth_on) for i in named if i.name in pinyins}
    by_pinyin: dict[tuple[str, dt.date], list[Person]] = defaultdict(list)
    if pairs:
        query = sa.select(Person).where(
            pairs_among(Person.name_pinyin, Person.birth_on, sorted(pairs), dialect),
            live,
            scope.filter(Person.institution_id),
        )
        for person in db.session.scalars(query):
            by_pinyin[(person.name_pinyin, person.birth_on)].append(person)

    mother_ids = {
        p.id for i in identities if i.mother_id_number for p in by_number.get(i.mother_id_number, ())
    }
    children: dict[int, list[Person]] = defaultdict(list)
    if mother_ids:
        query = sa.select(Person).where(
            among(Person.mother_id, sorted(mother_ids), dialect), live, scope.filter(Person.institution_id)
        )
        for child in db.session.scalars(query):
            children[child.mother_id].append(child)

    def in_scope(people: list[Person]) -> list[Person]:
        return [p for p in people if scope.allows(p.institution_id)]

    matches = []
    for identity in identities:
        exact = by_name.get((identity.name, identity.birth_on), []) if identity.name else []
        pinyin = pinyins.get(identity.name) if identity.name else None
        similar = by_pinyin.get((pinyin, identity.birth_on), []) if pinyin else []
        same_document = in_scope(by_number.get(identity.id_number, []))
        matches.append(_decide(identity, same_document, exact, similar, by_number, children))
    return matches


def _consistent(identity: Identity, person: Person) -> str | None:
    """Return why a person found by document does not fit the row's other columns, or None."""
    if identity.name and identity.name != person.name and pinyin_of(identity.name)[0] != person.name_pinyin:
        # A name written with other characters of the same sound is taken as the same.
        return NAME_MISMATCH
    if identity.birth_on and identity.birth_on != person.birth_on:
        return BIRTH_DATE_MISMATCH
    return None


def _decide(
    identity: Identity,
    same_document: list[Person],
    exact: list[Person],
    similar: list[Person],
    by_number: dict[str, list[Person]],
    children: dict[int, list[Person]],
) -> Match:
    if identity.id_number:
        if len(same_document) > 1:
            return Match(None, AMBIGUOUS)
        if same_document:
            person = same_document[0]
            problem = _consistent(identity, person)
            return Match(None, problem) if problem else Match(person)
        if by_number.get(identity.id_number):
            # The document belongs to someone this user may not act on: nobody else here can be them.
            return Match(None, NOT_FOUND)
    if identity.name and identity.birth_on:
        if len(exact) == 1:
            person = exact[0]
            if identity.id_number and person.id_number and person.id_number != identity.id_number:
                return Match(None, ID_MISMATCH)
            return Match(person)
        if len(exact) > 1:
            return Match(None, AMBIGUOUS)
        if similar:
            # Same sound, other characters (张/章): a person must say whether it is the same one.
            return Match(None, NAME_MISMATCH)
    if identity.mother_id_number:
        mothers = by_number.get(identity.mother_id_number, [])
        if len(mothers) == 1:
            kids = children.get(mothers[0].id, [])
            if identity.birth_order is not None:
                kids = [k for k in kids if k.birth_order == identity.birth_order]
            if len(kids) > 1:
                return Match(None, AMBIGUOUS)
            if kids:
                child = kids[0]
                if identity.birth_on and identity.birth_on != child.birth_on:
                    return Match(None, BIRTH_DATE_MISMATCH)
                return Match(child)
        elif len(mothers) > 1:
            return Match(None, AMBIGUOUS)
    return Match(None, NOT_FOUND)
