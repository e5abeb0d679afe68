"""Suspected duplicate people, and merging two records into one with an audited and exact undo.

A merge moves every row that points at the removed person to the kept one and records the ids it moved, so
that an undo moves back exactly those rows even after new rows were added to the kept person. The rows to
move are found from the schema's foreign keys to `person.id`, so the screening tables (and any added later)
follow the person without the registry importing the screenings package; what only the domain knows
(open cases in common, a moved case's timeline and state) comes from registered merge participants.
"""

import dataclasses
import datetime as dt
import enum
import itertools
from collections.abc import Iterable
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry import audit
from registry.audit import Actor
from registry.db import UTCDateTime
from registry.extensions import db
from registry.people.idnumbers import scrub_identifiers
from registry.people.models import IdDocumentType, Person

# People at most shown per duplicate group: a very common name and birth date is not worth 100 pairs.
GROUP_MEMBERS_SHOWN = 6
# Keeps each IN (...) list well under SQLite's bound-parameter limit.
CHUNK = 500


class DuplicateReason(enum.StrEnum):
    SAME_DOCUMENT = "SAME_DOCUMENT"
    SAME_NAME_AND_BIRTH_DATE = "SAME_NAME_AND_BIRTH_DATE"
    SAME_MOTHER_AND_BIRTH_ORDER = "SAME_MOTHER_AND_BIRTH_ORDER"
    SAME_MOTHER_AND_BIRTH_DATE = "SAME_MOTHER_AND_BIRTH_DATE"


# Strongest first: a shared identity document says more than a shared name.
REASON_ORDER = list(DuplicateReason)


class PersonMerge(db.Model):
    """One merge of a removed person into a kept one: who, when, why, and exactly which rows moved."""

    __tablename__ = "person_merge"

    id: Mapped[int] = mapped_column(primary_key=True)
    kept_person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"), index=True)
    removed_person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"), index=True)
    reason: Mapped[str] = mapped_column(sa.Text)
    merged_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    merged_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    merged_by_name: Mapped[str] = mapped_column(sa.String(80))
    # {"table.column": [row id, ...]}: the rows moved to the kept person, which an undo moves back.
    moved_rows: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    # Rows that stayed with the removed person because the kept person already had the one allowed.
    left_rows: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    undone_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    undone_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    undone_by_name: Mapped[str | None] = mapped_column(sa.String(80))
    undo_reason: Mapped[str | None] = mapped_column(sa.Text)

    kept_person: Mapped[Person] = relationship(foreign_keys=[kept_person_id])
    removed_person: Mapped[Person] = relationship(foreign_keys=[removed_person_id])

    @property
    def moved_count(self) -> int:
        return sum(len(ids) for ids in (self.moved_rows or {}).values())


class DistinctPeople(db.Model):
    """Two people a user checked and found to be different (twins, namesakes): no longer suggested."""

    __tablename__ = "person_distinct_pair"
    __table_args__ = (
        sa.UniqueConstraint("first_person_id", "second_person_id"),
        sa.CheckConstraint("first_person_id < second_person_id", name="ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    first_person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"))
    second_person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"), index=True)
    reason: Mapped[str] = mapped_column(sa.Text)
    decided_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    decided_by_name: Mapped[str] = mapped_column(sa.String(80))


