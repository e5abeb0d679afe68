"""A clinic user takes a referred hearing screen through rescreen, contacts and diagnosis to closure."""

import datetime as dt
import subprocess

import pytest
from playwright.sync_api import expect

from registry.audit import Actor
from registry.extensions import db
from registry.institutions import Institution
from registry.people.models import IdDocumentType, Person, PersonKind, Sex
from registry.people.services import pinyin_of
from screenings.results import record_result
from tests.conftest import PASSWORD

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture
def referred_baby(live_app):
    """A newborn of 20 days whose initial hearing screen referred the left ear."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    birth = now - dt.timedelta(days=20)
    with live_app.app_context():
        hospital = db.session.query(Institution).filter_by(code="H1").one()
        pinyin, initials = pinyin_of("林晓")
        mother = Person(
            kind=PersonKind.WOMAN, name="林晓", name_pinyin=pinyin, name_initials=initials, sex=Sex.FEMALE,
            birth_on=dt.date(1993, 2, 1), id_type=IdDocumentType.NONE, institution=hospital, created_at=now,
        )  # fmt: skip
        db.session.add(mother)
        db.session.flush()
        pinyin, initials = pinyin_of("林小满")
        baby = Person(
            kind=PersonKind.NEWBORN, name="林小满", name_pinyin=pinyin, name_initials=initials, sex=Sex.MALE,
            birth_on=birth.astimezone(SHANGHAI).date(), birth_at=birth, id_type=IdDocumentType.NONE,
            institution=hospital, mother_id=mother.id, birth_order=1, created_at=now,
        )  # fmt: skip
        db.session.add(baby)
        db.session.flush()
        values = {"screening_status": "DONE", "screened_at": (birth + dt.timedelta(hours=50)).isoformat(),
                  "method": "OAE", "left_ear": "REFER", "right_ear": "PASS"}  # fmt: skip
        record_result(baby, "NEWBORN_HEARING", "INITIAL", values, hospital, Actor(None, "seed"), now)
        db.session.commit()
        baby_id = baby.id
        db.session.remove()
    return baby_id


def log_in(page, live_server):
    page.goto(f"{live_server}/login")
    page.get_by_label("用户名").fill("clinic")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_text("欢迎，王丽")).to_be_visible()


def test_rescreen_contacts_diagnosis_and_closure(page, live_server, referred_baby, tmp_path):
    log_in(page, live_server)

    # Enter the failed rescreen from the person's page: the form is the hearing program's declaration.
    page.goto(f"{live_server}/people/{referred_baby}")
    page.get_by_role("main").get_by_role("link", name="录入结果").click()
    page.locator("section", has_text="新生儿听力筛查").get_by_role("link", name="复筛").click()
    page.get_by_label("筛查状态").select_option(label="已筛查")
    page.get_by_label("筛查时间").fill(dt.datetime.now(SHANGHAI).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("筛查方法").select_option(label="自动听性脑干反应")
    page.get_by_label("左耳").select_option(label="未通过")
    page.get_by_label("右耳").select_option(label="未通过")
    page.get_by_role("button", name="保存结果").click()
    expect(page.locator("#result-code")).to_have_text("双耳未通过")
    expect(page.get_by_text("该结果已推进进行中的随访个案")).to_be_visible()

    # Find the case on the worklist.
    page.get_by_role("link", name="随访", exact=True).click()
    page.locator("[data-tab=all]").click()
    row = page.locator("tr", has_text="林小满")
    expect(row).to_contain_text("听力诊断")
    row.get_by_role("link", name="林小满").click()
    expect(page.locator("#current-step")).to_have_text("听力诊断")

    # Two failed calls, then the mother answers. Logging a call is one click away from the next action.
    page.locator("#more-actions > summary").click()
    contact = page.locator("#action-contact")
    for _ in range(2):
        contact.get_by_label("方式").select_option("PHONE")
        contact.get_by_label("结果").select_option("NO_ANSWER")
        contact.get_by_role("button", name="保存追访").click()
        expect(page.get_by_text("已保存。")).to_be_visible()
        page.locator("#more-actions > summary").click()
        contact = page.locator("#action-contact")
    contact.get_by_label("方式").select_option("PHONE")
    contact.get_by_label("结果").select_option("REACHED")
    contact.get_by_role("button", name="保存追访").click()
    expect(contact.locator(".error")).to_have_text("请填写联系到的人。")  # who answered is required
    contact = page.locator("#action-contact")
    contact.get_by_label("联系到的人 · 选填").fill("陈静怡")
    contact.get_by_label("与本人关系 · 选填").select_option("MOTHER")
    contact.get_by_role("button", name="保存追访").click()
    expect(page.locator("li[data-kind=CONTACT_ATTEMPT]")).to_have_count(3)

    # The printed recall letter names the child in Chinese.
    letter = page.request.get(live_server + page.locator("#recall-letter").get_attribute("href"))
    assert letter.headers["content-type"] == "application/pdf"
    pdf = tmp_path / "letter.pdf"
    pdf.write_bytes(letter.body())
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "林小满" in text and "召回通知书" in text

    # The diagnosis is normal hearing: the case closes.
    step = page.locator("#action-step")
    step.get_by_label("结果").select_option(label="听力正常")
    step.get_by_role("button", name="保存结果").click()
    expect(page.locator("#case-status")).to_contain_text("已结案")
    expect(page.locator("#case-status")).to_contain_text("诊断排除")
