"""Lab-file imports: sources and their saved column mappings, uploaded batches, rejected and unmatched rows.

Dates are UTC; nothing here holds a full identity number except an unmatched row's raw values.
"""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.auth.models import User
from registry.db import UTCDateTime, str_enum
from registry.extensions import db
from registry.institutions import Institution
from registry.people.models import Person


class ImportSource(db.Model):
    """A lab instrument or information system that sends files, e.g. 新生儿遗传代谢病筛查实验室 LIS.

    Its code is the `source_system` of every result it sends: with the file's sample id it makes the
    key that stores each result once, so the code is unique across the registry and never changes.
    """

    __tablename__ = "import_source"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    institution_id: Mapped[int] = mapped_column(sa.ForeignKey("institution.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    institution: Mapped[Institution] = relationship()


class ColumnMapping(db.Model):
    """Which file column holds which value, saved per source and test so the next file maps itself."""

    __tablename__ = "import_column_mapping"
    __table_args__ = (
        sa.UniqueConstraint("source_id", "program", "test", name="uq_import_column_mapping_test"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(sa.ForeignKey("import_source.id"))
    program: Mapped[str] = mapped_column(sa.String(32))
    test: Mapped[str] = mapped_column(sa.String(32))
    # target name (a person column or a test field) -> the file's column header
    columns: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    # field name -> {a value as this source writes it (see value_key) -> the field's code, or None: refused}
    value_map: Mapped[dict] = mapped_column(sa.JSON, default=dict, server_default="{}")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))


class FileFormat(enum.StrEnum):
    CSV = "CSV"
    XLSX = "XLSX"


class BatchStatus(enum.StrEnum):
    MAPPING = "MAPPING"  # uploaded; waiting for the user to confirm the columns
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    DONE = "DONE"
    FAILED = "FAILED"


class ImportBatch(db.Model):
    """One uploaded file and what its import did, row counts committed chunk by chunk."""

    __tablename__ = "import_batch"
    __table_args__ = (sa.Index("ix_import_batch_institution_created", "institution_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(sa.ForeignKey("import_source.id"), index=True)
    program: Mapped[str] = mapped_column(sa.String(32))
    test: Mapped[str] = mapped_column(sa.String(32))
    # Results are recorded at, and the batch is seen from, the uploading user's institution.
    institution_id: Mapped[int] = mapped_column(sa.ForeignKey("institution.id"))
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    original_filename: Mapped[str] = mapped_column(sa.String(200))
    stored_name: Mapped[str] = mapped_column(sa.String(80))  # under instance/imports/, never the user's name
    file_format: Mapped[FileFormat] = mapped_column(str_enum(FileFormat, 8))
    file_size: Mapped[int]
    file_sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    encoding: Mapped[str | None] = mapped_column(sa.String(20))
    delimiter: Mapped[str | None] = mapped_column(sa.String(1))
    header_row: Mapped[int] = mapped_column(default=1)
    headers: Mapped[list] = mapped_column(sa.JSON, default=list)
    columns: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # the mapping this batch was run with
    value_map: Mapped[dict] = mapped_column(sa.JSON, default=dict, server_default="{}")  # and its values

    status: Mapped[BatchStatus] = mapped_column(str_enum(BatchStatus, 16), default=BatchStatus.MAPPING)
    total_rows: Mapped[int | None]
    # The last file row whose outcome is committed: a retried job resumes after it.
    processed_through_row: Mapped[int] = mapped_column(default=0)
    processed_rows: Mapped[int] = mapped_column(default=0)
    imported_count: Mapped[int] = mapped_column(default=0)
    skipped_count: Mapped[int] = mapped_column(default=0)
    rejected_count: Mapped[int] = mapped_column(default=0)
    unmatched_count: Mapped[int] = mapped_column(default=0)
    cases_opened_count: Mapped[int] = mapped_column(default=0)
    job_record_id: Mapped[int | None] = mapped_column(sa.ForeignKey("job_record.id"))
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    error_code: Mapped[str | None] = mapped_column(sa.String(40))
    # DHIS2's atomicMode=ALL: any rejected or unmatched row and nothing of the file is recorded.
    all_or_nothing: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    source: Mapped[ImportSource] = relationship()
    institution: Mapped[Institution] = relationship()
    created_by: Mapped[User] = relationship()

    @property
    def finished(self) -> bool:
        return self.status in (BatchStatus.DONE, BatchStatus.FAILED)

    @property
    def percent(self) -> int | None:
        if self.status is BatchStatus.DONE:
            return 100
        if not self.total_rows:
            return None
        return min(100, self.processed_rows * 100 // self.total_rows)


class ImportRowIssue(db.Model):
    """Why one row (or one cell) of a file was rejected: row number, column, code and masked value."""

    __tablename__ = "import_row_issue"
    __table_args__ = (sa.Index("ix_import_row_issue_batch_row", "batch_id", "row_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("import_batch.id"))
    row_number: Mapped[int]
    column_name: Mapped[str | None] = mapped_column(sa.String(200))  # the file's header; None: the whole row
    target: Mapped[str | None] = mapped_column(sa.String(40))  # the person column or test field it feeds
    code: Mapped[str] = mapped_column(sa.String(40))
    value: Mapped[str | None] = mapped_column(sa.String(200))  # masked: identity and phone numbers never kept
    detail: Mapped[str | None] = mapped_column(
        sa.Text
    )  # the engine's own English words, for codes we do not know


class UnmatchedStatus(enum.StrEnum):
    WAITING = "WAITING"
    IMPORTED = "IMPORTED"
    DISCARDED = "DISCARDED"  # a user said why it is not imported (audited)


class UnmatchedRow(db.Model):
    """A valid row whose person is not registered (or not certain): it waits until a user matches it."""

    __tablename__ = "import_unmatched_row"
    __table_args__ = (
        # A source record waits once, however many times its file is uploaded.
        sa.UniqueConstraint("source_system", "source_key", name="uq_import_unmatched_row_source"),
        sa.Index("ix_import_unmatched_row_queue", "institution_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("import_batch.id"), index=True)
    institution_id: Mapped[int] = mapped_column(sa.ForeignKey("institution.id"))
    row_number: Mapped[int]
    source_system: Mapped[str] = mapped_column(sa.String(40))
    source_key: Mapped[str] = mapped_column(sa.String(120))
    # What the row says, as text by target name; emptied once the row is imported (kept no longer
    # than needed).
    raw_values: Mapped[dict] = mapped_column(sa.JSON)
    reason: Mapped[str] = mapped_column(sa.String(40))
    status: Mapped[UnmatchedStatus] = mapped_column(
        str_enum(UnmatchedStatus, 16), default=UnmatchedStatus.WAITING
    )
    person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id"))
    result_id: Mapped[int | None] = mapped_column(sa.ForeignKey("screening_result.id"))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    resolved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    discard_reason: Mapped[str | None] = mapped_column(sa.Text)

    batch: Mapped[ImportBatch] = relationship()
    person: Mapped[Person | None] = relationship()
