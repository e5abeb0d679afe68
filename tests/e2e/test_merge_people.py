"""A clinic user merges a woman registered twice (CSRF on, Chinese interface), then undoes the merge."""

import datetime as dt

import sqlalchemy as sa
from playwright.sync_api import expect

from registry.extensions import db
from registry.institutions import Institution
from registry.people.models import IdDocumentType, Person, PersonKind, Sex
from registry.people.services import pinyin_of
from tests.conftest import PASSWORD


def _register_twice(app) -> tuple[int, int]:
    with app.app_context():
        hospital = db.session.scalars(sa.select(Institution).where(Institution.code == "H1")).one()
        pinyin, initials = pinyin_of("周晓梅")
        ids = []
        for phone in ("13600001111", "13600002222"):
            person = Person(
                kind=PersonKind.WOMAN, name="周晓梅", name_pinyin=pinyin, name_initials=initials,
                sex=Sex.FEMALE, birth_on=dt.date(1991, 6, 2), id_type=IdDocumentType.NONE,
                institution_id=hospital.id, phone=phone, created_at=dt.datetime.now(dt.UTC),
            )  # fmt: skip
            db.session.add(person)
            db.session.flush()
            ids.append(person.id)
        db.session.commit()
        db.engine.dispose()
    return ids[0], ids[1]


def test_clinic_user_merges_a_duplicate_and_undoes_it(page, live_app, live_server):
    first_id, second_id = _register_twice(live_app)
    page.goto(f"{live_server}/")
    page.get_by_label("用户名").fill("clinic")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()

    page.goto(f"{live_server}/people/")
    page.get_by_role("link", name="疑似重复人员").click()
    expect(page.get_by_role("heading", name="疑似重复人员")).to_be_visible()
    page.locator(f"a[href='/people/merge/{first_id}/{second_id}']").click()
    expect(page.get_by_text("136****1111")).to_be_visible()
    expect(page.get_by_text("13600001111")).to_have_count(0)

    page.get_by_role("button", name="合并这两条记录").click()
    expect(page.get_by_text("请填写合并原因。")).to_be_visible()
    page.locator(f"input[name='merge-keep'][value='{first_id}']").check()
    page.get_by_label("合并原因").fill("同一人在本院重复建档")
    page.get_by_role("button", name="合并这两条记录").click()
    expect(page.get_by_text("已合并：周晓梅 的记录现在包含两条记录的全部内容。")).to_be_visible()
    assert page.url.endswith(f"/people/{first_id}")

    page.goto(f"{live_server}/people/merges")
    page.get_by_role("link", name="撤销").first.click()
    page.get_by_label("撤销原因").fill("合并错误")
    page.get_by_role("button", name="撤销合并").click()
    expect(page.get_by_text("合并已撤销：两条记录重新分开。")).to_be_visible()
    assert page.url.endswith(f"/people/{second_id}")
