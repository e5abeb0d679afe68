"""A live server on loopback for Playwright, driving Debian's chromium (never a downloaded browser)."""

import datetime as dt
import os
import threading

import pytest
from flask_migrate import upgrade
from werkzeug.serving import make_server

from registry import create_app
from registry.auth.models import Role, User
from registry.auth.passwords import hash_password
from registry.extensions import db
from registry.institutions import Institution, InstitutionKind
from registry.people.models import IdDocumentType, Person, PersonKind, Sex
from registry.people.services import pinyin_of
from tests.conftest import PASSWORD, app_config

CHROMIUM = "/usr/bin/chromium"


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
            if not os.path.exists(CHROMIUM):
                item.add_marker(pytest.mark.skip(reason="Debian's chromium is not installed"))


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "zh-CN"}


@pytest.fixture(scope="session")
def live_app(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('e2e') / 'e2e.db'}"
    app = create_app(app_config(url, WTF_CSRF_ENABLED=True))  # CSRF stays on in the browser
    now = dt.datetime.now(dt.UTC)
    with app.app_context():
        upgrade()
        district = Institution(code="D1", name="西湖区", kind=InstitutionKind.DISTRICT)
        hospital = Institution(
            code="H1", name="西湖区第一人民医院", kind=InstitutionKind.BIRTHING_HOSPITAL, parent=district
        )
        staff = User(
            username="clinic",
            full_name="王丽",
            role=Role.CLINIC_STAFF,
            institution=hospital,
            password_hash=hash_password(PASSWORD),
            created_at=now,
        )
        pinyin, initials = pinyin_of("陈静怡")
        mother = Person(
            kind=PersonKind.WOMAN,
            name="陈静怡",
            name_pinyin=pinyin,
            name_initials=initials,
            sex=Sex.FEMALE,
            birth_on=dt.date(1992, 5, 14),
            id_type=IdDocumentType.NONE,
            institution=hospital,
            phone="13712345678",
            created_at=now,
        )
        db.session.add_all([district, hospital, staff, mother])
        db.session.commit()
        db.engine.dispose()
    return app


@pytest.fixture(scope="session")
def live_server(live_app):
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
