"""Login, lockout, server-side sessions, CSRF, headers and the production safety checks."""

import datetime as dt
import logging
import os
import re
import subprocess
import sys

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from registry import create_app
from registry.audit import AuditEvent
from registry.auth.models import LoginSession, Role
from registry.extensions import db
from tests.conftest import PASSWORD, app_config


def test_wrong_password_shows_one_message_for_known_and_unknown_users(client, district, make_user):
    user = make_user(Role.CLINIC_STAFF, district["hospital"])
    known = client.post("/login", data={"username": user.username, "password": "wrong-password"})
    unknown = client.post("/login", data={"username": "nobody-here", "password": "wrong-password"})
    assert known.status_code == unknown.status_code == 200
    assert "用户名或密码错误" in known.get_data(as_text=True)
    assert "用户名或密码错误" in unknown.get_data(as_text=True)


def test_five_failed_logins_lock_the_account_for_fifteen_minutes(client, district, make_user, db_session):
    user = make_user(Role.CLINIC_STAFF, district["hospital"])
    for _ in range(5):
        client.post("/login", data={"username": user.username, "password": "wrong-password"})
    refused = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert refused.status_code == 200
    assert "连续失败 5 次后账户将锁定 15 分钟" in refused.get_data(as_text=True)
    db_session.refresh(user)
    assert user.locked_until is not None
    remaining = user.locked_until - dt.datetime.now(dt.UTC)
    assert dt.timedelta(minutes=14) < remaining <= dt.timedelta(minutes=15)

    user.locked_until = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    db_session.flush()
    assert client.post("/login", data={"username": user.username, "password": PASSWORD}).status_code == 302


def test_a_locked_account_answers_like_a_made_up_username(client, district, make_user):
    user = make_user(Role.CLINIC_STAFF, district["hospital"])
    answers = {}
    for username in (user.username, "nobody-here"):
        for _ in range(5):
            client.post("/login", data={"username": username, "password": "wrong-password"})
        answer = client.post("/login", data={"username": username, "password": PASSWORD})
        answers[username] = (answer.status_code, _flashed_message(answer.get_data(as_text=True)))
    assert answers[user.username] == answers["nobody-here"]
    assert "已锁定" not in answers[user.username][1]


def _flashed_message(page: str) -> str:
    match = re.search(r'class="flash[^"]*"[^>]*>(.*?)<', page, re.S)
    assert match, "no flashed message on the login page"
    return match.group(1).strip()


def test_four_failures_then_success_do_not_lock(client, district, make_user, db_session):
    user = make_user(Role.CLINIC_STAFF, district["hospital"])
    for _ in range(4):
        client.post("/login", data={"username": user.username, "password": "wrong-password"})
    assert client.post("/login", data={"username": user.username, "password": PASSWORD}).status_code == 302
    db_session.refresh(user)
    assert user.failed_login_count == 0 and user.locked_until is None


def test_failed_login_is_logged_without_the_password(client, district, make_user, caplog, db_session):
    user = make_user(Role.CLINIC_STAFF, district["hospital"])
    with caplog.at_level(logging.WARNING, logger="registry.security"):
        client.post("/login", data={"username": user.username, "password": "Secret-Guess-123"})
    assert any("login failed" in r.getMessage() for r in caplog.records)
    assert "Secret-Guess-123" not in caplog.text
    events = db_session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "LOGIN_FAILED")).all()
    assert events and all("Secret-Guess-123" not in e.summary for e in events)


def test_login_is_rate_limited_per_address(app, client):
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    try:
        codes = [
            client.post(
                "/login", data={"username": "x", "password": "y"}, environ_base={"REMOTE_ADDR": "10.20.30.40"}
            ).status_code
            for _ in range(5)
        ]
    finally:
        app.config["LOGIN_RATE_LIMIT"] = "1000 per minute"
    assert codes[:3] == [200, 200, 200]
    assert codes[3:] == [429, 429]


