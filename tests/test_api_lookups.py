"""The API's look-ups: a person by ID number (in the body, never the URL), their results and cases, a case's
step, due date and timeline, and the cases changed since a cursor; another institution's record is 404,
and PMTCT records stay hidden from an account not working on PMTCT."""

import datetime as dt

import pytest
import sqlalchemy as sa

from registry.audit import AuditEvent
from registry.extensions import db
from tests import factories
from tests.factories import NOW
from tests.test_api_results import bearer, by_mother, hearing_item, hiv_item, post, resident_id


@pytest.fixture
def lab(district, frozen_clock):
    frozen_clock(NOW)
    hospital = district["hospital"]
    account, secret = factories.system_account(hospital)
    number = resident_id("19900307", 2)
    mother = factories.mother(hospital, id_number=number)
    baby = factories.newborn(hospital, mother=mother, birth_order=1)
    return {"secret": secret, "number": number, "mother": mother, "baby": baby, "district": district}


def search(client, secret, body):
    return client.post("/api/v1/persons/search", json=body, headers=bearer(secret))


def test_a_person_is_found_by_id_number_or_by_mother_and_birth_order(client, lab):
    found = search(client, lab["secret"], {"id_number": lab["number"]})
    assert found.status_code == 200, found.json
    [person] = found.json["persons"]
    assert person["id"] == lab["mother"].id and person["id_number_masked"] != lab["number"]
    assert lab["number"] not in found.get_data(as_text=True)
    [baby] = search(client, lab["secret"], {"mother_id_number": lab["number"], "birth_order": 1}).json[
        "persons"
    ]
    assert baby["id"] == lab["baby"].id and baby["mother_id"] == lab["mother"].id
    nobody = search(client, lab["secret"], {"id_number": resident_id("19900307", 4)}).json
    assert nobody == {"persons": [], "unmatched_reason": "NOT_FOUND"}
    audited = db.session.scalars(sa.select(AuditEvent.summary).where(AuditEvent.action == "SEARCH")).all()
    assert len(audited) == 3 and all(lab["number"] not in s for s in audited)


def test_a_search_needs_an_identity_and_names_the_field(client, lab):
    response = search(client, lab["secret"], {"birth_order": 1})
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert response.json["errors"][0]["pointer"] == "/id_number"
    bad = search(client, lab["secret"], {"id_number": "330106199003070021", "colour": "red"})
    assert bad.status_code == 422
    assert {e["pointer"] for e in bad.json["errors"]} >= {"/colour"}


def test_another_institutions_person_is_not_found(client, lab):
    far = lab["district"]["far_hospital"]
    number = resident_id("19900307", 6)
    stranger = factories.mother(far, id_number=number)
    assert search(client, lab["secret"], {"id_number": number}).json["persons"] == []
    response = client.get(f"/api/v1/persons/{stranger.id}", headers=bearer(lab["secret"]))
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    assert "name" not in response.get_data(as_text=True)


def test_a_person_comes_with_results_and_cases_and_a_case_with_its_timeline(client, lab):
    items = [hearing_item("S-1", by_mother(lab["number"]), left="REFER")]
    [created] = post(client, lab["secret"], items).json["items"]
    response = client.get(f"/api/v1/persons/{lab['baby'].id}", headers=bearer(lab["secret"]))
    assert response.status_code == 200, response.json
    [result] = response.json["results"]
    assert result["id"] == created["result_id"] and result["source_key"] == "S-1"
    assert result["case_id"] == created["case"]["id"]
    [case] = response.json["cases"]
    assert case["status"] == "OPEN" and case["current_step"] and case["due_at"]
    detail = client.get(f"/api/v1/cases/{case['id']}", headers=bearer(lab["secret"])).json
    assert detail["current_step"] == case["current_step"] and detail["due_at"] == case["due_at"]
    assert detail["timeline"][0]["kind"] == "OPENED" and detail["timeline"][0]["result_id"] == result["id"]
    one = client.get(f"/api/v1/results/{result['id']}", headers=bearer(lab["secret"])).json
    assert one["result_code"] == "UNILATERAL_REFER_L" and one["values"]["left_ear"] == "REFER"


def test_another_institutions_case_and_result_are_404(client, lab):
    far = lab["district"]["far_hospital"]
    baby = factories.newborn(far)
    recorded = factories.hearing_result(baby, far, left="REFER")
    for url in (f"/api/v1/cases/{recorded.case_id}", f"/api/v1/results/{recorded.result_id}"):
        response = client.get(url, headers=bearer(lab["secret"]))
        assert response.status_code == 404 and response.mimetype == "application/problem+json"


def test_pmtct_records_are_hidden_from_an_account_not_working_on_pmtct(client, lab):
    _pmtct, pmtct_secret = factories.system_account(lab["district"]["hospital"], pmtct=True)
    [hiv] = post(client, pmtct_secret, [hiv_item("H-1", {"id_number": lab["number"]})]).json["items"]
    assert hiv["status"] == "created"
    mother = f"/api/v1/persons/{lab['mother'].id}"
    assert client.get(mother, headers=bearer(lab["secret"])).json["results"] == []
    hidden = client.get(f"/api/v1/results/{hiv['result_id']}", headers=bearer(lab["secret"]))
    assert hidden.status_code == 404
    shown = client.get(mother, headers=bearer(pmtct_secret)).json["results"]
    assert [r["program"] for r in shown] == ["PMTCT_HIV"]
    reads = db.session.scalars(
        sa.select(AuditEvent.entity_id).where(
            AuditEvent.action == "READ", AuditEvent.entity == "screening_result"
        )
    ).all()
    assert reads == [str(hiv["result_id"])]


