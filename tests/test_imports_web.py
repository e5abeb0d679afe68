"""The import screens: every form's messages (Chinese and English), the run through the queue, and scope."""

import csv
import datetime as dt
import io
import random
import shutil
import socket
import subprocess
import time

import pytest
import sqlalchemy as sa
from redis import Redis

from registry.auth.models import Role
from registry.extensions import db
from registry.people.models import IdDocumentType, Person
from screenings.imports import service, tasks
from screenings.imports.mapping import targets_for
from screenings.imports.models import BatchStatus, ImportBatch, ImportSource, UnmatchedRow, UnmatchedStatus
from screenings.models import ScreeningResult
from screenings.programs import get_program
from tests import factories

NOW, BIRTH = factories.NOW, factories.BIRTH  # BIRTH: 09:00 on 18 November in Shanghai
HEADERS = ["样本编号", "姓名", "出生日期", "母亲身份证号", "筛查状态", "筛查时间", "筛查方法", "左耳", "右耳"]
MOTHER_ID = "11010519491231002X"


def row(key, name="王小宝", left="通过", birth="2026-11-18", mother=""):
    return [key, name, birth, mother, "已筛查", "2026-11-20 10:30", "OAE", left, "通过"]


def csv_file(rows, headers=HEADERS):
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(headers)
    writer.writerows(rows)
    return io.BytesIO(text.getvalue().encode("utf-8-sig"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def redis_port(tmp_path_factory):
    """A real redis-server on loopback: jobs go through RQ as in production (run eagerly here)."""
    executable = shutil.which("redis-server") or pytest.skip("redis-server is not installed")
    port = _free_port()
    process = subprocess.Popen(
        [executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path_factory.mktemp("redis"))],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    connection = Redis(port=port)
    for _ in range(100):
        try:
            connection.ping()
            break
        except Exception:
            time.sleep(0.05)
    yield port
    connection.close()
    process.terminate()
    process.wait(10)


@pytest.fixture(autouse=True)
def queue_and_storage(app, redis_port, tmp_path, monkeypatch):
    connection = Redis(port=redis_port)
    monkeypatch.setitem(app.config, "RQ_CONNECTION", connection)
    monkeypatch.setitem(app.config, "RQ_EAGER", True)
    monkeypatch.setattr(tasks, "storage_path", lambda: tmp_path / "imports")
    yield
    connection.flushdb()
    connection.close()


@pytest.fixture
def clinic(district, login):
    user = factories.clinic_user(district["hospital"])
    login(user)
    return user


@pytest.fixture
def source(clinic):
    return factories.import_source(clinic.institution)


@pytest.fixture
def baby(district):
    return factories.newborn(district["hospital"], born_at=BIRTH)


def upload(client, source, data, filename="hearing.csv", test="NEWBORN_HEARING/INITIAL"):
    return client.post(
        "/imports/new",
        data={"source": str(source.id), "test": test, "file": (data, filename)},
        content_type="multipart/form-data",
    )


def newest_batch() -> ImportBatch:
    return db.session.scalars(sa.select(ImportBatch).order_by(ImportBatch.id.desc())).first()


def mapping(batch, **chosen):
    """Every column choice of the mapping page, as a browser submits it: blank unless chosen."""
    test = get_program(batch.program).test(batch.test)
    return {f"col_{t.name}": chosen.get(t.name, "") for t in targets_for(test)}


def map_and_run(client, batch, **overrides):
    """Post the mapping page as the browser would: its preset choices, plus any changes."""
    page = client.get(f"/imports/{batch.id}/columns").get_data(as_text=True)
    assert "样本编号" in page
    data = mapping(batch, **{**service.initial_mapping(batch), **overrides})
    data["save_mapping"] = "y"
    return client.post(f"/imports/{batch.id}/columns", data=data)


def english(client):
    client.post("/language/en", data={"next": "/"})


# -- the happy path through the queue ---------------------------------------------------------------------


def test_an_upload_runs_as_a_job_and_the_page_reports_each_kind_of_row(client, clinic, source, baby):
    response = upload(client, source, csv_file([row("S1"), row("S2", left="坏值"), row("S3", name="无此人")]))
    assert response.status_code == 302
    batch = newest_batch()
    assert response.headers["Location"].endswith(f"/imports/{batch.id}/columns")

    response = map_and_run(client, batch)

    assert response.headers["Location"].endswith(f"/imports/{batch.id}")
    batch = db.session.get(ImportBatch, batch.id)
    assert batch.status is BatchStatus.DONE and batch.job_record_id is not None
    page = client.get(f"/imports/{batch.id}").get_data(as_text=True)
    assert "完成" in page
    assert "已导入过（跳过）" in page
    assert "左耳：“坏值”不是可选值（通过、未通过、未完成）。" in page
    progress = client.get(f"/imports/{batch.id}/progress").get_json()
    assert progress == {
        "status": "DONE", "finished": True, "percent": 100, "processed": 3, "total": 3, "imported": 1,
        "skipped": 0, "rejected": 1, "unmatched": 1, "job_status": "SUCCEEDED",
    }  # fmt: skip
    job = client.get(f"/jobs/{batch.job_record_id}").get_json()
    assert job["result"]["imported"] == 1


def test_the_rejected_rows_download_is_chinese_csv_for_excel(client, clinic, source, baby):
    upload(client, source, csv_file([row("S1", left="坏值"), row("S2", birth="2026-13-01")]))
    map_and_run(client, newest_batch())

    response = client.get(f"/imports/{newest_batch().id}/rejected.csv")

    assert response.mimetype == "text/csv"
    text = response.get_data().decode("utf-8")
    assert text.startswith("\ufeff行,列,值,编码,原因")
    assert "2,左耳,坏值,UNKNOWN_CHOICE" in text
    assert (
        "3,出生日期,2026-13-01,INVALID_DATE,"
        "出生日期：“2026-13-01”不是日期，请写成 2026-11-22 或 2026年11月22日。" in text
    )


def test_the_mapping_is_remembered_for_the_source(client, clinic, source, baby):
    renamed = ["条码", *HEADERS[1:]]
    upload(client, source, csv_file([row("S1")], renamed))
    map_and_run(client, newest_batch(), sample_id="条码")

    upload(client, source, csv_file([row("S2")], renamed))
    page = client.get(f"/imports/{newest_batch().id}/columns").get_data(as_text=True)

    assert '<option selected value="条码">条码</option>' in page


# -- each form's messages ------------------------------------------------------------------------------------


def test_the_source_form_names_each_problem(client, clinic, source):
    page = client.post("/imports/sources", data={"name": "", "code": "a b"}).get_data(as_text=True)
    assert "该字段是必填字段。" in page
    assert "请用 2 到 40 个字母、数字、“-”、“_”或“.”，以字母或数字开头。" in page

    page = client.post("/imports/sources", data={"name": "另一台设备", "code": source.code.lower()}).get_data(
        as_text=True
    )
    assert "这个代码已被另一个来源使用。" in page


def test_a_new_source_leads_to_the_upload(client, clinic):
    response = client.post("/imports/sources", data={"name": "遗传代谢病实验室 LIS", "code": "NBS-LIS"})
    assert response.status_code == 302 and "/imports/new?source=" in response.headers["Location"]
    assert (
        db.session.scalar(sa.select(ImportSource.name).where(ImportSource.code == "NBS-LIS"))
        == "遗传代谢病实验室 LIS"
    )


@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        ("r.pdf", b"%PDF", "请选择 CSV 或 XLSX 文件。"),
        (
            "r.xls",
            b"\xd0\xcf\x11\xe0",
            "旧版 Excel 文件（.xls）无法读取：请先在 Excel 中另存为 .xlsx 或 CSV。",
        ),
        ("r.csv", b"", "文件是空的。"),
        ("r.csv", "样本编号,姓名\n".encode(), "文件只有表头，没有数据行。"),
        (
            "r.csv",
            b"\xc3\x28\xa0\xa1,\x81\x30\n",
            "文件既不是 UTF-8 也不是 GB18030（GBK）文本：请在 Excel 中另存为“CSV UTF-8”。",
        ),
    ],
)
def test_the_upload_form_says_why_a_file_is_refused(client, clinic, source, filename, data, message):
    response = upload(client, source, io.BytesIO(data), filename)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert newest_batch() is None


