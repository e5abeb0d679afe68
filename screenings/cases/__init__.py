"""Follow-up cases: opening them, moving them, the one writer of their events and state, and the replay.

Import from here: `screenings.cases.actions`, `.openings`, `.replay`, `.subjects`, `.writer` and `.check`
are the parts. (`screenings.cases.merging` and `.cli` are wired from create_app and not re-exported.)
"""

from screenings.cases.actions import (
    add_note,
    answer_transfer,
    close_case,
    escalate_case,
    log_contact_attempt,
    record_step,
    reopen_case,
    transfer_case,
    withdraw_transfer,
)
from screenings.cases.errors import CaseActionRefused, CaseConflict
from screenings.cases.openings import (
    connect_registry_signals,
    open_case_for,
    open_cases_for_newborn,
    open_exposed_infant,
    open_missed_screening,
    step_test_of,
)
from screenings.cases.replay import (
    case_events,
    case_state,
    case_subject,
    event_fact,
    opened_case_of,
    refresh_case_state,
)
from screenings.cases.subjects import person_kinds_screened, screens, subject_kind_for, subject_of
from screenings.cases.writer import apply_state, responsible_institution_after, risk_rank

__all__ = [
    "CaseActionRefused",
    "CaseConflict",
    "add_note",
    "answer_transfer",
    "apply_state",
    "case_events",
    "case_state",
    "case_subject",
    "close_case",
    "connect_registry_signals",
    "escalate_case",
    "event_fact",
    "log_contact_attempt",
    "open_case_for",
    "open_cases_for_newborn",
    "open_exposed_infant",
    "open_missed_screening",
    "opened_case_of",
    "person_kinds_screened",
    "record_step",
    "refresh_case_state",
    "reopen_case",
    "responsible_institution_after",
    "risk_rank",
    "step_test_of",
    "screens",
    "subject_kind_for",
    "subject_of",
    "transfer_case",
    "withdraw_transfer",
]
