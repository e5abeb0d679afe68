"""Suspected duplicate people, merging them with an audit record, and undoing a merge exactly."""

import datetime as dt

import pytest
import sqlalchemy as sa

from registry.audit import Actor, AuditEvent
from registry.auth.models import Role
from registry.extensions import db
from registry.people import merge
from registry.people.idnumbers import check_digit
from registry.people.merge import (
    DistinctPeople,
    DuplicateReason,
    MergeRefused,
    PersonMerge,
    merge_people,
    suspected_duplicates,
    undo_merge,
)
from registry.people.models import IdDocumentType, Person, PersonKind, Pregnancy, Sex
from screenings.cases import open_missed_screening
from screenings.engine import EventKind
from screenings.models import CaseEvent, FollowUpCase, ScreeningResult
from screenings.programs import get_program
from screenings.results import record_result
from tests.conftest import NOW

H, D = dt.timedelta(hours=1), dt.timedelta(days=1)
BIRTH = dt.datetime(2026, 11, 1, 1, 0, tzinfo=dt.UTC)
WOMAN_ID = "330106199003070022"
ACTOR = Actor(user_id=None, username="coordinator-test")
EVERYWHERE = sa.true()


def resident_id(body17: str) -> str:
    return body17 + check_digit(body17)


def hearing(left="PASS", right="PASS", at=BIRTH + 50 * H):
    return {
        "screening_status": "DONE",
        "screened_at": at.isoformat(),
        "method": "OAE",
        "left_ear": left,
        "right_ear": right,
    }


def count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def audit_actions(entity: str, entity_id) -> list[str]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent.action)
            .where(AuditEvent.entity == entity, AuditEvent.entity_id == str(entity_id))
            .order_by(AuditEvent.id)
        )
    )


def pair_reasons(pairs, a: Person, b: Person) -> tuple[DuplicateReason, ...] | None:
    for pair in pairs:
        if {pair.first.id, pair.second.id} == {a.id, b.id}:
            return pair.reasons
    return None


@pytest.fixture
def mother(district, make_person):
    return make_person(
        district["hospital"], name="李梅", id_type=IdDocumentType.RESIDENT_ID, id_number=WOMAN_ID
    )


@pytest.fixture
def newborn(district, make_person, mother):
    def make(**overrides):
        values = dict(
            name="李梅之子",
            kind=PersonKind.NEWBORN,
            sex=Sex.MALE,
            birth_on=BIRTH.date(),
            birth_at=BIRTH,
            mother_id=mother.id,
            birth_order=1,
        )
        values.update(overrides)
        return make_person(values.pop("institution", district["hospital"]), **values)

    return make


# -- finding suspected pairs ----------------------------------------------------------------------------


def test_the_same_document_number_under_two_document_types_is_a_suspected_pair(district, make_person):
    number = resident_id("11010519491231002")
    first = make_person(
        district["hospital"], name="张三", id_type=IdDocumentType.RESIDENT_ID, id_number=number
    )
    # Typed in as a Hong Kong / Macao permit at the community centre: the unique index does not stop it.
    second = make_person(
        district["community"], name="赵敏", id_type=IdDocumentType.HK_MACAO_PERMIT, id_number=number
    )
    unrelated = make_person(
        district["community"],
        name="王芳",
        id_type=IdDocumentType.RESIDENT_ID,
        id_number=resident_id("33010619900307002"),
    )
    pairs = suspected_duplicates(EVERYWHERE)
    assert pair_reasons(pairs, first, second) == (DuplicateReason.SAME_DOCUMENT,)
    assert pair_reasons(pairs, first, unrelated) is None
    assert [p.second.id for p in merge.duplicates_of(first, EVERYWHERE)] == [second.id]


def test_a_large_group_yields_every_pair_of_its_newest_members(district, make_person):
    people = [make_person(district["hospital"], name="李梅") for _ in range(4)]
    pairs = suspected_duplicates(EVERYWHERE)
    assert {(p.first.id, p.second.id) for p in pairs} == {
        (a.id, b.id) for i, a in enumerate(people) for b in people[i + 1 :]
    }


