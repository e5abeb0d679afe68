"""The worklist on a phone 390 px wide: tabs, filters and rows fit, and the page never scrolls sideways."""

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

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def overdue_babies(live_app):
    """Three newborns whose initial hearing screen referred both ears 60 days ago: overdue rescreens."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    birth = now - dt.timedelta(days=60)
    with live_app.app_context():
        hospital = db.session.query(Institution).filter_by(code="H1").one()
        for n, name in enumerate(("欧阳小满", "司马晓晓", "诸葛一一")):
            pinyin, initials = pinyin_of(name)
            baby = Person(
                kind=PersonKind.NEWBORN, name=name, name_pinyin=pinyin, name_initials=initials, sex=Sex.MALE,
                birth_on=birth.astimezone(SHANGHAI).date(), birth_at=birth, id_type=IdDocumentType.NONE,
                institution=hospital, birth_order=1, created_at=now,
            )  # fmt: skip
            db.session.add(baby)
            db.session.flush()
            screened = birth + dt.timedelta(hours=50 + n)
            values = {"screening_status": "DONE", "screened_at": screened.isoformat(),
                      "method": "OAE", "left_ear": "REFER", "right_ear": "REFER"}  # fmt: skip
            record_result(baby, "NEWBORN_HEARING", "INITIAL", values, hospital, Actor(None, "seed"), now)
        db.session.commit()
        db.session.remove()


def page_width(page) -> int:
    return page.evaluate("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)")


def test_the_worklist_fits_a_phone_screen(page, live_server, overdue_babies):
    page.set_viewport_size(PHONE)
    log_in(page, live_server)
    assert page_width(page) <= PHONE["width"]
    page.get_by_role("link", name="随访", exact=True).click()
    expect(page.locator("[data-tab=overdue]")).to_have_attribute("aria-current", "page")
    row = page.locator("tr", has_text="司马晓晓")
    expect(row).to_be_visible()
    expect(row.locator("td.risk")).to_contain_text("双耳未通过")
    assert page_width(page) <= PHONE["width"]
    # Every cell of a row is inside the screen, not cut off to the right.
    rights = row.locator("td:visible").evaluate_all(
        "cells => cells.map(c => c.getBoundingClientRect().right)"
    )
    assert rights and max(rights) <= PHONE["width"]
    # The filters work on the phone too, and the page still fits.
    page.get_by_label("步骤").select_option(label="复筛")
    page.get_by_role("button", name="应用").click()
    expect(page.locator("tr", has_text="诸葛一一")).to_be_visible()
    assert page_width(page) <= PHONE["width"]
    row = page.locator("tr", has_text="欧阳小满")
    row.get_by_role("link", name="欧阳小满").click()
    expect(page.get_by_role("main")).to_contain_text("欧阳小满")
    assert page_width(page) <= PHONE["width"]
