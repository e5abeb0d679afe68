"""A clinic user logs in (Chinese interface) and registers a newborn linked to its mother."""

from playwright.sync_api import expect

from tests.conftest import PASSWORD


def test_clinic_user_registers_a_newborn_linked_to_its_mother(page, live_server):
    page.goto(f"{live_server}/")
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    page.get_by_label("用户名").fill("clinic")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_text("欢迎，王丽")).to_be_visible()

    page.get_by_role("link", name="查找人员").click()
    page.get_by_label("姓名、拼音、身份证号或电话").fill("cjy")
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_text("找到 1 人")).to_be_visible()
    expect(page.get_by_text("137****5678")).to_be_visible()
    page.get_by_role("link", name="陈静怡").click()

    page.get_by_role("link", name="登记新生儿").click()
    expect(page.get_by_role("heading", name="登记新生儿")).to_be_visible()
    page.get_by_label("姓名").fill("陈小雨")
    page.get_by_label("性别").select_option(label="女")
    page.get_by_label("出生日期时间").fill("2026-11-20T09:15")
    page.get_by_role("button", name="保存").click()

    expect(page.get_by_text("已登记 陈小雨。")).to_be_visible()
    expect(page.get_by_role("heading", name="陈小雨")).to_be_visible()
    expect(page.get_by_role("link", name="陈静怡")).to_be_visible()
    page.get_by_role("link", name="陈静怡").click()
    expect(page.get_by_role("link", name="陈小雨")).to_be_visible()