class MergeRefused(Exception):
    """A merge, undo or distinct mark that cannot be done; `code` names the reason for the edge to show."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclasses.dataclass(frozen=True)
class SuspectedPair:
    first: Person  # the one registered first (lower id)
    second: Person
    reasons: tuple[DuplicateReason, ...]


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
        [Person.id_number],
        [Person.id_number.is_not(None), Person.id_type != IdDocumentType.NONE],
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
        # Naming every type lets the (id_type, id_number) unique index serve the look-up.
        add_all(
            sa.select(Person.id).where(
                live, Person.id_type.in_(list(IdDocumentType)), Person.id_number == person.id_number
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
    for chunk in _chunks(ids):
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
    for chunk in _chunks(wanted):
        people.update({p.id: p for p in db.session.scalars(sa.select(Person).where(Person.id.in_(chunk)))})
    return [
        SuspectedPair(
            first=people[first],
            second=people[second],
            reasons=tuple(r for r in REASON_ORDER if r in reasons),
        )
        for (first, second), reasons in ranked
    ]


def _chunks(values: list) -> Iterable[list]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


# -- who takes part in a merge ------------------------------------------------------------------------


class MergeParticipant(Protocol):
    """A part of the application with rows that follow a person (the screenings' cases, say).

    The registry moves every row that points at a person by the schema's foreign keys; a participant adds
    what only it knows: what a user should be told before a merge, and what its rows need once moved
    (an event on a moved case's timeline, its derived state). Registered in create_app(), so the registry
    imports no domain package.
    """

    def open_work_in_common(self, first: Person, second: Person) -> int:
        """Return how many programs both people have open work in (shown before a merge)."""

    def rows_moved(self, moved: "MovedRows") -> None:
        """Follow up rows a merge or an undo has just moved from one person to another."""


@dataclasses.dataclass(frozen=True)
class MovedRows:
    """What one merge or undo moved: {"table.column": [row id, ...]} from one person to another."""

    rows: dict[str, list[int]]
    from_person_id: int
    to_person_id: int
    merge_id: int
    undo: bool
    actor: Actor
    now: dt.datetime


MERGE_PARTICIPANTS: list[MergeParticipant] = []


def register_merge_participant(participant: MergeParticipant) -> None:
    """Take part in every merge and undo from now on (once per participant, however often called)."""
    if participant not in MERGE_PARTICIPANTS:
        MERGE_PARTICIPANTS.append(participant)


def _tell_participants(moved: MovedRows) -> None:
    if moved.rows:
        for participant in MERGE_PARTICIPANTS:
            participant.rows_moved(moved)
        db.session.flush()


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
    """A column that points at a person: screening_result.person_id, person.mother_id, ..."""

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


def _version_column(table: sa.Table) -> sa.Column | None:
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


def _rows_of(reference: PersonReference, person_id: int) -> list[int]:
    return list(
        db.session.scalars(
            sa.select(reference.row_id).where(reference.column == person_id).order_by(reference.row_id)
        )
    )


def _colliding_rows(reference: PersonReference, keep_id: int, remove_id: int) -> set[int]:
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
        stuck = len(_colliding_rows(reference, first.id, second.id))
        if counts or stuck:
            linked.append(LinkedRows(reference.key, counts.get(first.id, 0), counts.get(second.id, 0), stuck))
    return MergePreview(
        linked=linked, open_case_programs_in_common=_open_case_programs_in_common(first, second)
    )


def _open_case_programs_in_common(first: Person, second: Person) -> int:
    return sum(participant.open_work_in_common(first, second) for participant in MERGE_PARTICIPANTS)


# -- merge and undo ----------------------------------------------------------------------------------


def current_record(person: Person) -> Person:
    """The record a merged person now lives on (following merges of merges); the person itself if unmerged."""
    seen = {person.id}
    while person.merged_into_id is not None:
        person = db.session.get(Person, person.merged_into_id)
        if person.id in seen:  # never expected: a cycle would mean a corrupted merge history
            break
        seen.add(person.id)
    return person


def _lock(*people: Person) -> None:
    """Lock both person rows (PostgreSQL) so no row is added to either while the move runs, then reread."""
    db.session.flush()
    db.session.execute(
        sa.select(Person.id)
        .where(Person.id.in_([p.id for p in people]))
        .order_by(Person.id)
        .with_for_update()
    )
    for person in people:
        db.session.refresh(person)


def _move(reference: PersonReference, row_ids: list[int], from_id: int, to_id: int) -> int:
    """Point exactly these rows, where they still point at `from_id`, at `to_id`; return how many moved."""
    values = {reference.column.name: to_id}
    version = _version_column(reference.table)
    if version is not None:
        values[version.name] = version + 1
    moved = 0
    for chunk in _chunks(row_ids):
        result = db.session.execute(
            sa.update(reference.table)
            .where(reference.row_id.in_(chunk), reference.column == from_id)
            .values(values)
        )
        moved += result.rowcount
    return moved


def _clean_reason(reason: str | None) -> str:
    # The reason is free text shown in the history and the audit trail: never a full ID or phone number.
    reason = scrub_identifiers((reason or "").strip())
    if not reason:
        raise MergeRefused("reason_required")
    return reason


def _describe(rows: dict[str, list[int]]) -> str:
    return ", ".join(f"{key} x{len(ids)}" for key, ids in sorted(rows.items())) or "nothing"


def merge_people(keep: Person, remove: Person, actor: Actor, now: dt.datetime, reason: str) -> PersonMerge:
    """Merge `remove` into `keep`: move every row that points at it, mark it merged, audit, return the record.

    Rows the kept person may have only once (a unique key) stay with the removed person and are listed.
    """
    reason = _clean_reason(reason)
    if keep.id == remove.id:
        raise MergeRefused("same_person")
    _lock(keep, remove)
    if keep.merged_into_id is not None or remove.merged_into_id is not None:
        raise MergeRefused("already_merged")
    # Merging a mother with her own child would make a person their own mother.
    if keep.mother_id == remove.id or remove.mother_id == keep.id:
        raise MergeRefused("mother_and_child")

    moved: dict[str, list[int]] = {}
    left: dict[str, list[int]] = {}
    for reference in person_references():
        row_ids = _rows_of(reference, remove.id)
        if not row_ids:
            continue
        stuck = _colliding_rows(reference, keep.id, remove.id)
        to_move = [row_id for row_id in row_ids if row_id not in stuck]
        if stuck:
            left[reference.key] = sorted(stuck)
        if to_move:
            _move(reference, to_move, remove.id, keep.id)
            moved[reference.key] = to_move

    remove.merged_into_id = keep.id
    record = PersonMerge(
        kept_person_id=keep.id,
        removed_person_id=remove.id,
        reason=reason,
        merged_at=now,
        merged_by_id=actor.user_id,
        merged_by_name=actor.username,
        moved_rows=moved,
        left_rows=left,
    )
    db.session.add(record)
    db.session.flush()
    audit.record(
        actor,
        now,
        "person_merge",
        record.id,
        "MERGE",
        f"person {remove.id} merged into person {keep.id}; moved {_describe(moved)}; "
        f"left {_describe(left)}; reason: {reason}",
    )
    audit.record(
        actor, now, "person", remove.id, "MERGE", f"merged into person {keep.id} (merge {record.id})"
    )
    audit.record(
        actor, now, "person", keep.id, "MERGE", f"kept; person {remove.id} merged in (merge {record.id})"
    )
    # The moves bypassed the ORM: loaded children, results and cases must be read again.
    db.session.flush()
    db.session.expire_all()
    _tell_participants(MovedRows(moved, remove.id, keep.id, record.id, False, actor, now))
    return record


def undo_merge(merge: PersonMerge, actor: Actor, now: dt.datetime, reason: str) -> PersonMerge:
    """Undo a merge: move back exactly the rows it moved, show the removed person again, audit it."""
    reason = _clean_reason(reason)
    if merge.undone_at is not None:
        raise MergeRefused("already_undone")
    keep, remove = merge.kept_person, merge.removed_person
    _lock(keep, remove)
    # A later merge moved the kept person's rows on; it must be undone first or its rows would scatter.
    if keep.merged_into_id is not None:
        raise MergeRefused("kept_merged_since")

    references = {reference.key: reference for reference in person_references()}
    restored: dict[str, int] = {}
    gone: dict[str, int] = {}
    for key, row_ids in sorted((merge.moved_rows or {}).items()):
        reference = references.get(key)
        count = _move(reference, row_ids, keep.id, remove.id) if reference is not None else 0
        restored[key] = count
        if count != len(row_ids):
            gone[key] = len(row_ids) - count

    remove.merged_into_id = None
    merge.undone_at = now
    merge.undone_by_id = actor.user_id
    merge.undone_by_name = actor.username
    merge.undo_reason = reason
    summary = ", ".join(f"{key} x{count}" for key, count in restored.items()) or "nothing"
    if gone:
        # Rows deleted since the merge cannot come back; say so rather than pretend.
        summary += "; no longer there: " + ", ".join(f"{key} x{count}" for key, count in gone.items())
    audit.record(
        actor,
        now,
        "person_merge",
        merge.id,
        "UNDO",
        f"person {remove.id} separated from person {keep.id}; moved back {summary}; reason: {reason}",
    )
    audit.record(
        actor, now, "person", remove.id, "UNMERGE", f"separated from person {keep.id} (merge {merge.id})"
    )
    audit.record(actor, now, "person", keep.id, "UNMERGE", f"person {remove.id} separated (merge {merge.id})")
    db.session.flush()
    db.session.expire_all()
    back = {key: ids for key, ids in (merge.moved_rows or {}).items() if restored.get(key)}
    _tell_participants(MovedRows(back, keep.id, remove.id, merge.id, True, actor, now))
    return merge


def mark_distinct(
    first: Person, second: Person, actor: Actor, now: dt.datetime, reason: str
) -> DistinctPeople:
    """Record that two suspected duplicates are different people, so they are no longer suggested."""
    reason = _clean_reason(reason)
    if first.id == second.id:
        raise MergeRefused("same_person")
    if first.merged_into_id is not None or second.merged_into_id is not None:
        raise MergeRefused("already_merged")
    low, high = sorted((first.id, second.id))
    existing = db.session.scalar(
        sa.select(DistinctPeople).where(
            DistinctPeople.first_person_id == low, DistinctPeople.second_person_id == high
        )
    )
    if existing is not None:
        return existing
    mark = DistinctPeople(
        first_person_id=low,
        second_person_id=high,
        reason=reason,
        decided_at=now,
        decided_by_id=actor.user_id,
        decided_by_name=actor.username,
    )
    db.session.add(mark)
    db.session.flush()
    audit.record(
        actor,
        now,
        "person_distinct_pair",
        mark.id,
        "CREATE",
        f"persons {low} and {high} are different people",
    )
    return mark
