"""Clinic screens: result entry from declarations, the worklist, the case page, letters, protected records."""

import datetime as dt
import re
import shutil
import subprocess

import pytest
import sqlalchemy as sa

from registry.audit import Actor, AuditEvent
from registry.auth.models import Role
from registry.extensions import db
from screenings.engine import CaseStatus, ClosureOutcome, EventKind
from screenings.models import CaseEvent, FollowUpCase, ScreeningResult
from screenings.results import record_result
from tests import factories

D, H = dt.timedelta(days=1), dt.timedelta(hours=1)
NOW = dt.datetime(2026, 12, 2, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai; the app's clock is frozen there
BIRTH = NOW - 20 * D
CLINIC = Actor(user_id=None, username="clinic-test")


def local(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%dT%H:%M")


def hearing_form(left="REFER", right="PASS", token="t-1", **more):
    return {
        "entry_token": token,
        "screening_status": "DONE",
        "screened_at": local(BIRTH + 50 * H),
        "method": "OAE",
        "left_ear": left,
        "right_ear": right,
        **more,
    }


@pytest.fixture(autouse=True)
def clock_at_now(frozen_clock):
    """Every page here is seen at NOW, so that what is due or overdue does not depend on the day it runs."""
    frozen_clock(NOW)


@pytest.fixture
def clinic(district, login):
    user = factories.clinic_user(district["hospital"])
    login(user)
    return user


@pytest.fixture
def baby(district):
    return factories.newborn(district["hospital"], BIRTH, factories.mother(district["hospital"]))


def open_case(person, district, at=None, program="NEWBORN_HEARING", source_key=None) -> FollowUpCase:
    values = {
        "screening_status": "DONE",
        "screened_at": (BIRTH + 50 * H).isoformat(),
        "method": "OAE",
        "left_ear": "REFER",
        "right_ear": "REFER",
    }
    return record_result(
        person,
        program,
        "INITIAL",
        values,
        district["hospital"],
        CLINIC,
        at or BIRTH + 3 * D,
        source_key=source_key,
    ).case


def text(response) -> str:
    return response.get_data(as_text=True)


# -- entering results -------------------------------------------------------------------------------


def test_the_result_form_is_generated_from_the_declaration_in_chinese(client, clinic, baby):
    page = text(client.get(f"/people/{baby.id}/results/new?program=NEWBORN_HEARING&test=INITIAL"))
    for label in ("筛查状态", "筛查时间", "筛查方法", "左耳", "右耳", "听力损失高危因素"):
        assert label in page
    assert 'type="datetime-local"' in page and "未通过" in page


def test_choosing_a_test_lists_only_programs_for_this_kind_of_person(client, clinic, baby):
    page = text(client.get(f"/people/{baby.id}/results/new"))
    assert "新生儿听力筛查" in page and "宫颈癌筛查" not in page


def test_a_referred_screen_opens_a_case_and_says_what_is_due_when(client, clinic, baby):
    response = client.post(
        f"/people/{baby.id}/results/new?program=NEWBORN_HEARING&test=INITIAL", data=hearing_form()
    )
    assert response.status_code == 302
    page = text(client.get(response.headers["Location"]))
    case = db.session.scalars(sa.select(FollowUpCase)).one()
    assert f"/cases/{case.id}" in page and "复筛" in page
    assert case.due_at == BIRTH + 42 * D
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日", page)


def test_invalid_values_are_shown_on_each_field_and_nothing_is_saved(client, clinic, baby):
    form = hearing_form(left="", screened_at="")
    response = client.post(f"/people/{baby.id}/results/new?program=NEWBORN_HEARING&test=INITIAL", data=form)
    page = text(response)
    assert response.status_code == 200
    assert "左耳为必填项" in page and "筛查时间为必填项" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ScreeningResult)) == 0


def test_a_double_submit_stores_the_result_once(client, clinic, baby):
    url = f"/people/{baby.id}/results/new?program=NEWBORN_HEARING&test=INITIAL"
    client.post(url, data=hearing_form(token="same"))
    client.post(url, data=hearing_form(token="same"))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ScreeningResult)) == 1


