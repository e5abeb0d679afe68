"""Lab-file import: rows read from CSV/XLSX, validated, matched to people and recorded once, never half.

Service-level: the import runs synchronously here (`run_import`), as the job runs it in a worker.
"""

import csv
import datetime as dt
import io
import itertools
import re
import tracemalloc
import zipfile

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from registry.audit import Actor, AuditEvent
from registry.extensions import db
from registry.people.models import IdDocumentType
from screenings.imports import parsing, running, service, unmatched
from screenings.imports.mapping import check_mapping, suggest_mapping, targets_for
from screenings.imports.models import (
    BatchStatus,
    ColumnMapping,
    ImportBatch,
    ImportRowIssue,
    UnmatchedRow,
    UnmatchedStatus,
)
from screenings.imports.parsing import FileProblem
from screenings.models import FollowUpCase, ScreeningResult
from screenings.programs import get_program
from tests import factories

NOW, BIRTH = factories.NOW, factories.BIRTH  # BIRTH: 09:00 on 18 November in Shanghai
HEARING = get_program("NEWBORN_HEARING").test("INITIAL")
HEADERS = ["样本编号", "姓名", "出生日期", "母亲身份证号", "筛查状态", "筛查时间", "筛查方法", "左耳", "右耳"]
MOTHER_ID = "11010519491231002X"
_keys = itertools.count(1)


def clock():
    return NOW


def csv_bytes(rows, headers=HEADERS, encoding="utf-8-sig", delimiter=","):
    text = io.StringIO()
    writer = csv.writer(text, delimiter=delimiter)
    writer.writerow(headers)
    writer.writerows(rows)
    return text.getvalue().encode(encoding)


def hearing_row(
    key, name="王小宝", birth="2026-11-18", left="通过", right="通过", at="2026-11-20 10:30", **kw
):
    row = {
        "样本编号": key,
        "姓名": name,
        "出生日期": birth,
        "母亲身份证号": kw.get("mother", ""),
        "筛查状态": kw.get("status", "已筛查"),
        "筛查时间": at,
        "筛查方法": kw.get("method", "OAE"),
        "左耳": left,
        "右耳": right,
    }
    return [row[h] for h in HEADERS]


@pytest.fixture
def storage(tmp_path):
    return tmp_path / "imports"


@pytest.fixture
def staff(district):
    return factories.clinic_user(district["hospital"])


@pytest.fixture
def source(staff):
    code = f"NBS-LIS-{next(_keys)}"
    return service.create_source("新生儿听力筛查设备", code, staff.institution_id, actor_of(staff), NOW)


@pytest.fixture
def baby(district):
    return factories.newborn(district["hospital"], born_at=BIRTH)


def actor_of(user):
    return Actor(user.id, user.username)


def upload(data, source, user, storage, filename="hearing.csv", test=("NEWBORN_HEARING", "INITIAL")):
    return service.receive_file(
        io.BytesIO(data), filename, source, test[0], test[1], user, actor_of(user), NOW, storage
    )


def imported(data, source, user, storage, columns=None, filename="hearing.csv"):
    """Upload, confirm the suggested (or given) columns and run the import to the end."""
    batch = upload(data, source, user, storage, filename)
    problems = service.confirm_mapping(
        batch, columns or service.initial_mapping(batch), True, actor_of(user), NOW
    )
    assert problems == []
    return running.run_import(batch.id, clock, storage)


def issues_of(batch):
    return db.session.scalars(
        sa.select(ImportRowIssue)
        .where(ImportRowIssue.batch_id == batch.id)
        .order_by(ImportRowIssue.row_number)
    ).all()


def results_for(source):
    return db.session.scalars(
        sa.select(ScreeningResult).where(ScreeningResult.source_system == source.code)
    ).all()


# -- the whole import ------------------------------------------------------------------------------------


