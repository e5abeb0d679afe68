"""A chunk's people found in a fixed number of look-ups: a registered document number decides alone."""

import datetime as dt

from registry.auth.access import Scope
from registry.people.idnumbers import check_digit
from registry.people.models import IdDocumentType
from screenings.imports.matching import Identity, match_people

EVERYWHERE = Scope(institution_ids=None, read_only=False)
BORN = dt.date(1980, 5, 1)


def _id_number(n: int) -> str:
    body = f"110105{BORN:%Y%m%d}{n:03d}"
    return body + check_digit(body)


def test_rows_with_registered_numbers_need_no_name_look_up(district, make_person, count_queries):
    women = [
        make_person(
            district["hospital"],
            name=f"号码{n}",
            birth_on=BORN,
            id_type=IdDocumentType.RESIDENT_ID,
            id_number=_id_number(n),
        )  # fmt: skip
        for n in range(6)
    ]
    namesake = make_person(district["hospital"], name="只有姓名", birth_on=BORN)
    by_number = [Identity(id_number=_id_number(n), name=f"号码{n}", birth_on=BORN) for n in range(6)]

    with count_queries() as numbers_only:
        found = match_people(by_number, EVERYWHERE)
    with count_queries() as with_a_name:
        mixed = match_people([*by_number, Identity(name="只有姓名", birth_on=BORN)], EVERYWHERE)

    assert [m.person for m in found] == women
    assert [m.person for m in mixed] == [*women, namesake]
    assert numbers_only.count == 1, numbers_only
    assert with_a_name.count == 2, with_a_name
