"""POST /api/v1/results: a batch of results recorded through the one chunk-first path, answered per item.

The same batch twice creates nothing; a different value under a stored key is refused; bad items are
rejected naming the field as a JSON pointer while the rest land; a person the account cannot see is
unmatched; PMTCT results are refused to an account whose institution does not work on PMTCT.
"""

import datetime as dt

import pytest
import sqlalchemy as sa

from registry.audit import AuditEvent
from registry.extensions import db
from registry.people.idnumbers import check_digit
from screenings.models import CaseEvent, FollowUpCase, ScreeningResult
from tests import factories
from tests.factories import BIRTH, NOW, H


def resident_id(birth: str, serial: int) -> str:
    body = f"330106{birth}{serial:03d}"
    return body + check_digit(body)


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


def hearing_item(key: str, person: dict, left="PASS", right="PASS", **values) -> dict:
    return {
        "source_key": key,
        "program": "NEWBORN_HEARING",
        "test": "INITIAL",
        "person": person,
        "values": {**factories.hearing_values(left, right, at=BIRTH + 50 * H), **values},
    }


@pytest.fixture
def lab(district, frozen_clock):
    """A hospital's system account, two mothers with ID numbers and their babies (birth order 1)."""
    frozen_clock(NOW)
    hospital = district["hospital"]
    account, secret = factories.system_account(hospital)
    babies = []
    for serial in (2, 4):
        number = resident_id("19900307", serial)
        mother = factories.mother(hospital, id_number=number)
        babies.append((number, factories.newborn(hospital, mother=mother, birth_order=1)))
    return {"account": account, "secret": secret, "babies": babies, "district": district}


def by_mother(number: str) -> dict:
    return {"mother_id_number": number, "birth_order": 1}


def post(client, secret, items):
    return client.post("/api/v1/results", json={"items": items}, headers=bearer(secret))


def counts() -> tuple[int, int, int]:
    return tuple(db.session.scalar(sa.select(sa.func.count()).select_from(m)) for m in (
        ScreeningResult, FollowUpCase, CaseEvent))  # fmt: skip


def test_a_batch_is_recorded_and_each_item_says_what_it_did(client, lab):
    (first, baby), (second, _other) = lab["babies"]
    items = [hearing_item("S-1", by_mother(first)), hearing_item("S-2", by_mother(second), left="REFER")]
    response = post(client, lab["secret"], items)
    assert response.status_code == 200, response.json
    passed, referred = response.json["items"]
    assert (
        passed["status"] == "created" and passed["result_code"] == "BILATERAL_PASS" and passed["case"] is None
    )
    assert referred["status"] == "created" and referred["result_code"] == "UNILATERAL_REFER_L"
    assert referred["case"]["opened"] is True and referred["case"]["status"] == "OPEN"
    assert referred["case"]["current_step"] and referred["case"]["due_at"]
    assert response.json["counts"] == {
        "created": 2,
        "unchanged": 0,
        "corrected": 0,
        "rejected": 0,
        "unmatched": 0,
    }
    result = db.session.get(ScreeningResult, passed["result_id"])
    assert result.person_id == baby.id and result.source_system == lab["account"].username
    assert result.institution_id == lab["account"].institution_id
    writers = db.session.scalars(
        sa.select(AuditEvent.username).where(AuditEvent.entity == "screening_result")
    )
    assert set(writers) == {lab["account"].username}


def test_the_same_batch_twice_creates_nothing(client, lab):
    (first, _), (second, _) = lab["babies"]
    items = [hearing_item("S-1", by_mother(first)), hearing_item("S-2", by_mother(second), left="REFER")]
    created = post(client, lab["secret"], items).json["items"]
    before = counts()
    again = post(client, lab["secret"], items)
    assert again.status_code == 200
    assert [i["status"] for i in again.json["items"]] == ["unchanged", "unchanged"]
    assert [i["result_id"] for i in again.json["items"]] == [i["result_id"] for i in created]
    assert counts() == before


def test_a_key_repeated_within_one_batch_is_stored_once(client, lab):
    (first, _), _ = lab["babies"]
    items = [hearing_item("S-1", by_mother(first)), hearing_item("S-1", by_mother(first))]
    statuses = [i["status"] for i in post(client, lab["secret"], items).json["items"]]
    assert statuses == ["created", "unchanged"]


