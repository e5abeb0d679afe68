"""Running an import: rows streamed from the stored file in chunks, each validated, matched and recorded.

Rows are read as a stream and handled in chunks of CHUNK_ROWS: each chunk is checked in bulk (rows
already stored, rows already waiting, the people they name) and committed as one transaction with
its counts, so a retried job resumes after the last committed row. A chunk's matched rows are
recorded by screenings.results.record_results, which classifies, opens or advances cases, audits, and
stores a (source, sample id) once: the same file twice imports nothing the second time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path

import sqlalchemy as sa

from registry import audit
from registry.audit import Actor
from registry.auth.access import Scope, scope_of
from registry.db import among
from registry.extensions import db
from registry.i18n import local_today
from registry.institutions import Institution
from registry.people.idnumbers import scrub_identifiers
from registry.people.models import Person
from screenings.cases import CaseActionRefused
from screenings.engine import ScreeningTest, parse_values
from screenings.imports import mapping as targets_module
from screenings.imports.mapping import (
    BIRTH_ON,
    BIRTH_ORDER,
    ID_NUMBER,
    MOTHER_ID_NUMBER,
    NAME,
    SAMPLE_ID,
    targets_for,
)
from screenings.imports.matching import Identity, match_people
from screenings.imports.models import (
    BatchStatus,
    FileFormat,
    ImportBatch,
    ImportRowIssue,
    UnmatchedRow,
    UnmatchedStatus,
)
from screenings.imports.parsing import (
    FileProblem,
    count_rows,
    iter_rows,
)
from screenings.imports.schemas import RowReader, row_reader
from screenings.imports.service import MAX_ROWS, file_info, test_of
from screenings.models import ScreeningResult
from screenings.programs import get_program
from screenings.results import RecordedResult, ResultInput, ResultRejected, record_results

CHUNK_ROWS = 500
_VALUE_LENGTH = 200


@dataclasses.dataclass
class _Run:
    """What every chunk of one import needs, worked out once."""

    batch: ImportBatch
    actor: Actor
    scope: Scope
    now: dt.datetime
    test: ScreeningTest
    positions: dict[str, int]
    reader: RowReader
    person_targets: frozenset[str]
    through_row: int  # the last row committed, as this run knows it
    all_or_nothing: bool = False  # one transaction for the whole file, rolled back on any problem


class _TakenOver(RuntimeError):
    """Another run of the same batch committed a chunk first (a duplicate job delivery)."""


@dataclasses.dataclass
class _Row:
    number: int
    text: dict[str, str]
    values: dict[str, object] = dataclasses.field(default_factory=dict)
    issues: list[tuple[str | None, str, str | None]] = dataclasses.field(default_factory=list)

    @property
    def key(self) -> str:
        return str(self.values[SAMPLE_ID])

    def identity(self) -> Identity:
        return Identity(
            id_number=self.values.get(ID_NUMBER),
            name=self.values.get(NAME),
            birth_on=self.values.get(BIRTH_ON),
            mother_id_number=self.values.get(MOTHER_ID_NUMBER),
            birth_order=self.values.get(BIRTH_ORDER),
        )


def run_import(
    batch_id: int,
    clock: Callable[[], dt.datetime],
    storage: Path,
    progress: Callable[[int, int | None], None] | None = None,
) -> ImportBatch | None:
    """Import a queued batch's file, or resume one whose job stopped; a finished batch is left alone.

    `clock` gives the time: results and audit rows carry the moment the import started, the batch
    its real finishing time. `progress(done, total)` is called after each committed chunk.
    """
    batch = db.session.get(ImportBatch, batch_id)
    if batch is None or batch.finished:
        return batch
    if batch.status is BatchStatus.MAPPING:
        raise ValueError(f"batch {batch_id} has no confirmed mapping yet")
    now = clock()
    run = _prepare(batch, now)
    batch.status = BatchStatus.RUNNING
    batch.started_at = batch.started_at or now
    db.session.commit()
    path = storage / batch.stored_name
    try:
        if batch.processed_through_row == 0 and batch.file_format is FileFormat.XLSX:
            # A sheet's stated size can lie (CSV rows were counted on upload): count before recording
            # anything, so that a file past the row limit fails with nothing written.
            batch.total_rows = count_rows(path, file_info(batch), MAX_ROWS)
            db.session.commit()
        chunk: list[tuple[int, list[str]]] = []
        for number, cells in iter_rows(path, file_info(batch), after_row=batch.processed_through_row):
            chunk.append((number, cells))
            if len(chunk) >= CHUNK_ROWS:
                _import_chunk(run, chunk, progress)
                chunk = []
        if chunk:
            _import_chunk(run, chunk, progress)
    except _TakenOver:
        return db.session.get(ImportBatch, batch_id)
    except (FileProblem, FileNotFoundError) as problem:
        db.session.rollback()
        batch = db.session.get(ImportBatch, batch_id)
        batch.status = BatchStatus.FAILED
        batch.error_code = getattr(problem, "code", "FILE_MISSING")
        batch.finished_at = clock()
        audit.record(run.actor, now, "import_batch", batch.id, "IMPORT_FAILED", batch.error_code)
        db.session.commit()
        path.unlink(missing_ok=True)
        return batch
    batch = db.session.get(ImportBatch, batch_id)
    if batch.all_or_nothing and batch.rejected_count:
        return _refuse_whole_file(run, batch, clock(), path)
    batch.status = BatchStatus.DONE
    batch.finished_at = clock()
    audit.record(
        run.actor, now, "import_batch", batch.id, "IMPORT",
        f"{batch.processed_rows} rows: {batch.imported_count} imported, {batch.skipped_count} skipped, "
        f"{batch.rejected_count} rejected, {batch.unmatched_count} unmatched, "
        f"{batch.cases_opened_count} cases opened",
    )  # fmt: skip
    db.session.commit()
    # The file holds personal data; once every row is in the registry, the report or the queue, it goes.
    path.unlink(missing_ok=True)
    return batch


def _refuse_whole_file(run: _Run, batch: ImportBatch, finished_at: dt.datetime, path: Path) -> ImportBatch:
    """An all-or-nothing import with a problem row: roll every row back and keep only the report."""
    issue_columns = [c.key for c in ImportRowIssue.__table__.columns if c.key != "id"]
    issues = [
        {key: getattr(issue, key) for key in issue_columns}
        for issue in db.session.scalars(sa.select(ImportRowIssue).where(ImportRowIssue.batch_id == batch.id))
    ]
    counts = {"processed_rows": batch.processed_rows, "rejected_count": batch.rejected_count}
    db.session.rollback()
    batch = db.session.get(ImportBatch, batch.id)
    batch.status = BatchStatus.FAILED
    batch.error_code = "NOT_ALL_VALID"
    batch.processed_rows = counts["processed_rows"]
    batch.rejected_count = counts["rejected_count"]
    batch.finished_at = finished_at
    db.session.add_all(ImportRowIssue(**issue) for issue in issues)
    audit.record(
        run.actor, run.now, "import_batch", batch.id, "IMPORT_REFUSED",
        f"all or nothing: {batch.rejected_count} of {batch.processed_rows} rows have problems; none recorded",
    )  # fmt: skip
    db.session.commit()
    path.unlink(missing_ok=True)
    return batch


def _prepare(batch: ImportBatch, now: dt.datetime) -> _Run:
    user = batch.created_by
    test = test_of(batch)
    targets = targets_for(test)
    index = {header: i for i, header in enumerate(batch.headers)}
    positions = {target: index[column] for target, column in batch.columns.items() if column in index}
    return _Run(
        batch=batch,
        # The job acts for the user who uploaded the file; the request id ties its audit rows to the batch.
        actor=Actor(user.id, user.username, request_id=f"import-{batch.id}"),
        scope=scope_of(user),
        now=now,
        test=test,
        positions=positions,
        reader=row_reader(
            targets,
            set(positions),
            local_today(now),
            batch.value_map,
            get_program(batch.program).subjects_sex,
        ),
        person_targets=targets_module.PERSON_TARGET_NAMES,
        through_row=batch.processed_through_row,
        all_or_nothing=batch.all_or_nothing,
    )


def _masked(text: str | None) -> str | None:
    return scrub_identifiers(text)[:_VALUE_LENGTH] if text else None


def _read_row(run: _Run, number: int, cells: list[str]) -> _Row:
    """Turn a row's cells into typed values, collecting every problem of every cell."""
    text = {target: (cells[i] if i < len(cells) else "") for target, i in run.positions.items()}
    row = _Row(number, text)
    row.values, errors = run.reader.read(text)
    for target, codes in errors.items():
        row.issues.extend((target, code, None) for code in codes)
    if row.issues:
        _add_engine_issues(run, row)
    elif not row.identity().usable:
        row.issues.append((None, "NO_PERSON", None))
    return row