def test_a_file_imports_good_rows_rejects_a_bad_one_and_queues_an_unknown_person(
    staff, source, baby, storage
):
    data = csv_bytes(
        [
            hearing_row("S1"),
            hearing_row("S2", left="未通过"),
            hearing_row("S3", left="听不清"),
            hearing_row("S4", name="李不在", birth="2026-11-19"),
        ]
    )
    batch = imported(data, source, staff, storage)

    assert batch.status is BatchStatus.DONE
    assert (batch.imported_count, batch.skipped_count, batch.rejected_count, batch.unmatched_count) == (
        2,
        0,
        1,
        1,
    )
    assert batch.processed_rows == batch.total_rows == 4
    # S2 referred the left ear: the result opened a rescreen case.
    assert batch.cases_opened_count == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FollowUpCase).where(
        FollowUpCase.person_id == baby.id)) == 1  # fmt: skip
    [issue] = issues_of(batch)
    assert (issue.row_number, issue.column_name, issue.code, issue.value) == (
        4,
        "左耳",
        "UNKNOWN_CHOICE",
        "听不清",
    )
    [waiting] = db.session.scalars(sa.select(UnmatchedRow).where(UnmatchedRow.batch_id == batch.id)).all()
    assert (waiting.row_number, waiting.source_key, waiting.reason) == (5, "S4", "NOT_FOUND")
    assert waiting.raw_values["name"] == "李不在"
    assert {r.source_key for r in results_for(source)} == {"S1", "S2"}
    assert not (storage / batch.stored_name).exists()  # the file's personal data is not kept once imported


def test_the_same_file_twice_imports_nothing_the_second_time(staff, source, baby, storage):
    data = csv_bytes([hearing_row("S1"), hearing_row("S2", left="未通过"), hearing_row("S9", name="无此人")])
    first = imported(data, source, staff, storage)
    results_before = len(results_for(source))
    cases_before = db.session.scalar(sa.select(sa.func.count()).select_from(FollowUpCase))

    second = imported(data, source, staff, storage)

    assert (first.imported_count, first.unmatched_count) == (2, 1)
    assert (second.imported_count, second.skipped_count, second.unmatched_count) == (0, 3, 0)
    assert len(results_for(source)) == results_before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FollowUpCase)) == cases_before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UnmatchedRow)) == 1
    assert service.earlier_upload(second).id == first.id


def test_a_row_that_fails_after_its_result_was_written_leaves_nothing(
    staff, source, baby, storage, monkeypatch
):
    import screenings.results.recording as recording
    from screenings.cases import CaseActionRefused

    def refuse_case(*args, **kwargs):
        raise CaseActionRefused(["STEP_CLOSED: the case cannot take this step"])

    # The result row is inserted before the case is opened; the case then fails.
    monkeypatch.setattr(recording, "_follow_up", refuse_case)
    audits_before = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))

    batch = imported(csv_bytes([hearing_row("S1", left="未通过")]), source, staff, storage)

    assert (batch.imported_count, batch.rejected_count) == (0, 1)
    assert results_for(source) == []
    [issue] = issues_of(batch)
    assert issue.code == "CASE_REFUSED" and issue.row_number == 2
    created = db.session.scalars(sa.select(AuditEvent.entity).where(AuditEvent.id > audits_before)).all()
    assert "screening_result" not in created


def test_values_written_the_lab_way_are_read(staff, source, baby, storage):
    data = csv_bytes(
        [
            hearing_row(
                "S1",
                birth="2026年11月18日",
                at="2026/11/20 08:05",
                left="Pass",
                right="refer",
                method="耳声发射",
            )
        ]
    )
    batch = imported(data, source, staff, storage)

    [result] = results_for(source)
    assert batch.imported_count == 1
    assert result.measured_values["left_ear"] == "PASS" and result.measured_values["right_ear"] == "REFER"
    assert result.measured_values["method"] == "OAE"
    # A time without a zone is the lab's local time: 08:05 in Shanghai is 00:05 UTC.
    assert result.performed_at == dt.datetime(2026, 11, 20, 0, 5, tzinfo=dt.UTC)


def test_every_bad_cell_of_a_row_is_reported_with_its_column(staff, source, baby, storage):
    data = csv_bytes([hearing_row("", birth="2026-02-30", at="昨天", left="?")])
    batch = imported(data, source, staff, storage)

    found = {(i.column_name, i.code) for i in issues_of(batch)}
    assert found == {
        ("样本编号", "REQUIRED"),
        ("出生日期", "INVALID_DATE"),
        ("筛查时间", "INVALID_DATETIME"),
        ("左耳", "UNKNOWN_CHOICE"),
    }
    assert batch.rejected_count == 1


def test_a_result_the_engine_refuses_for_this_person_is_rejected_with_the_reason(
    staff, source, baby, storage
):
    # Screened before the birth: only known once the person is found.
    batch = imported(csv_bytes([hearing_row("S1", at="2026-11-01 10:00")]), source, staff, storage)

    [issue] = issues_of(batch)
    assert (issue.code, issue.column_name) == ("BEFORE_BIRTH", "筛查时间")
    assert results_for(source) == []