def test_the_upload_form_needs_a_file_and_a_known_test(client, clinic, source):
    response = client.post("/imports/new", data={"source": str(source.id), "test": "NOPE/X"})
    page = response.get_data(as_text=True)
    assert "请选择要上传的文件。" in page
    assert "不是有效的选择" in page


def test_a_file_over_the_size_limit_gets_the_one_chinese_limit_page(app, client, clinic, source):
    saved = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 1024
    try:
        response = upload(client, source, io.BytesIO(b"x" * 4096))
    finally:
        app.config["MAX_CONTENT_LENGTH"] = saved
    assert response.status_code == 413
    assert "上传的内容超过" in response.get_data(as_text=True)
    assert newest_batch() is None


def test_the_mapping_form_names_missing_and_repeated_columns(client, clinic, source):
    upload(client, source, csv_file([row("S1")]))
    batch = newest_batch()

    response = client.post(
        f"/imports/{batch.id}/columns",
        data=mapping(batch, left_ear="左耳", right_ear="左耳", screening_status="筛查状态"),
    )

    page = response.get_data(as_text=True)
    assert "请选择存放样本编号的列。" in page
    assert "列“左耳”被选了两次。" in page
    assert "请选择识别人员的列：身份证号，或姓名和出生日期，或母亲身份证号。" in page
    assert db.session.get(ImportBatch, batch.id).status is BatchStatus.MAPPING


