"""System accounts and their API tokens: shown once, stored hashed, scoped to an institution, revocable.

The OpenAPI document of the API is served at /api/v1/openapi.json; every other API route needs a token.
"""

import hashlib

import sqlalchemy as sa

from registry.audit import AuditEvent
from registry.auth.models import ApiToken, Role
from registry.extensions import db
from tests import factories
from tests.factories import CLINIC, NOW


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


def test_a_token_is_stored_only_as_its_hash_and_shown_once(db_session, district):
    account, secret = factories.system_account(district["hospital"])
    [token] = db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == account.id))
    assert secret.startswith("sr_") and len(secret) > 40
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in {token.token_hash, token.prefix} and secret.startswith(token.prefix)
    assert account.role is Role.SYSTEM_ACCOUNT and account.institution_id == district["hospital"].id
    created = db.session.scalars(sa.select(AuditEvent.summary).where(AuditEvent.entity == "api_token")).all()
    assert created and all(secret not in summary for summary in created)


def test_a_token_names_its_account_and_what_it_may_send(client, district):
    account, secret = factories.system_account(district["hospital"])
    response = client.get("/api/v1/account", headers=bearer(secret))
    assert response.status_code == 200, response.json
    assert response.json["username"] == account.username
    assert response.json["institution"]["code"] == district["hospital"].code
    assert "NEWBORN_HEARING" in response.json["programs"]
    assert "PMTCT_HIV" not in response.json["programs"]


def test_an_account_made_for_pmtct_may_send_its_programs(client, district):
    _account, secret = factories.system_account(district["hospital"], pmtct=True)
    programs = client.get("/api/v1/account", headers=bearer(secret)).json["programs"]
    assert {"PMTCT_HIV", "PMTCT_SYPHILIS", "PMTCT_HBV"} <= set(programs)


def test_a_call_without_a_valid_token_gets_a_401_problem(client, district):
    factories.system_account(district["hospital"])
    for headers in ({}, bearer("sr_not-a-token"), {"Authorization": "Basic dXNlcjpwYXNz"}, bearer("x" * 500)):
        response = client.get("/api/v1/account", headers=headers)
        assert response.status_code == 401
        assert response.mimetype == "application/problem+json"
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert response.json["status"] == 401 and response.json["title"] == "Unauthorized"


def test_a_revoked_token_gets_401_at_once(client, district):
    from registry.auth.system_accounts import revoke_token

    account, secret = factories.system_account(district["hospital"])
    assert client.get("/api/v1/account", headers=bearer(secret)).status_code == 200
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.user_id == account.id))
    revoke_token(token, CLINIC, NOW)
    db.session.commit()
    assert client.get("/api/v1/account", headers=bearer(secret)).status_code == 401
    assert db.session.scalar(
        sa.select(sa.func.count()).where(AuditEvent.entity == "api_token", AuditEvent.action == "REVOKE")
    )


def test_a_disabled_account_gets_401(client, district):
    account, secret = factories.system_account(district["hospital"])
    account.active = False
    db.session.commit()
    assert client.get("/api/v1/account", headers=bearer(secret)).status_code == 401


def test_a_browser_login_does_not_open_the_api(client, district, login):
    login(factories.clinic_user(district["hospital"]))
    assert client.get("/api/v1/account").status_code == 401


def test_a_system_account_cannot_log_in_to_the_web_pages(client, district):
    account, secret = factories.system_account(district["hospital"])
    for password in (secret, "!system-account", ""):
        response = client.post("/login", data={"username": account.username, "password": password})
        assert response.status_code == 200  # the login form again, not a redirect into the site


def test_the_command_creates_lists_and_revokes_tokens(app, client, district):
    runner = app.test_cli_runner()
    code = district["mch"].code
    created = runner.invoke(args=["api-token", "create", "--account", "lab-lis", "--institution", code])
    assert created.exit_code == 0, created.output
    secret = created.output.strip().splitlines()[-1]
    assert client.get("/api/v1/account", headers=bearer(secret)).json["username"] == "lab-lis"
    listed = runner.invoke(args=["api-token", "list"])
    assert "lab-lis" in listed.output and secret not in listed.output
    token_id = db.session.scalar(sa.select(ApiToken.id).where(ApiToken.token_hash.is_not(None)).order_by(
        ApiToken.id.desc()))  # fmt: skip
    revoked = runner.invoke(args=["api-token", "revoke", str(token_id)])
    assert revoked.exit_code == 0, revoked.output
    assert client.get("/api/v1/account", headers=bearer(secret)).status_code == 401
    refused = runner.invoke(args=["api-token", "create", "--account", "new-lis"])
    assert refused.exit_code != 0 and "--institution" in refused.output


def test_the_openapi_document_is_served_without_a_token(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json
    assert spec["openapi"].startswith("3.1")
    assert "/api/v1/account" in spec["paths"]
    assert spec["components"]["securitySchemes"]["bearerToken"]["scheme"] == "bearer"


def test_the_documentation_page_is_served_by_the_application(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "/api/v1/account" in page and "openapi.json" in page
    assert "https://" not in page  # nothing from a CDN


def test_each_token_has_its_own_rate_limit_answered_429(app, client, district, monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "3 per minute")
    _busy, busy = factories.system_account(district["hospital"])
    _other, other = factories.system_account(district["hospital"])
    answers = [client.get("/api/v1/account", headers=bearer(busy)).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    limited = client.get("/api/v1/account", headers=bearer(busy))
    assert limited.mimetype == "application/problem+json" and limited.json["status"] == 429
    assert client.get("/api/v1/account", headers=bearer(other)).status_code == 200
