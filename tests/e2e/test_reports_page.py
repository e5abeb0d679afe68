"""A manager asks for a monthly report: shown queued, then built, without a reload by hand."""

import datetime as dt
import re
import threading

import pytest
from flask_migrate import upgrade
from playwright.sync_api import expect
from redis import Redis
from rq import SimpleWorker
from werkzeug.serving import make_server

from registry import create_app
from registry.auth.models import Role, User
from registry.auth.passwords import hash_password
from registry.extensions import db
from registry.institutions import Institution, InstitutionKind
from tests.conftest import PASSWORD, app_config
from tests.test_imports_web import redis_port  # noqa: F401  (a real redis-server for the queue)


@pytest.fixture(scope="module")
def reports_app(tmp_path_factory, redis_port):  # noqa: F811
    """Its own app and database: CSRF on, builds queued to a real Redis and worked by the test below."""
    folder = tmp_path_factory.mktemp("e2e-reports")
    connection = Redis(port=redis_port)
    app = create_app(
        app_config(
            f"sqlite:///{folder / 'e2e.db'}",
            WTF_CSRF_ENABLED=True,
            RQ_CONNECTION=connection,
            REPORTS_DIR=str(folder / "reports"),
        )
    )
    now = dt.datetime.now(dt.UTC)
    with app.app_context():
        upgrade()
        district = Institution(code="D1", name="西湖区", kind=InstitutionKind.DISTRICT)
        mch = Institution(code="M1", name="区妇幼保健院", kind=InstitutionKind.MCH_CENTRE, parent=district)
        manager = User(username="manager", full_name="赵主任", role=Role.PROGRAM_MANAGER, institution=mch,
                       password_hash=hash_password(PASSWORD), created_at=now)  # fmt: skip
        db.session.add_all([district, mch, manager])
        db.session.commit()
        db.engine.dispose()
    yield app
    connection.close()


@pytest.fixture(scope="module")
def reports_server(reports_app):
    server = make_server("127.0.0.1", 0, reports_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_a_queued_report_turns_ready_on_the_page_once_the_worker_builds_it(page, reports_server, reports_app):
    page.goto(f"{reports_server}/login")
    page.get_by_label("用户名").fill("manager")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_text("欢迎，赵主任")).to_be_visible()

    page.get_by_role("link", name="报表", exact=True).click()
    page.get_by_role("button", name="生成或重新生成").click()
    status = page.locator("table.reports tbody tr").first.locator("[data-field='status']")
    expect(status).to_have_text("排队中")
    page.evaluate("window.notReloaded = true")  # gone if the page is reloaded

    with reports_app.app_context():
        SimpleWorker(["default"], connection=reports_app.config["RQ_CONNECTION"]).work(burst=True)

    # static/reports.js polls the build's progress and shows the built report by itself.
    expect(status).to_have_text("已生成", timeout=30000)
    assert page.evaluate("window.notReloaded === undefined")  # the script reloaded it, not the test
    row = page.locator("table.reports tbody tr").first
    expect(row.locator("code.sha")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    expect(row.get_by_role("link", name="下载PDF")).to_be_visible()
