"""The administrator's page of system accounts: create one with its first token (shown once), issue another,
revoke one (401 at once); no one else reaches it."""

import sqlalchemy as sa

from registry.auth.models import ApiToken, Role, User
from registry.extensions import db
from tests import factories


def test_an_administrator_creates_an_account_and_sees_its_token_once(client, district, login):
    login(factories.user(Role.SYSTEM_ADMIN, district["mch"]))
    assert client.get("/admin/system-accounts").status_code == 200
    response = client.post(
        "/admin/system-accounts",
        data={
            "username": "hosp-lis",
            "full_name": "医院LIS",
            "institution_id": district["hospital"].id,
            "pmtct": "y",
        },
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    account = db.session.scalar(sa.select(User).where(User.username == "hosp-lis"))
    assert account.role is Role.SYSTEM_ACCOUNT and account.sees_restricted_records
    page = response.get_data(as_text=True)
    secret = page.split("<p><code>")[1].split("</code>")[0]
    assert secret.startswith("sr_")
    api = client.get("/api/v1/account", headers={"Authorization": f"Bearer {secret}"})
    assert api.json["username"] == "hosp-lis"
    assert secret not in client.get("/admin/system-accounts").get_data(as_text=True)


def test_a_second_token_is_issued_and_a_revoked_one_refused(client, district, login):
    account, first = factories.system_account(district["hospital"])
    login(factories.user(Role.SYSTEM_ADMIN, district["mch"]))
    issued = client.post(f"/admin/system-accounts/{account.id}/tokens")
    assert issued.status_code == 200
    second = issued.get_data(as_text=True).split("<p><code>")[1].split("</code>")[0]
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.user_id == account.id).order_by(ApiToken.id))
    assert client.post("/admin/system-accounts/revoke", data={"token_id": token.id}).status_code == 302
    assert client.get("/api/v1/account", headers={"Authorization": f"Bearer {first}"}).status_code == 401
    assert client.get("/api/v1/account", headers={"Authorization": f"Bearer {second}"}).status_code == 200
    person = factories.clinic_user(district["hospital"])
    assert client.post(f"/admin/system-accounts/{person.id}/tokens").status_code == 404


def test_a_taken_name_is_refused_naming_the_field(client, district, login):
    factories.system_account(district["hospital"], username="lab-one")
    login(factories.user(Role.SYSTEM_ADMIN, district["mch"]))
    response = client.post(
        "/admin/system-accounts", data={"username": "lab-one", "institution_id": district["hospital"].id}
    )
    assert response.status_code == 422


def test_only_the_administrator_reaches_the_page(client, district, login):
    login(factories.user(Role.FOLLOW_UP_COORDINATOR, district["mch"]))
    assert client.get("/admin/system-accounts").status_code == 403
    assert client.post("/admin/system-accounts/revoke", data={"token_id": 1}).status_code == 403