def test_a_different_value_under_a_stored_key_is_refused_and_the_old_one_kept(client, lab):
    (first, _), _ = lab["babies"]
    post(client, lab["secret"], [hearing_item("S-1", by_mother(first))])
    before = counts()
    [item] = post(client, lab["secret"], [hearing_item("S-1", by_mother(first), left="REFER")]).json["items"]
    assert item["status"] == "rejected" and item["result_id"] is None
    assert item["errors"][0] == {
        "pointer": "/items/0/source_key",
        "code": "CHANGED_UNDER_SAME_KEY",
        "message": "a different result is stored under this key; nothing was changed",
    }
    assert counts() == before
    stored = db.session.scalar(sa.select(ScreeningResult).where(ScreeningResult.source_key == "S-1"))
    assert stored.result_code == "BILATERAL_PASS"


def test_bad_items_are_rejected_naming_the_field_and_the_others_land(client, lab):
    (first, _), (second, _) = lab["babies"]
    items = [
        hearing_item("S-1", by_mother(first), left="MAYBE"),
        {
            "source_key": "S-2",
            "program": "NOPE",
            "test": "INITIAL",
            "person": by_mother(second),
            "values": {},
        },
        {"program": "NEWBORN_HEARING", "test": "INITIAL", "person": {}, "values": {"left_ear": {"a": 1}}},
        "not an object",
        hearing_item("S-5", by_mother(second)),
    ]
    response = post(client, lab["secret"], items)
    assert response.status_code == 200, response.json
    outcomes = response.json["items"]
    assert [o["status"] for o in outcomes] == ["rejected"] * 4 + ["created"]
    pointers = [{e["pointer"] for e in o["errors"]} for o in outcomes[:4]]
    assert "/items/0/values/left_ear" in pointers[0]
    assert pointers[1] == {"/items/1/program"}
    assert {"/items/2/source_key", "/items/2/person/id_number", "/items/2/values/left_ear"} <= pointers[2]
    assert pointers[3] == {"/items/3"}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ScreeningResult)) == 1


def test_a_person_not_registered_or_of_another_institution_is_unmatched(client, lab):
    far = lab["district"]["far_hospital"]
    stranger = resident_id("19900307", 6)
    factories.newborn(far, mother=factories.mother(far, id_number=stranger), birth_order=1)
    nobody = resident_id("19900307", 8)
    items = [hearing_item("S-1", by_mother(stranger)), hearing_item("S-2", {"id_number": nobody})]
    outcomes = post(client, lab["secret"], items).json["items"]
    assert [(o["status"], o["unmatched_reason"]) for o in outcomes] == [
        ("unmatched", "NOT_FOUND"),
        ("unmatched", "NOT_FOUND"),
    ]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ScreeningResult)) == 0


def hiv_item(key: str, person: dict) -> dict:
    values = {
        "tested_on": (NOW - dt.timedelta(days=1)).date().isoformat(),
        "testing_stage": "PREGNANCY",
        "gestational_weeks": 30,
        "screening_result": "NONREACTIVE",
    }
    return {
        "source_key": key,
        "program": "PMTCT_HIV",
        "test": "HIV_SCREEN",
        "person": person,
        "values": values,
    }


def test_pmtct_results_are_refused_to_an_account_not_working_on_pmtct(client, lab):
    (first, _), _ = lab["babies"]
    [item] = post(client, lab["secret"], [hiv_item("H-1", {"id_number": first})]).json["items"]
    assert item["status"] == "rejected"
    assert item["errors"][0]["pointer"] == "/items/0/program"
    assert item["errors"][0]["code"] == "PROGRAM_NOT_ALLOWED"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ScreeningResult)) == 0


def test_an_account_working_on_pmtct_records_its_results(client, lab):
    (first, _), _ = lab["babies"]
    _account, secret = factories.system_account(lab["district"]["hospital"], pmtct=True)
    [item] = post(client, secret, [hiv_item("H-1", {"id_number": first})]).json["items"]
    assert item["status"] == "created", item


