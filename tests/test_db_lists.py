"""Long lists in a WHERE (a chunk's ids, its names with birth dates) mean the same on every database."""

import datetime as dt

import sqlalchemy as sa

from registry.db import among, pairs_among
from registry.extensions import db
from registry.people.models import Person

D1, D2 = dt.date(1980, 1, 1), dt.date(1985, 6, 1)


def _dialect():
    return db.session.get_bind().dialect.name


def test_pairs_among_matches_exact_pairs_not_their_cross_product(district, make_person):
    first = make_person(district["hospital"], name="配对甲", birth_on=D1)
    second = make_person(district["hospital"], name="配对乙", birth_on=D2)
    crossed = make_person(district["hospital"], name="配对甲", birth_on=D2)  # name of one, date of the other
    db.session.flush()

    found = db.session.scalars(
        sa.select(Person.id).where(
            pairs_among(Person.name, Person.birth_on, [("配对甲", D1), ("配对乙", D2)], _dialect())
        )  # fmt: skip
    ).all()

    assert sorted(found) == sorted([first.id, second.id]) and crossed.id not in found


def test_among_matches_the_values_given(district, make_person):
    people = [make_person(district["hospital"], name=f"列表{n}", birth_on=D1) for n in range(5)]
    db.session.flush()
    wanted = [people[0].id, people[3].id, 10**9]

    found = db.session.scalars(sa.select(Person.id).where(among(Person.id, wanted, _dialect()))).all()

    assert sorted(found) == [people[0].id, people[3].id]