def test_same_pinyin_name_and_birth_date_is_a_suspected_pair(district, make_person):
    first = make_person(district["hospital"], name="李梅", birth_on=dt.date(1990, 3, 7))
    homophone = make_person(district["community"], name="黎梅", birth_on=dt.date(1990, 3, 7))
    other_day = make_person(district["community"], name="李梅", birth_on=dt.date(1990, 3, 8))
    pairs = suspected_duplicates(EVERYWHERE)
    assert pair_reasons(pairs, first, homophone) == (DuplicateReason.SAME_NAME_AND_BIRTH_DATE,)
    assert pair_reasons(pairs, first, other_day) is None


def test_newborns_of_one_mother_pair_by_birth_order_or_birth_date_but_twins_do_not(district, newborn):
    first = newborn()
    again = newborn(name="王宝宝", institution=district["community"])  # same order, day and time: twice
    twin = newborn(name="李梅之子二", birth_order=2, birth_at=BIRTH + dt.timedelta(minutes=3))
    untimed = newborn(name="李宝", birth_order=3, birth_at=None)  # no birth time to tell it apart
    girl = newborn(name="李梅之女", sex=Sex.FEMALE, birth_order=4, birth_at=None)
    later = newborn(name="李小二", birth_order=5, birth_on=dt.date(2028, 5, 1), birth_at=None)
    pairs = suspected_duplicates(EVERYWHERE)
    both = (DuplicateReason.SAME_MOTHER_AND_BIRTH_ORDER, DuplicateReason.SAME_MOTHER_AND_BIRTH_DATE)
    assert pair_reasons(pairs, first, again) == both
    assert pair_reasons(pairs, first, untimed) == (DuplicateReason.SAME_MOTHER_AND_BIRTH_DATE,)
    assert pair_reasons(pairs, twin, untimed) == (DuplicateReason.SAME_MOTHER_AND_BIRTH_DATE,)
    for other in (twin, girl, later):
        assert pair_reasons(pairs, first, other) is None
    assert pair_reasons(pairs, girl, untimed) is None
    assert {p.second.id for p in merge.duplicates_of(first, EVERYWHERE)} == {again.id, untimed.id}
    assert {p.first.id for p in merge.duplicates_of(untimed, EVERYWHERE)} == {first.id, again.id, twin.id}


def test_only_pairs_inside_the_scope_are_suggested(district, make_person):
    here = make_person(district["hospital"], name="李梅")
    there = make_person(district["community"], name="李梅")
    hospital_only = Person.institution_id.in_([district["hospital"].id])
    assert suspected_duplicates(hospital_only) == []
    assert merge.duplicates_of(here, hospital_only) == []
    assert pair_reasons(suspected_duplicates(EVERYWHERE), here, there) is not None


def test_merged_records_and_pairs_marked_distinct_are_not_suggested(district, make_person):
    a = make_person(district["hospital"], name="李梅")
    b = make_person(district["hospital"], name="李梅")
    c = make_person(district["hospital"], name="李梅")
    merge.mark_distinct(c, a, ACTOR, NOW, "双胞胎姐妹")
    merge_people(a, b, ACTOR, NOW, "同一人重复登记")
    assert suspected_duplicates(EVERYWHERE) == []
    assert audit_actions("person_distinct_pair", db.session.scalar(sa.select(DistinctPeople.id))) == [
        "CREATE"
    ]


# -- merging ------------------------------------------------------------------------------------------


@pytest.fixture
def twins_of_record(district, make_person, mother):
    """One newborn registered twice: the hospital's record and the community centre's, each with data."""
    keep = make_person(
        district["hospital"],
        name="王小宝",
        kind=PersonKind.NEWBORN,
        sex=Sex.MALE,
        birth_on=BIRTH.date(),
        birth_at=BIRTH,
        mother_id=mother.id,
        birth_order=1,
    )
    remove = make_person(
        district["community"],
        name="王小宝",
        kind=PersonKind.NEWBORN,
        sex=Sex.MALE,
        birth_on=BIRTH.date(),
        birth_at=BIRTH,
        mother_id=mother.id,
        birth_order=2,
    )
    return keep, remove


