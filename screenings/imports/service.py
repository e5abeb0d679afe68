"""Receiving an import: the sources, the stored file checked once, and the confirmed column mapping.

Running the import is screenings.imports.running; rows waiting for a person, screenings.imports.unmatched.

Callers pass the actor, the time (or a clock, for a long job) and the storage folder; nothing here
reads the request.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from pathlib import Path
from typing import BinaryIO

import sqlalchemy as sa

from registry import audit
from registry.audit import Actor
from registry.auth.access import may_record_results
from registry.auth.models import User
from registry.extensions import db
from screenings import access
from screenings.engine import ScreeningTest
from screenings.imports.mapping import (
    MappingProblem,
    check_mapping,
    suggest_mapping,
    targets_for,
)
from screenings.imports.models import (
    BatchStatus,
    ColumnMapping,
    ImportBatch,
    ImportSource,
)
from screenings.imports.parsing import (
    FileInfo,
    FileProblem,
    check_name,
    inspect_file,
    iter_rows,
    store_upload,
)
from screenings.imports.values import SURVEY_ROWS, ColumnValues, merged, survey
from screenings.programs import PROGRAMS, get_program

CHUNK_ROWS = 500
MAX_BYTES = 50 * 1024 * 1024  # the same as the application's MAX_CONTENT_LENGTH
MAX_ROWS = 200_000
SOURCE_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,39}$")
_VALUE_LENGTH = 200


class SourceCodeTaken(ValueError):
    """Another source already sends under this code."""


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


def _saved_mapping(batch: ImportBatch) -> ColumnMapping | None:
    return db.session.scalar(
        sa.select(ColumnMapping).where(
            ColumnMapping.source_id == batch.source_id,
            ColumnMapping.program == batch.program,
            ColumnMapping.test == batch.test,
        )
    )


def initial_mapping(batch: ImportBatch) -> dict[str, str]:
    """The mapping to offer: the one saved for this source and test, else a guess from the headers."""
    headers = set(batch.headers)
    saved = _saved_mapping(batch)
    guessed = suggest_mapping(batch.headers, targets_for(test_of(batch)))
    if saved is None:
        return guessed
    kept = {target: column for target, column in saved.columns.items() if column in headers}
    return {**{t: c for t, c in guessed.items() if c not in kept.values()}, **kept}


def value_survey(batch: ImportBatch, columns: dict[str, str], storage: Path) -> list[ColumnValues]:
    """The distinct values of each mapped choice column in the file's first rows, each with its proposal.

    Proposals start from what the user confirmed for this source before. Raises FileProblem or
    FileNotFoundError when the stored file cannot be read.
    """
    saved = _saved_mapping(batch)

    def first_rows():
        read = 0
        for number, cells in iter_rows(storage / batch.stored_name, file_info(batch)):
            if not any(cells):
                continue
            yield number, cells
            read += 1
            if read >= SURVEY_ROWS:
                return

    return survey(
        first_rows(),
        batch.headers,
        targets_for(test_of(batch)),
        columns,
        saved.value_map if saved is not None else {},
    )


def confirm_mapping(
    batch: ImportBatch,
    columns: dict[str, str],
    save: bool,
    actor: Actor,
    now: dt.datetime,
    value_map: dict[str, dict[str, str | None]] | None = None,
    unmapped: dict[str, set[str]] | None = None,
    all_or_nothing: bool = False,
) -> list[MappingProblem]:
    """Check the chosen columns; when they can import, keep them on the batch (and the source), queued.

    `value_map` is the confirmed meaning of the source's own values (field → value key → code, None:
    refused), `unmapped` the values the user left without one; the source's saved meanings of other
    values still apply, and all are saved with the columns.
    """
    if batch.status is not BatchStatus.MAPPING:
        raise ValueError(f"batch {batch.id} is {batch.status}, not waiting for its mapping")
    columns = {target: column for target, column in columns.items() if column}
    problems = check_mapping(columns, batch.headers, targets_for(test_of(batch)))
    if problems:
        return problems
    saved = _saved_mapping(batch)
    # The source's map after this file: a value the first rows lack keeps its saved meaning further down.
    effective = merged(saved.value_map if saved is not None else {}, value_map or {}, unmapped or {})
    batch.columns = columns
    batch.value_map = {field: values for field, values in effective.items() if field in columns}
    batch.status = BatchStatus.QUEUED
    batch.all_or_nothing = all_or_nothing
    if save:
        if saved is None:
            saved = ColumnMapping(
                source_id=batch.source_id, program=batch.program, test=batch.test, value_map={}
            )
            db.session.add(saved)
        saved.columns = dict(columns)
        saved.value_map = effective
        saved.updated_at = now
        saved.updated_by_id = actor.user_id
    mapped_values = sum(len(values) for values in batch.value_map.values())
    audit.record(
        actor,
        now,
        "import_batch",
        batch.id,
        "MAP",
        f"{len(columns)} columns, {mapped_values} values mapped"
        + ("; all or nothing" if all_or_nothing else ""),
    )
    return []


# -- the import ---------------------------------------------------------------------------------------
