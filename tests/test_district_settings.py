"""District settings that override: the store validates and audits every change, a case keeps the values in
force at its opening, and its due dates, messages and the sweep's decisions follow them."""

import datetime as dt

import pytest
import sqlalchemy as sa

from registry.audit import Actor, AuditEvent
from registry.auth.models import Role
from registry.extensions import db
from screenings import texts
from screenings.cases import case_state, record_step
from screenings.cases.check import check_cases
from screenings.district_settings import (
    SettingChangeRefused,
    change_district_setting,
    settings_in_force,
)
from screenings.district_settings.models import DistrictSettingChange
from screenings.engine import CaseStatus, EventKind
from screenings.models import CaseEvent, FollowUpCase
from screenings.sweep import fewest_attempts_for_loss, run_sweep
from tests import factories
from tests.factories import BIRTH, NOW

D, H = dt.timedelta(days=1), dt.timedelta(hours=1)
MANAGER = Actor(user_id=None, username="manager")
ESCALATE = "NEWBORN_HEARING.ESCALATE_AFTER_DAYS_OVERDUE"
REEVALUATION = "NEWBORN_HEARING.REEVALUATION_DAYS"
ATTEMPTS = "NEWBORN_HEARING.LTFU_MIN_ATTEMPTS"


def change(district, name, value, when=NOW, reason="区卫健委通知", **more):
    return change_district_setting(district["district"], name, value, reason, MANAGER, when, **more)


def baby(district, name="王小宝", born_at=BIRTH):
    return factories.newborn(district["hospital"], born_at=born_at, name=name)


def referred(district, baby, now):
    return factories.referred_case(baby, district["hospital"], now=now)


# -- the store ----------------------------------------------------------------------------------------


def test_a_change_is_in_force_from_its_effective_time_and_clearing_returns_to_the_default(district):
    first = change(district, REEVALUATION, "60")
    assert settings_in_force(district["district"].id, NOW - H).overrides == {}
    assert settings_in_force(district["district"].id, NOW).overrides == {REEVALUATION: "60"}
    change(district, REEVALUATION, "45", when=NOW + H, effective_at=NOW + 10 * D)
    assert settings_in_force(district["district"].id, NOW + 9 * D).overrides == {REEVALUATION: "60"}
    later = settings_in_force(district["district"].id, NOW + 10 * D)
    assert later.overrides == {REEVALUATION: "45"} and later.version > first.id
    change(district, REEVALUATION, "", when=NOW + 11 * D)
    assert settings_in_force(district["district"].id, NOW + 11 * D).overrides == {}
    # another district is untouched
    assert settings_in_force(district["other_district"].id, NOW + 10 * D).overrides == {}


def test_every_change_is_audited_with_old_and_new_value_and_reason(district):
    change(district, REEVALUATION, "60", reason="人手不足")
    change(district, REEVALUATION, "75", when=NOW + H, reason="恢复部分")
    change(district, REEVALUATION, None, when=NOW + 2 * H, reason="恢复默认")
    assert change(district, REEVALUATION, "90", when=NOW + 3 * H) is None  # already the default
    trail = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.entity == "district_setting_change").order_by(AuditEvent.id)
    ).all()
    assert [e.action for e in trail] == ["SETTING_CHANGED"] * 3
    assert f"{REEVALUATION}: 90 (default) -> 60" in trail[0].summary and "人手不足" in trail[0].summary
    assert "60 -> 75" in trail[1].summary
    assert "75 -> 90 (default)" in trail[2].summary and "恢复默认" in trail[2].summary
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DistrictSettingChange)) == 3


