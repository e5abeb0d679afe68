"""The import service: receive a file, confirm its columns, import it chunk by chunk, resolve unmatched rows.

Rows are read as a stream and handled in chunks of CHUNK_ROWS: each chunk is checked in bulk (rows
already stored, rows already waiting, the people they name) and committed as one transaction with
its counts, so a retried job resumes after the last committed row. A chunk's matched rows are
recorded by screenings.results.record_results (one multi-row insert for the rows that touch no
case, record_result for the rest), which classifies, opens or advances cases, audits, and stores a
(source, sample id) once: the same file twice imports nothing the second time. Should the batch
fail, the chunk is recorded row by row, each in a savepoint: a row that fails leaves nothing behind.

Callers pass the actor, the time (or a clock, for a long job) and the storage folder; nothing here
reads the request.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

import sqlalchemy as sa
from marshmallow import ValidationError
from sqlalchemy.exc import IntegrityError

from registry import audit
from registry.audit import Actor
from registry.auth.access import Scope, may_record_results, scope_of
from registry.auth.models import User
from registry.extensions import db
from registry.i18n import local_today
from registry.institutions import Institution
from registry.people.idnumbers import scrub_identifiers
from registry.people.models import Person
from screenings import access
from screenings.cases import CaseActionRefused
from screenings.engine import FieldError, ScreeningTest, parse_values
from screenings.imports import mapping as targets_module
from screenings.imports.mapping import (
    BIRTH_ON,
    BIRTH_ORDER,
    ID_NUMBER,
    MOTHER_ID_NUMBER,
    NAME,
    SAMPLE_ID,
    MappingProblem,
    check_mapping,
    suggest_mapping,
    targets_for,
)
from screenings.imports.matching import Identity, match_people
from screenings.imports.models import (
    BatchStatus,
    ColumnMapping,
    FileFormat,
    ImportBatch,
    ImportRowIssue,
    ImportSource,
    UnmatchedRow,
    UnmatchedStatus,
)
from screenings.imports.parsing import (
    FileInfo,
    FileProblem,
    check_name,
    count_rows,
    inspect_file,
    iter_rows,
    store_upload,
)
from screenings.imports.schemas import row_schema
from screenings.models import ScreeningResult
from screenings.programs import PROGRAMS, get_program
from screenings.results import RecordedResult, ResultInput, ResultRejected, record_result, record_results

CHUNK_ROWS = 500
MAX_BYTES = 50 * 1024 * 1024  # the same as the application's MAX_CONTENT_LENGTH
MAX_ROWS = 200_000
SOURCE_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,39}$")
_VALUE_LENGTH = 200


class SourceCodeTaken(ValueError):
    """Another source already sends under this code."""


class AlreadyResolved(ValueError):
    """Someone imported the unmatched row meanwhile."""


def may_import(user: User) -> bool:
    """Clinic staff and follow-up coordinators import lab files; auditors and administrators do not."""
    return may_record_results(user)


def importable_tests(user: User) -> list[tuple[str, str]]:
    """(program, test) pairs this user may import; restricted programs only for those who work on them."""
    return [
        (code, test.code)
        for code, program in PROGRAMS.items()
        if access.may_see_program(user, code)
        for test in program.tests
    ]


def may_see_program(user: User, program_code: str) -> bool:
    """The access policy's answer, here because the import's views and forms ask it by this name."""
    return access.may_see_program(user, program_code)


# -- sources and files --------------------------------------------------------------------------------


def create_source(name: str, code: str, institution_id: int, actor: Actor, now: dt.datetime) -> ImportSource:
    """Add a sending system; its code becomes the source of every result it sends, so it must be new."""
    code = code.strip()
    if db.session.scalar(sa.select(ImportSource.id).where(sa.func.lower(ImportSource.code) == code.lower())):
        raise SourceCodeTaken(code)
    source = ImportSource(
        code=code,
        name=name.strip(),
        institution_id=institution_id,
        created_at=now,
        created_by_id=actor.user_id,
    )
    db.session.add(source)
    db.session.flush()
    audit.record(actor, now, "import_source", source.id, "CREATE", f"source {code}")
    return source


def receive_file(
    stream: BinaryIO,
    filename: str,
    source: ImportSource,
    program_code: str,
    test_code: str,
    user: User,
    actor: Actor,
    now: dt.datetime,
    storage: Path,
    max_bytes: int = MAX_BYTES,
    max_rows: int = MAX_ROWS,
) -> ImportBatch:
    """Store an upload under `storage`, read it once to check it, and open a batch waiting for its mapping.

    Raises FileProblem (nothing is kept) when the file is not a table this import can read.
    """
    get_program(program_code).test(test_code)
    check_name(filename)  # before anything is written to disk
    stored_name = f"{uuid.uuid4().hex}{Path(filename).suffix.lower()}"
    path = storage / stored_name
    try:
        sha256, size = store_upload(stream, path, max_bytes)
        info = inspect_file(path, filename, sha256, size, max_rows)
    except FileProblem:
        path.unlink(missing_ok=True)
        raise
    batch = ImportBatch(
        source_id=source.id,
        program=program_code,
        test=test_code,
        institution_id=user.institution_id,
        created_by_id=user.id,
        created_at=now,
        original_filename=Path(filename).name[-200:],
        stored_name=stored_name,
        file_format=info.format,
        file_size=info.size,
        file_sha256=info.sha256,
        encoding=info.encoding,
        delimiter=info.delimiter,
        header_row=info.header_row,
        headers=list(info.headers),
        total_rows=info.data_rows,
        status=BatchStatus.MAPPING,
    )
    db.session.add(batch)
    db.session.flush()
    audit.record(
        actor, now, "import_batch", batch.id, "UPLOAD",
        f"{info.format} file, {size} bytes, {info.data_rows} rows, sha256 {sha256[:16]}",
    )  # fmt: skip
    return batch


def file_info(batch: ImportBatch) -> FileInfo:
    return FileInfo(
        batch.file_format,
        batch.encoding,
        batch.delimiter,
        batch.header_row,
        tuple(batch.headers),
        batch.total_rows,
        batch.file_sha256,
        batch.file_size,
    )


def earlier_upload(batch: ImportBatch) -> ImportBatch | None:
    """Return an earlier finished import of the very same file from the same source, if there is one."""
    return db.session.scalar(
        sa.select(ImportBatch)
        .where(
            ImportBatch.file_sha256 == batch.file_sha256,
            ImportBatch.source_id == batch.source_id,
            ImportBatch.id != batch.id,
            ImportBatch.status == BatchStatus.DONE,
        )
        .order_by(ImportBatch.id.desc())
        .limit(1)
    )


def test_of(batch: ImportBatch) -> ScreeningTest:
    return get_program(batch.program).test(batch.test)


def initial_mapping(batch: ImportBatch) -> dict[str, str]:
    """The mapping to offer: the one saved for this source and test, else a guess from the headers."""
    headers = set(batch.headers)
    saved = db.session.scalar(
        sa.select(ColumnMapping).where(
            ColumnMapping.source_id == batch.source_id,
            ColumnMapping.program == batch.program,
            ColumnMapping.test == batch.test,
        )
    )
    guessed = suggest_mapping(batch.headers, targets_for(test_of(batch)))
    if saved is None:
        return guessed
    kept = {target: column for target, column in saved.columns.items() if column in headers}
    return {**{t: c for t, c in guessed.items() if c not in kept.values()}, **kept}


def confirm_mapping(
    batch: ImportBatch, columns: dict[str, str], save: bool, actor: Actor, now: dt.datetime
) -> list[MappingProblem]:
    """Check the chosen columns; when they can import, keep them on the batch (and the source), queued."""
    if batch.status is not BatchStatus.MAPPING:
        raise ValueError(f"batch {batch.id} is {batch.status}, not waiting for its mapping")
    columns = {target: column for target, column in columns.items() if column}
    problems = check_mapping(columns, batch.headers, targets_for(test_of(batch)))
    if problems:
        return problems
    batch.columns = columns
    batch.status = BatchStatus.QUEUED
    if save:
        saved = db.session.scalar(
            sa.select(ColumnMapping).where(
                ColumnMapping.source_id == batch.source_id,
                ColumnMapping.program == batch.program,
                ColumnMapping.test == batch.test,
            )
        )
        if saved is None:
            saved = ColumnMapping(source_id=batch.source_id, program=batch.program, test=batch.test)
            db.session.add(saved)
        saved.columns = dict(columns)
        saved.updated_at = now
        saved.updated_by_id = actor.user_id
    audit.record(actor, now, "import_batch", batch.id, "MAP", f"{len(columns)} columns mapped")
    return []


# -- the import ---------------------------------------------------------------------------------------


@dataclasses.dataclass
class _Run:
    """What every chunk of one import needs, worked out once."""

    batch: ImportBatch
    actor: Actor
    scope: Scope
    now: dt.datetime
    test: ScreeningTest
    positions: dict[str, int]
    schema: object
    person_targets: frozenset[str]
    through_row: int  # the last row committed, as this run knows it


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
        schema=row_schema(targets, set(positions), local_today(now)),
        person_targets=targets_module.PERSON_TARGET_NAMES,
        through_row=batch.processed_through_row,
    )


def _masked(text: str | None) -> str | None:
    return scrub_identifiers(text)[:_VALUE_LENGTH] if text else None


def _read_row(run: _Run, number: int, cells: list[str]) -> _Row:
    """Turn a row's cells into typed values, collecting every problem of every cell."""
    text = {target: (cells[i] if i < len(cells) else "") for target, i in run.positions.items()}
    row = _Row(number, text)
    try:
        row.values = run.schema.load(text)
    except ValidationError as error:
        row.values = error.valid_data or {}
        for target, codes in error.messages.items():
            for code in codes if isinstance(codes, list) else [str(codes)]:
                row.issues.append((target, str(code), None))
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
    # A write first, for two reasons. On SQLite it makes the driver open the transaction with BEGIN,
    # so the row savepoints below nest inside it (a SAVEPOINT opened first would commit on its
    # RELEASE). And it claims the chunk: if another run of this batch (a job delivered twice) has
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
            _resolve(earlier, person, outcome, run.actor.user_id, run.now)
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
                ScreeningResult.source_system == source, ScreeningResult.source_key.in_(sorted(keys))
            )
        )
    )