def test_english_form_errors_are_in_english(client, clinic, baby):
    client.post("/language/en", data={"next": "/"})
    form = hearing_form(left="")
    page = text(client.post(f"/people/{baby.id}/results/new?program=NEWBORN_HEARING&test=INITIAL", data=form))
    assert "Left ear is required." in page


# -- the worklist -----------------------------------------------------------------------------------


def test_the_worklist_shows_overdue_cases_with_counts_and_only_in_scope(client, clinic, baby, district):
    case = open_case(baby, district)
    assert case.due_at < NOW + 30 * D
    far_baby = factories.newborn(district["far_hospital"], BIRTH, name="远方宝")
    open_case(far_baby, {"hospital": district["far_hospital"]})
    page = text(client.get("/cases/?tab=all"))
    assert "王小宝" in page and "远方宝" not in page
    assert re.search(r'data-tab="all">\s*\S+\s*<span class="count">1</span>', page)


def test_worklist_pages_with_a_keyset_cursor(client, clinic, district):
    for n in range(55):
        open_case(factories.newborn(district["hospital"], BIRTH - n * H, name=f"宝宝{n:02d}"), district)
    first = text(client.get("/cases/?tab=all"))
    assert first.count('data-case="') == 50
    cursor = re.search(r"after=([A-Za-z0-9_-]+)", first).group(1)
    second = text(client.get(f"/cases/?tab=all&after={cursor}"))
    assert second.count('data-case="') == 5
    shown = set(re.findall(r'data-case="(\d+)"', first)) | set(re.findall(r'data-case="(\d+)"', second))
    assert len(shown) == 55


def test_the_previous_page_link_goes_back_over_the_same_rows(client, clinic, district):
    for n in range(120):
        open_case(factories.newborn(district["hospital"], BIRTH - n * H, name=f"宝宝{n:03d}"), district)

    def shown(page):
        return re.findall(r'data-case="(\d+)"', page)

    def link(page, rel):
        found = re.search(rf'rel="{rel}" href="([^"]+)"', page)
        return found.group(1).replace("&amp;", "&") if found else None

    first = text(client.get("/cases/?tab=all"))
    assert link(first, "prev") is None and "上一页" not in first
    second = text(client.get(link(first, "next")))
    third = text(client.get(link(second, "next")))
    assert len(shown(third)) == 20 and link(third, "next") is None
    back_to_second = text(client.get(link(third, "prev")))
    assert shown(back_to_second) == shown(second) and "上一页" in back_to_second
    back_to_first = text(client.get(link(back_to_second, "prev")))
    assert shown(back_to_first) == shown(first) and link(back_to_first, "prev") is None
    assert text(client.get(link(back_to_first, "next"))).count('data-case="') == 50


def test_the_worklist_filters_by_step_of_any_program_and_keeps_the_filter_across_tabs(
    client, clinic, baby, district
):
    rescreen = open_case(baby, district)
    other = factories.newborn(district["hospital"], BIRTH, name="李小宝")
    diagnosis = open_case(other, district)
    failed_rescreen = factories.hearing_values("REFER", "REFER", at=BIRTH + 28 * D)
    record_result(
        other, "NEWBORN_HEARING", "RESCREEN", failed_rescreen, district["hospital"], CLINIC, BIRTH + 30 * D
    )
    db.session.refresh(diagnosis)
    assert diagnosis.current_step != rescreen.current_step
    page = text(client.get(f"/cases/?tab=all&step=NEWBORN_HEARING:{rescreen.current_step}"))
    assert f'data-case="{rescreen.id}"' in page and f'data-case="{diagnosis.id}"' not in page
    assert f'value="NEWBORN_HEARING:{rescreen.current_step}" selected' in page
    assert f"step={rescreen.current_step}" in page  # the tabs keep the step
    # A step that belongs to no program is ignored rather than showing an empty list.
    assert text(client.get("/cases/?tab=all&step=NEWBORN_HEARING:NOPE")).count('data-case="') == 2


