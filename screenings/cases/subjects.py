"""The engine's view of a person: the role they play in a program, and the subject its rules read."""

from __future__ import annotations

from collections.abc import Mapping

from registry.people.models import Person, PersonKind
from registry.people.models import Sex as PersonSex
from screenings.engine import (
    Program,
    Sex,
    Subject,
    SubjectKind,
    Traits,
)

_SEX = {PersonSex.FEMALE: Sex.FEMALE, PersonSex.MALE: Sex.MALE, PersonSex.UNKNOWN: Sex.UNKNOWN}


# The roles a kind of person may play in a program, the usual one first.
_SUBJECT_KINDS = {
    PersonKind.WOMAN: (SubjectKind.WOMAN, SubjectKind.PREGNANT_WOMAN),
    PersonKind.NEWBORN: (SubjectKind.NEWBORN, SubjectKind.CHILD),
    PersonKind.CHILD: (SubjectKind.CHILD, SubjectKind.NEWBORN),
}


def person_kinds_screened(program: Program) -> tuple[PersonKind, ...]:
    """Return the kinds of person a program's eligibility screens in their usual role (newborns, say)."""
    return tuple(kind for kind, roles in _SUBJECT_KINDS.items() if roles[0] in program.eligibility.kinds)


def subject_kind_for(person: Person, program: Program) -> SubjectKind:
    """Return the role a person plays in a program: a woman tested in pregnancy is a pregnant woman."""
    candidates = _SUBJECT_KINDS.get(person.kind, (SubjectKind.WOMAN,))
    for kind in candidates:
        if kind in program.eligibility.kinds:
            return kind
    return candidates[0]


def screens(program: Program, person: Person) -> bool:
    """Tell whether a program screens this person: the one eligibility check of the result form and import.

    The role they play (subject_kind_for) must be one of the program's subject kinds; age is only a
    warning, never a block (security.md).
    """
    return subject_kind_for(person, program) in program.eligibility.kinds


def subject_of(person: Person, kind: SubjectKind, traits: Mapping[str, object] | None = None) -> Subject:
    """Build the engine's view of a person, with the traits a program's results told of them."""
    return Subject(
        kind=kind,
        sex=_SEX[person.sex],
        birth_at=person.birth_at,
        birth_on=person.birth_on,
        traits=Traits(traits or {}),
        has_address=bool(person.address and person.address.strip()),
    )
