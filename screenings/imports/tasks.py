"""The import's background job: a batch id in, the import run, counts out; safe to run again."""

from __future__ import annotations

from pathlib import Path

from flask import current_app

from registry.job_records import report_progress
from registry.jobs import utc_now
from screenings.imports.running import run_import

# Long enough for a large file at the slowest measured speed; a retry resumes after the last chunk.
JOB_TIMEOUT_SECONDS = 3 * 60 * 60


def storage_path() -> Path:
    """Where uploaded files are kept: instance/imports/, outside anything the web server serves."""
    return Path(current_app.instance_path) / "imports"


def import_file(batch_id: int, record_id: int | None = None) -> dict | None:
    """Import (or resume) an uploaded file's batch, reporting progress on the job's record."""

    def progress(done: int, total: int | None) -> None:
        if record_id is not None:
            report_progress(record_id, done, total)

    batch = run_import(batch_id, utc_now, storage_path(), progress)
    if batch is None:
        return None
    # Counts and ids only: a job's result is readable by whoever can read the queue.
    return {
        "batch": batch.id,
        "status": str(batch.status),
        "imported": batch.imported_count,
        "skipped": batch.skipped_count,
        "rejected": batch.rejected_count,
        "unmatched": batch.unmatched_count,
    }
