"""Registering, finding and viewing people: validation messages, duplicates, scope and masking."""

import logging
import re

import pytest
import sqlalchemy as sa

from registry.audit import AuditEvent
from registry.auth.models import Role
from registry.people.idnumbers import check_digit
from registry.people.models import IdDocumentType, Person, PersonKind, Pregnancy
from registry.people.protection import blind_index_of_document

WOMAN_ID = "330106199003070022"


def holds_woman_id():
    """The look-up by WOMAN_ID: numbers are stored encrypted, and found by their blind index."""
    return Person.id_number_index == blind_index_of_document(WOMAN_ID)


def woman_form(**overrides) -> dict:
    data = {
        "name": "李梅",
        "birth_on": "1990-03-07",
        "id_type": "RESIDENT_ID",
        "id_number": WOMAN_ID,
        "phone": "13812345678",
        "address": "杭州市西湖区文三路1号",
        "household": "LOCAL",
    }
    data.update(overrides)
    return data


@pytest.fixture
def clinic_user(district, make_user, login):
    user = make_user(Role.CLINIC_STAFF, district["hospital"])
    login(user)
    return user


def test_register_a_woman_and_open_her_page(client, clinic_user, db_session):
    response = client.post("/people/register/woman", data=woman_form())
    assert response.status_code == 302
    person = db_session.scalar(
        sa.select(Person).where(Person.id_number_index == blind_index_of_document(WOMAN_ID))
    )
    assert person.name_pinyin == "limei" and person.name_initials == "lm"
    assert person.institution_id == clinic_user.institution_id
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "李梅" in page
    assert (
        db_session.scalar(
            sa.select(sa.func.count()).where(
                AuditEvent.entity == "person", AuditEvent.entity_id == str(person.id)
            )
        )
        == 1
    )


def test_register_a_pregnant_woman_records_the_pregnancy(client, clinic_user, db_session):
    response = client.post(
        "/people/register/pregnant",
        data=woman_form(expected_delivery_on="2027-03-01", last_menstrual_period_on="2026-05-25"),
    )
    assert response.status_code == 302
    person = db_session.scalar(
        sa.select(Person).where(Person.id_number_index == blind_index_of_document(WOMAN_ID))
    )
    pregnancy = db_session.scalar(sa.select(Pregnancy).where(Pregnancy.mother_id == person.id))
    assert pregnancy.expected_delivery_on.isoformat() == "2027-03-01"


@pytest.mark.parametrize(
    ("id_number", "birth_on", "message"),
    [
        ("330106199003070023", "1990-03-07", "校验码不符"),
        ("33010619900230" + "0021", "1990-02-28", "不是有效日期"),
        ("3301061990030700", "1990-03-07", "必须为 18 位"),
        (WOMAN_ID, "1990-03-08", "与填写的出生日期 1990-03-08 不一致"),
    ],
)
def test_each_id_problem_is_shown_on_the_field_and_nothing_is_saved(
    client, clinic_user, db_session, id_number, birth_on, message
):
    response = client.post("/people/register/woman", data=woman_form(id_number=id_number, birth_on=birth_on))
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Person)) == 0


def test_form_errors_name_each_field(client, clinic_user):
    page = client.post(
        "/people/register/woman", data=woman_form(name="", phone="12345", birth_on="")
    ).get_data(as_text=True)
    assert page.count('class="error"') >= 3
    assert "请输入 11 位大陆手机号码" in page


def test_same_id_number_is_refused_with_a_link_to_the_existing_person(client, clinic_user, db_session):
    client.post("/people/register/woman", data=woman_form())
    existing = db_session.scalar(
        sa.select(Person).where(Person.id_number_index == blind_index_of_document(WOMAN_ID))
    )
    response = client.post("/people/register/woman", data=woman_form(name="李梅梅", confirm_distinct="y"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "该证件已登记过" in page
    assert f"/people/{existing.id}" in page
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Person)) == 1


def test_same_pinyin_name_and_birth_date_needs_an_explicit_confirmation(client, clinic_user, db_session):
    client.post("/people/register/woman", data=woman_form(id_type="NONE", id_number=""))
    # 李玫 sounds the same (li mei) and has the same birth date.
    second = woman_form(name="李玫", id_type="NONE", id_number="")
    first_try = client.post("/people/register/woman", data=second)
    assert first_try.status_code == 200
    assert "已有同名" in first_try.get_data(as_text=True)
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Person)) == 1
    confirmed = client.post("/people/register/woman", data={**second, "confirm_distinct": "y"})
    assert confirmed.status_code == 302
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Person)) == 2