def test_english_messages_are_english_and_dates_too(client, clinic, source, baby):
    english(client)
    upload(client, source, csv_file([row("S1", birth="2026/02/30")]))
    batch = newest_batch()
    page = client.post(f"/imports/{batch.id}/columns", data=mapping(batch, left_ear="左耳")).get_data(
        as_text=True
    )
    assert "Choose the column that holds Sample ID." in page

    map_and_run(client, batch)
    db.session.get(ImportBatch, batch.id).created_at = NOW
    db.session.flush()
    page = client.get(f"/imports/{batch.id}").get_data(as_text=True)
    assert "Birth date: “2026/02/30” is not a date; write it as 2026-11-22 or 2026年11月22日." in page
    assert "November 22, 2026" in page or "Nov 22, 2026" in page


def test_chinese_pages_show_chinese_dates(client, clinic, source, baby):
    upload(client, source, csv_file([row("S1")]))
    batch = newest_batch()
    batch.created_at = NOW
    db.session.flush()
    page = client.get("/imports/").get_data(as_text=True)
    assert "2026年11月22日" in page


# -- the unmatched queue -------------------------------------------------------------------------------------


def test_an_unmatched_row_is_matched_from_the_queue(client, clinic, source, baby):
    upload(client, source, csv_file([row("S1", name="王晓宝", left="未通过")]))
    map_and_run(client, newest_batch())
    waiting = db.session.scalars(sa.select(UnmatchedRow)).one()

    queue = client.get("/imports/unmatched/").get_data(as_text=True)
    # Same sound, other characters: not taken for the registered child without a person's say.
    assert "王晓宝" in queue and "已登记的人员身份证号相同或姓名读音相同，但姓名不一致" in queue
    page = client.post(f"/imports/unmatched/{waiting.id}", data={"q": "wxb"}).get_data(as_text=True)
    assert "王小宝" in page and "就是此人" in page

    response = client.post(f"/imports/unmatched/{waiting.id}/match", data={"person_id": str(baby.id)})

    assert response.status_code == 302
    assert db.session.get(UnmatchedRow, waiting.id).status is UnmatchedStatus.IMPORTED
    assert (
        db.session.scalar(sa.select(ScreeningResult.person_id).where(ScreeningResult.source_key == "S1"))
        == baby.id
    )
    assert "第 2 行已为 王小宝 导入。" in client.get("/imports/unmatched/").get_data(as_text=True)


def test_matching_needs_a_person_and_says_when_the_result_does_not_fit(client, clinic, source, district):
    upload(client, source, csv_file([row("S1", name="王晓宝")]))
    map_and_run(client, newest_batch())
    waiting = db.session.scalars(sa.select(UnmatchedRow)).one()

    client.post(f"/imports/unmatched/{waiting.id}/match", data={})
    assert "请选择这一行所指的人员。" in client.get(f"/imports/unmatched/{waiting.id}").get_data(as_text=True)

    born_later = factories.newborn(
        district["hospital"], dt.datetime(2026, 11, 21, 8, tzinfo=dt.UTC), name="晚出生"
    )
    client.post(f"/imports/unmatched/{waiting.id}/match", data={"person_id": str(born_later.id)})
    page = client.get(f"/imports/unmatched/{waiting.id}").get_data(as_text=True)
    assert "结果未导入：" in page and "早于出生" in page
    assert db.session.get(UnmatchedRow, waiting.id).status is UnmatchedStatus.WAITING


