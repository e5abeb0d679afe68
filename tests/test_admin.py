"""Administration of institutions and users, and the interface language."""

import pytest
import sqlalchemy as sa

from registry.audit import AuditEvent
from registry.auth.models import WEB_ROLES, Role, User
from registry.institutions import Institution


@pytest.fixture
def admin_client(client, district, make_user, login):
    login(make_user(Role.SYSTEM_ADMIN, district["mch"]))
    return client


def test_admin_creates_an_institution_under_a_district(admin_client, district, db_session):
    response = admin_client.post(
        "/admin/institutions/new",
        data={
            "code": "XH-C09",
            "name": "翠苑社区卫生服务中心",
            "kind": "COMMUNITY_HEALTH_CENTRE",
            "parent_id": str(district["district"].id),
            "active": "y",
        },
    )
    assert response.status_code == 302
    created = db_session.scalar(sa.select(Institution).where(Institution.code == "XH-C09"))
    assert created.parent_id == district["district"].id
    assert db_session.scalar(
        sa.select(AuditEvent).where(
            AuditEvent.entity == "institution", AuditEvent.entity_id == str(created.id)
        )
    )


def test_a_facility_must_sit_under_a_district(admin_client, district, db_session):
    response = admin_client.post(
        "/admin/institutions/new",
        data={"code": "BAD", "name": "错误机构", "kind": "LABORATORY", "parent_id": str(district["city"].id)},
    )
    assert response.status_code == 200
    assert "上级须为区" in response.get_data(as_text=True)
    assert db_session.scalar(sa.select(Institution).where(Institution.code == "BAD")) is None


def test_admin_creates_a_user_with_a_role(admin_client, district, db_session):
    response = admin_client.post(
        "/admin/users/new",
        data={
            "username": "nurse.wang",
            "full_name": "王护士",
            "role": "CLINIC_STAFF",
            "institution_id": str(district["hospital"].id),
            "active": "y",
            "password": "Cuiyuan-Lab-7319",
        },
    )
    assert response.status_code == 302
    user = db_session.scalar(sa.select(User).where(User.username == "nurse.wang"))
    assert user.role == Role.CLINIC_STAFF and user.password_hash.startswith("$argon2id$")


@pytest.mark.parametrize(
    ("password", "message"), [("woaini1314", "过于常见"), ("short1", "至少需要 8 个字符")]
)
def test_weak_passwords_are_refused_with_a_reason(admin_client, district, db_session, password, message):
    response = admin_client.post(
        "/admin/users/new",
        data={
            "username": "weak",
            "full_name": "弱密码",
            "role": "AUDITOR",
            "institution_id": str(district["mch"].id),
            "password": password,
        },
    )
    assert message in response.get_data(as_text=True)
    assert db_session.scalar(sa.select(User).where(User.username == "weak")) is None


def test_a_sixty_four_character_password_is_accepted(admin_client, district, db_session):
    response = admin_client.post(
        "/admin/users/new",
        data={
            "username": "longpass",
            "full_name": "长密码",
            "role": "AUDITOR",
            "institution_id": str(district["mch"].id),
            "password": "correct horse battery staple " * 2 + "xyzw12",
        },
    )
    assert response.status_code == 302


@pytest.mark.parametrize(
    "role", [Role.CLINIC_STAFF, Role.FOLLOW_UP_COORDINATOR, Role.PROGRAM_MANAGER, Role.AUDITOR]
)
def test_only_administrators_reach_administration(client, district, make_user, login, role):
    login(make_user(role, district["mch"]))
    assert client.get("/admin/users").status_code == 403
    assert client.get("/admin/institutions").status_code == 403


def test_chinese_by_default_and_english_remembered(client, district, make_user, login):
    assert "登录" in client.get("/login").get_data(as_text=True)
    client.post("/language/en", data={"next": "/login"})
    assert "Log in" in client.get("/login").get_data(as_text=True)
    login(make_user(Role.CLINIC_STAFF, district["hospital"]))
    page = client.get("/").get_data(as_text=True)
    assert "Welcome" in page and 'lang="en"' in page
    client.post("/language/zh_CN")
    page = client.get("/").get_data(as_text=True)
    assert "欢迎" in page and 'lang="zh-CN"' in page


@pytest.mark.parametrize("role", WEB_ROLES)
def test_every_role_lands_on_its_home_page(client, district, make_user, login, role):
    login(make_user(role, district["mch"]))
    response = client.get("/")
    assert response.status_code == 200
    assert "欢迎" in response.get_data(as_text=True)


def test_auditor_reads_the_audit_trail_and_others_cannot(client, app, district, make_user, login):
    login(make_user(Role.AUDITOR, district["mch"]))
    page = client.get("/audit").get_data(as_text=True)
    assert "LOGIN" in page
    other = app.test_client()
    admin = make_user(Role.SYSTEM_ADMIN, district["mch"])
    other.post("/login", data={"username": admin.username, "password": "Test-Password-2026"})
    assert other.get("/audit").status_code == 403


