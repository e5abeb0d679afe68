"""The one access policy, seen from the pages: scope follows responsibility, and a restricted (PMTCT)
record is indistinguishable from no record until the glass is broken on the person."""

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from registry.audit import Actor, AuditEvent
from registry.auth.models import Role
from registry.extensions import db
from registry.people.models import PersonKind, Sex
from screenings.models import CaseEvent, ScreeningResult
from screenings.results import record_result

D, H = dt.timedelta(days=1), dt.timedelta(hours=1)
NOW = dt.datetime.now(dt.UTC)  # the web edge reads the real clock
BIRTH = (NOW - 20 * D).replace(microsecond=0)
CLINIC = Actor(user_id=None, username="access-test")


def text(response) -> str:
    return response.get_data(as_text=True)


def hearing_case(person, institution):
    values = {
        "screening_status": "DONE",
        "screened_at": (BIRTH + 50 * H).isoformat(),
        "method": "OAE",
        "left_ear": "REFER",
        "right_ear": "REFER",
    }
    return record_result(
        person, "NEWBORN_HEARING", "INITIAL", values, institution, CLINIC, BIRTH + 3 * D
    ).case


def hbv_positive(person, institution):
    values = {
        "tested_on": (NOW - 30 * D).date().isoformat(),
        "testing_stage": "PREGNANCY",
        "hbsag": "POSITIVE",
        "hbeag": "NOT_DONE",
    }
    return record_result(person, "PMTCT_HBV", "HBV_SCREEN", values, institution, CLINIC, NOW)


@pytest.fixture
def baby(district, make_person):
    mother = make_person(district["hospital"], name="王芳", phone="13812345678")
    return make_person(
        district["hospital"],
        name="王小宝",
        kind=PersonKind.NEWBORN,
        sex=Sex.MALE,
        birth_on=BIRTH.date(),
        birth_at=BIRTH,
        mother_id=mother.id,
    )


@pytest.fixture
def transferred(client, district, baby, make_user, login):
    """A hearing case the hospital transferred to the community centre, which accepted it."""
    sender = make_user(Role.CLINIC_STAFF, district["hospital"])
    receiver = make_user(Role.CLINIC_STAFF, district["community"])
    case = hearing_case(baby, district["hospital"])
    login(sender)
    client.post(
        f"/cases/{case.id}/transfer",
        data={"version": case.version, "to_institution": district["community"].id, "note": "家住北山"},
    )
    db.session.refresh(case)
    login(receiver)
    client.post(f"/cases/{case.id}/answer", data={"version": case.version, "accept": "1"})
    db.session.refresh(case)
    assert case.responsible_institution_id == district["community"].id
    return {"case": case, "sender": sender, "receiver": receiver}


# -- scope follows responsibility -------------------------------------------------------------------


def test_the_institution_that_accepted_a_transfer_sees_the_person_and_logs_a_contact(
    client, baby, transferred
):
    case = transferred["case"]
    page = client.get(f"/people/{baby.id}")
    assert page.status_code == 200 and "王小宝" in text(page)
    response = client.post(
        f"/cases/{case.id}/contact",
        data={
            "version": case.version,
            "channel": "PHONE",
            "contact_outcome": "REACHED",
            "person_reached": "王芳",
            "relationship": "MOTHER",
        },
    )
    assert response.status_code == 302
    db.session.refresh(case)
    assert case.contact_attempts == 1


def test_the_sender_keeps_read_access_to_the_case_history_but_no_longer_acts(
    client, baby, transferred, login
):
    case = transferred["case"]
    login(transferred["sender"])
    page = client.get(f"/cases/{case.id}")
    assert page.status_code == 200 and "家住北山" in text(page)
    refused = client.post(f"/cases/{case.id}/note", data={"version": case.version, "note": "发送方"})
    assert refused.status_code == 403
    notes = db.session.scalar(
        sa.select(sa.func.count()).select_from(CaseEvent).where(CaseEvent.note == "发送方")
    )
    assert notes == 0


def test_an_unrelated_institution_still_sees_neither_the_person_nor_the_case(
    client, baby, transferred, district, make_user, login
):
    login(make_user(Role.CLINIC_STAFF, district["far_hospital"]))
    assert client.get(f"/people/{baby.id}").status_code == 404
    assert client.get(f"/cases/{transferred['case'].id}").status_code == 404


# -- PMTCT records: nothing to infer --------------------------------------------------------------


def _normalised(html: str, person) -> str:
    """The page without what is the person's own (id, name) and what changes per request (tokens)."""
    html = re.sub(rf"/people/{person.id}\b", "/people/ID", html).replace(person.name, "NAME")
    html = re.sub(rf"person_id={person.id}\b|mother_id={person.id}\b", "ID", html)
    html = re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token"', html)
    return html


@pytest.fixture
def two_women(district, make_person):
    """Two women alike but for their names, one with an HBV-positive case and result, one with none."""
    exposed = make_person(district["hospital"], name="孙丽", birth_on=dt.date(1991, 5, 2))
    plain = make_person(district["hospital"], name="钱芳", birth_on=dt.date(1991, 5, 2))
    recorded = hbv_positive(exposed, district["hospital"])
    assert recorded.case is not None
    return exposed, plain, recorded