def test_a_wrong_id_number_is_rejected_with_the_check_that_failed(staff, source, baby, storage):
    data = csv_bytes([hearing_row("S1", mother="110105194912310021")])
    batch = imported(data, source, staff, storage)

    [issue] = issues_of(batch)
    assert (issue.column_name, issue.code) == ("母亲身份证号", "ID_CHECK_DIGIT")
    assert issue.value == "1101**********0021"  # identity numbers are never stored in the report


def test_a_row_for_an_unknown_person_with_a_missing_value_is_rejected_not_queued(staff, source, storage):
    batch = imported(csv_bytes([hearing_row("S1", name="无此人", method="")]), source, staff, storage)

    [issue] = issues_of(batch)
    assert (issue.column_name, issue.code) == ("筛查方法", "REQUIRED")
    assert (batch.rejected_count, batch.unmatched_count) == (1, 0)


# -- matching people ---------------------------------------------------------------------------------------


def test_people_are_matched_by_id_number_name_and_birth_date_or_mother_and_birth_order(
    staff, source, district, storage
):
    hospital = district["hospital"]
    mother = factories.mother(
        hospital, name="陈静怡", id_type=IdDocumentType.RESIDENT_ID, id_number=MOTHER_ID
    )
    first = factories.newborn(hospital, BIRTH, mother, name="陈大宝", birth_order=1)
    second = factories.newborn(hospital, BIRTH, mother, name="陈二宝", birth_order=2)
    headers = [*HEADERS, "胎次"]
    rows = [
        [*hearing_row("M1", name="陈二宝"), ""],  # by name and birth date
        [*hearing_row("M2", name="", birth="", mother=MOTHER_ID), "1"],  # by mother and birth order
        [*hearing_row("M3", name="", birth="", mother=MOTHER_ID), ""],  # two children: not guessed
    ]
    batch = imported(csv_bytes(rows, headers), source, staff, storage)

    people = {r.source_key: r.person_id for r in results_for(source)}
    assert people == {"M1": second.id, "M2": first.id}
    [waiting] = db.session.scalars(sa.select(UnmatchedRow).where(UnmatchedRow.batch_id == batch.id)).all()
    assert (waiting.source_key, waiting.reason) == ("M3", "AMBIGUOUS")


def test_people_of_another_institution_are_not_matched(staff, source, district, storage):
    factories.newborn(district["far_hospital"], BIRTH, name="王小宝")
    batch = imported(csv_bytes([hearing_row("S1")]), source, staff, storage)

    assert (batch.imported_count, batch.unmatched_count) == (0, 1)
    assert results_for(source) == []


def test_a_similar_name_is_not_taken_for_the_same_person(staff, source, district, storage):
    factories.newborn(district["hospital"], BIRTH, name="张小宝")
    batch = imported(csv_bytes([hearing_row("S1", name="章小宝")]), source, staff, storage)

    [waiting] = db.session.scalars(sa.select(UnmatchedRow).where(UnmatchedRow.batch_id == batch.id)).all()
    assert waiting.reason == "NAME_MISMATCH"


# -- the unmatched queue -----------------------------------------------------------------------------------


def test_an_unmatched_row_is_imported_once_a_user_picks_the_person(staff, source, baby, storage):
    batch = imported(csv_bytes([hearing_row("S1", name="王小宝宝", left="未通过")]), source, staff, storage)
    [waiting] = db.session.scalars(sa.select(UnmatchedRow).where(UnmatchedRow.batch_id == batch.id)).all()

    recorded = unmatched.import_unmatched_row(waiting, baby, actor_of(staff), NOW)

    assert recorded.created and recorded.case_opened
    assert recorded.result.person_id == baby.id and recorded.result.source_key == "S1"
    assert waiting.status is UnmatchedStatus.IMPORTED and waiting.person_id == baby.id
    assert waiting.raw_values == {}  # the personal data lives in the registry now, not in the queue
    with pytest.raises(unmatched.AlreadyResolved):
        unmatched.import_unmatched_row(waiting, baby, actor_of(staff), NOW)