def test_a_newborn_is_registered_from_the_row_and_its_result_imported(client, clinic, source, district):
    mother = factories.person(
        district["hospital"], name="陈静怡", id_type=IdDocumentType.RESIDENT_ID, id_number=MOTHER_ID
    )
    upload(client, source, csv_file([row("S1", name="陈小雨", mother=MOTHER_ID)]))
    map_and_run(client, newest_batch())
    waiting = db.session.scalars(sa.select(UnmatchedRow)).one()

    page = client.get(f"/imports/unmatched/{waiting.id}/register/newborn?mother_id={mother.id}").get_data(
        as_text=True
    )
    assert 'value="陈小雨"' in page
    url = f"/imports/unmatched/{waiting.id}/register/newborn?mother_id={mother.id}"
    form = {"name": "陈小雨", "sex": "F", "birth_at": "2026-11-18T09:00", "birth_order": "1",
            "id_type": "NONE", "household": "LOCAL"}  # fmt: skip
    page = client.post(url, data={**form, "birth_at": ""}).get_data(as_text=True)
    assert "该字段是必填字段。" in page

    response = client.post(url, data=form)

    assert response.status_code == 302
    child = db.session.scalars(sa.select(Person).where(Person.name == "陈小雨")).one()
    assert child.mother_id == mother.id
    assert (
        db.session.scalar(sa.select(ScreeningResult.person_id).where(ScreeningResult.source_key == "S1"))
        == child.id
    )


# -- scope: nobody acts on another institution's imports --------------------------------------------------


@pytest.fixture
def foreign_import(client, clinic, source, login, district):
    """A batch with a waiting row, uploaded by the clinic; then a user of another district logs in."""
    upload(client, source, csv_file([row("S1", name="无此人")]))
    map_and_run(client, newest_batch())
    batch = newest_batch()
    waiting = db.session.scalars(sa.select(UnmatchedRow)).one()
    client.post("/logout")
    login(factories.clinic_user(district["far_hospital"]))
    return batch, waiting


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/imports/{batch}"),
        ("get", "/imports/{batch}/progress"),
        ("get", "/imports/{batch}/rejected.csv"),
        ("get", "/imports/{batch}/columns"),
        ("post", "/imports/{batch}/resume"),
        ("get", "/imports/unmatched/{row}"),
        ("post", "/imports/unmatched/{row}/match"),
        ("get", "/imports/unmatched/{row}/register/woman"),
    ],
)
def test_another_institutions_import_answers_404(client, foreign_import, method, path):
    batch, waiting = foreign_import
    response = getattr(client, method)(path.format(batch=batch.id, row=waiting.id), data={"person_id": "1"})
    assert response.status_code == 404
    assert "无此人" not in response.get_data(as_text=True)


def test_lists_show_only_the_users_own_imports(client, foreign_import):
    batch, _ = foreign_import
    assert batch.original_filename not in client.get("/imports/").get_data(as_text=True)
    assert "无此人" not in client.get("/imports/unmatched/").get_data(as_text=True)


def test_a_person_of_another_institution_cannot_be_chosen(client, clinic, source, district):
    upload(client, source, csv_file([row("S1", name="无此人")]))
    map_and_run(client, newest_batch())
    waiting = db.session.scalars(sa.select(UnmatchedRow)).one()
    stranger = factories.newborn(district["far_hospital"], BIRTH, name="无此人")

    response = client.post(f"/imports/unmatched/{waiting.id}/match", data={"person_id": str(stranger.id)})

    assert response.status_code == 404
    assert db.session.get(UnmatchedRow, waiting.id).status is UnmatchedStatus.WAITING


def test_the_district_coordinator_sees_the_clinics_imports(client, foreign_import, login, district):
    batch, waiting = foreign_import
    client.post("/logout")
    login(factories.user(Role.FOLLOW_UP_COORDINATOR, district["mch"]))
    assert client.get(f"/imports/{batch.id}").status_code == 200
    assert client.get(f"/imports/unmatched/{waiting.id}").status_code == 200


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.PROGRAM_MANAGER, Role.SYSTEM_ADMIN])
def test_only_clinic_staff_and_coordinators_upload(client, district, login, role):
    login(factories.user(role, district["mch"]))
    assert client.get("/imports/new").status_code == 403
    assert client.post("/imports/sources", data={"name": "x", "code": "XX"}).status_code == 403


