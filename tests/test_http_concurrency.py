"""Many people pressing Save at once, over real HTTP against a threaded server on a database that commits.

A stale edit of a case must answer 409 with the user's text still in the form, and the losers of a race to
register one identity document must see the duplicate message: never a 500, never two people or a lost edit.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from registry import create_app
from registry.auth.models import Role
from registry.extensions import db
from registry.people.idnumbers import check_digit
from registry.people.models import Person
from registry.people.protection import blind_index_of_document
from screenings.models import CaseEvent, FollowUpCase
from tests import factories
from tests.conftest import app_config
from tests.live_http import Browser, all_at_once, serve

WRITERS = 20
REGISTRANTS = 8


@pytest.fixture
def live(scratch_database):
    """A migrated scratch database with a hospital, clinic users and one open hearing case; a live server."""
    url = scratch_database.new("http_concurrency")
    app = create_app(app_config(url, LOGIN_RATE_LIMIT="10000 per minute"))
    with app.app_context():
        upgrade()
        places = factories.district()
        hospital = places["hospital"]
        users = [factories.user(Role.CLINIC_STAFF, hospital, username=f"staff{n}") for n in range(WRITERS)]
        baby = factories.newborn(hospital)
        case = factories.referred_case(baby, hospital, now=dt.datetime.now(dt.UTC))
        seeded = {"case_id": case.id, "version": case.version, "usernames": [u.username for u in users]}
        db.session.commit()
        db.session.remove()
    with serve(app) as base:
        yield app, base, seeded
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_twenty_staff_saving_a_note_on_one_case_at_once_get_one_save_and_nineteen_conflicts(live):
    app, base, seeded = live
    browsers = []
    for username in seeded["usernames"]:
        browser = Browser(base)
        browser.log_in(username)
        browsers.append(browser)
    path = f"/cases/{seeded['case_id']}/note"

    def save(n: int):
        return lambda: browsers[n].post(path, {"version": seeded["version"], "note": f"第{n}位同事的备注"})

    answers = all_at_once([save(n) for n in range(WRITERS)])

    statuses = Counter(status for status, _ in answers)
    assert statuses == {302: 1, 409: WRITERS - 1}, statuses
    for n, (status, body) in enumerate(answers):
        if status == 409:
            assert f"第{n}位同事的备注" in body  # the loser's words are still in the form to save again
    with app.app_context():
        notes = db.session.scalars(
            sa.select(CaseEvent.note).where(
                CaseEvent.case_id == seeded["case_id"], CaseEvent.note.like("第%位同事的备注")
            )
        ).all()
        case = db.session.get(FollowUpCase, seeded["case_id"])
        assert len(notes) == 1
        assert case.version == seeded["version"] + 1


def resident_id(birth: str, serial: int) -> str:
    body = f"330106{birth}{serial:03d}"
    return body + check_digit(body)


def test_eight_clerks_registering_one_woman_at_once_get_one_person_and_seven_duplicate_messages(live):
    app, base, seeded = live
    browsers = []
    for username in seeded["usernames"][:REGISTRANTS]:
        browser = Browser(base)
        browser.log_in(username)
        browsers.append(browser)
    number = resident_id("19910305", 482)
    form = {
        "name": "林晓雯",
        "birth_on": "1991-03-05",
        "id_type": "RESIDENT_ID",
        "id_number": number,
        "phone": "13900001111",
        "household": "LOCAL",
    }
    answers = all_at_once([lambda b=b: b.post("/people/register/woman", form) for b in browsers])

    statuses = Counter(status for status, _ in answers)
    assert statuses[302] == 1, statuses
    assert statuses[200] == REGISTRANTS - 1, statuses
    for status, body in answers:
        if status == 200:
            assert "已登记" in body, body[body.find("<main") :][:3000]
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count()).where(Person.id_number_index == blind_index_of_document(number))
            )
            == 1
        )
