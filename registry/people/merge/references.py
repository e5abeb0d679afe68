"""What refers to a person: every foreign key to person.id, which rows collide, what a merge would move."""

import dataclasses

import sqlalchemy as sa

from registry.extensions import db
from registry.people.merge.participants import MERGE_PARTICIPANTS
from registry.people.models import Person

# -- what refers to a person --------------------------------------------------------------------------

# References that stay where they are: the merge's own bookkeeping, and access grants (break the glass),
# which were given for one record and must not widen to the records of another.
NOT_MOVED = frozenset(
    {
        "person.merged_into_id",
        "person_merge.kept_person_id",
        "person_merge.removed_person_id",
        "person_distinct_pair.first_person_id",
        "person_distinct_pair.second_person_id",
        "break_glass_grant.person_id",
    }
)


@dataclasses.dataclass(frozen=True)
class PersonReference:
    """A column that points at a person: person.mother_id, pregnancy.mother_id, a domain table's person_id."""

    table: sa.Table
    column: sa.Column

    @property
    def key(self) -> str:
        return f"{self.table.name}.{self.column.name}"

    @property
    def row_id(self) -> sa.Column:
        (primary_key,) = self.table.primary_key.columns
        return primary_key


def person_references() -> list[PersonReference]:
    """Every column in the schema with a foreign key to a person that a merge moves, sorted by name."""
    person_id = Person.__table__.c.id
    references = [
        PersonReference(table, column)
        for table in db.metadata.tables.values()
        for column in table.columns
        if any(fk.column is person_id for fk in column.foreign_keys)
    ]
    return sorted((r for r in references if r.key not in NOT_MOVED), key=lambda r: r.key)


def version_column(table: sa.Table) -> sa.Column | None:
    """The optimistic-lock column of the model mapped to this table, bumped when its rows move."""
    for mapper in db.Model.registry.mappers:
        if mapper.local_table is table and mapper.version_id_col is not None:
            return mapper.version_id_col
    return None


def _unique_keys(reference: PersonReference) -> list[tuple[list[sa.Column], sa.ColumnElement | None]]:
    """The unique indexes and constraints that include the reference column, with any partial WHERE."""
    dialect = db.session.get_bind().dialect.name
    keys = []
    for index in reference.table.indexes:
        if index.unique and index.columns.contains_column(reference.column):
            keys.append((list(index.columns), index.dialect_kwargs.get(f"{dialect}_where")))
    for constraint in reference.table.constraints:
        if isinstance(constraint, sa.UniqueConstraint) and constraint.columns.contains_column(
            reference.column
        ):
            keys.append((list(constraint.columns), None))
    return keys


def rows_of(reference: PersonReference, person_id: int) -> list[int]:
    return list(
        db.session.scalars(
            sa.select(reference.row_id).where(reference.column == person_id).order_by(reference.row_id)
        )
    )


def colliding_rows(reference: PersonReference, keep_id: int, remove_id: int) -> set[int]:
    """Rows of the removed person that would break a unique key if moved: the kept person has their twin
    (e.g. the one missed-screening case a person may have per program)."""
    colliding: set[int] = set()
    for columns, where in _unique_keys(reference):
        others = [c for c in columns if c is not reference.column]
        extra = [where] if where is not None else []
        kept_rows = sa.select(*others) if others else sa.select(sa.literal(1)).select_from(reference.table)
        taken = {
            tuple(row) for row in db.session.execute(kept_rows.where(reference.column == keep_id, *extra))
        }
        if not others:
            taken = {()} if taken else set()
        rows = db.session.execute(
            sa.select(reference.row_id, *others).where(reference.column == remove_id, *extra)
        )
        for row_id, *values in rows:
            # NULLs never collide in a unique index.
            if None not in values and tuple(values) in taken:
                colliding.add(row_id)
    return colliding


@dataclasses.dataclass(frozen=True)
class LinkedRows:
    """How many rows of one kind point at each of two people, and how many could not move."""

    key: str
    first: int
    second: int
    stuck: int


@dataclasses.dataclass(frozen=True)
class MergePreview:
    linked: list[LinkedRows]
    # Programs in which both people have a follow-up case that is not closed: both stay open after a merge.
    open_case_programs_in_common: int

    @property
    def stuck(self) -> int:
        return sum(row.stuck for row in self.linked)


def merge_preview(first: Person, second: Person) -> MergePreview:
    """What a merge of these two people would move, and what a user should know before merging."""
    linked = []
    for reference in person_references():
        counts = dict(
            db.session.execute(
                sa.select(reference.column, sa.func.count())
                .where(reference.column.in_([first.id, second.id]))
                .group_by(reference.column)
            ).all()
        )
        # Which record is kept does not change how many collide: one row of each twin pair stays behind.
        stuck = len(colliding_rows(reference, first.id, second.id))
        if counts or stuck:
            linked.append(LinkedRows(reference.key, counts.get(first.id, 0), counts.get(second.id, 0), stuck))
    return MergePreview(
        linked=linked, open_case_programs_in_common=_open_case_programs_in_common(first, second)
    )


def _open_case_programs_in_common(first: Person, second: Person) -> int:
    return sum(participant.open_work_in_common(first, second) for participant in MERGE_PARTICIPANTS)