def test_the_request_itself_must_be_a_json_batch_of_at_most_1000(client, lab):
    secret = lab["secret"]
    (first, _), _ = lab["babies"]
    too_many = [hearing_item(f"S-{n}", by_mother(first)) for n in range(1001)]
    assert post(client, secret, too_many).status_code == 413
    assert post(client, secret, []).status_code == 422
    wrong = client.post("/api/v1/results", json={"items": {}}, headers=bearer(secret))
    assert wrong.status_code == 422 and wrong.json["errors"][0]["pointer"] == "/items"
    extra = client.post("/api/v1/results", json={"items": [], "x": 1}, headers=bearer(secret))
    assert extra.status_code == 422
    text = client.post("/api/v1/results", data="items", headers=bearer(secret), content_type="text/plain")
    assert text.status_code == 415 and text.mimetype == "application/problem+json"
    broken = client.post("/api/v1/results", data="{", headers=bearer(secret), content_type="application/json")
    assert broken.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ScreeningResult)) == 0


def test_each_submission_is_audited_as_the_account(client, lab):
    (first, _), _ = lab["babies"]
    post(
        client,
        lab["secret"],
        [hearing_item("S-1", by_mother(first)), hearing_item("S-2", {"id_number": "x"})],
    )
    row = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "API_SUBMIT"))
    assert row.username == lab["account"].username and row.user_id == lab["account"].id
    assert row.summary == "1 created, 0 unchanged, 0 corrected, 0 rejected, 1 unmatched"


def test_an_unmatched_result_waits_in_the_unmatched_queue_once(client, lab):
    from screenings.imports.models import ImportBatch, UnmatchedRow, UnmatchedStatus

    nobody = resident_id("19900307", 8)
    items = [hearing_item("S-1", by_mother(nobody)), hearing_item("S-2", by_mother(nobody), left="MAYBE")]
    first, invalid = post(client, lab["secret"], items).json["items"]
    assert first["status"] == "unmatched" and first["unmatched_id"]
    assert invalid["status"] == "rejected"  # only a valid result waits for its person
    row = db.session.get(UnmatchedRow, first["unmatched_id"])
    assert row.status is UnmatchedStatus.WAITING and row.source_key == "S-1"
    assert row.source_system == lab["account"].username
    assert row.institution_id == lab["account"].institution_id
    assert row.raw_values["mother_id_number"] == nobody and row.raw_values["left_ear"] == "PASS"
    assert db.session.get(ImportBatch, row.batch_id).original_filename == "API"
    [again] = post(client, lab["secret"], items[:1]).json["items"]
    assert again["unmatched_id"] == first["unmatched_id"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UnmatchedRow)) == 1


def test_a_waiting_result_is_recorded_once_its_person_is_registered_and_resent(client, lab):
    from screenings.imports.models import UnmatchedRow, UnmatchedStatus

    hospital = lab["district"]["hospital"]
    number = resident_id("19900307", 8)
    [waiting] = post(client, lab["secret"], [hearing_item("S-1", by_mother(number))]).json["items"]
    factories.newborn(hospital, mother=factories.mother(hospital, id_number=number), birth_order=1)
    [recorded] = post(client, lab["secret"], [hearing_item("S-1", by_mother(number))]).json["items"]
    assert recorded["status"] == "created"
    row = db.session.get(UnmatchedRow, waiting["unmatched_id"])
    assert row.status is UnmatchedStatus.IMPORTED and row.result_id == recorded["result_id"]


def test_a_clinic_user_matches_a_waiting_api_result_and_a_resend_changes_nothing(client, lab, login):
    hospital = lab["district"]["hospital"]
    number = resident_id("19900307", 8)
    [waiting] = post(client, lab["secret"], [hearing_item("S-1", by_mother(number))]).json["items"]
    baby = factories.newborn(hospital, name="李小宝")  # registered without the mother's number
    login(factories.clinic_user(hospital))
    matched = client.post(f"/imports/unmatched/{waiting['unmatched_id']}/match", data={"person_id": baby.id})
    assert matched.status_code == 302, matched.get_data(as_text=True)[:500]
    stored = db.session.scalar(sa.select(ScreeningResult).where(ScreeningResult.source_key == "S-1"))
    assert stored.person_id == baby.id and stored.source_system == lab["account"].username
    by_name = {"id_number": None, "name": "李小宝", "birth_on": baby.birth_on.isoformat()}
    [again] = post(client, lab["secret"], [hearing_item("S-1", by_name)]).json["items"]
    assert again["status"] == "unchanged" and again["result_id"] == stored.id