def test_a_waiting_row_is_imported_by_the_next_upload_once_its_person_is_registered(
    staff, source, district, storage
):
    data = csv_bytes([hearing_row("S1", name="刘晨")])
    first = imported(data, source, staff, storage)
    person = factories.newborn(district["hospital"], BIRTH, name="刘晨")

    second = imported(data, source, staff, storage)

    assert (first.unmatched_count, second.imported_count) == (1, 1)
    [row] = db.session.scalars(sa.select(UnmatchedRow)).all()
    assert row.status is UnmatchedStatus.IMPORTED and row.person_id == person.id


# -- running as a job: chunks, resuming, memory ---------------------------------------------------------


def test_a_stopped_import_resumes_after_the_last_committed_chunk(staff, source, baby, storage, monkeypatch):
    monkeypatch.setattr(running, "CHUNK_ROWS", 2)
    rows = [hearing_row(f"S{i}") for i in range(5)] + [hearing_row("X", left="坏")]
    batch = upload(csv_bytes(rows), source, staff, storage)
    service.confirm_mapping(batch, service.initial_mapping(batch), False, actor_of(staff), NOW)
    real_chunk = running._import_chunk
    calls = []

    def dying_chunk(*args):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("worker killed")
        return real_chunk(*args)

    monkeypatch.setattr(running, "_import_chunk", dying_chunk)
    with pytest.raises(RuntimeError):
        running.run_import(batch.id, clock, storage)
    db.session.rollback()
    assert db.session.get(ImportBatch, batch.id).processed_through_row == 3

    monkeypatch.setattr(running, "_import_chunk", real_chunk)
    done = running.run_import(batch.id, clock, storage)

    assert (done.imported_count, done.rejected_count, done.skipped_count, done.processed_rows) == (5, 1, 0, 6)
    assert len(results_for(source)) == 5
    assert len(issues_of(done)) == 1


def test_a_second_run_of_the_same_batch_stops_instead_of_counting_twice(
    staff, source, baby, storage, monkeypatch
):
    monkeypatch.setattr(running, "CHUNK_ROWS", 2)
    batch = upload(csv_bytes([hearing_row(f"S{i}") for i in range(6)]), source, staff, storage)
    service.confirm_mapping(batch, service.initial_mapping(batch), False, actor_of(staff), NOW)

    def other_run_commits(done, total):
        # Meanwhile a duplicate delivery of the job has committed the next chunk.
        db.session.execute(
            sa.update(ImportBatch).where(ImportBatch.id == batch.id).values(processed_through_row=5)
        )
        db.session.commit()

    running.run_import(batch.id, clock, storage, other_run_commits)

    stopped = db.session.get(ImportBatch, batch.id)
    assert stopped.status is BatchStatus.RUNNING and stopped.imported_count == 2
    assert len(results_for(source)) == 2


def test_progress_is_reported_after_each_chunk(staff, source, baby, storage, monkeypatch):
    monkeypatch.setattr(running, "CHUNK_ROWS", 2)
    batch = upload(csv_bytes([hearing_row(f"S{i}") for i in range(5)]), source, staff, storage)
    service.confirm_mapping(batch, service.initial_mapping(batch), False, actor_of(staff), NOW)
    seen = []

    running.run_import(batch.id, clock, storage, lambda done, total: seen.append((done, total)))

    assert seen == [(2, 5), (4, 5), (5, 5)]


def test_a_large_file_is_streamed_not_read_whole(tmp_path):
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADERS)
        for i in range(60_000):
            writer.writerow(hearing_row(f"S{i:06d}", name="某某某某某某某某某某某某某某某某某某某某"))
    size = path.stat().st_size
    info = parsing.inspect_file(path, "big.csv", "x", size, 200_000)
    tracemalloc.start()
    count = sum(1 for _ in parsing.iter_rows(path, info))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert count == info.data_rows == 60_000
    assert peak < size / 10, f"peak {peak} bytes for a {size}-byte file"


# -- files ---------------------------------------------------------------------------------------------------