def _record_all(
    run: _Run, matched: list[tuple[_Row, Person, UnmatchedRow | None]], institution: Institution, source: str
) -> list[RecordedResult | ResultRejected | CaseActionRefused]:
    """Record a chunk's matched rows in one batch; should the batch fail, row by row, each in a savepoint."""
    if not matched:
        return []
    inputs = [ResultInput(person, _test_values(run, row), row.key) for row, person, _ in matched]
    try:
        with db.session.begin_nested():
            return record_results(
                run.batch.program,
                run.batch.test,
                inputs,
                institution,
                run.actor,
                run.now,
                source_system=source,
            )
    except (IntegrityError, CaseActionRefused):
        pass  # e.g. another upload stored some of these keys meanwhile: the slow, row-by-row way
    outcomes: list[RecordedResult | ResultRejected | CaseActionRefused] = []
    for row, person, _ in matched:
        try:
            outcomes.append(_record(run, row, person, institution, source))
        except (ResultRejected, CaseActionRefused) as error:
            outcomes.append(error)
    return outcomes


def _test_values(run: _Run, row: _Row) -> dict[str, object]:
    return {k: v for k, v in row.values.items() if k not in run.person_targets}


def _record(run: _Run, row: _Row, person: Person, institution: Institution, source: str) -> RecordedResult:
    """Record one row in a savepoint, so that a row that fails halfway leaves nothing."""
    with db.session.begin_nested():
        return record_result(
            person, run.batch.program, run.batch.test, _test_values(run, row), institution, run.actor,
            run.now, source_system=source, source_key=row.key,
        )  # fmt: skip


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


