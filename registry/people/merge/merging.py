"""Merging two records into one, and its audited and exact undo."""

import datetime as dt

import sqlalchemy as sa

from registry import audit
from registry.audit import Actor
from registry.extensions import db
from registry.people.idnumbers import scrub_identifiers
from registry.people.merge.duplicates import in_chunks
from registry.people.merge.models import DistinctPeople, MergeRefused, PersonMerge
from registry.people.merge.participants import MovedRows, tell_participants
from registry.people.merge.references import (
    PersonReference,
    colliding_rows,
    person_references,
    rows_of,
    version_column,
)
from registry.people.models import Person

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
    version = version_column(reference.table)
    if version is not None:
        values[version.name] = version + 1
    moved = 0
    for chunk in in_chunks(row_ids):
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
        row_ids = rows_of(reference, remove.id)
        if not row_ids:
            continue
        stuck = colliding_rows(reference, keep.id, remove.id)
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
    tell_participants(MovedRows(moved, remove.id, keep.id, record.id, False, actor, now))
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
    tell_participants(MovedRows(back, keep.id, remove.id, merge.id, True, actor, now))
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