def test_changed_cases_are_paged_by_a_cursor_and_come_again_when_they_change(client, lab, frozen_clock):
    hospital = lab["district"]["hospital"]
    first = factories.hearing_result(factories.newborn(hospital), hospital, left="REFER")
    second = factories.hearing_result(factories.newborn(hospital), hospital, right="REFER")
    far = lab["district"]["far_hospital"]
    factories.hearing_result(factories.newborn(far), far, left="REFER")  # not this account's
    headers = bearer(lab["secret"])
    page = client.get("/api/v1/cases?after=0&limit=1", headers=headers).json
    assert [c["id"] for c in page["cases"]] == [first.case_id]
    rest = client.get(f"/api/v1/cases?after={page['next']}", headers=headers).json
    assert [c["id"] for c in rest["cases"]] == [second.case_id]
    assert client.get(f"/api/v1/cases?after={rest['next']}", headers=headers).json["cases"] == []

    from screenings.cases import log_contact_attempt  # a new event on the first case: it changed again
    from screenings.engine import ContactChannel, ContactOutcome

    log_contact_attempt(first.case, ContactChannel.PHONE, ContactOutcome.NO_ANSWER, factories.CLINIC,
                        NOW + dt.timedelta(hours=1))  # fmt: skip
    db.session.commit()
    again = client.get(f"/api/v1/cases?after={rest['next']}", headers=headers).json
    assert [c["id"] for c in again["cases"]] == [first.case_id]
    assert client.get("/api/v1/cases?limit=0", headers=headers).status_code == 422


def test_a_former_holder_is_told_when_the_case_it_passed_on_changes(client, lab):
    from screenings.cases import answer_transfer, transfer_case

    district = lab["district"]
    hospital, far, community = district["hospital"], district["far_hospital"], district["community"]
    case = factories.hearing_result(factories.newborn(far), far, left="REFER").case
    transfer_case(case, hospital, factories.CLINIC, NOW)
    answer_transfer(case, True, factories.CLINIC, NOW + dt.timedelta(minutes=5))
    db.session.commit()
    headers = bearer(lab["secret"])
    held = client.get("/api/v1/cases?after=0", headers=headers).json
    assert [c["id"] for c in held["cases"]] == [case.id]  # this lab's institution holds it now

    transfer_case(case, community, factories.CLINIC, NOW + dt.timedelta(minutes=10))
    answer_transfer(case, True, factories.CLINIC, NOW + dt.timedelta(minutes=15))
    db.session.commit()
    passed_on = client.get(f"/api/v1/cases?after={held['next']}", headers=headers).json
    [told] = passed_on["cases"]
    assert told["id"] == case.id and told["responsible_institution_code"] == community.code
    assert told["last_event_id"] == passed_on["next"] > held["next"]
    assert client.get(f"/api/v1/cases/{case.id}", headers=headers).status_code == 200  # still reads it
    # An institution that never held it is not told.
    _account, other = factories.system_account(district["mch"], username="mch-lab")
    assert client.get("/api/v1/cases?after=0", headers=bearer(other)).json["cases"] == []


def test_a_months_indicators_are_the_dashboards_figures_for_the_accounts_institution(client, lab):
    from screenings.indicators.figures import compute_figures

    post(client, lab["secret"], [hearing_item("S-1", by_mother(lab["number"]), left="REFER")])
    response = client.get(
        "/api/v1/indicators?month=2026-11&program=NEWBORN_HEARING", headers=bearer(lab["secret"])
    )
    assert response.status_code == 200, response.json
    hospital = lab["district"]["hospital"]
    assert response.json["institution"] == hospital.code
    expected = compute_figures(
        lab["district"]["district"], dt.date(2026, 11, 1), dt.date(2026, 11, 30), program="NEWBORN_HEARING",
        institution=hospital.code,
    )  # fmt: skip
    got = {(f["indicator"], f["numerator"], f["denominator"]) for f in response.json["figures"]}
    assert {(r.indicator, r.numerator, r.denominator) for r in expected} <= got
    assert any(f["numerator"] for f in response.json["figures"])
    everything = client.get("/api/v1/indicators?month=2026-11", headers=bearer(lab["secret"])).json["figures"]
    assert not any(f["program"].startswith("PMTCT") for f in everything)
    hidden = client.get("/api/v1/indicators?month=2026-11&program=PMTCT_HIV", headers=bearer(lab["secret"]))
    assert hidden.status_code == 404
    assert client.get("/api/v1/indicators?month=2026-13", headers=bearer(lab["secret"])).status_code == 422


def test_a_search_reads_its_answer_before_the_audit_commit_expires_it(client, lab, count_queries):
    headers = bearer(lab["secret"])
    search(client, lab["secret"], {"id_number": lab["number"]})  # warm the token's last use
    db.session.expire_all()
    with count_queries() as queries:
        found = client.post("/api/v1/persons/search", json={"id_number": lab["number"]}, headers=headers)
    assert found.json["persons"][0]["institution_code"] == lab["mother"].institution.code
    # The token (with its account) and the person, read once: not again after the audit row's commit
    # (the answer was built after it before: the person and its institution again, a third of the call).
    selects = [s for s in queries.statements if s.lstrip().upper().startswith("SELECT")]
    assert sum("FROM person" in s for s in selects) == 1, str(queries)