def test_a_merge_moves_results_cases_children_and_pregnancies(district, make_person, mother):
    keep = make_person(district["hospital"], name="李梅", birth_on=dt.date(1990, 3, 7))
    remove = mother  # the same woman, registered with her ID at the same hospital
    db.session.add(
        Pregnancy(
            mother_id=remove.id,
            registered_on=dt.date(2026, 3, 1),
            expected_delivery_on=dt.date(2026, 11, 10),
            institution_id=remove.institution_id,
            created_at=NOW,
        )
    )
    child = make_person(
        district["hospital"],
        name="李梅之子",
        kind=PersonKind.NEWBORN,
        sex=Sex.MALE,
        birth_on=BIRTH.date(),
        birth_at=BIRTH,
        mother_id=remove.id,
        birth_order=1,
    )
    result = record_result(
        child,
        "NEWBORN_HEARING",
        "INITIAL",
        hearing("REFER"),
        district["hospital"],
        ACTOR,
        BIRTH + 3 * D,
        source_key="merge-1",
    )
    other_child = make_person(
        district["hospital"],
        name="王小宝",
        kind=PersonKind.NEWBORN,
        sex=Sex.MALE,
        birth_on=BIRTH.date(),
        birth_at=BIRTH,
    )
    child_result = record_result(
        other_child,
        "NEWBORN_HEARING",
        "INITIAL",
        hearing("REFER"),
        district["hospital"],
        ACTOR,
        BIRTH + 3 * D,
        source_key="merge-2",
    )
    case_version = child_result.case.version

    record = merge_people(keep, remove, ACTOR, NOW, "同一孕妇两次建档")
    assert db.session.get(Person, child.id).mother_id == keep.id
    assert count(Pregnancy, Pregnancy.mother_id == keep.id) == 1
    assert db.session.get(Person, remove.id).merged_into_id == keep.id
    assert record.moved_rows == {
        "person.mother_id": [child.id],
        "pregnancy.mother_id": [db.session.scalar(sa.select(Pregnancy.id))],
    }
    assert result.case is not None

    # A second merge moves a newborn's results and cases, and bumps the moved case's version.
    record2 = merge_people(child, other_child, ACTOR, NOW + H, "同一新生儿重复登记")
    assert count(ScreeningResult, ScreeningResult.person_id == child.id) == 2
    assert count(FollowUpCase, FollowUpCase.person_id == child.id) == 2
    moved_case = db.session.get(FollowUpCase, child_result.case.id)
    assert moved_case.person_id == child.id and moved_case.version == case_version + 1
    assert record2.moved_rows == {
        "follow_up_case.person_id": [child_result.case.id],
        "screening_result.person_id": [child_result.result.id],
    }
    # The case's timeline says why it now belongs to another record (a NOTE, which changes no state).
    notes = db.session.scalars(
        sa.select(CaseEvent.note).where(CaseEvent.case_id == moved_case.id, CaseEvent.kind == EventKind.NOTE)
    ).all()
    assert notes == [f"person {other_child.id} merged into person {child.id} (merge {record2.id})"]


def test_a_merge_is_audited_in_the_same_transaction(twins_of_record):
    keep, remove = twins_of_record
    record = merge_people(keep, remove, ACTOR, NOW, "重复登记，身份证 330106199003070022")
    assert audit_actions("person_merge", record.id) == ["MERGE"]
    assert audit_actions("person", remove.id) == ["MERGE"]
    assert audit_actions("person", keep.id) == ["MERGE"]
    summary = db.session.scalar(sa.select(AuditEvent.summary).where(AuditEvent.entity == "person_merge"))
    assert f"person {remove.id} merged into person {keep.id}" in summary
    # The free-text reason never carries a full ID number into the history or the audit trail.
    assert WOMAN_ID not in summary and WOMAN_ID not in record.reason


