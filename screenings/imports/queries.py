"""What the import screens read: batches, sources, issues and waiting rows within a user's scope.

The views ask these questions and render the answers; none of them builds a query of its own. A record outside
the user's scope or programs is answered as absent (None), so that the edge gives one 404 for both.
"""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager, joinedload

from registry.auth.access import Scope
from registry.auth.models import User
from registry.extensions import db
from registry.job_records import JobRecord
from screenings.imports.models import ImportBatch, ImportRowIssue, ImportSource, UnmatchedRow, UnmatchedStatus
from screenings.imports.service import may_see_program
from screenings.programs import PROGRAMS


def _hidden_programs(user: User) -> list[str]:
    return [code for code in PROGRAMS if not may_see_program(user, code)]


def visible_batch(batch_id: int, user: User, scope: Scope) -> ImportBatch | None:
    batch = db.session.get(ImportBatch, batch_id)
    if batch is None or not scope.allows(batch.institution_id) or not may_see_program(user, batch.program):
        return None
    return batch


def visible_unmatched_row(row_id: int, user: User, scope: Scope) -> UnmatchedRow | None:
    row = db.session.get(UnmatchedRow, row_id)
    if row is None or not scope.allows(row.institution_id) or not may_see_program(user, row.batch.program):
        return None
    return row


def sources_in(scope: Scope) -> list[ImportSource]:
    return list(
        db.session.scalars(
            sa.select(ImportSource)
            .where(scope.filter(ImportSource.institution_id))
            .order_by(ImportSource.name)
        )
    )


def recent_batches(user: User, scope: Scope, limit: int = 100) -> list[ImportBatch]:
    return list(
        db.session.scalars(
            sa.select(ImportBatch)
            .where(
                scope.filter(ImportBatch.institution_id), ImportBatch.program.not_in(_hidden_programs(user))
            )
            .options(joinedload(ImportBatch.source))  # each row names its source: no query per row
            .order_by(ImportBatch.created_at.desc(), ImportBatch.id.desc())
            .limit(limit)
        )
    )


def waiting_row_count(scope: Scope) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(UnmatchedRow)
        .where(scope.filter(UnmatchedRow.institution_id), UnmatchedRow.status == UnmatchedStatus.WAITING)
    )


def waiting_rows_page(user: User, scope: Scope, after: int, size: int) -> tuple[list[UnmatchedRow], bool]:
    """One page of waiting rows after the id `after`, and whether another page follows."""
    rows = db.session.scalars(
        sa.select(UnmatchedRow)
        .join(ImportBatch, ImportBatch.id == UnmatchedRow.batch_id)
        .where(
            scope.filter(UnmatchedRow.institution_id),
            UnmatchedRow.status == UnmatchedStatus.WAITING,
            UnmatchedRow.id > after,
            ImportBatch.program.not_in(_hidden_programs(user)),
        )
        .options(contains_eager(UnmatchedRow.batch))  # each row names its file: no query per row
        .order_by(UnmatchedRow.id)
        .limit(size + 1)
    ).all()
    return list(rows[:size]), len(rows) > size


# Problems of a value rather than of a row: reported once per distinct value, with its count.
VALUE_CODES = ("UNKNOWN_CHOICE", "VALUE_REFUSED")


def first_issues(batch: ImportBatch, limit: int) -> list[ImportRowIssue]:
    """The batch's first row problems, leaving out those told once per value (value_problems)."""
    return list(
        db.session.scalars(
            sa.select(ImportRowIssue)
            .where(ImportRowIssue.batch_id == batch.id, ImportRowIssue.code.not_in(VALUE_CODES))
            .order_by(ImportRowIssue.row_number, ImportRowIssue.id)
            .limit(limit)
        )
    )


@dataclasses.dataclass(frozen=True)
class ValueProblem:
    """One distinct value that no code was found for (or that was refused), over all its rows."""

    target: str | None
    column_name: str | None
    code: str
    value: str | None
    rows: int
    first_rows: tuple[int, ...]


def value_problems(batch: ImportBatch, limit: int = 50, first: int = 3) -> list[ValueProblem]:
    """Each unmapped or refused value of the batch once, most frequent first, with its first rows."""
    issue = ImportRowIssue
    count = sa.func.count()
    groups = db.session.execute(
        sa.select(issue.target, issue.column_name, issue.code, issue.value, count, sa.func.min(issue.id))
        .where(issue.batch_id == batch.id, issue.code.in_(VALUE_CODES))
        .group_by(issue.target, issue.column_name, issue.code, issue.value)
        .order_by(count.desc(), sa.func.min(issue.id))
        .limit(limit)
    ).all()
    problems = []
    for target, column_name, code, value, rows_with_it, _first_id in groups:
        rows = db.session.scalars(
            sa.select(issue.row_number)
            .where(
                issue.batch_id == batch.id,
                issue.code == code,
                issue.target.is_(None) if target is None else issue.target == target,
                issue.value.is_(None) if value is None else issue.value == value,
            )
            .order_by(issue.row_number)
            .limit(first)
        ).all()
        problems.append(ValueProblem(target, column_name, code, value, rows_with_it, tuple(rows)))
    return problems


def job_of(batch: ImportBatch) -> JobRecord | None:
    return db.session.get(JobRecord, batch.job_record_id) if batch.job_record_id else None


def attach_job(batch_id: int, record: JobRecord) -> ImportBatch:
    """Link the batch to the job that runs it (read afresh: starting the job committed the session)."""
    batch = db.session.get(ImportBatch, batch_id)
    batch.job_record_id = record.id
    return batch
