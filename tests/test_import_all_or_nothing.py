"""All-or-nothing imports (DHIS2's atomicMode=ALL): one rejected or unmatched row and nothing of the file is
recorded; the report still names every problem row, so the lab corrects the file and sends it again."""

# The import tests' fixtures are imported by name and then requested as parameters, which ruff takes for
# redefinitions.
# ruff: noqa: F811

import sqlalchemy as sa

from registry.audit import AuditEvent
from registry.extensions import db
from screenings.imports import running, service
from screenings.imports.models import BatchStatus, UnmatchedRow
from screenings.models import CaseEvent, FollowUpCase, ScreeningResult
from tests.test_imports import (  # noqa: F401 - fixtures used by name
    NOW,
    actor_of,
    baby,
    clock,
    csv_bytes,
    hearing_row,
    issues_of,
    results_for,
    source,
    staff,
    storage,
    upload,
)


def imported_whole_or_not(data, source, user, storage):
    batch = upload(data, source, user, storage)
    problems = service.confirm_mapping(
        batch, service.initial_mapping(batch), True, actor_of(user), NOW, all_or_nothing=True
    )
    assert problems == []
    return running.run_import(batch.id, clock, storage)


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_one_bad_row_and_one_unknown_person_keep_the_whole_file_out(
    staff, source, baby, storage, monkeypatch
):
    monkeypatch.setattr(running, "CHUNK_ROWS", 2)  # the good rows come in chunks before the bad ones
    before = (count(ScreeningResult), count(FollowUpCase), count(CaseEvent), count(UnmatchedRow))
    data = csv_bytes(
        [
            hearing_row("S1"),
            hearing_row("S2", left="未通过"),
            hearing_row("S3"),
            hearing_row("S4", left="听不清"),
            hearing_row("S5", name="李不在", birth="2026-11-19"),
        ]
    )
    batch = imported_whole_or_not(data, source, staff, storage)

    assert (batch.status, batch.error_code) == (BatchStatus.FAILED, "NOT_ALL_VALID")
    assert (batch.imported_count, batch.rejected_count, batch.unmatched_count, batch.cases_opened_count) == (
        0,
        2,
        0,
        0,
    )
    assert results_for(source) == []
    assert (count(ScreeningResult), count(FollowUpCase), count(CaseEvent), count(UnmatchedRow)) == before
    assert [(i.row_number, i.code) for i in issues_of(batch)] == [(5, "UNKNOWN_CHOICE"), (6, "UNMATCHED")]
    refused = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "IMPORT_REFUSED"))
    assert "2 of 5 rows" in refused.summary
    assert not (storage / batch.stored_name).exists()


def test_a_clean_file_imports_whole(staff, source, baby, storage, monkeypatch):
    monkeypatch.setattr(running, "CHUNK_ROWS", 2)
    data = csv_bytes([hearing_row("S1"), hearing_row("S2", left="未通过"), hearing_row("S3")])
    batch = imported_whole_or_not(data, source, staff, storage)

    assert batch.status is BatchStatus.DONE
    assert (batch.imported_count, batch.rejected_count, batch.cases_opened_count) == (3, 0, 1)
    assert {r.source_key for r in results_for(source)} == {"S1", "S2", "S3"}


def test_the_batch_page_says_nothing_was_imported_and_lists_the_rows(
    client, login, staff, source, baby, storage
):
    login(staff)
    data = csv_bytes([hearing_row("S1"), hearing_row("S4", left="听不清")])
    batch = imported_whole_or_not(data, source, staff, storage)
    page = client.get(f"/imports/{batch.id}").get_data(as_text=True)
    assert "整个文件均未导入" in page
    assert "听不清" in page