def _add_engine_issues(run: _Run, row: _Row) -> None:
    """Add what the engine finds wrong (ranges, required fields) to a row's problems.

    record_result checks this itself for rows it records; a row that is rejected for its cells
    anyway, or that goes to the unmatched queue, is checked here, so its report is complete and
    only valid rows wait.
    """
    test_values = {k: v for k, v in row.values.items() if k not in run.person_targets}
    failed = {target for target, _, _ in row.issues}
    _, engine_errors = parse_values(run.test, test_values)
    row.issues.extend((e.field, e.code, e.message) for e in engine_errors if e.field not in failed)


def _issue(run: _Run, row: _Row, target: str | None, code: str, detail: str | None) -> ImportRowIssue:
    column = run.batch.columns.get(target) if target else None
    return ImportRowIssue(
        batch_id=run.batch.id,
        row_number=row.number,
        column_name=column,
        target=target,
        code=code[:40],
        value=_masked(row.text.get(target)) if target else None,
        detail=scrub_identifiers(detail) if detail else None,
    )


def _import_chunk(
    run: _Run, cells: Sequence[tuple[int, list[str]]], progress: Callable[[int, int | None], None] | None
) -> None:
    batch_id = run.batch.id
    source = run.batch.source.code
    institution = run.batch.institution
    # A write first: it claims the chunk. If another run of this batch (a job delivered twice) has
    # committed past where this run stands, nothing matches and this run stops.
    claimed = db.session.execute(
        sa.update(ImportBatch)
        .where(ImportBatch.id == batch_id, ImportBatch.processed_through_row == run.through_row)
        .values(status=BatchStatus.RUNNING)
    )
    if claimed.rowcount != 1:
        db.session.rollback()
        raise _TakenOver(batch_id)
    filled = [(number, row_cells) for number, row_cells in cells if any(row_cells)]
    processed = len(filled)
    # Rows stored before are found by their sample id alone and skipped before any other work: the
    # same file again costs one indexed look-up per chunk, not a validation per row.
    key_at = run.positions[SAMPLE_ID]
    raw_keys = {c[key_at].strip() for _, c in filled if key_at < len(c) and c[key_at].strip()}
    stored = _stored_keys(source, raw_keys)
    skipped_before = 0
    rows = []
    for number, row_cells in filled:
        if key_at < len(row_cells) and row_cells[key_at].strip() in stored:
            skipped_before += 1
        else:
            rows.append(_read_row(run, number, row_cells))
    valid = [row for row in rows if not row.issues]
    keys = sorted({row.key for row in valid})
    waiting: dict[str, UnmatchedRow] = {}
    if keys:
        waiting = {
            row.source_key: row
            for row in db.session.scalars(
                sa.select(UnmatchedRow).where(
                    UnmatchedRow.source_system == source, UnmatchedRow.source_key.in_(keys)
                )
            )
        }
    to_match = valid
    found = match_people([r.identity() for r in to_match], run.scope)
    matches = {id(r): match for r, match in zip(to_match, found, strict=True)}

    counts = {"imported": 0, "skipped": skipped_before, "rejected": 0, "unmatched": 0, "cases": 0}
    issues: list[ImportRowIssue] = []
    matched: list[tuple[_Row, Person, UnmatchedRow | None]] = []
    seen: set[str] = set()
    for row in rows:
        if row.issues:
            issues.extend(_issue(run, row, target, code, detail) for target, code, detail in row.issues)
            counts["rejected"] += 1
            continue
        key = row.key
        if key in seen:
            counts["skipped"] += 1
            continue
        seen.add(key)
        match = matches[id(row)]
        earlier = waiting.get(key)
        if match.person is None:
            if earlier is not None:
                counts["skipped"] += 1  # it already waits in the unmatched queue
                continue
            _add_engine_issues(run, row)
            if row.issues:
                issues.extend(_issue(run, row, target, code, detail) for target, code, detail in row.issues)
                counts["rejected"] += 1
                continue
            if run.all_or_nothing:
                # Nothing of the file will be recorded, so nothing waits in the queue: it is one more problem.
                issues.append(_issue(run, row, None, "UNMATCHED", match.reason or "NOT_FOUND"))
                counts["rejected"] += 1
                continue
            db.session.add(_unmatched(run, row, source, match.reason or "NOT_FOUND"))
            counts["unmatched"] += 1
            continue
        matched.append((row, match.person, earlier))
    for (row, person, earlier), outcome in zip(
        matched, _record_all(run, matched, institution, source), strict=True
    ):
        if isinstance(outcome, ResultRejected):
            issues.extend(_issue(run, row, e.field, e.code, e.message) for e in outcome.errors)
            counts["rejected"] += 1
            continue
        if isinstance(outcome, CaseActionRefused):
            issues.append(_issue(run, row, None, "CASE_REFUSED", str(outcome)))
            counts["rejected"] += 1
            continue
        if outcome.created:
            counts["imported"] += 1
            counts["cases"] += int(outcome.case_opened)
        else:
            counts["skipped"] += 1
        if earlier is not None and earlier.status is UnmatchedStatus.WAITING:
            # Registered since the first upload: this upload imports it and the queue lets it go.
            resolve_waiting_row(earlier, person, outcome, run.actor.user_id, run.now)
    db.session.add_all(issues)
    db.session.execute(
        sa.update(ImportBatch)
        .where(ImportBatch.id == batch_id)
        .values(
            processed_through_row=cells[-1][0],
            processed_rows=ImportBatch.processed_rows + processed,
            imported_count=ImportBatch.imported_count + counts["imported"],
            skipped_count=ImportBatch.skipped_count + counts["skipped"],
            rejected_count=ImportBatch.rejected_count + counts["rejected"],
            unmatched_count=ImportBatch.unmatched_count + counts["unmatched"],
            cases_opened_count=ImportBatch.cases_opened_count + counts["cases"],
        )
    )
    if run.all_or_nothing:
        db.session.flush()  # the file's one transaction goes on; run_import commits or rolls it back
    else:
        db.session.commit()
    run.through_row = cells[-1][0]
    if progress is not None:
        batch = db.session.get(ImportBatch, batch_id)
        progress(batch.processed_rows, batch.total_rows)