def test_a_coordinator_narrows_the_worklist_to_one_institution(client, district, login):
    login(factories.user(Role.FOLLOW_UP_COORDINATOR, district["mch"]))
    in_hospital = open_case(factories.newborn(district["hospital"], BIRTH, name="医院宝"), district)
    in_community = open_case(
        factories.newborn(district["community"], BIRTH, name="社区宝"), {"hospital": district["community"]}
    )
    everyone = text(client.get("/cases/?tab=all"))
    assert f'data-case="{in_hospital.id}"' in everyone and f'data-case="{in_community.id}"' in everyone
    assert f'<option value="{district["community"].id}"' in everyone and "全部机构" in everyone
    narrowed = text(client.get(f"/cases/?tab=all&institution={district['community'].id}"))
    assert f'data-case="{in_community.id}"' in narrowed and f'data-case="{in_hospital.id}"' not in narrowed
    # An institution outside the district is not a filter: the whole scope is shown, never another's cases.
    outside = text(client.get(f"/cases/?tab=all&institution={district['far_hospital'].id}"))
    assert outside.count('data-case="') == 2


def test_clinic_staff_see_no_institution_filter(client, clinic, baby, district):
    open_case(baby, district)
    assert 'id="institution"' not in text(client.get("/cases/?tab=all"))


def test_the_risk_column_says_why_the_case_exists_and_what_the_result_was(client, clinic, baby, district):
    case = open_case(baby, district)
    page = text(client.get("/cases/?tab=all"))
    risk = re.search(rf'data-case="{case.id}".*?<td class="risk"[^>]*>(.*?)</td>', page, re.S).group(1)
    assert "未通过" in risk and "双耳" in risk


# -- a case -----------------------------------------------------------------------------------------


def test_a_contact_attempt_without_a_channel_is_refused_on_the_field(client, clinic, baby, district):
    case = open_case(baby, district)
    response = client.post(
        f"/cases/{case.id}/contact", data={"version": case.version, "contact_outcome": "NO_ANSWER"}
    )
    assert response.status_code == 400
    assert 'id="channel-error"' in text(response)
    assert (
        db.session.scalar(sa.select(sa.func.count()).where(CaseEvent.kind == EventKind.CONTACT_ATTEMPT)) == 0
    )


def test_reaching_someone_needs_their_name(client, clinic, baby, district):
    case = open_case(baby, district)
    response = client.post(
        f"/cases/{case.id}/contact",
        data={"version": case.version, "channel": "PHONE", "contact_outcome": "REACHED"},
    )
    assert response.status_code == 400 and 'id="person_reached-error"' in text(response)


def test_contacts_then_diagnosis_then_closure_through_the_case_page(client, clinic, baby, district):
    case = open_case(baby, district)
    for outcome in ("NO_ANSWER", "NO_ANSWER"):
        client.post(
            f"/cases/{case.id}/contact",
            data={"version": case.version, "channel": "PHONE", "contact_outcome": outcome},
        )
        db.session.refresh(case)
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
    assert case.contact_attempts == 3
    client.post(f"/cases/{case.id}/step", data={"version": case.version, "result_code": "BILATERAL_REFER"})
    db.session.refresh(case)
    assert case.current_step == "DIAGNOSIS"
    client.post(f"/cases/{case.id}/step", data={"version": case.version, "result_code": "NORMAL"})
    db.session.refresh(case)
    assert (case.status, case.outcome) == (CaseStatus.CLOSED, ClosureOutcome.NOT_CONFIRMED)
    page = text(client.get(f"/cases/{case.id}"))
    assert page.count('data-kind="CONTACT_ATTEMPT"') == 3 and "王芳" in page


def test_the_second_editor_gets_a_conflict_and_keeps_their_input(client, clinic, baby, district):
    case = open_case(baby, district)
    seen = case.version
    client.post(f"/cases/{case.id}/note", data={"version": seen, "note": "第一位用户的记录"})
    response = client.post(f"/cases/{case.id}/note", data={"version": seen, "note": "第二位用户的记录"})
    page = text(response)
    assert response.status_code == 409 and 'id="conflict"' in page
    assert "第二位用户的记录" in page  # still in the form, nothing lost
    notes = db.session.scalars(sa.select(CaseEvent.note).where(CaseEvent.kind == EventKind.NOTE)).all()
    assert notes == ["第一位用户的记录"]