PERSON_PAGES = [
    "/people/{id}",
    "/people/{id}/results/new",
    "/people/{id}/results/new?program=PMTCT_HBV&test=HBV_SCREEN",
    "/people/{id}/break-glass",
]


def test_a_person_page_reads_the_same_with_and_without_hidden_pmtct_records(
    client, district, two_women, make_user, login
):
    exposed, plain, _recorded = two_women
    login(make_user(Role.CLINIC_STAFF, district["hospital"]))
    for pattern in PERSON_PAGES:
        with_records = client.get(pattern.format(id=exposed.id))
        without = client.get(pattern.format(id=plain.id))
        assert with_records.status_code == without.status_code == 200, pattern
        assert _normalised(text(with_records), exposed) == _normalised(text(without), plain), pattern
    # The offer to break the glass is there for both alike, and names no count.
    page = text(client.get(f"/people/{plain.id}"))
    assert f"/people/{plain.id}/break-glass" in page and "条受保护" not in page


def test_a_hidden_pmtct_case_result_or_letter_answers_exactly_as_one_that_does_not_exist(
    client, district, two_women, make_user, login
):
    _exposed, _plain, recorded = two_women
    login(make_user(Role.CLINIC_STAFF, district["hospital"]))
    missing_case = recorded.case.id + 10_000
    missing_result = recorded.result.id + 10_000
    for hidden, missing in (
        (f"/cases/{recorded.case.id}", f"/cases/{missing_case}"),
        (f"/cases/{recorded.case.id}/letter.pdf", f"/cases/{missing_case}/letter.pdf"),
        (f"/results/{recorded.result.id}", f"/results/{missing_result}"),
    ):
        a, b = client.get(hidden), client.get(missing)
        assert a.status_code == b.status_code == 404, hidden
        # The page echoes its own path (the language switch returns to it); nothing else may differ.
        assert text(a).replace(hidden, "URL") == text(b).replace(missing, "URL")
        assert a.headers.get("Location") == b.headers.get("Location") is None
    a = client.post(f"/cases/{recorded.case.id}/note", data={"version": 1, "note": "x"})
    b = client.post(f"/cases/{missing_case}/note", data={"version": 1, "note": "x"})
    assert a.status_code == b.status_code == 404
    hidden_path, missing_path = f"/cases/{recorded.case.id}/note", f"/cases/{missing_case}/note"
    assert text(a).replace(hidden_path, "URL") == text(b).replace(missing_path, "URL")


def test_the_merge_compare_page_counts_no_hidden_pmtct_records(client, district, two_women, make_user, login):
    exposed, plain, _recorded = two_women
    login(make_user(Role.CLINIC_STAFF, district["hospital"]))
    page = text(client.get(f"/people/merge/{exposed.id}/{plain.id}"))
    assert 'scope="row">筛查结果' not in page and 'scope="row">随访个案' not in page
    login(make_user(Role.CLINIC_STAFF, district["hospital"], sees_restricted_records=True))
    page = text(client.get(f"/people/merge/{exposed.id}/{plain.id}"))
    assert 'scope="row">随访个案' in page


def test_every_person_page_view_that_shows_pmtct_values_is_audited(
    client, district, two_women, make_user, login
):
    exposed, _plain, recorded = two_women
    login(make_user(Role.CLINIC_STAFF, district["hospital"], sees_restricted_records=True))
    page = text(client.get(f"/people/{exposed.id}"))
    assert f"/cases/{recorded.case.id}" in page
    reads = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "READ")).all()
    assert {(r.entity, r.entity_id) for r in reads} == {
        ("screening_result", str(recorded.result.id)),
        ("follow_up_case", str(recorded.case.id)),
    }


def test_breaking_the_glass_on_the_person_opens_their_records_and_audits_each_view(
    client, district, two_women, make_user, login
):
    exposed, _plain, recorded = two_women
    login(make_user(Role.CLINIC_STAFF, district["hospital"]))
    client.post(
        f"/people/{exposed.id}/break-glass",
        data={"reason": "产妇临产，需要了解乙肝结果以安排新生儿免疫", "confirm": "y"},
    )
    page = text(client.get(f"/people/{exposed.id}"))
    assert f"/cases/{recorded.case.id}" in page and f"/people/{exposed.id}/break-glass" not in page
    assert client.get(f"/results/{recorded.result.id}").status_code == 200
    actions = db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions.count("BREAK_GLASS") == 1 and actions.count("READ") == 3
    assert db.session.get(ScreeningResult, recorded.result.id) is not None


# -- searches ---------------------------------------------------------------------------------------


def test_the_receiving_institution_finds_the_transferred_person_by_search(client, baby, transferred):
    page = text(client.post("/people/", data={"q": "王小宝"}))
    assert f"/people/{baby.id}" in page


def test_every_search_is_audited_without_the_term(client, district, make_person, make_user, login):
    make_person(district["hospital"], name="赵雪", id_type="RESIDENT_ID", id_number="11010519491231002X")
    login(make_user(Role.CLINIC_STAFF, district["hospital"]))
    client.post("/people/", data={"q": "11010519491231002X"})
    client.post("/people/", data={"q": "赵"})
    searches = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "SEARCH")).all()
    assert [s.summary.split(":")[0] for s in searches] == ["by ID", "by NAME"]
    assert all("11010519491231002X" not in s.summary and "赵" not in s.summary for s in searches)
