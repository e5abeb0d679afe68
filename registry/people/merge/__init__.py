"""Suspected duplicate people, and merging two records into one with an audited and exact undo.

A merge moves every row that points at the removed person to the kept one and records the ids it moved, so
that an undo moves back exactly those rows even after new rows were added to the kept person. The rows to
move are found from the schema's foreign keys to `person.id`, so the screening tables (and any added later)
follow the person without the registry importing the screenings package; what only the domain knows
(open cases in common, a moved case's timeline and state) comes from registered merge participants.
"""

from registry.people.merge.duplicates import CHUNK, GROUP_MEMBERS_SHOWN, duplicates_of, suspected_duplicates
from registry.people.merge.history import visible_merge, visible_merges
from registry.people.merge.merging import current_record, mark_distinct, merge_people, undo_merge
from registry.people.merge.models import (
    REASON_ORDER,
    DistinctPeople,
    DuplicateReason,
    MergeRefused,
    PersonMerge,
    SuspectedPair,
)
from registry.people.merge.participants import (
    MERGE_PARTICIPANTS,
    MergeParticipant,
    MovedRows,
    register_merge_participant,
)
from registry.people.merge.references import (
    NOT_MOVED,
    LinkedRows,
    MergePreview,
    PersonReference,
    merge_preview,
    person_references,
)

__all__ = [
    "CHUNK",
    "GROUP_MEMBERS_SHOWN",
    "MERGE_PARTICIPANTS",
    "NOT_MOVED",
    "REASON_ORDER",
    "DistinctPeople",
    "DuplicateReason",
    "LinkedRows",
    "MergeParticipant",
    "MergePreview",
    "MergeRefused",
    "MovedRows",
    "PersonMerge",
    "PersonReference",
    "SuspectedPair",
    "current_record",
    "duplicates_of",
    "mark_distinct",
    "merge_people",
    "merge_preview",
    "person_references",
    "register_merge_participant",
    "suspected_duplicates",
    "undo_merge",
    "visible_merge",
    "visible_merges",
]
