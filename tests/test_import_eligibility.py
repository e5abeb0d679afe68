"""Eligibility is the same in every path: the import refuses what registration and the result form refuse.

A male ID number in a cervical-screening file is refused on its row with registration's own message;
a registered person a women's program does not screen (a boy) gets no result from the form or a file.
"""

import datetime as dt
import io
import random

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from registry.audit import Actor
from registry.demo import resident_id
from registry.extensions import db
from registry.people.forms import ID_CHECK_MESSAGES
from screenings.imports import running, service
from screenings.imports.models import ImportRowIssue, UnmatchedRow
from screenings.imports.texts import issue_message
from screenings.programs import get_program
from screenings.results import ResultRejected, record_result
from tests import factories
from tests.test_import_values import HEADERS, clock, csv_bytes, upload

NOW = factories.NOW
HPV = get_program("CERVICAL_CANCER").test("HPV")
MALE_ID = resident_id("110105", dt.date(1980, 2, 3), False, random.Random(1))


@pytest.fixture
def storage(tmp_path):
    return tmp_path / "imports"


@pytest.fixture
def staff(district):
    return factories.clinic_user(district["hospital"])


@pytest.fixture
def source(staff):
    return service.create_source(
        "HPV实验室", "HPV-ELIG", staff.institution_id, Actor(staff.id, staff.username), NOW
    )


def run(data, source, staff, storage):
    batch = upload(data, source, staff, storage)
    assert (
        service.confirm_mapping(
            batch, service.initial_mapping(batch), True, Actor(staff.id, staff.username), NOW
        )
        == []
    )
    return running.run_import(batch.id, clock, storage)


def issues_of(batch):
    return db.session.scalars(sa.select(ImportRowIssue).where(ImportRowIssue.batch_id == batch.id)).all()


def test_a_male_id_number_in_a_cervical_file_is_refused_with_registrations_message(staff, source, storage):
    batch = run(csv_bytes([["S1", MALE_ID, "张伟", "2026-11-20", "阴性", ""]]), source, staff, storage)

    [issue] = issues_of(batch)
    assert (issue.row_number, issue.column_name, issue.code) == (2, "身份证号", "ID_SEX")
    assert (batch.rejected_count, batch.unmatched_count) == (1, 0)  # refused, not left waiting for a person
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UnmatchedRow)) == 0
    with force_locale("zh_Hans_CN"):
        said = issue_message(HPV, issue.target, issue.code, issue.value, issue.detail)
        assert said == f"身份证号: {ID_CHECK_MESSAGES['sex']}"
        assert str(ID_CHECK_MESSAGES["sex"]) == "身份证号码第 17 位表示的性别与填写的不一致。"


def test_registration_refuses_the_same_id_number_with_the_same_message(client, district, login):
    login(factories.clinic_user(district["hospital"]))
    form = {"name": "张伟", "birth_on": "1980-02-03", "id_type": "RESIDENT_ID", "id_number": MALE_ID,
            "household": "LOCAL"}  # fmt: skip

    page = client.post("/people/register/woman", data=form).get_data(as_text=True)

    assert "身份证号码第 17 位表示的性别与填写的不一致。" in page


def test_a_male_id_is_accepted_where_the_program_screens_boys(staff, storage, district):
    hearing_source = service.create_source(
        "听力", "HEAR-ELIG", staff.institution_id, Actor(staff.id, staff.username), NOW
    )
    headers = ["样本编号", "身份证号", "姓名", "出生日期", "筛查状态", "筛查时间", "筛查方法", "左耳", "右耳"]
    boy_id = resident_id("110105", dt.date(2026, 11, 18), False, random.Random(2))
    data = csv_bytes(
        [["S1", boy_id, "王小宝", "2026-11-18", "已筛查", "2026-11-20 10:30", "OAE", "通过", "通过"]], headers
    )
    batch = service.receive_file(
        io.BytesIO(data), "h.csv", hearing_source, "NEWBORN_HEARING", "INITIAL", staff,
        Actor(staff.id, staff.username), NOW, storage,
    )  # fmt: skip
    service.confirm_mapping(batch, service.initial_mapping(batch), True, Actor(staff.id, staff.username), NOW)
    batch = running.run_import(batch.id, clock, storage)

    assert [i.code for i in issues_of(batch)] == []
    assert batch.unmatched_count == 1


def test_a_matched_person_the_program_does_not_screen_is_refused_on_the_row(staff, source, storage, district):
    factories.newborn(district["hospital"], name="王小宝")
    headers = [*HEADERS[:3], "出生日期", *HEADERS[3:]]
    batch = run(
        csv_bytes([["S1", "", "王小宝", "2026-11-18", "2026-11-20", "阴性", ""]], headers),
        source,
        staff,
        storage,
    )

    [issue] = issues_of(batch)
    assert (issue.row_number, issue.code) == (2, "SUBJECT_KIND")
    with force_locale("zh_Hans_CN"):
        assert "此人不属于该项目的筛查对象" in issue_message(HPV, None, issue.code, None, issue.detail)


def test_the_result_form_path_refuses_the_same_person(district, staff):
    boy = factories.newborn(district["hospital"])
    values = {"sampled_on": "2026-11-20", "hpv_result": "NEGATIVE", "hpv_types": []}

    with pytest.raises(ResultRejected) as rejected:
        record_result(
            boy, "CERVICAL_CANCER", "HPV", values, district["hospital"], Actor(staff.id, staff.username), NOW
        )

    assert [e.code for e in rejected.value.errors] == ["SUBJECT_KIND"]
