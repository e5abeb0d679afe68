"""What a clinic page says is true at the moment it is read (issue 14), whatever the last sweep stored."""

import datetime as dt
import re

from registry.clock import SHANGHAI
from screenings import cases as services
from screenings.engine import CaseStatus, ContactChannel, ContactOutcome
from tests import factories


def _overdue_case(district):
    hospital = district["hospital"]
    case = factories.referred_case(factories.newborn(hospital, born_at=factories.BIRTH), hospital)
    assert case.due_at == dt.datetime(2026, 12, 30, 9, 0, tzinfo=SHANGHAI)
    assert case.status is CaseStatus.OPEN  # as stored; no sweep ran since
    return hospital, case


def _row_status(page: str, case_id: int) -> str:
    row = re.search(rf'<tr data-case="{case_id}">(.*?)</tr>', page, re.S).group(1)
    return re.search(r'data-status="([A-Z_]+)"', row).group(1)


def test_the_worklist_shows_a_case_past_its_due_date_as_overdue_before_any_sweep(
    client, district, frozen_clock, login
):
    hospital, case = _overdue_case(district)
    frozen_clock("2027-03-01 09:00")
    login(factories.clinic_user(hospital))
    page = client.get("/cases/?tab=overdue").get_data(as_text=True)
    assert _row_status(page, case.id) == "OVERDUE"
    assert "已逾期" in page


def test_an_escalated_case_says_escalated_once(client, district, frozen_clock, login):
    hospital, case = _overdue_case(district)
    frozen_clock("2027-03-01 09:00")
    user = factories.clinic_user(hospital)
    services.escalate_case(case, factories.CLINIC, dt.datetime(2027, 3, 1, 0, 0, tzinfo=dt.UTC), note="x")
    login(user)
    page = client.get("/cases/?tab=escalated").get_data(as_text=True)
    assert _row_status(page, case.id) == "ESCALATED"
    assert "已上报 · 已上报" not in page


def test_the_case_page_says_which_condition_of_the_lost_rule_is_not_met(
    client, district, frozen_clock, login
):
    hospital, case = _overdue_case(district)
    for day in (1, 2, 3):
        services.log_contact_attempt(
            case,
            ContactChannel.PHONE,
            ContactOutcome.NO_ANSWER,
            factories.CLINIC,
            dt.datetime(2027, 1, day, 2, 0, tzinfo=dt.UTC),
        )
    frozen_clock("2027-06-01 09:00")
    login(factories.clinic_user(hospital))
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    conditions = re.findall(r'data-condition="([A-Z_]+)"', page)
    assert conditions == ["CHANNELS", "SPAN_DAYS"]  # a newborn with no address needs no visit
    assert "至少2种" in page