def test_another_institutions_user_can_neither_see_nor_act(client, baby, district, make_user, login):
    case = open_case(baby, district)
    login(make_user(Role.CLINIC_STAFF, district["community"]))
    assert client.get(f"/cases/{case.id}").status_code == 404
    response = client.post(f"/cases/{case.id}/note", data={"version": case.version, "note": "越权"})
    assert response.status_code == 404


def test_a_transfer_waits_for_the_receiver(client, clinic, baby, district, make_user, login):
    case = open_case(baby, district)
    client.post(
        f"/cases/{case.id}/transfer",
        data={"version": case.version, "to_institution": district["community"].id, "note": "家住北山"},
    )
    db.session.refresh(case)
    assert case.transfer_to_institution_id == district["community"].id
    login(make_user(Role.CLINIC_STAFF, district["community"]))
    assert "家住北山" in text(client.get(f"/cases/{case.id}"))
    refused = client.post(f"/cases/{case.id}/answer", data={"version": case.version, "accept": "0"})
    assert refused.status_code == 400  # a refusal needs a reason
    client.post(f"/cases/{case.id}/answer", data={"version": case.version, "accept": "1"})
    db.session.refresh(case)
    assert case.responsible_institution_id == district["community"].id


def test_the_sender_withdraws_a_transfer_before_it_is_accepted_and_the_receiver_no_longer_sees_it(
    client, clinic, baby, district, make_user, login
):
    case = open_case(baby, district)
    community = district["community"]
    client.post(
        f"/cases/{case.id}/transfer",
        data={"version": case.version, "to_institution": community.id, "note": "家住北山"},
    )
    db.session.refresh(case)
    receiver = make_user(Role.CLINIC_STAFF, community)
    login(receiver)
    assert f'data-case="{case.id}"' in text(client.get("/cases/?tab=transfers"))
    assert 'id="action-withdraw"' not in text(client.get(f"/cases/{case.id}"))  # only the sender withdraws
    assert client.post(f"/cases/{case.id}/withdraw", data={"version": case.version}).status_code == 403

    login(clinic)
    page = text(client.get(f"/cases/{case.id}"))
    assert 'id="action-withdraw"' in page and "撤回转给北山社区卫生服务中心的转诊" in page
    response = client.post(
        f"/cases/{case.id}/withdraw", data={"version": case.version, "note": "家长改在本院复筛"}
    )
    assert response.status_code == 302
    db.session.refresh(case)
    assert (case.responsible_institution_id, case.transfer_to_institution_id) == (
        district["hospital"].id,
        None,
    )
    page = text(client.get(f"/cases/{case.id}"))
    assert "转诊已撤回" in page and "家长改在本院复筛" in page and 'id="action-withdraw"' not in page
    assert 'id="action-transfer"' in page  # the sender may transfer again
    withdrawn = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == EventKind.TRANSFER_WITHDRAWN)
    ).one()
    assert withdrawn.entity_id == str(case.id)
    # Withdrawing twice says there is nothing to withdraw.
    again = client.post(f"/cases/{case.id}/withdraw", data={"version": case.version})
    assert again.status_code == 400 and "没有待答复的转诊" in text(again)

    login(receiver)
    assert f'data-case="{case.id}"' not in text(client.get("/cases/?tab=transfers"))
    assert client.get(f"/cases/{case.id}").status_code == 404
    assert (
        client.post(f"/cases/{case.id}/answer", data={"version": case.version, "accept": "1"}).status_code
        == 404
    )


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
def test_the_recall_letter_names_the_child_in_chinese(client, clinic, baby, district, tmp_path):
    case = open_case(baby, district)
    response = client.get(f"/cases/{case.id}/letter.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    pdf = tmp_path / "letter.pdf"
    pdf.write_bytes(response.data)
    letter = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "召回通知书" in letter and "王小宝" in letter and "王芳家长" in letter and "复筛" in letter
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "CJK" in fonts or "WenQuanYi" in fonts
    exported = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "EXPORT")).one()
    assert exported.entity_id == str(case.id)


# -- protected PMTCT records ------------------------------------------------------------------------