def test_gb18030_semicolon_csv_from_excel_is_read(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(csv_bytes([hearing_row("S1")], encoding="gb18030", delimiter=";"))
    info = parsing.inspect_file(path, "f.csv", "x", path.stat().st_size, 100)

    [(number, cells)] = list(parsing.iter_rows(path, info))
    assert (info.encoding, info.delimiter, info.headers[:2]) == ("gb18030", ";", ("样本编号", "姓名"))
    assert (number, cells[1], cells[7]) == (2, "王小宝", "通过")


def test_xlsx_rows_come_out_as_text_with_excel_dates(tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["样本编号", "出生日期", "筛查时间", "计数"])
    sheet.append(["S1", dt.datetime(2026, 11, 18), dt.datetime(2026, 11, 20, 10, 30), 3.0])
    sheet["B2"].number_format = "yyyy-mm-dd"
    sheet["C2"].number_format = "yyyy-mm-dd hh:mm"
    path = tmp_path / "f.xlsx"
    workbook.save(path)

    info = parsing.inspect_file(path, "f.xlsx", "x", path.stat().st_size, 100)

    assert info.headers == ("样本编号", "出生日期", "筛查时间", "计数") and info.data_rows == 1
    assert list(parsing.iter_rows(path, info)) == [(2, ["S1", "2026-11-18", "2026-11-20 10:30", "3"])]


def test_an_xlsx_file_that_states_a_wrong_size_is_read_to_the_end(tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["样本编号", "姓名"])
    for i in range(3):
        sheet.append([f"S{i}", "王小宝"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    path = tmp_path / "f.xlsx"
    with zipfile.ZipFile(buffer) as original, zipfile.ZipFile(path, "w") as copy:
        for item in original.infolist():
            data = original.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1"', data)
            copy.writestr(item, data)

    info = parsing.inspect_file(path, "f.xlsx", "x", path.stat().st_size, 100)

    assert info.data_rows == 3
    assert [number for number, _ in parsing.iter_rows(path, info)] == [2, 3, 4]


def test_an_xlsx_file_imports_like_a_csv(staff, source, baby, storage):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADERS)
    sheet.append(hearing_row("S1"))
    buffer = io.BytesIO()
    workbook.save(buffer)

    batch = imported(buffer.getvalue(), source, staff, storage, filename="hearing.xlsx")

    assert batch.imported_count == 1 and batch.file_format == "XLSX"


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("r.pdf", b"%PDF-1.7", "WRONG_TYPE"),
        ("r.xls", b"\xd0\xcf\x11\xe0", "OLD_EXCEL"),
        ("r.xlsx", b"not a zip", "NOT_XLSX"),
        ("r.csv", b"PK\x03\x04binary", "NOT_CSV"),
        ("r.csv", b"\xff\xfe\x00\x01\x80\x81" * 10, "NOT_CSV"),
        ("r.csv", "样本编号,姓名\n".encode("utf-16-be")[:-1] + b"\xff", "NOT_CSV"),
        ("r.csv", b"", "EMPTY"),
        ("r.csv", "样本编号,姓名\n".encode(), "NO_ROWS"),
        ("r.csv", b"\xc3\x28\xa0\xa1 bad,\x81\x30\n1,2\n", "ENCODING"),
    ],
)
def test_unreadable_files_are_refused_with_the_reason_and_not_kept(name, data, code, staff, source, storage):
    with pytest.raises(FileProblem) as problem:
        upload(data, source, staff, storage, filename=name)
    assert problem.value.code == code
    assert not storage.exists() or list(storage.iterdir()) == []


def test_a_file_with_too_many_rows_is_refused(staff, source, storage):
    with pytest.raises(FileProblem) as problem:
        service.receive_file(
            io.BytesIO(csv_bytes([hearing_row(f"S{i}") for i in range(4)])), "f.csv", source,
            "NEWBORN_HEARING", "INITIAL", staff, actor_of(staff), NOW, storage, max_rows=3,
        )  # fmt: skip
    assert (problem.value.code, problem.value.params) == ("TOO_MANY_ROWS", {"limit": 3})


# -- mapping ----------------------------------------------------------------------------------------------


def test_columns_are_guessed_from_chinese_and_english_headers():
    headers = [
        "Sample No",
        "姓名",
        "DOB",
        "筛查状态",
        "Screening time",
        "Method",
        "左耳",
        "Right ear",
        "备注",
    ]
    guessed = suggest_mapping(headers, targets_for(HEARING))
    assert guessed == {
        "sample_id": "Sample No",
        "name": "姓名",
        "birth_on": "DOB",
        "screening_status": "筛查状态",
        "screened_at": "Screening time",
        "method": "Method",
        "left_ear": "左耳",
        "right_ear": "Right ear",
    }


def test_a_mapping_needs_the_sample_id_a_way_to_find_the_person_and_each_column_once():
    targets = targets_for(HEARING)
    problems = check_mapping(
        {"screening_status": "a", "left_ear": "b", "right_ear": "b"}, ["a", "b"], targets
    )
    assert {(p.code, p.target) for p in problems} == {
        ("REQUIRED", "sample_id"),
        ("COLUMN_TWICE", "right_ear"),
        ("NO_PERSON_COLUMNS", None),
    }