def test_undo_moves_back_exactly_what_the_merge_moved(district, twins_of_record):
    keep, remove = twins_of_record
    first = record_result(
        remove,
        "NEWBORN_HEARING",
        "INITIAL",
        hearing("REFER"),
        district["community"],
        ACTOR,
        BIRTH + 3 * D,
        source_key="undo-1",
    )
    kept_before = record_result(
        keep,
        "NEWBORN_HEARING",
        "INITIAL",
        hearing(),
        district["hospital"],
        ACTOR,
        BIRTH + 3 * D,
        source_key="undo-0",
    )
    record = merge_people(keep, remove, ACTOR, NOW, "重复登记")
    # After the merge, new work lands on the kept person; the undo must leave it there.
    added_after = record_result(
        keep,
        "NEWBORN_HEARING",
        "RESCREEN",
        hearing(at=BIRTH + 20 * D),
        district["hospital"],
        ACTOR,
        NOW + D,
        source_key="undo-2",
    )

    undo_merge(record, ACTOR, NOW + 2 * D, "合并错误")
    results = dict(db.session.execute(sa.select(ScreeningResult.id, ScreeningResult.person_id)).all())
    assert results == {
        first.result.id: remove.id,
        kept_before.result.id: keep.id,
        added_after.result.id: keep.id,
    }
    assert db.session.get(FollowUpCase, first.case.id).person_id == remove.id
    assert db.session.get(Person, remove.id).merged_into_id is None
    assert record.undone_at == NOW + 2 * D and record.undo_reason == "合并错误"
    assert audit_actions("person_merge", record.id) == ["MERGE", "UNDO"]
    assert audit_actions("person", remove.id) == ["MERGE", "UNMERGE"]
    with pytest.raises(MergeRefused) as refused:
        undo_merge(record, ACTOR, NOW + 3 * D, "再撤销一次")
    assert refused.value.code == "already_undone"


def test_a_case_the_kept_person_may_have_only_once_stays_behind(district, twins_of_record):
    keep, remove = twins_of_record
    program = get_program("NEWBORN_HEARING")
    kept_case = open_missed_screening(keep, program, district["hospital"], ACTOR, NOW)
    removed_case = open_missed_screening(remove, program, district["community"], ACTOR, NOW)
    preview = merge.merge_preview(keep, remove)
    assert preview.stuck == 1 and preview.open_case_programs_in_common == 1

    record = merge_people(keep, remove, ACTOR, NOW, "重复登记")
    assert record.left_rows == {"follow_up_case.person_id": [removed_case.id]}
    assert db.session.get(FollowUpCase, removed_case.id).person_id == remove.id
    assert db.session.get(FollowUpCase, kept_case.id).person_id == keep.id
    undo_merge(record, ACTOR, NOW + H, "撤销")
    assert db.session.get(FollowUpCase, removed_case.id).person_id == remove.id


def test_an_undo_waits_for_a_later_merge_of_the_kept_person(district, make_person, twins_of_record):
    keep, remove = twins_of_record
    third = make_person(
        district["hospital"], name="王小宝", kind=PersonKind.NEWBORN, sex=Sex.MALE, birth_on=BIRTH.date()
    )
    first_merge = merge_people(keep, remove, ACTOR, NOW, "重复登记")
    merge_people(third, keep, ACTOR, NOW + H, "又一次重复")
    assert merge.current_record(db.session.get(Person, remove.id)).id == third.id
    with pytest.raises(MergeRefused) as refused:
        undo_merge(first_merge, ACTOR, NOW + 2 * H, "撤销")
    assert refused.value.code == "kept_merged_since"


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("same", "same_person"),
        ("mother", "mother_and_child"),
        ("merged", "already_merged"),
        ("blank", "reason_required"),
    ],
)
def test_a_merge_that_makes_no_sense_is_refused_and_changes_nothing(
    district, make_person, mother, case, code
):
    child = make_person(
        district["hospital"],
        name="李梅之子",
        kind=PersonKind.NEWBORN,
        mother_id=mother.id,
        birth_on=BIRTH.date(),
    )
    other = make_person(district["hospital"], name="李梅")
    if case == "merged":
        merge_people(mother, other, ACTOR, NOW, "重复登记")
    keep, remove, reason = {
        "same": (mother, mother, "原因"),
        "mother": (mother, child, "原因"),
        "merged": (mother, other, "原因"),
        "blank": (mother, other, "   "),
    }[case]
    merges_before = count(PersonMerge)
    with pytest.raises(MergeRefused) as refused:
        merge_people(keep, remove, ACTOR, NOW, reason)
    assert refused.value.code == code
    assert count(PersonMerge) == merges_before
    assert db.session.get(Person, child.id).mother_id == mother.id