def hbv_case(person, district):
    values = {
        "tested_on": (NOW - 30 * D).date().isoformat(),
        "testing_stage": "PREGNANCY",
        "hbsag": "POSITIVE",
        "hbeag": "NOT_DONE",
    }
    return record_result(person, "PMTCT_HBV", "HBV_SCREEN", values, district["hospital"], CLINIC, NOW)


def test_pmtct_records_need_a_stated_reason_from_those_who_do_not_work_on_them(
    client, clinic, district, make_person
):
    mother = make_person(district["hospital"], name="孙丽")
    recorded = hbv_case(mother, district)
    case = recorded.case
    assert "乙" not in text(client.get("/cases/?tab=all"))  # left out of the list
    # Until the glass is broken on the person, the case is answered exactly as a case that does not exist.
    assert client.get(f"/cases/{case.id}").status_code == 404
    person_page = text(client.get(f"/people/{mother.id}"))
    assert "HBV" not in person_page and "break-glass" in person_page

    refused = client.post(f"/people/{mother.id}/break-glass", data={"reason": "短", "confirm": "y"})
    assert refused.status_code == 200 and 'id="reason-error"' in text(refused)
    client.post(
        f"/people/{mother.id}/break-glass",
        data={"reason": "产妇临产，需要了解乙肝结果以安排新生儿免疫", "confirm": "y"},
    )
    assert client.get(f"/cases/{case.id}").status_code == 200
    actions = db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.action.in_(["BREAK_GLASS", "READ"]))
    )
    assert sorted(actions) == ["BREAK_GLASS", "READ"]


def test_pmtct_staff_open_pmtct_records_directly_and_each_view_is_audited(
    client, district, make_person, make_user, login
):
    login(make_user(Role.CLINIC_STAFF, district["hospital"], sees_restricted_records=True))
    mother = make_person(district["hospital"], name="周敏")
    case = hbv_case(mother, district).case
    assert client.get(f"/cases/{case.id}").status_code == 200
    assert client.get(f"/cases/{case.id}").status_code == 200
    reads = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "READ")).all()
    assert len(reads) == 2


@pytest.mark.parametrize(
    ("action", "data", "field"),
    [
        ("step", {}, "result_code"),
        ("step", {"result_code": "NO_SUCH_RESULT"}, "result_code"),
        ("step", {"result_code": "BILATERAL_PASS", "occurred_at": "2099-01-01T09:00"}, "occurred_at"),
        ("contact", {"channel": "PHONE"}, "contact_outcome"),
        ("note", {"note": ""}, "note"),
        ("transfer", {"note": "搬家"}, "to_institution"),
        ("transfer", {"to_institution": "0", "note": "搬家"}, "to_institution"),
        ("close", {"note": "家属拒绝"}, "outcome"),
        ("close", {"outcome": "DIED"}, "note"),
        ("close", {"outcome": "NOT_CONFIRMED", "note": "x"}, "outcome"),
        ("escalate", {}, "note"),
    ],
)
def test_each_case_form_names_the_field_in_error_and_saves_nothing(
    client, clinic, baby, district, action, data, field
):
    case = open_case(baby, district)
    before = db.session.scalar(sa.select(sa.func.count()).select_from(CaseEvent))
    response = client.post(f"/cases/{case.id}/{action}", data={"version": case.version, **data})
    assert response.status_code == 400
    assert f'id="{field}-error"' in text(response)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CaseEvent)) == before


def test_lost_to_follow_up_is_offered_only_once_the_rule_holds(client, clinic, baby, district):
    case = open_case(baby, district)
    assert 'value="LOST_TO_FOLLOW_UP"' not in text(client.get(f"/cases/{case.id}"))
    response = client.post(
        f"/cases/{case.id}/close",
        data={"version": case.version, "outcome": "LOST_TO_FOLLOW_UP", "note": "联系不上"},
    )
    assert response.status_code == 400 and 'id="outcome-error"' in text(response)
    assert db.session.get(FollowUpCase, case.id).status is not CaseStatus.CLOSED