def test_a_failure_midway_writes_nothing_and_answers_a_problem_without_a_trace(app, client, lab, monkeypatch):
    import registry.audit

    (first, _), (second, _) = lab["babies"]
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)

    def broken(rows):
        raise RuntimeError("audit store unavailable: 330106199003070021")

    monkeypatch.setattr(registry.audit, "record_rows", broken)
    before = counts()
    items = [hearing_item("S-1", by_mother(first), left="REFER"), hearing_item("S-2", by_mother(second))]
    response = post(client, lab["secret"], items)
    assert response.status_code == 500 and response.mimetype == "application/problem+json"
    body = response.get_data(as_text=True)
    assert "Traceback" not in body and "330106" not in body and "RuntimeError" not in body
    assert counts() == before


def approve(district, month: str = "2026-11") -> None:
    from screenings.reports.models import MonthlyReport, ReportStatus

    db.session.add(MonthlyReport(district_code=district["district"].code, month=month, lang="zh",
                                 status=ReportStatus.READY, requested_at=NOW, requested_by_name="经理",
                                 approved_at=NOW, approved_by_name="经理"))  # fmt: skip
    db.session.flush()


def test_a_result_dated_in_an_approved_month_needs_a_late_correction_reason(client, lab):
    from screenings.reports.models import LateCorrection

    approve(lab["district"])
    (first, _), (second, _) = lab["babies"]
    plain = hearing_item("S-1", by_mother(first))
    [refused] = post(client, lab["secret"], [plain]).json["items"]
    assert refused["status"] == "rejected"
    assert refused["errors"][0]["pointer"] == "/items/0/late_correction_reason"
    assert refused["errors"][0]["code"] == "REASON_REQUIRED"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ScreeningResult)) == 0
    reasoned = {**hearing_item("S-2", by_mother(second)), "late_correction_reason": "检验科补录漏传结果"}
    [kept] = post(client, lab["secret"], [reasoned]).json["items"]
    assert kept["status"] == "created"
    [late] = db.session.scalars(sa.select(LateCorrection)).all()
    assert (late.entity_id, late.month, late.reason) == (kept["result_id"], "2026-11", "检验科补录漏传结果")
    assert late.recorded_by_name == lab["account"].username


def test_a_correction_with_a_reason_replaces_the_values_and_keeps_the_old_ones(client, lab):
    from screenings.results.corrections import ResultCorrection

    (first, _), _ = lab["babies"]
    [stored] = post(client, lab["secret"], [hearing_item("S-1", by_mother(first))]).json["items"]
    moved = hearing_item("S-1", by_mother(first), screened_at=(BIRTH + 60 * H).isoformat())
    [without] = post(client, lab["secret"], [{**moved, "correction": {}}]).json["items"]
    assert without["status"] == "rejected"
    assert without["errors"][0]["pointer"] == "/items/0/correction/reason"
    [corrected] = post(client, lab["secret"], [{**moved, "correction": {"reason": "仪器时间设置错误"}}]).json[
        "items"
    ]
    assert corrected["status"] == "corrected" and corrected["result_id"] == stored["result_id"]
    result = db.session.get(ScreeningResult, stored["result_id"])
    assert result.performed_at == BIRTH + 60 * H
    [kept] = db.session.scalars(sa.select(ResultCorrection)).all()
    assert kept.old_performed_at == BIRTH + 50 * H and kept.reason == "仪器时间设置错误"
    assert kept.corrected_by_name == lab["account"].username
    audited = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "CORRECT"))
    assert audited.entity_id == str(result.id) and "screened" not in audited.summary
    [same] = post(client, lab["secret"], [moved]).json["items"]
    assert same["status"] == "unchanged"


