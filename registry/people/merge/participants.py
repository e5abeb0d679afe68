"""Who takes part in a merge besides the registry: hooks registered from create_app()."""

import dataclasses
import datetime as dt
from typing import Protocol

from registry.audit import Actor
from registry.extensions import db
from registry.people.models import Person

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


def tell_participants(moved: MovedRows) -> None:
    if moved.rows:
        for participant in MERGE_PARTICIPANTS:
            participant.rows_moved(moved)
        db.session.flush()