def test_the_case_page_reads_in_english_too(client, clinic, baby, district):
    case = open_case(baby, district)
    client.post("/language/en", data={"next": "/"})
    page = text(client.get(f"/cases/{case.id}"))
    assert "Rescreen" in page and "Log a contact attempt" in page and "Referred (not passed)" in page


# -- newborn CHD: a screen that needs a repeat oximetry ---------------------------------------------


def chd_screen_needing_a_repeat(baby, district, at):
    """Record a 双指标 screen at `at` whose SpO2 (93 % hand, 92 % foot) calls for a repeat in 2–4 h."""
    values = {"screened_at": at.isoformat(), "murmur_grade": 0, "spo2_right_hand": "93", "spo2_foot": "92"}
    return record_result(baby, "NEWBORN_CHD", "SCREEN", values, district["hospital"], CLINIC, at).case


def test_a_chd_repeat_is_entered_as_spo2_readings_and_the_header_says_a_repeat_is_needed(
    client, clinic, district, frozen_clock
):
    born = NOW - 30 * H
    baby = factories.newborn(district["hospital"], born, name="李心宝")
    case = chd_screen_needing_a_repeat(baby, district, NOW - 3 * H)
    assert case.current_step == "POX_REPEAT"
    page = text(client.get(f"/cases/{case.id}"))
    header = re.search(r'<small id="case-reason"[^>]*>(.*?)</small>', page).group(1)
    assert header == "需复测血氧" and "未通过（需转诊）" not in header
    primary = page[page.index('id="next-action"') : page.index('id="more-actions"')]
    assert "program=NEWBORN_CHD&amp;test=POX_REPEAT" in primary and 'id="action-step"' not in primary

    form = text(client.get(f"/people/{baby.id}/results/new?program=NEWBORN_CHD&test=POX_REPEAT"))
    assert "复测时间" in form and "复测右手血氧" in form and "复测足部血氧" in form
    response = client.post(
        f"/people/{baby.id}/results/new?program=NEWBORN_CHD&test=POX_REPEAT",
        data={"entry_token": "r-1", "repeat_at": local(NOW), "spo2_right_hand": "97", "spo2_foot": "96"},
    )
    assert response.status_code == 302
    db.session.refresh(case)
    assert (case.status, case.outcome) == (CaseStatus.CLOSED, ClosureOutcome.RESCREEN_NORMAL)


def test_a_chd_repeat_that_fails_again_moves_the_case_to_notifying_the_family(client, clinic, district):
    baby = factories.newborn(district["hospital"], NOW - 30 * H, name="赵心宝")
    case = chd_screen_needing_a_repeat(baby, district, NOW - 3 * H)
    client.post(
        f"/people/{baby.id}/results/new?program=NEWBORN_CHD&test=POX_REPEAT",
        data={"entry_token": "r-2", "repeat_at": local(NOW), "spo2_right_hand": "93", "spo2_foot": "94"},
    )
    db.session.refresh(case)
    assert case.current_step == "NOTIFY" and case.status is not CaseStatus.CLOSED
    assert case.due_at > NOW  # notify the same day: due after the repeat, not at its moment


@pytest.mark.parametrize(
    ("hours_after", "warning"),
    [(1, "复测距首次测量不足2小时。"), (6, "复测距首次测量超过4小时。"), (3, None)],
)
def test_a_chd_repeat_on_its_own_form_is_warned_when_it_is_not_2_to_4_hours_after_the_first_reading(
    client, clinic, district, hours_after, warning
):
    baby = factories.newborn(district["hospital"], NOW - 30 * H, name="钱心宝")
    first = NOW - 8 * H
    case = chd_screen_needing_a_repeat(baby, district, first)
    response = client.post(
        f"/people/{baby.id}/results/new?program=NEWBORN_CHD&test=POX_REPEAT",
        data={"entry_token": f"t-{hours_after}", "repeat_at": local(first + hours_after * H),
              "spo2_right_hand": "97", "spo2_foot": "96"},
    )  # fmt: skip
    assert response.status_code == 302
    page = text(client.get(response.headers["Location"]))
    for said in ("复测距首次测量不足2小时。", "复测距首次测量超过4小时。"):
        assert (said in page) is (said == warning)
    db.session.refresh(case)
    assert case.outcome is ClosureOutcome.RESCREEN_NORMAL  # a warning, the repeat still counts


