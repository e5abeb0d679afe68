"""Value mapping per source: a lab's own codes ("阳性", "POS", "16") read as the program's, confirmed once.

Service-level: the survey of the first rows, the proposals, the confirmed map applied to every row and
saved for the source's next file, and unmapped values reported once per distinct value.
"""

import csv
import datetime as dt
import io
import itertools
import random

import pytest
import sqlalchemy as sa

from registry.audit import Actor
from registry.demo import resident_id
from registry.extensions import db
from registry.people.models import IdDocumentType
from screenings.imports import queries, running, service, values
from screenings.imports.models import ColumnMapping, ImportRowIssue
from screenings.models import ScreeningResult
from screenings.programs import get_program
from tests import factories

NOW = factories.NOW
HEADERS = ["样本编号", "身份证号", "姓名", "取样日期", "检测结果", "阳性型别"]
HPV = get_program("CERVICAL_CANCER").test("HPV")
_keys = itertools.count(1)
_rng = random.Random(12)


def clock():
    return NOW


def csv_bytes(rows, headers=HEADERS):
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(headers)
    writer.writerows(rows)
    return text.getvalue().encode("utf-8-sig")


@pytest.fixture
def storage(tmp_path):
    return tmp_path / "imports"


@pytest.fixture
def staff(district):
    return factories.clinic_user(district["hospital"])


@pytest.fixture
def source(staff):
    code = f"HPV-LAB-{next(_keys)}"
    return service.create_source(
        "HPV实验室", code, staff.institution_id, Actor(staff.id, staff.username), NOW
    )


@pytest.fixture
def women(district):
    """Six registered women aged 40, each with her resident ID number."""
    found = []
    for n in range(6):
        number = resident_id("110105", dt.date(1986, 5, n + 1), True, _rng)
        found.append(
            factories.person(
                district["hospital"],
                name=f"李梅{n}",
                birth_on=dt.date(1986, 5, n + 1),
                id_type=IdDocumentType.RESIDENT_ID,
                id_number=number,
            )  # fmt: skip
        )
    return found


def hpv_rows(women, results):
    return [
        [f"S{i + 1}", woman.id_number, woman.name, "2026-11-20", result, types]
        for i, (woman, (result, types)) in enumerate(zip(women, results, strict=False))
    ]


def upload(data, source, staff, storage):
    actor = Actor(staff.id, staff.username)
    return service.receive_file(
        io.BytesIO(data), "hpv.csv", source, "CERVICAL_CANCER", "HPV", staff, actor, NOW, storage
    )


def confirm(batch, staff, storage, **chosen):
    """Confirm the suggested columns with the values as proposed, except those `chosen` (spelling=code)."""
    columns = service.initial_mapping(batch)
    surveyed = service.value_survey(batch, columns, storage)
    answers = {}
    for column in surveyed:
        for value in column.values:
            if value.spelling in chosen:
                answers[column.form_name(value)] = chosen[value.spelling]
    value_map = values.confirmed_map(surveyed, answers)
    problems = service.confirm_mapping(
        batch, columns, True, Actor(staff.id, staff.username), NOW,
        value_map=value_map, unmapped=values.left_unmapped(surveyed),
    )  # fmt: skip
    assert problems == []
    return surveyed


def by_spelling(surveyed, field):
    [column] = [c for c in surveyed if c.target.name == field]
    return {v.spelling: v for v in column.values}


RESULTS = [("阳性", "16,18"), ("POS", "52"), ("阴性", ""), ("弱阳性", "58"), ("？", ""), ("？", "")]


def test_values_are_proposed_from_the_first_rows_once_per_distinct_value(staff, source, women, storage):
    batch = upload(csv_bytes(hpv_rows(women, RESULTS)), source, staff, storage)

    surveyed = service.value_survey(batch, service.initial_mapping(batch), storage)

    results = by_spelling(surveyed, "hpv_result")
    assert results["阳性"].declared == "POSITIVE" and not results["阳性"].needs_mapping
    assert results["POS"].code == "POSITIVE" and results["POS"].needs_mapping
    assert results["弱阳性"].code is None  # no guess: the user decides (a code or a refusal)
    assert (results["？"].count, results["？"].first_rows) == (2, [6, 7])
    types = by_spelling(surveyed, "hpv_types")
    assert {s: v.code for s, v in types.items()} == {
        "16": "HPV16",
        "18": "HPV18",
        "52": "HPV52",
        "58": "HPV58",
    }