def test_a_confirmed_mapping_is_saved_for_the_next_file_from_the_source(staff, source, baby, storage):
    renamed = ["编号", *HEADERS[1:]]
    columns = {**suggest_mapping(renamed, targets_for(HEARING)), "sample_id": "编号"}
    imported(csv_bytes([hearing_row("S1")], renamed), source, staff, storage, columns=columns)

    later = upload(csv_bytes([hearing_row("S2")], renamed), source, staff, storage)

    assert service.initial_mapping(later)["sample_id"] == "编号"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ColumnMapping)) == 1


# -- the report ---------------------------------------------------------------------------------------------


def test_the_rejected_rows_report_is_excel_safe_csv(staff, source, baby, storage):
    batch = imported(csv_bytes([hearing_row("S1", left="=HYPERLINK(1)")]), source, staff, storage)

    text = "".join(unmatched.rejected_rows_csv(batch, ["行", "列", "值", "代码", "原因"], lambda i: "原因"))

    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows == [
        ["行", "列", "值", "代码", "原因"],
        ["2", "左耳", "'=HYPERLINK(1)", "UNKNOWN_CHOICE", "原因"],
    ]


# -- hostile and mistaken files (security.md items 27, 28) ---------------------------------------------------


def _workbook_bytes(rows) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _rezip(data: bytes, path, change) -> None:
    with (
        zipfile.ZipFile(io.BytesIO(data)) as original,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as copy,
    ):
        for item in original.infolist():
            copy.writestr(item.filename, change(item.filename, original.read(item.filename)))


def test_a_workbook_padded_with_whitespace_is_refused_before_it_is_parsed(tmp_path):
    path = tmp_path / "bomb.xlsx"

    def pad(name, data):
        return (
            data.replace(b"</sheetData>", b" " * (300 * 1024 * 1024) + b"</sheetData>")
            if "sheet1" in name
            else data
        )

    _rezip(_workbook_bytes([["样本编号"], ["S1"]]), path, pad)
    assert path.stat().st_size < 2 * 1024 * 1024
    with pytest.raises(FileProblem) as problem:
        parsing.inspect_file(path, "bomb.xlsx", "x", path.stat().st_size, 100)
    assert problem.value.code == "XLSX_UNPACKS_TOO_LARGE"


def test_a_sheet_that_understates_its_size_cannot_pass_the_row_limit(staff, source, storage, monkeypatch):
    data = _workbook_bytes([HEADERS] + [hearing_row(f"S{i}") for i in range(6)])
    lying = io.BytesIO()

    def understate(name, content):
        return (
            re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:I3"', content)
            if "sheet1" in name
            else content
        )

    _rezip(data, lying, understate)
    monkeypatch.setattr(running, "MAX_ROWS", 5)
    batch = imported(lying.getvalue(), source, staff, storage, filename="hearing.xlsx")
    assert batch.status is BatchStatus.FAILED and batch.error_code == "TOO_MANY_ROWS"
    assert results_for(source) == [] and batch.imported_count == 0


def test_a_latin1_file_is_refused_rather_than_read_as_garbled_chinese(tmp_path):
    # Every accented letter here is followed by a letter, so the bytes happen to be valid GB18030.
    path = tmp_path / "latin1.csv"
    rows = [["Müller Jürgen", "Zürich", "Ångström"], ["Çelik Søren", "Señora", "Müller"]] * 5
    path.write_bytes(csv_bytes(rows, headers=["Name", "City", "Note"], encoding="latin-1"))
    with pytest.raises(FileProblem) as problem:
        parsing.inspect_file(path, "latin1.csv", "x", path.stat().st_size, 100)
    assert problem.value.code == "ENCODING_GARBLED"


def test_a_cell_longer_than_any_lab_value_names_its_row(tmp_path):
    path = tmp_path / "long.csv"
    path.write_bytes(csv_bytes([hearing_row("S1"), hearing_row("S2", name="王" * 20_000)]))
    with pytest.raises(FileProblem) as problem:
        parsing.inspect_file(path, "long.csv", "x", path.stat().st_size, 100)
    assert (problem.value.code, problem.value.params["row"]) == ("CELL_TOO_LONG", 3)