def test_a_chd_repeat_time_before_the_first_reading_is_refused_on_the_field(client, clinic, district):
    baby = factories.newborn(district["hospital"], NOW - 30 * H, name="孙心宝")
    chd_screen_needing_a_repeat(baby, district, NOW - 3 * H)
    response = client.post(
        f"/people/{baby.id}/results/new?program=NEWBORN_CHD&test=POX_REPEAT",
        data={"entry_token": "t-early", "repeat_at": local(NOW - 4 * H), "spo2_right_hand": "97",
              "spo2_foot": "96"},
    )  # fmt: skip
    assert response.status_code == 200  # the form again, nothing recorded
    page = text(response)
    assert "复测时间早于首次测量时间，请核对。" in page and 'id="repeat_at-error"' in page


def test_a_chd_screen_whose_inline_repeat_is_before_the_first_reading_is_refused(client, clinic, district):
    baby = factories.newborn(district["hospital"], NOW - 30 * H, name="周心宝")
    response = client.post(
        f"/people/{baby.id}/results/new?program=NEWBORN_CHD&test=SCREEN",
        data={"entry_token": "t-inline", "screened_at": local(NOW - 2 * H), "murmur_grade": "0",
              "spo2_right_hand": "93", "spo2_foot": "92", "repeat_at": local(NOW - 3 * H),
              "repeat_spo2_right_hand": "97", "repeat_spo2_foot": "96"},
    )  # fmt: skip
    assert response.status_code == 200 and "复测时间早于首次测量时间，请核对。" in text(response)


def test_a_step_begun_past_its_age_limit_says_why_it_is_due_at_once(client, clinic, district):
    baby = factories.newborn(district["hospital"], NOW - 120 * D, name="晚宝")
    late_rescreen = factories.hearing_values("REFER", "REFER", at=NOW - 2 * H)
    initial = factories.hearing_values("REFER", "REFER", at=NOW - 118 * D)
    case = record_result(
        baby, "NEWBORN_HEARING", "INITIAL", initial, district["hospital"], CLINIC, NOW - 118 * D
    ).case
    record_result(baby, "NEWBORN_HEARING", "RESCREEN", late_rescreen, district["hospital"], CLINIC, NOW - H)
    db.session.refresh(case)
    page = text(client.get(f"/cases/{case.id}"))
    assert (
        case.current_step == "DIAGNOSIS"
        and 'id="age-limit-passed"' in page
        and "已超过规定的月龄时限" in page
    )
    on_time = open_case(factories.newborn(district["hospital"], BIRTH, name="准时宝"), district)
    assert 'id="age-limit-passed"' not in text(client.get(f"/cases/{on_time.id}"))


def test_a_step_that_only_records_it_was_done_offers_no_result_to_choose(client, clinic, district):
    baby = factories.newborn(district["hospital"], NOW - 30 * H, name="吴心宝")
    case = chd_screen_needing_a_repeat(baby, district, NOW - 3 * H)
    repeat = {"repeat_at": (NOW - H).isoformat(), "spo2_right_hand": "93", "spo2_foot": "94"}
    record_result(baby, "NEWBORN_CHD", "POX_REPEAT", repeat, district["hospital"], CLINIC, NOW - H)
    db.session.refresh(case)
    assert case.current_step == "NOTIFY"
    page = text(client.get(f"/cases/{case.id}"))
    form = page[page.index('id="action-step"') : page.index("</form>", page.index('id="action-step"'))]
    assert "<select" not in form and "保存即记录：已告知" in form
    assert '<input type="hidden" name="result_code" value="NOTIFIED">' in form
    response = client.post(
        f"/cases/{case.id}/step", data={"version": case.version, "result_code": "NOTIFIED"}
    )
    assert response.status_code == 302
    db.session.refresh(case)
    assert case.current_step == "ECHO"
    # A step with results to choose from still offers them.
    page = text(client.get(f"/cases/{case.id}"))
    form = page[page.index('id="action-step"') : page.index("</form>", page.index('id="action-step"'))]
    assert 'name="result_code"' in form and "<select" in form and "保存即记录" not in form


