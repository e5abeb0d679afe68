"""A program manager opens 统计分析, sorts the table, drills down to the records, exports, opens a case."""

import csv
import datetime as dt
import io
from pathlib import Path

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

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def _baby(hospital, mother, name: str, birth: dt.datetime) -> Person:
    pinyin, initials = pinyin_of(name)
    baby = Person(
        kind=PersonKind.NEWBORN, name=name, name_pinyin=pinyin, name_initials=initials, sex=Sex.FEMALE,
        birth_on=birth.astimezone(SHANGHAI).date(), birth_at=birth, id_type=IdDocumentType.NONE,
        institution=hospital, mother_id=mother.id, birth_order=1, created_at=birth,
    )  # fmt: skip
    db.session.add(baby)
    db.session.flush()
    return baby


@pytest.fixture
def screened_month(live_app):
    """Two newborns screened for hearing through the recording path (a pass, a refer); return the month."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    birth = now - dt.timedelta(days=3)
    with live_app.app_context():
        hospital = db.session.query(Institution).filter_by(code="H1").one()
        if db.session.query(User).filter_by(username="manager").one_or_none() is None:
            db.session.add(
                User(username="manager", full_name="赵主任", role=Role.PROGRAM_MANAGER, institution=hospital,
                     password_hash=hash_password(PASSWORD), created_at=now)
            )  # fmt: skip
        mother = db.session.query(Person).filter_by(name="陈静怡").one()
        for name, right in (("统计甲", "PASS"), ("统计乙", "REFER")):
            baby = _baby(hospital, mother, name, birth)
            values = {"screening_status": "DONE", "screened_at": (birth + dt.timedelta(hours=50)).isoformat(),
                      "method": "OAE", "left_ear": "PASS", "right_ear": right}  # fmt: skip
            record_result(baby, "NEWBORN_HEARING", "INITIAL", values, hospital, Actor(None, "seed"), now)
        db.session.commit()
        db.session.remove()
    return birth.astimezone(SHANGHAI).strftime("%Y-%m")


def test_a_manager_sorts_the_table_drills_down_and_exports(page, live_server, screened_month):
    page.goto(f"{live_server}/login")
    page.get_by_label("用户名").fill("manager")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_text("欢迎，赵主任")).to_be_visible()

    # Open 统计分析 from the navigation and choose the month and the hearing program.
    page.get_by_role("link", name="统计分析", exact=True).click()
    page.get_by_role("textbox", name="统计期").fill(screened_month)
    page.get_by_label("项目").select_option(label="新生儿听力筛查")
    page.get_by_role("button", name="显示").click()
    expect(page.get_by_role("heading", name="新生儿听力筛查")).to_be_visible()

    # Sort by the denominator, descending: the rows come largest first, empty ("—") last.
    page.get_by_role("columnheader", name="分母").get_by_role("link").click()
    expect(page.locator('th[data-sort="denominator"]')).to_have_attribute("aria-sort", "ascending")
    page.get_by_role("columnheader", name="分母").get_by_role("link").click()
    header = page.locator('th[data-sort="denominator"]')
    expect(header).to_have_attribute("aria-sort", "descending")
    assert f"period={screened_month}" in page.url and "program=NEWBORN_HEARING" in page.url
    shown = [t for t in page.locator("table.figures tbody tr td:nth-child(4)").all_inner_texts() if t != "—"]
    assert [int(t) for t in shown] == sorted((int(t) for t in shown), reverse=True)

    # Drill down from the district's "screened" numerator: the list holds as many records as the figure.
    link = page.locator('tr[data-indicator="INITIAL_SCREEN_RATE"][data-institution=""] a[data-part="num"]')
    figure = int(link.inner_text())
    assert figure >= 2
    link.click()
    expect(page.locator("#record-count strong")).to_have_text(str(figure))
    expect(page.locator("tr[data-person]")).to_have_count(figure)
    expect(page.get_by_role("link", name="统计甲")).to_be_visible()
    expect(page.get_by_role("link", name="统计乙")).to_be_visible()

    # Export the list as CSV: the same records, named, with Chinese headers.
    with page.expect_download() as download:
        page.locator("#list-exports").get_by_role("link", name="CSV").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0] == "姓名" and len(rows) - 1 == figure
    assert {"统计甲", "统计乙"} <= {row[0] for row in rows[1:]}

    # Back on the dashboard, the table exports as XLSX.
    page.go_back()
    with page.expect_download() as table:
        page.locator("#table-exports").get_by_role("link", name="XLSX").click()
    assert table.value.suggested_filename.endswith(".xlsx")

    # The referred baby's record opens its follow-up case from the list.
    page.go_forward()
    referred = page.locator("tr[data-person]", has_text="统计乙")
    expect(referred).to_contain_text("右耳未通过")
    referred.get_by_role("link", name="查看个案").click()
    expect(page.locator("h1")).to_contain_text("新生儿听力筛查")
    expect(page.locator("#case-status")).to_be_visible()
