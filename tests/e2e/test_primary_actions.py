"""Each main page's primary action, done in the browser by the role it is for (issue 14).

Home → find a person → the person → enter a result (clinic staff); the worklist's filter → a case → its next
action, which closes the case (clinic staff); the worklist narrowed to one institution (coordinator); the
statistics' period menu (program manager); the audit trail's filter (auditor); a new user (administrator).
"""

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from registry.audit import Actor
from registry.auth.models import Role, User
from registry.auth.passwords import hash_password
from registry.extensions import db
from registry.institutions import Institution
from registry.people.models import IdDocumentType, Person, PersonKind, Sex
from registry.people.services import pinyin_of
from screenings.results import record_result
from tests.conftest import PASSWORD
from tests.e2e.test_follow_up_case import SHANGHAI, log_in

ROLES = {
    "coordinator-e2e": ("赵协调", Role.FOLLOW_UP_COORDINATOR, "D1"),
    "manager-e2e": ("钱主任", Role.PROGRAM_MANAGER, "D1"),
    "auditor-e2e": ("孙审计", Role.AUDITOR, "D1"),
    "admin-e2e": ("李管理", Role.SYSTEM_ADMIN, "D1"),
}


@pytest.fixture(scope="module")
def people(live_app):
    """A user of every district role, and a newborn whose initial hearing screen referred both ears."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    with live_app.app_context():
        for username, (name, role, code) in ROLES.items():
            if db.session.query(User).filter_by(username=username).first() is None:
                institution = db.session.query(Institution).filter_by(code=code).one()
                db.session.add(User(username=username, full_name=name, role=role, institution=institution,
                                    password_hash=hash_password(PASSWORD), created_at=now))  # fmt: skip
        hospital = db.session.query(Institution).filter_by(code="H1").one()
        birth = now - dt.timedelta(days=10)
        pinyin, initials = pinyin_of("周小禾")
        baby = Person(
            kind=PersonKind.NEWBORN, name="周小禾", name_pinyin=pinyin, name_initials=initials,
            sex=Sex.FEMALE,
            birth_on=birth.astimezone(SHANGHAI).date(), birth_at=birth, id_type=IdDocumentType.NONE,
            institution=hospital, birth_order=1, created_at=now,
        )  # fmt: skip
        db.session.add(baby)
        db.session.flush()
        values = {"screening_status": "DONE", "screened_at": (birth + dt.timedelta(hours=50)).isoformat(),
                  "method": "OAE", "left_ear": "REFER", "right_ear": "REFER"}  # fmt: skip
        record_result(baby, "NEWBORN_HEARING", "INITIAL", values, hospital, Actor(None, "seed"), now)
        db.session.commit()
        db.session.remove()


def log_in_as(page, live_server, username, full_name):
    page.goto(f"{live_server}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_text(f"欢迎，{full_name}")).to_be_visible()


def test_clinic_staff_find_a_person_and_open_the_result_form(page, live_server, people):
    log_in(page, live_server)
    page.get_by_role("main").get_by_role("link", name="查找人员").click()
    page.get_by_label("姓名、拼音、身份证号或电话").fill("陈静怡")
    page.get_by_role("button", name="查询").click()
    page.get_by_role("main").get_by_role("link", name="陈静怡").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("陈静怡")
    page.get_by_role("main").get_by_role("link", name="录入结果").click()
    expect(page.locator("section", has_text="宫颈癌筛查")).to_be_visible()


def test_clinic_staff_filter_the_worklist_and_close_a_case_with_its_next_action(page, live_server, people):
    log_in(page, live_server)
    page.get_by_role("link", name="随访", exact=True).click()
    page.locator("[data-tab=all]").click()
    page.get_by_label("步骤").select_option(label="复筛")
    page.get_by_role("button", name="应用").click()
    expect(page.locator("[data-tab=all]")).to_have_attribute("aria-current", "page")
    row = page.locator("tr", has_text="周小禾")
    expect(row.locator("td.risk")).to_contain_text("双耳未通过")
    row.get_by_role("link", name="周小禾").click()
    step = page.locator("#next-action #action-step")
    step.get_by_label("结果").select_option(label="双耳通过")
    step.get_by_role("button", name="保存结果").click()
    expect(page.locator("#case-status")).to_contain_text("已结案")


def test_a_coordinator_narrows_the_worklist_to_one_institution(page, live_server, people):
    log_in_as(page, live_server, "coordinator-e2e", "赵协调")
    page.get_by_role("link", name="随访", exact=True).click()
    page.locator("[data-tab=all]").click()
    page.get_by_label("机构").select_option(label="西湖区第一人民医院")
    page.get_by_role("button", name="应用").click()
    expect(page).to_have_url(re.compile(r"[?&]institution=\d+"))
    expect(page.locator("#institution option:checked")).to_have_text("西湖区第一人民医院")
    expect(page.locator("[data-tab=all]")).to_have_attribute("aria-current", "page")  # the tab is kept


def test_a_program_manager_switches_the_statistics_period(page, live_server, people):
    log_in_as(page, live_server, "manager-e2e", "钱主任")
    page.get_by_role("link", name="统计分析").click()
    page.locator("nav.period-menu").get_by_role("link", name="上月").click()
    expect(page.locator("nav.period-menu a[aria-current=page]")).to_have_text("上月")
    expect(page.locator("table.figures").first).to_be_visible()


def test_the_auditor_filters_the_audit_trail_by_user(page, live_server, people):
    log_in_as(page, live_server, "auditor-e2e", "孙审计")
    page.get_by_role("link", name="审计日志").click()
    page.locator("form.filters input[name=user]").fill("auditor-e2e")
    page.get_by_role("button", name="筛选").click()
    expect(page.locator("tbody tr").first).to_contain_text("孙审计")


def test_the_administrator_creates_a_user(page, live_server, people):
    log_in_as(page, live_server, "admin-e2e", "李管理")
    page.get_by_role("link", name="用户", exact=True).click()
    page.get_by_role("link", name="新建用户").click()
    page.get_by_label("用户名").fill("nurse-e2e")
    page.get_by_label("姓名").fill("吴护士")
    page.get_by_label("角色").select_option(label="筛查机构工作人员")
    institution = page.get_by_label("机构")
    institution.select_option(institution.locator("option", has_text="第一人民医院").get_attribute("value"))
    page.get_by_label("新密码").fill("Correct-Horse-42-battery")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("main")).to_contain_text("nurse-e2e")