def test_a_hearing_rescreen_two_hours_after_the_initial_screen_is_warned(client, clinic, district):
    baby = factories.newborn(district["hospital"], NOW - 60 * H, name="冯听宝")
    initial = factories.hearing_values("REFER", "PASS", at=NOW - 4 * H)
    case = record_result(baby, "NEWBORN_HEARING", "INITIAL", initial, district["hospital"], CLINIC, NOW).case
    response = client.post(
        f"/people/{baby.id}/results/new?program=NEWBORN_HEARING&test=RESCREEN",
        data={"entry_token": "h-soon", "screening_status": "DONE", "screened_at": local(NOW - 2 * H),
              "method": "OAE", "left_ear": "PASS", "right_ear": "PASS"},
    )  # fmt: skip
    assert response.status_code == 302
    page = text(client.get(response.headers["Location"]))
    assert "复筛距初筛不足24小时" in page
    db.session.refresh(case)
    assert case.status is CaseStatus.CLOSED  # a warning: the entry still counts as recorded


# -- PMTCT of HIV: the screening result is required unless the woman is a known positive -------------


def field_block(page: str, name: str) -> str:
    """The form's block for one field: its label, input and error."""
    start = page.index(f'<label for="{name}">')
    return page[start : page.index("</div>", start)]


def test_the_hiv_form_shows_the_screening_result_required_and_refuses_it_missing_on_the_field(
    client, district, make_person, make_user, login
):
    login(make_user(Role.CLINIC_STAFF, district["hospital"], sees_restricted_records=True))
    mother = make_person(district["hospital"], name="郑敏")
    url = f"/people/{mother.id}/results/new?program=PMTCT_HIV&test=HIV_SCREEN"
    page = text(client.get(url))
    assert "筛查结果" in field_block(page, "screening_result")
    assert not re.search("optional|可选|选填", field_block(page, "screening_result"))
    # Truly optional ones say so, in Chinese.
    assert "选填" in field_block(page, "confirmatory_result") and "optional" not in page
    form = {"entry_token": "hiv-1", "tested_on": (NOW - D).date().isoformat(), "testing_stage": "PREGNANCY"}
    # A known positive needs no new test: the result is saved without a screening result.
    saved = client.post(url, data={**form, "known_positive": "true"})
    assert saved.status_code == 302
    assert db.session.scalars(sa.select(ScreeningResult.result_code)).one() == "KNOWN_POS"
    # Anyone else needs one, and is told so on the field.
    for known_positive in ("", "false"):
        refused = client.post(
            url, data={**form, "entry_token": f"hiv-{known_positive}", "known_positive": known_positive}
        )
        assert refused.status_code == 200
        assert "筛查结果为必填项" in field_block(text(refused), "screening_result")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ScreeningResult)) == 1


# -- a test time before the birth is said with the other field errors, on its field ------------------


def test_a_collection_before_birth_is_shown_on_its_field_together_with_the_other_errors(client, clinic, baby):
    url = f"/people/{baby.id}/results/new?program=NEWBORN_METABOLIC&test=HEEL_BLOOD_SPOT"
    form = {
        "entry_token": "heel-1",
        "collection_status": "COLLECTED",
        "collected_at": local(BIRTH - 2 * H),
        "feeds_count": "8",
        "spot_count": "99",  # out of range: another field's error in the same submission
        "specimen_quality": "ADEQUATE",
        "key_info_complete": "true",
        "tsh_miu_l": "3.1",
    }
    page = text(client.post(url, data=form))
    assert "采血时间早于出生时间" in field_block(page, "collected_at")
    assert 'id="spot_count-error"' in field_block(page, "spot_count")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ScreeningResult)) == 0


def test_a_hearing_screen_before_birth_is_shown_with_a_missing_ear(client, clinic, baby):
    form = hearing_form(left="", screened_at=local(BIRTH - 3 * H))
    page = text(client.post(f"/people/{baby.id}/results/new?program=NEWBORN_HEARING&test=INITIAL", data=form))
    assert "筛查时间早于出生时间" in field_block(page, "screened_at")
    assert "左耳为必填项" in field_block(page, "left_ear")
