"""The monthly district report: a frozen snapshot, a reproducible Chinese PDF, late corrections, the cron."""

import datetime as dt
import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa

from registry.audit import Actor, AuditEvent
from registry.auth.models import Role
from registry.extensions import db
from screenings.reports.models import ReportStatus
from screenings.reports.render import render_report
from screenings.reports.service import build_report, file_path, find_report, request_report, verify_report
from tests import factories

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
NOV = dt.datetime(2026, 11, 10, 9, tzinfo=SHANGHAI)
CUT_OFF_NOV = dt.datetime(2026, 12, 1, 2, tzinfo=SHANGHAI)
CUT_OFF_DEC = dt.datetime(2027, 1, 1, 2, tzinfo=SHANGHAI)
ACTOR = Actor(user_id=None, username="report-test")
ARTEFACTS = Path(__file__).resolve().parent.parent / "test-artefacts"
needs_poppler = pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils not installed")


@pytest.fixture(autouse=True)
def report_folder(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "REPORTS_DIR", str(tmp_path / "reports"))


def _babies(district, n_screened=3, n_missing=1):
    hospital = district["hospital"]
    for i in range(n_screened):
        baby = factories.newborn(hospital, born_at=NOV + dt.timedelta(days=i), name=f"王小{i}")
        factories.hearing_result(baby, hospital, right="REFER" if i == 0 else "PASS")
    unscreened = [
        factories.newborn(hospital, born_at=NOV + dt.timedelta(days=5 + i)) for i in range(n_missing)
    ]
    return unscreened


def _built(district, month="2026-11", cut_off=CUT_OFF_NOV, lang="zh"):
    report, _ = request_report(district["district"].code, month, lang, ACTOR, cut_off)
    build_report(report, cut_off)
    db.session.flush()
    return report


