"""The cases' part in a merge of two people: open work in common, and a moved case's timeline and state.

The registry moves the case rows by their foreign key to the person; this participant, registered in
create_app(), writes a NOTE on each moved case's timeline (built by the one writer) and rewrites its
state columns when the kept person's record makes the engine derive something else (a different birth
date moves an age-based deadline).
"""

from __future__ import annotations

import sqlalchemy as sa

from registry.extensions import db
from registry.people.merge import MovedRows
from registry.people.models import Person
from screenings.cases import case_state
from screenings.cases.check import case_drift, load_cases_with_events
from screenings.cases.writer import actor_event_row, apply_state, insert_events
from screenings.engine import CaseStatus, EventKind
from screenings.models import FollowUpCase

CASE_REFERENCE = "follow_up_case.person_id"


class CaseMergeParticipant:
    """Registered with registry.people.merge: follow-up cases follow their person through a merge."""

    def open_work_in_common(self, first: Person, second: Person) -> int:
        """Return in how many programs both people have a case that is not closed."""

        def programs(person: Person) -> set[str]:
            return set(
                db.session.scalars(
                    sa.select(FollowUpCase.program).where(
                        FollowUpCase.person_id == person.id, FollowUpCase.status != CaseStatus.CLOSED
                    )
                )
            )

        return len(programs(first) & programs(second))

    def rows_moved(self, moved: MovedRows) -> None:
        """Note the move on each moved case's timeline and bring its derived state up to date."""
        ids = moved.rows.get(CASE_REFERENCE, [])
        if not ids:
            return
        cases, events = load_cases_with_events(ids)
        cases = [case for case in cases if case.person_id == moved.to_person_id]
        if moved.undo:
            note = f"separated from person {moved.from_person_id} (merge {moved.merge_id} undone)"
        else:
            note = f"person {moved.from_person_id} merged into person {moved.to_person_id}"
            note += f" (merge {moved.merge_id})"
        insert_events(
            [
                actor_event_row(
                    case.id,
                    EventKind.NOTE,
                    moved.now,
                    moved.actor,
                    moved.now,
                    case.rule_version,
                    {
                        "merge_id": moved.merge_id,
                        "from_person": moved.from_person_id,
                        "to_person": moved.to_person_id,
                        "undo": moved.undo,
                    },
                    step=case.current_step,
                    note=note,
                )  # fmt: skip
                for case in cases
            ]
        )
        for case in cases:
            # The state is checked as of when it was written; only a change the new record causes is written.
            if case_drift(case, events[case.id]):
                state = case_state(case, max(case.state_as_of, moved.now), events[case.id])
                apply_state(case, state, events[case.id], max(case.state_as_of, moved.now))


CASE_MERGE_PARTICIPANT = CaseMergeParticipant()