def test_logout_ends_the_session_on_the_server(client, district, make_user, login):
    user = make_user(Role.CLINIC_STAFF, district["hospital"])
    login(user)
    with client.session_transaction() as cookie_session:
        stolen = dict(cookie_session)
    client.post("/logout")
    assert client.get("/").status_code == 302
    # Replaying the old cookie must not bring the login back.
    with client.session_transaction() as cookie_session:
        cookie_session.update(stolen)
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_disabling_an_account_ends_its_other_sessions(app, client, district, make_user, login, db_session):
    user = make_user(Role.CLINIC_STAFF, district["hospital"])
    admin = make_user(Role.SYSTEM_ADMIN, district["mch"])
    login(user)
    assert client.get("/").status_code == 200
    admin_client = app.test_client()
    admin_client.post("/login", data={"username": admin.username, "password": PASSWORD})
    response = admin_client.post(
        f"/admin/users/{user.id}",
        data={
            "username": user.username,
            "full_name": user.full_name,
            "role": user.role.value,
            "institution_id": str(user.institution_id),
        },  # "active" unticked
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 302
    assert db_session.scalar(sa.select(sa.func.count()).where(LoginSession.user_id == user.id)) == 0


def test_idle_session_times_out(client, district, make_user, login, db_session):
    user = make_user(Role.CLINIC_STAFF, district["hospital"])
    login(user)
    session_row = db_session.scalar(sa.select(LoginSession).where(LoginSession.user_id == user.id))
    session_row.last_seen_at -= dt.timedelta(minutes=31)
    db_session.flush()
    assert client.get("/").status_code == 302


def test_absolute_session_limit_is_twelve_hours(client, district, make_user, login, db_session):
    user = make_user(Role.CLINIC_STAFF, district["hospital"])
    login(user)
    session_row = db_session.scalar(sa.select(LoginSession).where(LoginSession.user_id == user.id))
    session_row.created_at -= dt.timedelta(hours=12, minutes=1)
    db_session.flush()
    assert client.get("/").status_code == 302


def test_a_cookie_from_before_login_is_replaced(client, district, make_user):
    user = make_user(Role.CLINIC_STAFF, district["hospital"])
    with client.session_transaction() as cookie_session:
        cookie_session["token"] = "planted-by-an-attacker"
    client.post("/login", data={"username": user.username, "password": PASSWORD})
    with client.session_transaction() as cookie_session:
        assert cookie_session["token"] != "planted-by-an-attacker"


def test_session_cookie_is_httponly_and_samesite_lax(client, district, make_user):
    user = make_user(Role.CLINIC_STAFF, district["hospital"])
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_security_headers_on_every_page(client, district, make_user, login):
    login(make_user(Role.CLINIC_STAFF, district["hospital"]))
    for path in ("/login", "/", "/people/"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "object-src 'none'" in csp and "frame-ancestors 'none'" in csp and "base-uri 'none'" in csp
        assert "unsafe-inline" not in csp
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/").headers["Cache-Control"] == "no-store"


def test_post_without_csrf_token_is_refused(tmp_path):
    app = create_app(app_config(f"sqlite:///{tmp_path / 'csrf.db'}", WTF_CSRF_ENABLED=True))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    response = app.test_client().post("/login", data={"username": "a", "password": "b"})
    assert response.status_code == 400


def _start_in_production(tmp_path, **env) -> subprocess.CompletedProcess:
    environment = {
        **os.environ,
        "REGISTRY_ENV": "production",
        "DATABASE_URL": os.environ.get("TEST_DATABASE_URL", "postgresql://registry@127.0.0.1:1/none"),
        "SECRET_KEY": "a-long-random-production-secret-key-0123456789abcdef",
        **env,
    }
    code = "from registry import create_app; create_app()"
    return subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({"SECRET_KEY": "dev"}, "SECRET_KEY"),
        ({"FLASK_DEBUG": "1"}, "debug"),
        ({"DATABASE_URL": ""}, "PostgreSQL"),
    ],
)
def test_production_refuses_unsafe_configuration(tmp_path, env, complaint):
    result = _start_in_production(tmp_path, **env)
    assert result.returncode != 0
    assert complaint in result.stderr


