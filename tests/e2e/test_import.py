"""A clinic user uploads a lab CSV with one bad row, watches the job finish and reads the row-level report."""

import csv
import datetime as dt
import io

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
from registry.people.models import IdDocumentType, Person, PersonKind, Sex
from registry.people.services import pinyin_of
from screenings.imports import tasks
from screenings.imports.models import ImportSource
from tests.conftest import PASSWORD, app_config
from tests.test_imports_web import redis_port  # noqa: F401  (a real redis-server for the queue)

BIRTH = dt.datetime(2026, 11, 18, 1, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def import_app(tmp_path_factory, redis_port):  # noqa: F811
    """Its own app and database: CSRF on, jobs queued to a real Redis and worked by the test below."""
    folder = tmp_path_factory.mktemp("e2e-import")
    connection = Redis(port=redis_port)
    app = create_app(
        app_config(f"sqlite:///{folder / 'e2e.db'}", WTF_CSRF_ENABLED=True, RQ_CONNECTION=connection)
    )
    now = dt.datetime.now(dt.UTC)
    with app.app_context():
        upgrade()
        district = Institution(code="D1", name="西湖区", kind=InstitutionKind.DISTRICT)
        hospital = Institution(
            code="H1", name="西湖区第一人民医院", kind=InstitutionKind.BIRTHING_HOSPITAL, parent=district
        )
        staff = User(username="lab", full_name="周敏", role=Role.CLINIC_STAFF, institution=hospital,
                     password_hash=hash_password(PASSWORD), created_at=now)  # fmt: skip
        pinyin, initials = pinyin_of("王小宝")
        baby = Person(kind=PersonKind.NEWBORN, name="王小宝", name_pinyin=pinyin, name_initials=initials,
                      sex=Sex.MALE, birth_on=BIRTH.date(), birth_at=BIRTH, id_type=IdDocumentType.NONE,
                      institution=hospital, created_at=now)  # fmt: skip
        db.session.add_all([district, hospital, staff, baby])
        db.session.flush()
        db.session.add(
            ImportSource(code="HEAR-1", name="听力筛查仪", institution_id=hospital.id, created_at=now)
        )
        db.session.commit()
        db.engine.dispose()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tasks, "storage_path", lambda: folder / "imports")
        yield app
    connection.close()


@pytest.fixture(scope="module")
def import_server(import_app):
    server = make_server("127.0.0.1", 0, import_app, threaded=True)
    import threading

    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def lab_csv(first: str = "H0001", second: str = "H0002") -> bytes:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["样本编号", "姓名", "出生日期", "筛查状态", "筛查时间", "筛查方法", "左耳", "右耳"])
    writer.writerow([first, "王小宝", "2026-11-18", "已筛查", "2026-11-20 10:30", "OAE", "通过", "通过"])
    writer.writerow(
        [second, "王小宝", "2026年11月18日", "已筛查", "2026-11-20 11:00", "OAE", "听不清", "通过"]
    )
    return text.getvalue().encode("utf-8-sig")


def test_clinic_user_imports_a_lab_csv_and_reads_the_rejected_row(page, import_server, import_app, tmp_path):
    page.goto(f"{import_server}/")
    page.get_by_label("用户名").fill("lab")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()

    page.get_by_role("link", name="检验文件").click()
    page.get_by_role("link", name="上传检验文件").click()
    page.get_by_label("来源").select_option(label="听力筛查仪 (HEAR-1)")
    page.get_by_label("文件中的项目和检测").select_option(label="新生儿听力筛查 — 初筛")
    page.get_by_label("文件（CSV 或 XLSX）").set_input_files(
        {"name": "听筛结果.csv", "mimeType": "text/csv", "buffer": lab_csv()}
    )
    page.get_by_role("button", name="上传").click()

    expect(page.get_by_role("heading", name="选择列")).to_be_visible()
    preview = page.locator("table.preview")
    expect(preview.get_by_role("cell", name="听不清")).to_be_visible()  # the preview of the first rows
    expect(preview.get_by_role("cell", name="听不清")).to_contain_text("→ 未对照")  # and how it is read
    expect(page.get_by_label("听不清")).to_have_value("")  # a value the program does not know: not mapped
    expect(page.get_by_label("样本编号")).to_have_value("样本编号")  # columns guessed from the headers
    expect(page.get_by_label("左耳")).to_have_value("左耳")
    page.get_by_role("button", name="开始导入").click()

    expect(page.get_by_text("排队中")).to_be_visible()
    with import_app.app_context():
        SimpleWorker(["default"], connection=import_app.config["RQ_CONNECTION"]).work(burst=True)

    # The page polls the job's progress and shows the finished report by itself.
    expect(page.locator("[data-field='status']")).to_have_text("完成", timeout=15000)
    expect(page.locator("[data-field='imported']")).to_have_text("1")
    expect(page.locator("[data-field='rejected']")).to_have_text("1")
    # An unmapped value is reported once per value, with its rows (here one: row 3).
    report = page.locator("table.value-problems tbody tr")
    expect(report).to_have_count(1)
    expect(report.first).to_contain_text("3")
    expect(report.first).to_contain_text("左耳")
    expect(report.first).to_contain_text("左耳：“听不清”不是可选值（通过、未通过、未完成）。")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="下载拒收的行（CSV）").click()
    saved = tmp_path / "rejected.csv"
    download_info.value.save_as(saved)
    text = saved.read_bytes().decode("utf-8")
    assert text.startswith("\ufeff")
    assert "3,左耳,听不清,UNKNOWN_CHOICE" in text


def upload_file(page, server, data: bytes) -> None:
    page.goto(f"{server}/imports/new")
    page.get_by_label("来源").select_option(label="听力筛查仪 (HEAR-1)")
    page.get_by_label("文件中的项目和检测").select_option(label="新生儿听力筛查 — 初筛")
    page.get_by_label("文件（CSV 或 XLSX）").set_input_files(
        {"name": "听筛结果.csv", "mimeType": "text/csv", "buffer": data}
    )
    page.get_by_role("button", name="上传").click()
    expect(page.get_by_role("heading", name="选择列")).to_be_visible()


def test_a_sources_own_value_is_mapped_once_and_proposed_next_time(page, import_server, import_app):
    page.goto(f"{import_server}/")
    page.get_by_label("用户名").fill("lab")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    upload_file(page, import_server, lab_csv("V0001", "V0002"))

    # The lab writes "听不清" for a refer: the user says so once, and the preview reads it that way.
    page.get_by_label("听不清").select_option(label="未通过 (REFER)")
    page.get_by_role("button", name="开始导入").click()
    expect(page.get_by_text("排队中")).to_be_visible()
    with import_app.app_context():
        SimpleWorker(["default"], connection=import_app.config["RQ_CONNECTION"]).work(burst=True)
    expect(page.locator("[data-field='status']")).to_have_text("完成", timeout=15000)
    expect(page.locator("[data-field='imported']")).to_have_text("2")
    expect(page.locator("[data-field='rejected']")).to_have_text("0")

    # The next file from the source comes with the value already mapped.
    upload_file(page, import_server, lab_csv("V0003", "V0004"))
    expect(page.get_by_label("听不清")).to_have_value("REFER")
    expect(page.get_by_text("（沿用上次）")).to_be_visible()
    expect(page.locator("table.preview").get_by_role("cell", name="听不清")).to_contain_text("→ 未通过")