def _stored_keys(source: str, keys: set[str]) -> set[str]:
    if not keys:
        return set()
    return set(
        db.session.scalars(
            sa.select(ScreeningResult.source_key).where(
                ScreeningResult.source_system == source,
                among(ScreeningResult.source_key, sorted(keys), db.session.get_bind().dialect.name),
            )
        )
    )


def _record_all(
    run: _Run, matched: list[tuple[_Row, Person, UnmatchedRow | None]], institution: Institution, source: str
) -> list[RecordedResult | ResultRejected | CaseActionRefused]:
    """Record a chunk's matched rows as one chunk of results: no savepoint, a bad row leaves nothing."""
    if not matched:
        return []
    inputs = [ResultInput(person, _test_values(run, row), row.key) for row, person, _ in matched]
    return record_results(
        run.batch.program, run.batch.test, inputs, institution, run.actor, run.now, source_system=source
    )


def _test_values(run: _Run, row: _Row) -> dict[str, object]:
    return {k: v for k, v in row.values.items() if k not in run.person_targets}


def _unmatched(run: _Run, row: _Row, source: str, reason: str) -> UnmatchedRow:
    return UnmatchedRow(
        batch_id=run.batch.id,
        institution_id=run.batch.institution_id,
        row_number=row.number,
        source_system=source,
        source_key=row.key,
        raw_values={target: text for target, text in row.text.items() if text},
        reason=reason,
        status=UnmatchedStatus.WAITING,
    )


def resolve_waiting_row(
    row: UnmatchedRow, person: Person, recorded: RecordedResult, user_id: int | None, now: dt.datetime
) -> None:
    """Mark a waiting row imported for `person`, with the result it became."""
    row.status = UnmatchedStatus.IMPORTED
    row.person_id = person.id
    row.result_id = recorded.result_id
    row.resolved_at = now
    row.resolved_by_id = user_id
    row.raw_values = {}  # the personal data it carried now lives in the registry proper


# -- the unmatched queue ------------------------------------------------------------------------------