def test_every_reference_to_a_person_is_moved_except_access_grants():
    keys = {reference.key for reference in merge.person_references()}
    assert {
        "screening_result.person_id",
        "follow_up_case.person_id",
        "person.mother_id",
        "pregnancy.mother_id",
    } <= keys
    assert not keys & merge.NOT_MOVED


def test_merged_people_are_hidden_from_search_and_registration_checks(district, make_person):
    from registry.people.services import PersonDraft, find_duplicates, search_people

    keep = make_person(district["hospital"], name="李梅")
    remove = make_person(district["hospital"], name="李梅")
    merge_people(keep, remove, ACTOR, NOW, "重复登记")
    assert [p.id for p in search_people("李梅", EVERYWHERE)] == [keep.id]
    draft = PersonDraft(
        kind=PersonKind.WOMAN,
        name="李梅",
        sex=Sex.FEMALE,
        birth_on=dt.date(1990, 3, 7),
        institution_id=district["hospital"].id,
    )
    assert [p.id for p in find_duplicates(draft).similar] == [keep.id]


# -- pages ---------------------------------------------------------------------------------------------


@pytest.fixture
def coordinator(district, make_user, login):
    user = make_user(Role.FOLLOW_UP_COORDINATOR, district["mch"])
    login(user)
    return user


@pytest.fixture
def pair(district, make_person):
    keep = make_person(
        district["hospital"],
        name="李梅",
        id_type=IdDocumentType.RESIDENT_ID,
        id_number=WOMAN_ID,
        phone="13812345678",
    )
    remove = make_person(district["community"], name="黎梅", phone="13987654321")
    return keep, remove


def test_coordinator_reviews_suspected_pairs_with_masked_identifiers(client, coordinator, pair):
    keep, remove = pair
    for start in ("/", "/people/"):
        assert 'href="/people/duplicates"' in client.get(start).get_data(as_text=True)
    page = client.get("/people/duplicates").get_data(as_text=True)
    assert "疑似重复人员" in page and "姓名（拼音）和出生日期相同" in page
    assert f"/people/merge/{keep.id}/{remove.id}" in page
    assert "1990年3月7日" in page
    assert WOMAN_ID not in page and "3301**********0022" in page

    compare = client.get(f"/people/merge/{keep.id}/{remove.id}").get_data(as_text=True)
    assert "比对并合并" in compare and "保留此记录" in compare
    assert WOMAN_ID not in compare and "13812345678" not in compare and "138****5678" in compare
    assert "第一人民医院" in compare and "北山社区卫生服务中心" in compare


def test_the_pages_speak_english_too(client, coordinator, pair):
    keep, remove = pair
    client.post("/language/en", data={"next": "/"})
    page = client.get("/people/duplicates").get_data(as_text=True)
    assert "Suspected duplicate people" in page and "Same name (pinyin) and birth date" in page
    assert "March 7, 1990" in page
    response = client.post(f"/people/merge/{keep.id}/{remove.id}", data={"merge-keep": str(keep.id)})
    assert "Give the reason for the merge." in response.get_data(as_text=True)


