"""Rows that waited for a person: matched or registered by a user, then recorded; the rejected-rows report."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterator, Sequence

import sqlalchemy as sa

from registry import audit
from registry.audit import Actor
from registry.exports import safe_cell
from registry.extensions import db
from registry.i18n import local_today
from registry.people.idnumbers import scrub_identifiers
from registry.people.models import Person
from screenings.cases import CaseActionRefused
from screenings.engine import FieldError
from screenings.imports import mapping as targets_module
from screenings.imports.mapping import (
    targets_for,
)
from screenings.imports.models import (
    ImportBatch,
    ImportRowIssue,
    UnmatchedRow,
    UnmatchedStatus,
)
from screenings.imports.running import resolve_waiting_row
from screenings.imports.schemas import row_reader
from screenings.programs import get_program
from screenings.results import RecordedResult, ResultRejected, record_result


class AlreadyResolved(ValueError):
    """Someone imported the unmatched row meanwhile."""


def unmatched_identity(row: UnmatchedRow, today: dt.date) -> dict[str, object]:
    """Read a waiting row's values again with today's checks; raise ResultRejected if they fail now.

    They passed every check when the file was imported; a row queued before a check was added (a
    male ID number in a cervical file, say) is refused now with that check's code, never a 500.
    """
    program = get_program(row.batch.program)
    test = program.test(row.batch.test)
    reader = row_reader(
        targets_for(test), set(row.raw_values), today, row.batch.value_map, program.subjects_sex
    )
    values, errors = reader.read(dict(row.raw_values))
    if errors:
        raise ResultRejected(
            FieldError(target, code, code) for target, codes in errors.items() for code in codes
        )
    return values


def import_unmatched_row(row: UnmatchedRow, person: Person, actor: Actor, now: dt.datetime) -> RecordedResult:
    """Import a waiting row for the person a user chose; raises ResultRejected if the result does not fit."""
    if row.status is not UnmatchedStatus.WAITING:
        raise AlreadyResolved(row.id)
    # Claim the row with a write first: a second user's click changes nothing, and on SQLite the
    # transaction is opened before the savepoint below.
    claimed = db.session.execute(
        sa.update(UnmatchedRow)
        .where(UnmatchedRow.id == row.id, UnmatchedRow.status == UnmatchedStatus.WAITING)
        .values(status=UnmatchedStatus.IMPORTED)
    )
    if claimed.rowcount != 1:
        raise AlreadyResolved(row.id)
    batch = row.batch
    values = unmatched_identity(row, local_today(now))
    test_values = {k: v for k, v in values.items() if k not in targets_module.PERSON_TARGET_NAMES}
    with db.session.begin_nested():
        recorded = record_result(
            person, batch.program, batch.test, test_values, batch.institution, actor, now,
            source_system=row.source_system, source_key=row.source_key,
        )  # fmt: skip
    differs = differences(row, person, local_today(now))
    resolve_waiting_row(row, person, recorded, actor.user_id, now)
    audit.record(
        actor, now, "import_unmatched_row", row.id, "MATCH",
        f"row {row.row_number} of import {batch.id} matched to person {person.id}"
        + (f" although the {' and '.join(differs)} differ" if differs else ""),
    )  # fmt: skip
    return recorded


def differences(row: UnmatchedRow, person: Person, today: dt.date) -> list[str]:
    """What the row says that the chosen person's record does not: NAME, BIRTH_ON (warned, not refused).

    A name written with other characters of the same sound (王晓宝/王小宝) differs too: the user chose
    the person, and is told so.
    """
    found = []
    try:
        values = unmatched_identity(row, today)
    except ResultRejected:
        return found  # matching it will say why
    if values.get(targets_module.NAME) and values[targets_module.NAME] != person.name:
        found.append(targets_module.NAME)
    if values.get(targets_module.BIRTH_ON) and values[targets_module.BIRTH_ON] != person.birth_on:
        found.append(targets_module.BIRTH_ON)
    return found


def discard_unmatched_row(row: UnmatchedRow, reason: str, actor: Actor, now: dt.datetime) -> None:
    """Set a waiting row aside for good, with the user's reason (audited); its personal data goes."""
    reason = reason.strip()
    if not reason:
        raise ValueError("a discarded row needs a reason")
    claimed = db.session.execute(
        sa.update(UnmatchedRow)
        .where(UnmatchedRow.id == row.id, UnmatchedRow.status == UnmatchedStatus.WAITING)
        .values(
            status=UnmatchedStatus.DISCARDED,
            discard_reason=reason,
            resolved_at=now,
            resolved_by_id=actor.user_id,
            raw_values={},
        )
        .execution_options(synchronize_session="fetch")
    )
    if claimed.rowcount != 1:
        raise AlreadyResolved(row.id)
    audit.record(
        actor, now, "import_unmatched_row", row.id, "DISCARD",
        f"row {row.row_number} of import {row.batch_id} discarded: {scrub_identifiers(reason)}",
    )  # fmt: skip


def rejection_errors(error: ResultRejected | CaseActionRefused) -> list[FieldError]:
    if isinstance(error, ResultRejected):
        return list(error.errors)
    return [FieldError(None, "CASE_REFUSED", str(error))]


# -- the rejected-rows report -------------------------------------------------------------------------

_cell = safe_cell  # the one formula escaping of every download (registry.exports)


def rejected_rows_csv(
    batch: ImportBatch, header: Sequence[str], word: Callable[[ImportRowIssue], str]
) -> Iterator[str]:
    """Stream the rejected rows as CSV text: UTF-8 with a BOM, so Excel shows the Chinese correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield "\ufeff"
    writer.writerow(header)
    last_id = 0
    while True:
        issues = db.session.scalars(
            sa.select(ImportRowIssue)
            .where(ImportRowIssue.batch_id == batch.id, ImportRowIssue.id > last_id)
            .order_by(ImportRowIssue.id)
            .limit(1000)
        ).all()
        if not issues:
            break
        for issue in issues:
            writer.writerow([_cell(v) for v in (issue.row_number, issue.column_name or "", issue.value or "",
                                                issue.code, word(issue))])  # fmt: skip
        last_id = issues[-1].id
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()