@pytest.mark.parametrize(
    ("name", "value", "field", "code"),
    [
        ("NEWBORN_HEARING.RESCREEN_BY_AGE_DAYS", "30", "value", "NATIONAL_RULE"),  # [S]
        ("NEWBORN_HEARING.RESCREEN_BY_AGE_DAYS", "", "value", "NATIONAL_RULE"),
        (REEVALUATION, "0", "value", "OUT_OF_BOUNDS"),
        (REEVALUATION, "99999", "value", "OUT_OF_BOUNDS"),
        (REEVALUATION, "ten", "value", "NOT_A_VALUE"),
        (REEVALUATION, "10.5", "value", "NOT_A_VALUE"),
        (ATTEMPTS, "0", "value", "OUT_OF_BOUNDS"),
        ("NEWBORN_HEARING.WARN_FRACTION", "1.5", "value", "OUT_OF_BOUNDS"),
        ("NEWBORN_HEARING.NO_SUCH", "3", "value", "UNKNOWN"),
    ],
)
def test_a_value_a_district_may_not_set_is_refused_and_nothing_is_stored(district, name, value, field, code):
    with pytest.raises(SettingChangeRefused) as refused:
        change(district, name, value)
    assert (refused.value.field, refused.value.code) == (field, code)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DistrictSettingChange)) == 0


def test_a_change_needs_a_reason_and_cannot_take_effect_in_the_past(district):
    with pytest.raises(SettingChangeRefused) as refused:
        change(district, REEVALUATION, "60", reason="  ")
    assert refused.value.field == "reason"
    with pytest.raises(SettingChangeRefused) as refused:
        change(district, REEVALUATION, "60", effective_at=NOW - D)
    assert refused.value.field == "effective_at"


# -- cases keep the values of their opening -----------------------------------------------------------


def _to_reevaluation(case, at):
    record_step(case, "RESCREEN", "BILATERAL_REFER", factories.CLINIC, at, occurred_at=at)
    record_step(case, "DIAGNOSIS", "TRANSIENT", factories.CLINIC, at + H, occurred_at=at + H)
    return case


def test_a_district_override_changes_a_due_date_and_a_case_opened_before_keeps_its_own(district):
    before = referred(district, baby(district, "甲"), NOW)
    change(district, REEVALUATION, "60", when=NOW + H)
    after = referred(district, baby(district, "乙"), NOW + 2 * H)
    assert before.setting_overrides == {} and before.settings_version is None
    assert after.setting_overrides == {REEVALUATION: "60"} and after.settings_version is not None
    diagnosed_at = NOW + 5 * D
    for case in (before, after):
        _to_reevaluation(case, diagnosed_at)
    assert before.due_at == diagnosed_at + H + 90 * D
    assert after.due_at == diagnosed_at + H + 60 * D
    # the replay reads each case's own values, so a later change rewrites no history
    change(district, REEVALUATION, "30", when=NOW + 6 * D)
    assert case_state(after, NOW + 7 * D).due_at == diagnosed_at + H + 60 * D
    assert case_state(before, NOW + 7 * D).due_at == diagnosed_at + H + 90 * D
    assert check_cases(NOW + 7 * D).drifted_cases == 0


def test_a_message_states_the_case_s_own_values(district):
    change(district, ATTEMPTS, "5")
    case = referred(district, baby(district), NOW + H)
    with factories_app_request():
        own = texts.program_text("NEWBORN_HEARING", "NOT_LOST", case.setting_overrides)
        default = texts.program_text("NEWBORN_HEARING", "NOT_LOST")
    assert "5" in own and "5" not in default


def factories_app_request():
    from flask import current_app

    return current_app.test_request_context("/", headers={"Accept-Language": "en"})


# -- the sweep --------------------------------------------------------------------------------------


def test_the_sweep_escalates_by_the_threshold_each_case_was_opened_under(district):
    kept = referred(district, baby(district, "甲"), NOW)
    change(district, ESCALATE, "2", when=NOW + H)
    shorter = referred(district, baby(district, "乙"), NOW + 2 * H)
    assert kept.due_at == shorter.due_at
    day = (kept.due_at + 3 * D).astimezone(factories.SHANGHAI).date()
    run_sweep(day, missed_lookback_days=0, commit=db.session.commit)
    db.session.refresh(kept)
    db.session.refresh(shorter)
    assert shorter.status is CaseStatus.ESCALATED and shorter.escalated_at is not None
    assert kept.status is CaseStatus.OVERDUE and kept.escalated_at is None
    escalated = db.session.scalars(
        sa.select(CaseEvent.case_id).where(CaseEvent.kind == EventKind.ESCALATED)
    ).all()
    assert shorter.id in escalated and kept.id not in escalated