def test_pmtct_files_are_offered_only_to_those_who_work_on_pmtct(client, clinic, source):
    page = client.get("/imports/new").get_data(as_text=True)
    assert "PMTCT_HIV/" not in page and "NEWBORN_HEARING/INITIAL" in page
    response = upload(client, source, csv_file([row("S1")]), test="PMTCT_HIV/" + "HIV_SCREEN")
    assert "不是有效的选择" in response.get_data(as_text=True)


def test_a_running_import_is_not_started_twice(app, client, clinic, source, baby, monkeypatch):
    upload(client, source, csv_file([row("S1")]))
    batch = newest_batch()
    monkeypatch.setitem(app.config, "RQ_EAGER", False)  # queued; no worker has taken it yet
    map_and_run(client, batch)
    jobs_before = db.session.get(ImportBatch, batch.id).job_record_id

    client.post(f"/imports/{batch.id}/resume")

    assert db.session.get(ImportBatch, batch.id).job_record_id == jobs_before
    assert "导入仍在进行中。" in client.get(f"/imports/{batch.id}").get_data(as_text=True)


def test_each_view_of_a_pmtct_import_is_audited(client, district, login):
    from registry.audit import AuditEvent

    staff = factories.clinic_user(district["hospital"], sees_restricted_records=True)
    login(staff)
    source = factories.import_source(district["hospital"], code="HIV-LAB", name="艾滋病检测实验室")
    headers = ["样本编号", "身份证号", "检测日期", "检测时期", "初筛结果"]
    upload(client, source, csv_file([["P1", MOTHER_ID, "2026-11-20", "孕期", "无反应"]], headers),
           test="PMTCT_HIV/HIV_SCREEN")  # fmt: skip
    batch = newest_batch()
    map_and_run(client, batch)

    client.get(f"/imports/{batch.id}")

    reads = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.entity == "import_batch", AuditEvent.action == "READ")
    ).all()
    assert [(r.entity_id, r.user_id) for r in reads] == [(str(batch.id), staff.id)]


# -- value mapping ------------------------------------------------------------------------------------------


def test_a_sources_own_values_are_mapped_on_the_column_page_and_reported_once(
    client, clinic, source, district
):
    from registry.demo import resident_id

    women = [
        factories.person(
            district["hospital"],
            name=f"李梅{n}",
            birth_on=dt.date(1986, 5, n + 1),
            id_type=IdDocumentType.RESIDENT_ID,
            id_number=resident_id("110105", dt.date(1986, 5, n + 1), True, random.Random(n)),
        )  # fmt: skip
        for n in range(4)
    ]
    headers = ["样本编号", "身份证号", "姓名", "取样日期", "检测结果", "阳性型别"]
    lab = [("POS", "16"), ("弱阳性", "52"), ("？", ""), ("？", "")]
    rows = [
        [f"H{i}", w.id_number, w.name, "2026-11-20", r, t]
        for i, (w, (r, t)) in enumerate(zip(women, lab, strict=True))
    ]
    upload(client, source, csv_file(rows, headers), test="CERVICAL_CANCER/HPV")
    batch = newest_batch()

    page = client.get(f"/imports/{batch.id}/columns").get_data(as_text=True)

    assert "这些值的含义" in page
    assert '<option selected value="POSITIVE">阳性 (POSITIVE)</option>' in page  # "POS" proposed
    assert '<option selected value="HPV16">HPV16型 (HPV16)</option>' in page  # "16" proposed
    assert "→ 阳性" in page and "→ HPV16型" in page  # the preview shows what each value is read as
    form = mapping(batch, **service.initial_mapping(batch))
    surveyed = service.value_survey(batch, service.initial_mapping(batch), tasks.storage_path())
    [result_column] = [c for c in surveyed if c.target.name == "hpv_result"]
    weak = next(v for v in result_column.values if v.spelling == "弱阳性")
    form[result_column.form_name(weak)] = "!REFUSE"
    form["save_mapping"] = "y"

    response = client.post(f"/imports/{batch.id}/columns", data=form)

    assert response.headers["Location"].endswith(f"/imports/{batch.id}")
    batch = db.session.get(ImportBatch, batch.id)
    assert (batch.imported_count, batch.rejected_count) == (1, 3)
    report = client.get(f"/imports/{batch.id}").get_data(as_text=True)
    assert "没有含义的值" in report
    assert report.count("“？”不是可选值") == 1  # two rows, one line
    assert "检测结果：“弱阳性”已被此来源的值对照拒绝。" in report


# -- the unmatched queue: warnings and discarding -----------------------------------------------------------


