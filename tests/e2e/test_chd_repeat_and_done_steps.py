"""In the browser (issue 14): a CHD repeat oximetry entered on its own form too soon after the first reading
is warned, and the family-notification step it leads to is saved with one button (no result to choose)."""

import datetime as dt

import pytest
from playwright.sync_api import expect

from registry.audit import Actor
from registry.extensions import db
from registry.institutions import Institution
from registry.people.models import IdDocumentType, Person, PersonKind, Sex
from registry.people.services import pinyin_of
from screenings.results import record_result
from tests.e2e.test_follow_up_case import SHANGHAI, log_in


@pytest.fixture(scope="module")
def chd_baby(live_app):
    """A newborn whose CHD screen 3 h ago read SpO2 93 % / 92 %: a repeat is due in 2–4 h."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    with live_app.app_context():
        hospital = db.session.query(Institution).filter_by(code="H1").one()
        birth = now - dt.timedelta(hours=30)
        pinyin, initials = pinyin_of("郑心宁")
        baby = Person(
            kind=PersonKind.NEWBORN, name="郑心宁", name_pinyin=pinyin, name_initials=initials, sex=Sex.MALE,
            birth_on=birth.astimezone(SHANGHAI).date(), birth_at=birth, id_type=IdDocumentType.NONE,
            institution=hospital, birth_order=1, created_at=now,
        )  # fmt: skip
        db.session.add(baby)
        db.session.flush()
        first = now - dt.timedelta(hours=3)
        values = {
            "screened_at": first.isoformat(),
            "murmur_grade": 0,
            "spo2_right_hand": "93",
            "spo2_foot": "92",
        }
        case = record_result(baby, "NEWBORN_CHD", "SCREEN", values, hospital, Actor(None, "seed"), now).case
        db.session.commit()
        ids = {"person": baby.id, "case": case.id, "first": first}
        db.session.remove()
    return ids


def test_a_repeat_too_soon_is_warned_and_notifying_the_family_is_one_button(page, live_server, chd_baby):
    log_in(page, live_server)
    page.goto(f"{live_server}/cases/{chd_baby['case']}")
    page.locator("#next-action").get_by_role("link", name="录入血氧复测").click()
    soon = (chd_baby["first"] + dt.timedelta(hours=1)).astimezone(SHANGHAI)
    page.get_by_label("复测时间").fill(soon.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("复测右手血氧").fill("93")
    page.get_by_label("复测足部血氧").fill("94")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_text("复测距首次测量不足2小时。")).to_be_visible()

    page.goto(f"{live_server}/cases/{chd_baby['case']}")
    expect(page.locator("#current-step")).to_have_text("告知家长")
    step = page.locator("#next-action #action-step")
    expect(step).to_contain_text("保存即记录：已告知")
    expect(step.locator("select")).to_have_count(0)
    step.get_by_role("button", name="保存结果").click()
    expect(page.locator("#current-step")).to_have_text("超声心动图诊断")