def test_register_a_newborn_linked_to_its_mother(client, clinic_user, make_person, district, db_session):
    mother = make_person(district["hospital"], name="王芳")
    form = {
        "name": "王小宝",
        "sex": "M",
        "birth_at": "2026-11-20T08:30",
        "birth_order": "1",
        "id_type": "NONE",
        "household": "LOCAL",
    }
    response = client.post(f"/people/register/newborn?mother_id={mother.id}", data=form)
    assert response.status_code == 302
    child = db_session.scalar(sa.select(Person).where(Person.mother_id == mother.id))
    assert child.kind == PersonKind.NEWBORN and child.birth_order == 1
    # 08:30 in Shanghai is 00:30 UTC.
    assert child.birth_at.hour == 0 and child.birth_at.minute == 30
    assert child.birth_on.isoformat() == "2026-11-20"
    mother_page = client.get(f"/people/{mother.id}").get_data(as_text=True)
    assert "王小宝" in mother_page
    # Twins: the same mother and name again needs the look-alike confirmation.
    again = client.post(f"/people/register/newborn?mother_id={mother.id}", data={**form, "birth_order": "2"})
    assert "已有同名" in again.get_data(as_text=True)


def test_search_by_name_pinyin_initials_id_and_phone(client, clinic_user, make_person, district):
    make_person(
        district["hospital"],
        name="张晓燕",
        id_type=IdDocumentType.RESIDENT_ID,
        id_number=WOMAN_ID,
        phone="13912345678",
    )
    make_person(district["hospital"], name="刘娜")
    for query in ("张晓", "zhangxiao", "zxy", WOMAN_ID, "13912345678"):
        page = client.post("/people/", data={"q": query}).get_data(as_text=True)
        assert "张晓燕" in page, query
        assert "刘娜" not in page, query


def test_clinic_staff_see_identifiers_masked(client, clinic_user, make_person, district):
    person = make_person(
        district["hospital"], id_type=IdDocumentType.RESIDENT_ID, id_number=WOMAN_ID, phone="13912345678"
    )
    for page in (
        client.get(f"/people/{person.id}").get_data(as_text=True),
        client.post("/people/", data={"q": "limei"}).get_data(as_text=True),
    ):
        assert WOMAN_ID not in page and "13912345678" not in page
        assert "3301**********0022" in page and "139****5678" in page


def test_revealing_identifiers_is_audited(client, clinic_user, make_person, district, db_session):
    person = make_person(district["hospital"], id_type=IdDocumentType.RESIDENT_ID, id_number=WOMAN_ID)
    page = client.post(f"/people/{person.id}/reveal").get_data(as_text=True)
    assert WOMAN_ID in page
    event = db_session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "REVEAL"))
    assert event.entity_id == str(person.id) and WOMAN_ID not in event.summary


def test_clinic_user_gets_404_for_another_institutions_person(
    client, clinic_user, make_person, district, caplog
):
    elsewhere = make_person(district["community"], name="赵敏")
    with caplog.at_level(logging.WARNING, logger="registry.security"):
        response = client.get(f"/people/{elsewhere.id}")
    assert response.status_code == 404
    assert "赵敏" not in response.get_data(as_text=True)
    assert any("access refused" in r.getMessage() for r in caplog.records)
    assert client.post(f"/people/register/newborn?mother_id={elsewhere.id}", data={}).status_code == 404
    assert "赵敏" not in client.post("/people/", data={"q": "zhaomin"}).get_data(as_text=True)


@pytest.mark.parametrize(
    ("role", "home", "sees_community", "sees_other_district"),
    [
        (Role.FOLLOW_UP_COORDINATOR, "mch", True, False),
        (Role.PROGRAM_MANAGER, "mch", True, False),
        (Role.AUDITOR, "mch", True, False),
        (Role.SYSTEM_ADMIN, "mch", True, True),
    ],
)
def test_scope_by_role(
    client, district, make_user, make_person, login, role, home, sees_community, sees_other_district
):
    login(make_user(role, district[home]))
    community_person = make_person(district["community"])
    far_person = make_person(district["far_hospital"], name="孙丽")
    assert (client.get(f"/people/{community_person.id}").status_code == 200) is sees_community
    assert (client.get(f"/people/{far_person.id}").status_code == 200) is sees_other_district


def test_auditor_cannot_register_anyone(client, district, make_user, login, db_session):
    login(make_user(Role.AUDITOR, district["mch"]))
    assert client.post("/people/register/woman", data=woman_form()).status_code == 403
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Person)) == 0


def test_identifiers_never_reach_the_logs(client, clinic_user, caplog):
    other = "11010519491231002X"
    with caplog.at_level(logging.INFO):
        client.post("/people/", data={"q": other})
        client.post("/people/register/woman", data=woman_form(id_number=other[:-1] + check_digit(other[:17])))
        logging.getLogger("registry").warning("looked up %s from %s", other, "13812345678")
    assert other not in caplog.text and "13812345678" not in caplog.text


def test_a_failing_audit_write_leaves_no_person_behind(client, clinic_user, db_session, monkeypatch):
    from registry import audit

    def broken_audit(*args, **kwargs):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(audit, "record", broken_audit)
    client.application.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        response = client.post("/people/register/woman", data=woman_form())
    finally:
        client.application.config["PROPAGATE_EXCEPTIONS"] = None
    assert response.status_code == 500
    assert "未保存任何内容" in response.get_data(as_text=True)
    db_session.rollback()
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Person)) == 0