def test_the_lost_pre_filter_takes_the_fewest_attempts_any_district_ever_set(district):
    assert fewest_attempts_for_loss() == 3
    change(district, ATTEMPTS, "2")
    change(district, ATTEMPTS, "4", when=NOW + H)  # cases opened under 2 still exist
    assert fewest_attempts_for_loss() == 2


def test_a_missed_screening_follows_the_district_s_window(district):
    change(district, "NEWBORN_HEARING.MISSED_AFTER_AGE_DAYS", "14")
    home = factories.newborn(district["hospital"], born_at=BIRTH, name="甲")
    far = factories.newborn(district["far_hospital"], born_at=BIRTH, name="乙")
    day = (BIRTH + 10 * D).astimezone(factories.SHANGHAI).date()
    run_sweep(day, missed_lookback_days=60, commit=db.session.commit)
    opened = set(
        db.session.scalars(sa.select(FollowUpCase.person_id).where(FollowUpCase.program == "NEWBORN_HEARING"))
    )
    assert far.id in opened and home.id not in opened  # 10 days: missed after 7, not after 14


# -- the page ---------------------------------------------------------------------------------------


def _page(client, **query):
    return client.get("/admin/settings/", query_string={"program": "NEWBORN_HEARING", **query})


def test_a_program_manager_changes_a_proposed_value_with_a_reason_on_the_page(client, district, login):
    login(factories.user(Role.PROGRAM_MANAGER, district["mch"]))
    page = _page(client)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-setting="NEWBORN_HEARING.RESCREEN_BY_AGE_DAYS"' in html and "S12,S28" in html
    response = client.post(
        "/admin/settings/",
        data={"program": "NEWBORN_HEARING", "name": REEVALUATION, "value": "60", "reason": "人手不足"},
    )
    assert response.status_code == 302
    in_force = settings_in_force(district["district"].id, dt.datetime.now(dt.UTC))
    assert in_force.overrides == {REEVALUATION: "60"}
    html = _page(client).get_data(as_text=True)
    assert "人手不足" in html and "90 (" in html and "→ 60" in html


def test_the_page_refuses_a_national_value_and_a_missing_reason_naming_the_setting(client, district, login):
    login(factories.user(Role.PROGRAM_MANAGER, district["mch"]))
    national = client.post(
        "/admin/settings/",
        data={"program": "NEWBORN_HEARING", "name": "NEWBORN_HEARING.RESCREEN_BY_AGE_DAYS", "value": "30",
              "reason": "x"},
    )  # fmt: skip
    assert national.status_code == 400 and 'aria-invalid="true"' not in national.get_data(as_text=True)
    no_reason = client.post(
        "/admin/settings/", data={"program": "NEWBORN_HEARING", "name": REEVALUATION, "value": "60"}
    )
    html = no_reason.get_data(as_text=True)
    assert no_reason.status_code == 400 and 'aria-invalid="true"' in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DistrictSettingChange)) == 0


@pytest.mark.parametrize(
    ("role", "reads", "changes"),
    [
        (Role.PROGRAM_MANAGER, 200, 302),
        (Role.FOLLOW_UP_COORDINATOR, 200, 403),
        (Role.CLINIC_STAFF, 403, 403),
        (Role.AUDITOR, 403, 403),
    ],
)
def test_who_reads_and_who_changes_a_district_s_settings(client, district, login, role, reads, changes):
    place = district["hospital"] if role is Role.CLINIC_STAFF else district["mch"]
    login(factories.user(role, place))
    assert _page(client).status_code == reads
    response = client.post(
        "/admin/settings/",
        data={"program": "NEWBORN_HEARING", "name": REEVALUATION, "value": "60", "reason": "r"},
    )
    assert response.status_code == changes