def test_a_step_dated_before_the_last_entry_is_refused_on_its_time_field_not_as_closed(
    client, district, frozen_clock, login
):
    """Two calls at 10:46, then "both ears pass" entered as done at 10:40: the case is open, not closed."""
    hospital, case = _overdue_case(district)
    for minute in (45, 46):
        services.log_contact_attempt(
            case,
            ContactChannel.PHONE,
            ContactOutcome.NO_ANSWER,
            factories.CLINIC,
            dt.datetime(2026, 12, 2, 2, minute, tzinfo=dt.UTC),
        )
    frozen_clock("2026-12-02 11:00")
    login(factories.clinic_user(hospital))
    response = client.post(
        f"/cases/{case.id}/step",
        data={"version": case.version, "result_code": "BILATERAL_PASS", "occurred_at": "2026-12-02T10:40"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "该随访已结案" not in page
    error = re.search(r'id="occurred_at-error">([^<]*)<', page).group(1)
    assert "早于" in error and "10:46" in error


def test_the_case_page_puts_the_next_action_first_and_names_people_in_the_timeline(
    client, district, frozen_clock, login
):
    hospital, case = _overdue_case(district)
    frozen_clock("2027-01-05 09:00")
    nurse = factories.clinic_user(hospital, full_name="王芳")
    login(nurse)
    client.post(
        f"/cases/{case.id}/contact",
        data={"version": case.version, "channel": "PHONE", "contact_outcome": "NO_ANSWER"},
    )
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    facts, primary, more, timeline = (
        page.index('id="due"'),
        page.index('id="next-action"'),
        page.index('id="more-actions"'),
        page.index('class="timeline"'),
    )
    assert facts < primary < more < timeline
    assert 'id="action-step"' in page[primary:more]  # the one next action, open
    assert 'id="action-close"' in page[more:timeline] and 'id="action-transfer"' in page[more:timeline]
    assert '<span class="who">王芳</span>' in page
    assert nurse.username not in page[timeline:]


def _hbv_case(district):
    from screenings.results import record_result

    mother = factories.person(district["hospital"], name="孙丽")
    values = {
        "tested_on": "2026-11-01",
        "testing_stage": "PREGNANCY",
        "hbsag": "POSITIVE",
        "hbeag": "NOT_DONE",
    }
    return record_result(
        mother, "PMTCT_HBV", "HBV_SCREEN", values, district["hospital"], factories.CLINIC, factories.NOW
    ).case


def _hpv_case(district):
    from screenings.results import record_result

    woman = factories.person(district["hospital"], name="周敏")
    values = {"sampled_on": "2026-11-01", "hpv_result": "POSITIVE", "hpv_types": ["HPV16"]}
    return record_result(
        woman, "CERVICAL_CANCER", "HPV", values, district["hospital"], factories.CLINIC, factories.NOW
    ).case


def test_a_recall_letter_never_prints_a_result_or_an_infection(app, district):
    from screenings.letters import recall_letter_html

    hbv, hpv = _hbv_case(district), _hpv_case(district)
    with app.test_request_context():
        hbv_letter = recall_letter_html(hbv, factories.NOW)
        hpv_letter = recall_letter_html(hpv, factories.NOW)
    for word in ("HBsAg", "阳性", "乙肝", "乙型肝炎", "母婴传播"):
        assert word not in hbv_letter, word
    assert "HPV16" not in hpv_letter and "阳性" not in hpv_letter
    assert "需要做的：通知" not in hpv_letter and "通知</dd>" not in hpv_letter
    for letter in (hbv_letter, hpv_letter):
        assert "地点" in letter and "联系电话" in letter and "请于此前" in letter


def test_days_overdue_turn_red_only_past_the_escalation_threshold(client, district, frozen_clock, login):
    from screenings.engine import escalation_threshold
    from screenings.programs import PROGRAMS

    hospital, case = _overdue_case(district)
    threshold = escalation_threshold(PROGRAMS[case.program], case.current_step)
    frozen_clock(case.due_at + threshold - dt.timedelta(days=1))
    login(factories.clinic_user(hospital))
    row = re.search(
        rf'<tr data-case="{case.id}">(.*?)</tr>', client.get("/cases/?tab=all").get_data(as_text=True), re.S
    )
    assert "past-escalation" not in row.group(1)
    frozen_clock(case.due_at + threshold + dt.timedelta(hours=1))
    login(factories.clinic_user(hospital))  # the first session has timed out meanwhile
    row = re.search(
        rf'<tr data-case="{case.id}">(.*?)</tr>', client.get("/cases/?tab=all").get_data(as_text=True), re.S
    )
    assert "past-escalation" in row.group(1)


def test_the_district_itself_is_not_a_transfer_target(client, district, frozen_clock, login):
    hospital, case = _overdue_case(district)
    frozen_clock("2027-01-05 09:00")
    login(factories.clinic_user(hospital))
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    form = page[page.index('id="action-transfer"') :]
    form = form[: form.index("</form>")]
    assert f'<option value="{district["community"].id}"' in form
    assert f'<option value="{district["district"].id}"' not in form
