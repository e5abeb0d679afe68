"""ID and phone numbers at rest: unreadable in the database, found again by their blind index, and tied to
the one key kept outside the database."""

import pytest
import sqlalchemy as sa

from registry import create_app
from registry.auth.models import Role
from registry.extensions import db
from registry.people.protection import FieldKeyError, FieldKeys
from tests.conftest import app_config
from tests.test_people import WOMAN_ID, woman_form

PHONE = "13812345678"


@pytest.fixture
def registered(district, make_user, login, client, db_session):
    login(make_user(Role.CLINIC_STAFF, district["hospital"]))
    response = client.post("/people/register/woman", data=woman_form(phone=PHONE, phone_alt="13900002222"))
    assert response.status_code == 302
    return int(response.headers["Location"].rsplit("/", 1)[1])


def stored_row(person_id: int) -> dict:
    """The person's row as the database holds it (what a dump or a stolen file shows)."""
    row = (
        db.session.execute(sa.text("SELECT * FROM person WHERE id = :id"), {"id": person_id}).mappings().one()
    )
    return dict(row)


def test_a_registered_womans_id_and_phones_are_not_readable_in_the_database(registered):
    row = stored_row(registered)
    dump = repr(row)
    assert WOMAN_ID not in dump and PHONE not in dump and "13900002222" not in dump
    assert WOMAN_ID[-8:] not in dump and PHONE[-8:] not in dump  # not even a fragment
    assert row["id_number"].startswith("v1:") and row["phone"].startswith("v1:")


def test_she_is_found_by_her_id_number_typed_in_full_width_and_by_either_phone(client, registered):
    full_width = WOMAN_ID.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    for term in (WOMAN_ID, full_width, PHONE, "13900002222", "138 1234 5678"):
        page = client.post("/people/", data={"q": term}).get_data(as_text=True)
        assert f"/people/{registered}" in page, term


def test_the_same_number_is_stored_differently_each_time_but_indexed_alike(app):
    with app.app_context():
        keys = app.extensions["field_keys"]
        assert keys.encrypt(WOMAN_ID) != keys.encrypt(WOMAN_ID)
        assert keys.decrypt(keys.encrypt(WOMAN_ID)) == WOMAN_ID
        assert keys.blind_index(WOMAN_ID) == keys.blind_index(WOMAN_ID)


def test_numbers_written_under_another_key_are_refused_not_misread():
    ours = FieldKeys.from_secret("11" * 32)
    theirs = FieldKeys.from_secret("22" * 32)
    with pytest.raises(FieldKeyError, match="not the key"):
        theirs.decrypt(ours.encrypt(WOMAN_ID))
    assert ours.blind_index(WOMAN_ID) != theirs.blind_index(WOMAN_ID)


@pytest.mark.parametrize("secret", ["", "short", "zz" * 32])
def test_an_application_with_a_malformed_key_does_not_start(secret):
    with pytest.raises(FieldKeyError, match="FIELD_ENCRYPTION_KEY"):
        create_app(app_config("sqlite://", FIELD_ENCRYPTION_KEY=secret))