def test_a_full_width_copy_of_a_registered_id_is_the_same_document(client, clinic_user, db_session):
    assert client.post("/people/register/woman", data=woman_form()).status_code == 302
    full_width = WOMAN_ID.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    again = client.post("/people/register/woman", data=woman_form(id_number=full_width, name="李梅梅"))
    assert again.status_code == 200
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Person)) == 1


def test_a_birth_date_before_1900_is_refused_on_the_birth_date_field(client, clinic_user, db_session):
    response = client.post(
        "/people/register/woman",
        data=woman_form(birth_on="1880-01-01", id_number="440524188001010014"),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "出生日期不能早于 1900 年" in page
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Person)) == 0


def test_a_newborn_born_in_year_one_is_refused_not_a_server_error(client, clinic_user, make_person, district):
    mother = make_person(district["hospital"], name="王芳")
    form = {
        "name": "王小宝",
        "sex": "M",
        "birth_at": "0001-01-01T00:00",
        "birth_order": "1",
        "id_type": "NONE",
    }
    response = client.post(
        f"/people/register/newborn?mother_id={mother.id}", data={**form, "household": "LOCAL"}
    )
    assert response.status_code == 200
    assert "出生日期不能早于 1900 年" in response.get_data(as_text=True)


def test_the_newborn_form_never_shows_the_mothers_full_phone_yet_uses_it(
    client, clinic_user, make_person, district, db_session
):
    mother = make_person(district["hospital"], name="王芳", phone="13812345678")
    page = client.get(f"/people/register/newborn?mother_id={mother.id}").get_data(as_text=True)
    assert "13812345678" not in page and "138****5678" in page
    form = {
        "name": "王小宝",
        "sex": "M",
        "birth_at": "2026-11-20T08:30",
        "birth_order": "1",
        "id_type": "NONE",
    }
    form.update(household="LOCAL", use_mother_phone="y")
    assert client.post(f"/people/register/newborn?mother_id={mother.id}", data=form).status_code == 302
    child = db_session.scalar(sa.select(Person).where(Person.mother_id == mother.id))
    assert child.phone == "13812345678"


def test_another_institutions_person_with_the_same_document_is_not_described(
    client, clinic_user, make_person, district, db_session
):
    make_person(district["community"], name="赵敏", id_type=IdDocumentType.RESIDENT_ID, id_number=WOMAN_ID)
    db_session.commit()
    page = client.post("/people/register/woman", data=woman_form()).get_data(as_text=True)
    assert "该证件已在本区登记" in page and "随访协调员" in page
    assert "赵敏" not in page and district["community"].name not in page


def test_the_loser_of_a_registration_race_sees_the_duplicate_message(
    client, clinic_user, make_person, district, db_session, monkeypatch
):
    from registry.people import services

    # The winner's row is already there, but this request's check ran before it committed.
    make_person(district["hospital"], name="李梅", id_type=IdDocumentType.RESIDENT_ID, id_number=WOMAN_ID)
    db_session.commit()
    real_check = services.find_duplicates
    checks = iter([services.DuplicateCheck(same_document=None, similar=[])])
    monkeypatch.setattr(services, "find_duplicates", lambda draft: next(checks, None) or real_check(draft))
    response = client.post("/people/register/woman", data=woman_form(confirm_distinct="y"))
    assert response.status_code == 200
    assert "已登记" in response.get_data(as_text=True)
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Person)) == 1


@pytest.mark.parametrize("order", ["0", "-1", "10"])
def test_a_newborn_birth_order_out_of_range_says_what_the_order_must_be(
    client, clinic_user, make_person, district, db_session, order
):
    mother = make_person(district["hospital"], name="王芳")
    form = {
        "name": "王小宝",
        "sex": "M",
        "birth_at": "2026-11-20T08:30",
        "birth_order": order,
        "id_type": "NONE",
        "household": "LOCAL",
    }
    page = client.post(f"/people/register/newborn?mother_id={mother.id}", data=form).get_data(as_text=True)
    error = re.search(r'<p class="error" id="birth_order-error">([^<]*)</p>', page)
    assert error and error.group(1) == "胎次须为1到9的整数（单胎或第一个出生的孩子填1）。"
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Person)) == 1


def test_a_newborn_without_birth_order_is_told_it_is_required(
    client, clinic_user, make_person, district, db_session
):
    mother = make_person(district["hospital"], name="王芳")
    form = {
        "name": "王小宝",
        "sex": "M",
        "birth_at": "2026-11-20T08:30",
        "id_type": "NONE",
        "household": "LOCAL",
    }
    page = client.post(f"/people/register/newborn?mother_id={mother.id}", data=form).get_data(as_text=True)
    assert '<p class="error" id="birth_order-error">胎次须为1到9的整数' in page