def test_production_refuses_an_administrator_with_the_demo_password(tmp_path):
    from registry.demo import load_demo_data

    url = f"sqlite:///{tmp_path / 'prod.db'}"
    app = create_app(app_config(url))
    with app.app_context():
        upgrade()
        load_demo_data(women=5)
        db.engine.dispose()
    result = _start_in_production(tmp_path, DATABASE_URL=url)
    assert result.returncode != 0
    complaint = result.stderr[result.stderr.index("active users still have a default password") :]
    for username in ("admin", "clinic", "coordinator", "auditor"):
        assert username in complaint


def test_production_refuses_postgresql_without_tls(tmp_path):
    plain = _start_in_production(tmp_path, DATABASE_URL="postgresql://registry@db.example:5432/registry")
    assert "without TLS" in plain.stderr
    encrypted = _start_in_production(
        tmp_path, DATABASE_URL="postgresql://registry@db.example:5432/registry?sslmode=require"
    )
    assert "without TLS" not in encrypted.stderr
    socket = _start_in_production(tmp_path, DATABASE_URL="postgresql://registry@/registry?host=/run/pg")
    assert "without TLS" not in socket.stderr


def test_the_demo_password_is_refused_as_a_new_password():
    from registry.auth.passwords import password_problems
    from registry.demo import DEMO_PASSWORD

    assert password_problems(DEMO_PASSWORD, "someone", min_length=8, required_classes=0)


def test_a_client_request_id_reaches_the_audit_trail_only_in_a_safe_shape(client, district, make_user):
    user = make_user(Role.CLINIC_STAFF, district["hospital"])
    client.post(
        "/login",
        data={"username": user.username, "password": "wrong-password"},
        headers={"X-Request-Id": "abc\x1b[31mred\x1b[0m"},
    )
    client.post(
        "/login",
        data={"username": user.username, "password": "wrong-password"},
        headers={"X-Request-Id": "lab-7f3a.42"},
    )
    ids = db.session.scalars(
        sa.select(AuditEvent.request_id).where(AuditEvent.action == "LOGIN_FAILED").order_by(AuditEvent.id)
    ).all()
    assert "\x1b" not in ids[-2] and ids[-2].isalnum()
    assert ids[-1] == "lab-7f3a.42"


def test_behind_the_configured_proxy_the_client_address_is_the_forwarded_one(tmp_path):
    app = create_app({**app_config(f"sqlite:///{tmp_path / 'proxy.db'}"), "PROXY_HOPS": 1})

    @app.route("/__address")
    def address():
        from flask import request

        return f"{request.remote_addr} {request.scheme}"

    answer = app.test_client().get(
        "/__address", headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    )
    assert answer.get_data(as_text=True) == "203.0.113.7 https"


def test_production_cookies_are_secure_and_host_only(tmp_path, monkeypatch):
    from registry.config import from_environment

    monkeypatch.setenv("REGISTRY_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "a-long-random-production-secret-key-0123456789abcdef")
    settings = from_environment(tmp_path)
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["SESSION_COOKIE_NAME"].startswith("__Host-")


def test_a_logged_traceback_carries_no_identity_or_phone_number():
    import io

    from registry.security import IdentifierScrubber

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("registry.test-traceback")
    logger.addFilter(IdentifierScrubber())
    logger.addHandler(handler)
    try:
        raise ValueError("duplicate key: [parameters: ('11010519491231002X', '13812345678')]")
    except ValueError:
        logger.exception("registration failed")
    finally:
        logger.removeHandler(handler)
    written = stream.getvalue()
    assert "Traceback" in written and "registration failed" in written
    assert "11010519491231002X" not in written and "13812345678" not in written