def test_person_page_links_to_a_suspected_duplicate(client, coordinator, pair):
    keep, remove = pair
    page = client.get(f"/people/{keep.id}").get_data(as_text=True)
    assert "此人可能被重复登记" in page and f"/people/merge/{keep.id}/{remove.id}" in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"merge-keep": "KEEP"}, "请填写合并原因。"),
        ({"merge-keep": "KEEP", "merge-reason": "   "}, "请填写合并原因。"),
        ({"merge-reason": "同一人"}, "请选择保留两条记录中的哪一条。"),
        ({"merge-keep": "999999", "merge-reason": "同一人"}, "请选择保留两条记录中的哪一条。"),
        ({"merge-keep": "KEEP", "merge-reason": "长" * 501}, "500"),
    ],
)
def test_merge_form_messages_are_shown_and_nothing_is_saved(client, coordinator, pair, data, message):
    keep, remove = pair
    if data.get("merge-keep") == "KEEP":
        data = {**data, "merge-keep": str(keep.id)}
    response = client.post(f"/people/merge/{keep.id}/{remove.id}", data=data)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert count(PersonMerge) == 0 and db.session.get(Person, remove.id).merged_into_id is None


def test_the_same_person_twice_is_refused_with_a_message(client, coordinator, pair):
    keep, _ = pair
    url = f"/people/merge/{keep.id}/{keep.id}"
    assert "这是同一条记录：请选择两个不同的人。" in client.get(url).get_data(as_text=True)
    response = client.post(url, data={"merge-keep": str(keep.id), "merge-reason": "同一人"})
    assert "这是同一条记录：请选择两个不同的人。" in response.get_data(as_text=True)
    assert count(PersonMerge) == 0


def test_a_merge_through_the_page_then_its_undo(client, coordinator, pair):
    keep, remove = pair
    response = client.post(
        f"/people/merge/{keep.id}/{remove.id}",
        data={"merge-keep": str(keep.id), "merge-reason": "同一人重复建档"},
    )
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/people/{keep.id}")
    record = db.session.scalars(sa.select(PersonMerge)).one()
    assert (record.kept_person_id, record.removed_person_id, record.reason) == (
        keep.id,
        remove.id,
        "同一人重复建档",
    )
    assert record.merged_by_id == coordinator.id
    assert "已合并" in client.get(response.headers["Location"]).get_data(as_text=True)

    # The merged record's page leads to the kept one; search finds only the kept one.
    moved = client.get(f"/people/{remove.id}")
    assert moved.status_code == 302 and moved.headers["Location"].endswith(f"/people/{keep.id}")
    found = client.post("/people/", data={"q": "limei"}).get_data(as_text=True)
    assert f"/people/{keep.id}" in found and f'/people/{remove.id}"' not in found

    history = client.get("/people/merges").get_data(as_text=True)
    assert (
        "合并记录" in history
        and "同一人重复建档" in history
        and f"/people/merges/{record.id}/undo" in history
    )

    undo_url = f"/people/merges/{record.id}/undo"
    missing = client.post(undo_url, data={"reason": ""})
    assert "请填写撤销合并的原因。" in missing.get_data(as_text=True)
    assert db.session.get(PersonMerge, record.id).undone_at is None

    done = client.post(undo_url, data={"reason": "合并错了"})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/people/{remove.id}")
    assert db.session.get(Person, remove.id).merged_into_id is None
    assert "已于" in client.get("/people/merges").get_data(as_text=True)
    again = client.post(undo_url, data={"reason": "再来"})
    assert "此次合并已经撤销。" in again.get_data(as_text=True)
    assert audit_actions("person_merge", record.id) == ["MERGE", "UNDO"]


def test_marking_a_pair_as_different_people(client, coordinator, pair):
    keep, remove = pair
    url = f"/people/merge/{keep.id}/{remove.id}/distinct"
    missing = client.post(url, data={"distinct-reason": ""})
    assert "请说明为何不是同一人（例如：双胞胎）。" in missing.get_data(as_text=True)
    assert count(DistinctPeople) == 0

    done = client.post(url, data={"distinct-reason": "不同母亲，不同住址"})
    assert done.status_code == 302
    assert "您的权限范围内没有疑似重复人员。" in client.get("/people/duplicates").get_data(as_text=True)


