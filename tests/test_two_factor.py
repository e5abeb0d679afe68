"""A second factor at login for administrators and PMTCT users (security.md item 11), open to everyone."""

import re

import pyotp
import pytest

from registry.auth.models import Role
from registry.extensions import db
from tests.conftest import PASSWORD


@pytest.fixture
def clock(frozen_clock):
    frozen_clock("2026-12-02 09:00")
    return frozen_clock


def clock_now(_clock) -> float:
    from registry import clock as app_clock

    return app_clock.now().timestamp()


def _enrol(client, user, clock):
    page = client.get("/account/second-factor").get_data(as_text=True)
    secret = re.search(r'<span class="mono">([A-Z2-7]{16,})</span>', page).group(1)
    assert "<svg" in page  # the QR code, drawn in the page
    done = client.post("/account/second-factor", data={"code": pyotp.TOTP(secret).at(clock_now(clock))})
    codes = re.findall(r"<li>([0-9A-F]{4}-[0-9A-F]{4})</li>", done.get_data(as_text=True))
    assert len(codes) == 10
    return secret, codes


def test_an_enrolled_user_needs_the_apps_code_after_the_password(client, district, make_user, login, clock):
    user = make_user(Role.CLINIC_STAFF, district["hospital"])
    login(user)
    secret, _codes = _enrol(client, user, clock)
    client.post("/logout")

    asked = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert asked.headers["Location"].endswith("/login/second-factor")
    assert client.get("/").status_code == 302  # no session yet
    wrong = client.post("/login/second-factor", data={"code": "000000"})
    assert "验证码不正确" in wrong.get_data(as_text=True)
    clock("2026-12-02 09:00:31")  # the next time step: a code is never accepted twice
    reused = client.post("/login/second-factor", data={"code": pyotp.TOTP(secret).at(clock_now(clock) - 31)})
    assert reused.status_code == 200  # the code that set the app up, still within the window, is refused
    right = client.post("/login/second-factor", data={"code": pyotp.TOTP(secret).at(clock_now(clock))})
    assert right.status_code == 302 and client.get("/").status_code == 200


def test_a_recovery_code_opens_one_login_once(client, district, make_user, login, clock):
    user = make_user(Role.CLINIC_STAFF, district["hospital"])
    login(user)
    _secret, codes = _enrol(client, user, clock)
    for attempt, expected in ((1, 302), (2, 200)):
        client.post("/logout")
        client.post("/login", data={"username": user.username, "password": PASSWORD})
        answer = client.post("/login/second-factor", data={"code": codes[0]})
        assert answer.status_code == expected, attempt


def test_where_required_an_administrator_must_set_it_up_first(app, client, district, make_user, login, clock):
    admin = make_user(Role.SYSTEM_ADMIN, district["mch"])
    app.config["TWO_FACTOR_REQUIRED"] = True
    try:
        login(admin)
        sent = client.get("/admin/users")
        assert sent.status_code == 302 and sent.headers["Location"].endswith("/account/second-factor")
        _enrol(client, admin, clock)
        assert client.get("/admin/users").status_code == 200
    finally:
        app.config["TWO_FACTOR_REQUIRED"] = False


def test_a_clinic_user_without_pmtct_work_is_not_forced(app, client, district, make_user, login):
    app.config["TWO_FACTOR_REQUIRED"] = True
    try:
        login(make_user(Role.CLINIC_STAFF, district["hospital"]))
        assert client.get("/").status_code == 200
    finally:
        app.config["TWO_FACTOR_REQUIRED"] = False


def test_the_secret_reaches_the_database_only_once_confirmed(
    client, district, make_user, login, clock, db_session
):
    user = make_user(Role.CLINIC_STAFF, district["hospital"])
    login(user)
    client.get("/account/second-factor")
    client.post("/account/second-factor", data={"code": "123456"})
    db.session.refresh(user)
    assert user.totp_secret is None


def test_an_administrator_resets_a_lost_phone(client, district, make_user, login, clock, db_session):
    user = make_user(Role.CLINIC_STAFF, district["hospital"])
    login(user)
    _enrol(client, user, clock)
    client.post("/logout")
    login(make_user(Role.SYSTEM_ADMIN, district["mch"]))
    assert client.post(f"/admin/users/{user.id}/second-factor/reset").status_code == 302
    db.session.refresh(user)
    assert user.totp_secret is None and user.recovery_code_hashes is None