def test_the_auditor_narrows_the_audit_trail_by_user_action_and_date_and_sees_names(
    client, app, district, make_user, login
):
    nurse = make_user(Role.CLINIC_STAFF, district["hospital"])
    nurse.full_name = "王护士"
    other = app.test_client()
    other.post("/login", data={"username": nurse.username, "password": "Test-Password-2026"})
    other.post("/login", data={"username": "nobody-here", "password": "x"})
    login(make_user(Role.AUDITOR, district["mch"]))
    page = client.get(f"/audit?user={nurse.username}&action=LOGIN").get_data(as_text=True)
    assert f"王护士 ({nurse.username})" in page
    assert '<td title="LOGIN">登录</td>' in page
    assert "LOGIN_FAILED" not in page.split("</select>")[1]
    failed = client.get("/audit?action=LOGIN_FAILED").get_data(as_text=True)
    assert "unknown username" in failed
    assert "unknown username" not in client.get("/audit?action=LOGIN").get_data(as_text=True)
    assert "<tbody>\n  \n  </tbody>" in client.get("/audit?to=2000-01-01").get_data(as_text=True)
    assert "unknown username" in client.get("/audit?from=2000-01-01&action=LOGIN_FAILED").get_data(
        as_text=True
    )


def test_the_auditor_exports_the_filtered_audit_trail_as_csv_and_the_export_is_audited(
    client, district, make_user, login, db_session
):
    auditor = make_user(Role.AUDITOR, district["mch"])
    login(auditor)
    response = client.get("/audit.csv?action=LOGIN")
    assert response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert auditor.username in text
    assert ",登录," in text
    assert "LOGIN_FAILED" not in text
    export = db_session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "EXPORT"))
    assert export.entity == "audit_event"
    assert "action=LOGIN" in export.summary


def test_a_name_in_the_audit_trail_cannot_run_as_a_formula_in_its_csv(client, district, make_user, login):
    import csv
    import io

    login(make_user(Role.CLINIC_STAFF, district["hospital"], full_name="=HYPERLINK(1)"))
    client.post("/logout")
    login(make_user(Role.AUDITOR, district["mch"]))
    text = client.get("/audit.csv?action=LOGIN").get_data(as_text=True)
    cells = [cell for row in csv.reader(io.StringIO(text[1:])) for cell in row]
    assert "'=HYPERLINK(1)" in cells and not any(cell.startswith("=") for cell in cells)


def test_an_audit_row_links_to_the_record_it_concerns(client, district, make_user, login, db_session):
    import datetime as dt

    from registry import audit

    audit.record(audit.Actor.system("test"), dt.datetime(2026, 12, 2, tzinfo=dt.UTC), "person", 41, "UPDATE")
    audit.record(
        audit.Actor.system("test"), dt.datetime(2026, 12, 2, tzinfo=dt.UTC), "follow_up_case", 7, "NOTE"
    )
    db_session.commit()
    login(make_user(Role.AUDITOR, district["mch"]))
    page = client.get("/audit").get_data(as_text=True)
    assert '<a href="/people/41">对象 41</a>' in page
    assert '<a href="/cases/7">随访个案 7</a>' in page


def _user_form(district, **overrides):
    data = {
        "username": "nurse.li",
        "full_name": "李护士",
        "role": "CLINIC_STAFF",
        "institution_id": str(district["hospital"].id),
        "active": "y",
        "password": "Cuiyuan-Lab-7319",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"sees_restricted_records": "y"}, "PMTCT access granted"),
        ({"role": "AUDITOR"}, "auditor role granted"),
    ],
)
def test_granting_pmtct_access_or_the_auditor_role_is_flagged_on_the_audit_trail(
    admin_client, district, db_session, overrides, reason
):
    assert admin_client.post("/admin/users/new", data=_user_form(district, **overrides)).status_code == 302
    flagged = db_session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "SENSITIVE_GRANT")).all()
    assert [event.summary for event in flagged] == [reason]


def test_resetting_an_auditors_password_is_flagged(admin_client, district, make_user, db_session):
    auditor = make_user(Role.AUDITOR, district["mch"])
    form = _user_form(
        district, username=auditor.username, role="AUDITOR", institution_id=str(district["mch"].id)
    )
    assert admin_client.post(f"/admin/users/{auditor.id}", data=form).status_code == 302
    flagged = db_session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "SENSITIVE_GRANT"))
    assert flagged.summary == "auditor's password set by an administrator"


def test_an_administrator_cannot_give_themself_pmtct_access(client, district, make_user, login, db_session):
    admin = make_user(Role.SYSTEM_ADMIN, district["mch"])
    login(admin)
    form = _user_form(district, username=admin.username, role="SYSTEM_ADMIN", password="")
    form.update(institution_id=str(district["mch"].id), sees_restricted_records="y")
    page = client.post(f"/admin/users/{admin.id}", data=form).get_data(as_text=True)
    assert "须由另一名管理员" in page
    db_session.refresh(admin)
    assert not admin.sees_restricted_records