def test_clinic_staff_cannot_merge_another_institutions_person(client, district, make_user, login, pair):
    keep, remove = pair  # the hospital's and the community centre's
    login(make_user(Role.CLINIC_STAFF, district["hospital"]))
    url = f"/people/merge/{keep.id}/{remove.id}"
    assert client.get(url).status_code == 404
    response = client.post(url, data={"merge-keep": str(keep.id), "merge-reason": "同一人"})
    assert response.status_code == 404 and "黎梅" not in response.get_data(as_text=True)
    assert client.post(f"{url}/distinct", data={"distinct-reason": "不同人"}).status_code == 404
    assert count(PersonMerge) == 0 and count(DistinctPeople) == 0
    # Nor is the pair suggested to them.
    assert "黎梅" not in client.get("/people/duplicates").get_data(as_text=True)


def test_clinic_staff_merge_within_their_institution(client, district, make_user, login, make_person):
    login(make_user(Role.CLINIC_STAFF, district["hospital"]))
    keep = make_person(district["hospital"], name="李梅")
    remove = make_person(district["hospital"], name="李梅")
    response = client.post(
        f"/people/merge/{keep.id}/{remove.id}", data={"merge-keep": str(remove.id), "merge-reason": "重复"}
    )
    assert response.status_code == 302
    assert db.session.get(Person, keep.id).merged_into_id == remove.id


def test_an_undo_of_a_merge_outside_the_scope_answers_404(client, district, make_user, login, pair):
    keep, remove = pair
    record = merge_people(keep, remove, ACTOR, NOW, "重复")
    login(make_user(Role.CLINIC_STAFF, district["hospital"]))
    assert client.get(f"/people/merges/{record.id}/undo").status_code == 404
    assert client.post(f"/people/merges/{record.id}/undo", data={"reason": "撤销"}).status_code == 404
    assert db.session.get(PersonMerge, record.id).undone_at is None
    assert "黎梅" not in client.get("/people/merges").get_data(as_text=True)


def test_another_districts_coordinator_gets_404(client, district, make_user, login, pair):
    keep, remove = pair
    login(make_user(Role.FOLLOW_UP_COORDINATOR, district["far_hospital"]))
    assert client.get(f"/people/merge/{keep.id}/{remove.id}").status_code == 404


@pytest.mark.parametrize("role", [Role.PROGRAM_MANAGER, Role.AUDITOR, Role.SYSTEM_ADMIN])
def test_roles_that_do_not_merge_are_refused(client, district, make_user, login, pair, role):
    keep, remove = pair
    login(make_user(role, district["mch"]))
    assert 'href="/people/duplicates"' not in client.get("/").get_data(as_text=True)
    assert client.get("/people/duplicates").status_code == 403
    assert (
        client.post(
            f"/people/merge/{keep.id}/{remove.id}",
            data={"merge-keep": str(keep.id), "merge-reason": "同一人"},
        ).status_code
        == 403
    )
    assert count(PersonMerge) == 0


def test_the_merge_page_warns_of_open_cases_of_one_program(client, coordinator, district, twins_of_record):
    keep, remove = twins_of_record
    for person, key in ((keep, "w1"), (remove, "w2")):
        record_result(
            person,
            "NEWBORN_HEARING",
            "INITIAL",
            hearing("REFER"),
            district["hospital"],
            ACTOR,
            BIRTH + 3 * D,
            source_key=key,
        )
    page = client.get(f"/people/merge/{keep.id}/{remove.id}").get_data(as_text=True)
    assert "两人在同一筛查项目中都有未结案的随访个案（1 个项目）" in page
    response = client.post(
        f"/people/merge/{keep.id}/{remove.id}", data={"merge-keep": str(keep.id), "merge-reason": "重复"}
    )
    assert response.status_code == 302
    open_cases = count(FollowUpCase, FollowUpCase.person_id == keep.id, FollowUpCase.status != "CLOSED")
    assert open_cases == 2