def _resolve(
    row: UnmatchedRow, person: Person, recorded: RecordedResult, user_id: int | None, now: dt.datetime
) -> None:
    row.status = UnmatchedStatus.IMPORTED
    row.person_id = person.id
    row.result_id = recorded.result.id
    row.resolved_at = now
    row.resolved_by_id = user_id
    row.raw_values = {}  # the personal data it carried now lives in the registry proper


# -- the unmatched queue ------------------------------------------------------------------------------


def unmatched_identity(row: UnmatchedRow, today: dt.date) -> dict[str, object]:
    """Read a waiting row's values again (they passed every check when the file was imported)."""
    test = get_program(row.batch.program).test(row.batch.test)
    schema = row_schema(targets_for(test), set(row.raw_values), today)
    return schema.load(dict(row.raw_values))


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
    _resolve(row, person, recorded, actor.user_id, now)
    audit.record(
        actor, now, "import_unmatched_row", row.id, "MATCH",
        f"row {row.row_number} of import {batch.id} matched to person {person.id}",
    )  # fmt: skip
    return recorded


def rejection_errors(error: ResultRejected | CaseActionRefused) -> list[FieldError]:
    if isinstance(error, ResultRejected):
        return list(error.errors)
    return [FieldError(None, "CASE_REFUSED", str(error))]


# -- the rejected-rows report -------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    """Make a cell safe for Excel: a leading = + - @ would run as a formula (ASVS 1.2.10)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


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