@pytest.mark.parametrize(
    ("spelling", "code"),
    [("阳", "POSITIVE"), ("+", "POSITIVE"), ("1", "POSITIVE"), ("neg", "NEGATIVE"), ("0", "NEGATIVE"),
     ("异常", "POSITIVE"), ("弱阳性", None)],
)  # fmt: skip
def test_common_lab_spellings_are_proposed(spelling, code):
    field = HPV.field("hpv_result")
    assert values.propose(field, values.value_key(spelling)) == code


def test_type_numbers_are_proposed_for_hpv_types():
    field = HPV.field("hpv_types")
    assert values.propose(field, "16") == "HPV16"
    assert values.propose(field, "hpv-52") == "HPV52"
    assert values.propose(field, "16型") == "HPV16"
    assert values.propose(field, "99") is None


def test_confirmed_values_are_read_for_every_row_and_saved_for_the_source(staff, source, women, storage):
    batch = upload(csv_bytes(hpv_rows(women, RESULTS)), source, staff, storage)
    confirm(batch, staff, storage, 弱阳性=values.REFUSE)

    batch = running.run_import(batch.id, clock, storage)

    stored = {
        r.source_key: (r.measured_values["hpv_result"], r.measured_values["hpv_types"])
        for r in db.session.scalars(
            sa.select(ScreeningResult).where(ScreeningResult.source_system == source.code)
        )
    }
    assert stored == {
        "S1": ("POSITIVE", ["HPV16", "HPV18"]),
        "S2": ("POSITIVE", ["HPV52"]),
        "S3": ("NEGATIVE", []),
    }
    assert batch.rejected_count == 3
    codes = db.session.execute(
        sa.select(ImportRowIssue.row_number, ImportRowIssue.code).where(ImportRowIssue.batch_id == batch.id)
    ).all()
    assert sorted(codes) == [(5, "VALUE_REFUSED"), (6, "UNKNOWN_CHOICE"), (7, "UNKNOWN_CHOICE")]
    saved = db.session.scalar(sa.select(ColumnMapping).where(ColumnMapping.source_id == source.id))
    assert saved.value_map["hpv_result"] == {"pos": "POSITIVE", "弱阳性": None}
    assert saved.value_map["hpv_types"] == {"16": "HPV16", "18": "HPV18", "52": "HPV52", "58": "HPV58"}


def test_an_unmapped_value_is_reported_once_with_its_count_and_first_rows(staff, source, women, storage):
    batch = upload(csv_bytes(hpv_rows(women, RESULTS)), source, staff, storage)
    confirm(batch, staff, storage, 弱阳性=values.REFUSE)
    batch = running.run_import(batch.id, clock, storage)

    problems = queries.value_problems(batch)

    assert [(p.code, p.value, p.rows, p.first_rows) for p in problems] == [
        ("UNKNOWN_CHOICE", "？", 2, (6, 7)),
        ("VALUE_REFUSED", "弱阳性", 1, (5,)),
    ]
    assert queries.first_issues(batch, 100) == []  # told once per value, not once per row


def test_the_next_file_from_the_source_reuses_the_confirmed_values(staff, source, women, storage):
    first = upload(csv_bytes(hpv_rows(women, RESULTS[:4])), source, staff, storage)
    confirm(first, staff, storage, 弱阳性="POSITIVE")
    running.run_import(first.id, clock, storage)

    rows = [["T1", women[4].id_number, women[4].name, "2026-11-21", "弱阳性", "58"]]
    second = upload(csv_bytes(rows), source, staff, storage)
    surveyed = service.value_survey(second, service.initial_mapping(second), storage)

    weak = by_spelling(surveyed, "hpv_result")["弱阳性"]
    assert (weak.code, weak.saved) == ("POSITIVE", True)


def test_a_saved_value_applies_to_rows_past_the_first_ones(staff, source, women, storage, monkeypatch):
    first = upload(csv_bytes(hpv_rows(women, [("POS", "16")])), source, staff, storage)
    confirm(first, staff, storage)
    running.run_import(first.id, clock, storage)
    monkeypatch.setattr(values, "SURVEY_ROWS", 1)
    monkeypatch.setattr(service, "SURVEY_ROWS", 1)
    rows = hpv_rows(women[1:], [("阴性", ""), ("POS", "16")])
    second = upload(csv_bytes([[f"T{i}", *r[1:]] for i, r in enumerate(rows)]), source, staff, storage)
    confirm(second, staff, storage)

    second = running.run_import(second.id, clock, storage)

    assert (second.imported_count, second.rejected_count) == (2, 0)