def test_matching_a_person_whose_name_differs_is_warned_on_the_page_and_after(client, clinic, source, baby):
    from registry.audit import AuditEvent

    upload(client, source, csv_file([row("S1", name="王晓宝")]))
    map_and_run(client, newest_batch())
    waiting = db.session.scalars(sa.select(UnmatchedRow)).one()
    report = client.get(f"/imports/{waiting.batch_id}").get_data(as_text=True)
    assert "1 行找不到对应的登记人员（或对应多人）" in report

    page = client.post(f"/imports/unmatched/{waiting.id}", data={"q": "wxb"}).get_data(as_text=True)
    assert "王小宝" in page and "姓名不同" in page and "出生日期不同" not in page

    client.post(f"/imports/unmatched/{waiting.id}/match", data={"person_id": str(baby.id)})

    queue = client.get("/imports/unmatched/").get_data(as_text=True)
    assert "文件中的姓名与 王小宝 的登记信息不同：请核实是否为同一人。" in queue
    summary = db.session.scalar(
        sa.select(AuditEvent.summary).where(
            AuditEvent.entity == "import_unmatched_row", AuditEvent.action == "MATCH"
        )
    )
    assert summary.endswith("although the name differ")


def test_discarding_an_unmatched_row_needs_a_reason_and_is_audited(client, clinic, source, baby):
    from registry.audit import AuditEvent

    upload(client, source, csv_file([row("S1", name="无此人")]))
    map_and_run(client, newest_batch())
    waiting = db.session.scalars(sa.select(UnmatchedRow)).one()

    response = client.post(f"/imports/unmatched/{waiting.id}/discard", data={"reason": " "})
    assert response.status_code == 422
    assert "请说明丢弃这一行的原因。" in response.get_data(as_text=True)
    assert db.session.get(UnmatchedRow, waiting.id).status is UnmatchedStatus.WAITING

    response = client.post(
        f"/imports/unmatched/{waiting.id}/discard", data={"reason": "重复样本，已由另一台设备上报"}
    )

    assert response.status_code == 302
    db.session.expire_all()
    discarded = db.session.get(UnmatchedRow, waiting.id)
    assert discarded.status is UnmatchedStatus.DISCARDED
    assert discarded.discard_reason == "重复样本，已由另一台设备上报"
    assert discarded.raw_values == {} and discarded.resolved_by_id == clinic.id
    assert "第 2 行已丢弃。" in client.get("/imports/unmatched/").get_data(as_text=True)
    assert "无此人" not in client.get("/imports/unmatched/").get_data(as_text=True)
    summary = db.session.scalar(
        sa.select(AuditEvent.summary).where(
            AuditEvent.entity == "import_unmatched_row", AuditEvent.action == "DISCARD"
        )
    )
    assert summary.endswith("discarded: 重复样本，已由另一台设备上报")
    page = client.get(f"/imports/unmatched/{waiting.id}").get_data(as_text=True)
    assert "丢弃：重复样本，已由另一台设备上报" in page

    again = client.post(f"/imports/unmatched/{waiting.id}/discard", data={"reason": "再次"})
    assert again.status_code == 302
    assert "这一行已被导入或丢弃。" in client.get("/imports/unmatched/").get_data(as_text=True)


def test_a_row_queued_before_the_sex_check_is_refused_with_its_message_not_a_500(
    client, clinic, source, district
):
    from registry.demo import resident_id

    male = resident_id("110105", dt.date(1980, 2, 3), False, random.Random(1))
    batch = factories.import_batch(source, clinic, program="CERVICAL_CANCER", test="HPV")
    waiting = factories.unmatched_row(
        batch, source_system=source.code,
        raw_values={"sample_id": "X1", "id_number": male, "name": "张伟", "sampled_on": "2026-11-20",
                    "hpv_result": "NEGATIVE"},
    )  # fmt: skip
    woman = factories.person(district["hospital"], name="张伟")

    page = client.post(f"/imports/unmatched/{waiting.id}", data={"q": "张伟"})
    assert page.status_code == 200

    client.post(f"/imports/unmatched/{waiting.id}/match", data={"person_id": str(woman.id)})

    page = client.get(f"/imports/unmatched/{waiting.id}").get_data(as_text=True)
    assert "结果未导入：身份证号: 身份证号码第 17 位表示的性别与填写的不一致。" in page
    assert db.session.get(UnmatchedRow, waiting.id).status is UnmatchedStatus.WAITING