def test_a_correction_that_changes_the_classification_opens_or_closes_the_case_as_the_writer_decides(
    client, lab
):
    from screenings.engine import CaseStatus, ClosureOutcome, EventKind

    (first, _), (second, _) = lab["babies"]
    post(
        client,
        lab["secret"],
        [hearing_item("S-1", by_mother(first)), hearing_item("S-2", by_mother(second), left="REFER")],
    )
    reason = {"reason": "录入错误需更正"}
    flips = {**hearing_item("S-1", by_mother(first), left="REFER"), "correction": reason}
    on_case = {**hearing_item("S-2", by_mother(second), left="REFER", method="AABR"), "correction": reason}
    outcomes = post(client, lab["secret"], [flips, on_case]).json["items"]
    # A pass corrected to a refer now needs a case: it opens, as for a new result.
    assert outcomes[0]["status"] == "corrected", outcomes[0]
    flipped = db.session.scalar(sa.select(ScreeningResult).where(ScreeningResult.source_key == "S-1"))
    assert flipped.result_code != "BILATERAL_PASS"
    opened = db.session.scalar(sa.select(FollowUpCase).where(FollowUpCase.opening_result_id == flipped.id))
    assert opened is not None and opened.status is not CaseStatus.CLOSED
    # Values changed under a result that opened a case, its classification the same: a person decides.
    assert (outcomes[1]["status"], outcomes[1]["errors"][0]["code"]) == ("rejected", "CONCERNS_A_CASE")

    # The refer corrected to a pass: the case it opened (nothing else done on it) closes as opened in error.
    back = {**hearing_item("S-2", by_mother(second)), "correction": reason}
    [undone] = post(client, lab["secret"], [back]).json["items"]
    assert undone["status"] == "corrected", undone
    refer = db.session.scalar(sa.select(ScreeningResult).where(ScreeningResult.source_key == "S-2"))
    case = db.session.scalar(sa.select(FollowUpCase).where(FollowUpCase.opening_result_id == refer.id))
    assert (refer.result_code, case.status, case.outcome) == (
        "BILATERAL_PASS", CaseStatus.CLOSED, ClosureOutcome.OPENED_IN_ERROR
    )  # fmt: skip
    closing = db.session.scalar(
        sa.select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.kind == EventKind.CLOSED)
    )
    assert closing.recorded_by_name == lab["account"].username and "录入错误需更正" in closing.note


def test_a_reclassifying_correction_of_a_result_whose_case_moved_on_is_refused(client, lab):
    from screenings.cases import log_contact_attempt
    from screenings.engine import CaseStatus, ContactChannel, ContactOutcome

    (first, _), _ = lab["babies"]
    [stored] = post(client, lab["secret"], [hearing_item("S-3", by_mother(first), left="REFER")]).json[
        "items"
    ]
    case = db.session.get(FollowUpCase, stored["case"]["id"])
    log_contact_attempt(case, ContactChannel.PHONE, ContactOutcome.NO_ANSWER, factories.CLINIC, NOW)
    db.session.commit()
    back = {**hearing_item("S-3", by_mother(first)), "correction": {"reason": "录入错误需更正"}}
    [refused] = post(client, lab["secret"], [back]).json["items"]
    assert (refused["status"], refused["errors"][0]["code"]) == ("rejected", "CONCERNS_A_CASE")
    db.session.refresh(case)
    assert case.status is not CaseStatus.CLOSED
    assert db.session.get(ScreeningResult, stored["result_id"]).result_code != "BILATERAL_PASS"


def test_one_late_correction_reason_stands_for_every_late_item_of_the_submission(client, lab):
    from screenings.reports.models import LateCorrection

    approve(lab["district"])
    (first, _), (second, _) = lab["babies"]
    own = {**hearing_item("S-3", by_mother(second)), "late_correction_reason": "本条自带原因"}
    response = client.post("/api/v1/results", headers=bearer(lab["secret"]),
                           json={"items": [hearing_item("S-1", by_mother(first)), own],
                                 "late_correction_reason": "检验科系统故障，整批补传"})  # fmt: skip
    assert [i["status"] for i in response.json["items"]] == ["created", "created"]
    reasons = {c.entity_id: c.reason for c in db.session.scalars(sa.select(LateCorrection))}
    ids = [i["result_id"] for i in response.json["items"]]
    assert reasons == {ids[0]: "检验科系统故障，整批补传", ids[1]: "本条自带原因"}
    too_long = client.post("/api/v1/results", headers=bearer(lab["secret"]),
                           json={"items": [hearing_item("S-4", by_mother(first))],
                                 "late_correction_reason": "长" * 501})  # fmt: skip
    assert too_long.status_code == 422