def _text(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


@needs_poppler
def test_the_pdf_names_district_month_a_snapshot_figure_and_its_page_count(db_session, district):
    _babies(district)
    report = _built(district)
    assert report.status is ReportStatus.READY and report.sha256 and report.page_count >= 3
    text = _text(file_path(report))
    assert district["district"].name in text and "2026年11月" in text
    assert f"共 {report.page_count} 页" in text and f"第 {report.page_count} 页" in text
    hearing = next(p for p in report.snapshot["programs"] if p["code"] == "NEWBORN_HEARING")
    passed = next(
        r for r in hearing["month"] if r["indicator"] == "INITIAL_PASS_RATE" and r["institution"] is None
    )
    assert (passed["numerator"], passed["denominator"], passed["value"]) == (2, 3, "66.67")
    assert "66.7% 2/3" in text
    # the target in its unit beside the figure it is compared with (hearing pass rate: target 90%)
    assert re.search(r"66\.7% 2/3\s.*?90%\s+未达标", text)
    assert "数据截止：2026-12-01 02:00" in text
    assert hashlib.sha256(file_path(report).read_bytes()).hexdigest() == report.sha256


@needs_poppler
def test_the_pdf_embeds_a_cjk_font(db_session, district):
    report = _built(district)
    fonts = subprocess.run(
        ["pdffonts", str(file_path(report))], capture_output=True, text=True, check=True
    ).stdout
    cjk = [line for line in fonts.splitlines() if "CJK" in line or "WenQuanYi" in line]
    assert cjk and all(" yes " in line for line in cjk), fonts  # embedded (and subset)


def test_a_rebuild_from_the_snapshot_is_byte_identical(db_session, district):
    _babies(district)
    report = _built(district)
    first = file_path(report).read_bytes()
    # A result entered after the cut-off changes nothing in the frozen report.
    _babies(district, n_screened=1, n_missing=0)
    build_report(report, CUT_OFF_NOV + dt.timedelta(days=3))
    assert file_path(report).read_bytes() == first
    outcome = verify_report(report)
    assert outcome["identical"] and outcome["rebuilt"] == hashlib.sha256(first).hexdigest()
    again, _pages = render_report(report.snapshot, "zh")
    assert again == first


@needs_poppler
def test_the_english_edition_is_in_english(db_session, district):
    report = _built(district, lang="en")
    text = _text(file_path(report))
    assert "Monthly screening report" in text and f"of {report.page_count}" in text


@pytest.mark.skipif(not shutil.which("pdftoppm"), reason="poppler-utils not installed")
def test_pages_render_to_png_in_the_artefacts(db_session, district):
    _babies(district)
    report = _built(district)
    ARTEFACTS.mkdir(exist_ok=True)
    shutil.copy(file_path(report), ARTEFACTS / "monthly-report.pdf")
    for page in (1, 2, 4):
        prefix = ARTEFACTS / f"monthly-report-p{page}"
        subprocess.run(["pdftoppm", "-png", "-r", "70", "-f", str(page), "-l", str(page), "-singlefile",
                        str(file_path(report)), str(prefix)], check=True)  # fmt: skip
        assert prefix.with_suffix(".png").stat().st_size > 5000


def test_a_late_result_appears_as_a_correction_in_the_next_month_and_not_in_the_frozen_one(
    db_session, district
):
    _babies(district)
    november = _built(district)
    frozen = november.sha256
    # A November baby's screen entered on 5 December, after November's cut-off.
    hospital = district["hospital"]
    baby = factories.newborn(hospital, born_at=NOV + dt.timedelta(days=8), name="李小明")
    factories.hearing_result(baby, hospital, right="REFER", now=CUT_OFF_NOV + dt.timedelta(days=4))
    december = _built(district, month="2026-12", cut_off=CUT_OFF_DEC)
    changed = {(c["indicator"], c["institution"]): c for c in december.snapshot["corrections"]}
    passed = changed[("INITIAL_PASS_RATE", None)]
    assert (passed["month"], passed["old"]["numerator"], passed["old"]["denominator"]) == ("2026-11", 2, 3)
    assert (passed["new"]["numerator"], passed["new"]["denominator"], passed["records"]) == (2, 4, 1)
    assert changed[("INITIAL_PASS_RATE", hospital.code)]["records"] == 1
    assert verify_report(november)["identical"] and november.sha256 == frozen
    assert not november.snapshot["corrections"]


def test_the_command_builds_prints_path_and_checksum_and_verifies(app, db_session, district, frozen_clock):
    _babies(district)
    frozen_clock("2026-12-01 02:00")
    runner = app.test_cli_runner()
    code = district["district"].code
    built = runner.invoke(args=["report", "build", "--district", code, "--month", "2026-11"])
    assert built.exit_code == 0, built.output
    path, sha, pages, _seconds = built.output.strip().split("\t")
    assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == sha and pages.endswith("pages")
    verified = runner.invoke(args=["report", "verify", "--district", code, "--month", "2026-11"])
    assert verified.exit_code == 0 and "identical" in verified.output
    Path(path).write_bytes(b"tampered")
    tampered = runner.invoke(args=["report", "verify", "--district", code, "--month", "2026-11"])
    assert tampered.exit_code == 1 and "differs" in tampered.output
    unknown = runner.invoke(args=["report", "build", "--district", "NOPE", "--month", "2026-11"])
    assert unknown.exit_code == 1 and "no district" in unknown.output


def test_a_program_manager_approves_a_report_and_it_can_no_longer_be_rebuilt(
    app, db_session, district, frozen_clock
):
    _babies(district)
    frozen_clock("2026-12-01 02:00")
    runner = app.test_cli_runner()
    code = district["district"].code
    manager = factories.user(Role.PROGRAM_MANAGER, district["mch"])
    clerk = factories.clinic_user(district["hospital"])
    assert runner.invoke(args=["report", "build", "--district", code, "--month", "2026-11"]).exit_code == 0
    approve = ["report", "approve", "--district", code, "--month", "2026-11", "--by"]
    refused = runner.invoke(args=[*approve, clerk.username])
    assert refused.exit_code == 1 and "program manager" in refused.output
    approved = runner.invoke(args=[*approve, manager.username])
    assert approved.exit_code == 0, approved.output
    report = find_report(code, "2026-11")
    assert report.approved_by_id == manager.id
    rows = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.entity == "monthly_report",
                                                          AuditEvent.action == "APPROVE")).all()  # fmt: skip
    assert [(r.user_id, r.entity_id) for r in rows] == [(manager.id, str(report.id))]
    rebuilt = runner.invoke(args=["report", "build", "--district", code, "--month", "2026-11", "--refresh"])
    assert rebuilt.exit_code == 1


@needs_poppler
def test_the_summary_of_every_program_fits_one_page(db_session, district):
    _babies(district)
    report = _built(district)
    page = subprocess.run(["pdftotext", "-f", "3", "-l", "3", "-layout", str(file_path(report)), "-"],
                          capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert "表A" in page and "PMTCT（表F）" not in page
