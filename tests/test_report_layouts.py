"""The report's layout is versioned: an approved report rebuilds byte for byte in its approved layout."""

import gzip
import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from registry.extensions import db
from screenings.reports import render
from screenings.reports.render import Layout, report_html
from screenings.reports.service import approve_report, build_report, file_path, verify_report
from tests.test_monthly_report import ACTOR, CUT_OFF_NOV, _babies, _built

FIXTURE = Path(__file__).resolve().parent / "data" / "monthly-snapshot-2026-12.json.gz"
# The HTML layout 1 makes of the fixture snapshot (stored before layouts were versioned: it names none).
# A frozen layout never changes: if this fails, the change belongs in a new layout, not in layout 1.
FROZEN_HTML = {
    ("1", "zh"): "bd15e8b5f8401a97816ee4e1659e0522a281a84d5daa4ade73200afccaa3aa91",
    ("1", "en"): "ac14dee2d09736ad491cc255f895d8150eeadb87657ccbf58eafcf5888c48c03",
}


@pytest.fixture(autouse=True)
def report_folder(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "REPORTS_DIR", str(tmp_path / "reports"))


@pytest.fixture
def new_layout(monkeypatch):
    """Make a new layout current (fewer indicators per table), as a layout change in a release would."""

    def switch(version="test-2"):
        monkeypatch.setitem(render.LAYOUTS, version, Layout(version, "reports/monthly-1.html", 3, 4))
        monkeypatch.setattr(render, "CURRENT_LAYOUT", version)
        return version

    return switch


def _fixture_snapshot() -> dict:
    return json.loads(gzip.decompress(FIXTURE.read_bytes()))


@pytest.mark.parametrize(("version", "lang"), sorted(FROZEN_HTML))
def test_a_frozen_layout_renders_a_stored_snapshot_to_the_same_html(app, version, lang):
    snapshot = _fixture_snapshot()
    assert "layout" not in snapshot  # a legacy snapshot: rendered with layout 1
    if version != render.LEGACY_LAYOUT:
        snapshot["layout"] = version
    with app.test_request_context():
        html = report_html(snapshot, lang)
    assert hashlib.sha256(html.encode()).hexdigest() == FROZEN_HTML[(version, lang)]


def test_every_layout_but_the_current_one_is_frozen():
    frozen = {version for version, _lang in FROZEN_HTML}
    assert set(render.LAYOUTS) - {render.CURRENT_LAYOUT} <= frozen


def test_a_report_records_its_layout_in_the_snapshot_and_verify_names_it(db_session, district):
    _babies(district)
    report = _built(district)
    assert report.snapshot["layout"] == render.CURRENT_LAYOUT
    outcome = verify_report(report)
    assert outcome["identical"] and outcome["layout"] == outcome["current_layout"] == render.CURRENT_LAYOUT
    assert outcome["message"].startswith("identical: built with layout")


def test_an_approved_report_rebuilds_byte_identical_in_its_layout_after_the_layout_changed(
    db_session, district, new_layout
):
    _babies(district)
    approved = _built(district)
    approve_report(approved, ACTOR, CUT_OFF_NOV)
    english = _built(district, lang="en")  # built, not approved
    approved_sha, english_sha = approved.sha256, english.sha256
    approved_bytes = file_path(approved).read_bytes()
    old = render.CURRENT_LAYOUT

    current = new_layout()

    outcome = verify_report(approved)
    assert outcome["identical"] and outcome["rebuilt"] == approved_sha
    expected = f"identical: built with layout {old}, current is {current}, rebuilt with layout {old}"
    assert outcome["message"] == expected
    build_report(approved, CUT_OFF_NOV)
    assert approved.sha256 == approved_sha and file_path(approved).read_bytes() == approved_bytes
    assert approved.snapshot["layout"] == old and approved.error is None
    # A report not approved is rendered again in the current layout, which its snapshot then records.
    build_report(english, CUT_OFF_NOV)
    db.session.flush()
    assert english.snapshot["layout"] == current and english.sha256 != english_sha
    assert verify_report(english)["identical"]


def test_verify_says_which_layout_built_a_report_that_can_no_longer_be_rendered(
    app, db_session, district, new_layout, monkeypatch
):
    _babies(district)
    report = _built(district)
    approve_report(report, ACTOR, CUT_OFF_NOV)
    db.session.commit()
    archived = report.sha256
    old = render.CURRENT_LAYOUT
    current = new_layout()
    monkeypatch.delitem(render.LAYOUTS, old)

    outcome = verify_report(report)
    assert not outcome["identical"] and outcome["rebuilt"] is None and outcome["archive_intact"]
    expected = f"built with layout {old}, current is {current}: layout {old} is no longer"
    assert outcome["message"].startswith(expected)
    code = district["district"].code
    verify = ["report", "verify", "--district", code, "--month", "2026-11"]
    verified = app.test_cli_runner().invoke(args=verify)
    assert verified.exit_code == 1
    assert f"built with layout {old}, current is {current}" in verified.output
    assert "the archived file matches its SHA-256" in verified.output
    # Rebuilding it keeps the archive and says why.
    build_report(report, CUT_OFF_NOV)
    assert report.sha256 == archived and "archive kept" in report.error


def test_verify_tells_a_damaged_archive_from_a_layout_change(db_session, district):
    _babies(district)
    report = _built(district)
    file_path(report).write_bytes(b"damaged")
    outcome = verify_report(report)
    assert not outcome["identical"] and outcome["rebuilt"] == outcome["archived"]
    assert "the archived file differs from its SHA-256" in outcome["message"]


def _district_of(count: int) -> dict:
    """The fixture snapshot widened to `count` institutions, each with five-digit counts in every cell."""
    snapshot = _fixture_snapshot()
    places = [{"code": f"F{i:02d}", "name": f"第{i}社区卫生服务中心"} for i in range(1, count + 1)]
    snapshot["institutions"] = places
    for program in snapshot["programs"]:
        model = [r for r in program["month"] if r["institution"] == "H1"]
        rows = [r for r in program["month"] if r["institution"] is None]
        for n, place in enumerate(places):
            rows += [{**r, "institution": place["code"], "value": "98.52", "numerator": 12345,
                      "denominator": 12530, "meets_target": n % 30 != 2} for r in model]  # fmt: skip
        program["month"] = rows
        program["by_institution"] = [
            {"institution": p["code"], "closure_rate": "50.0", "overdue": n % 7, "lost": 0}
            for n, p in enumerate(places)
        ]
    return snapshot


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils not installed")
def test_a_district_of_sixty_institutions_gets_a_report_of_reasonable_length(app, tmp_path):
    snapshot = {**_district_of(60), "layout": render.CURRENT_LAYOUT}
    with app.test_request_context():
        pdf, pages = render.render_report(snapshot, "zh")
    # Layout 1 took 45 pages for this district even with short cells; layout 2 keeps a table to about a page.
    assert pages <= 28
    path = tmp_path / "sixty.pdf"
    path.write_bytes(pdf)
    cover = subprocess.run(["pdftotext", "-l", "1", "-layout", str(path), "-"],
                           capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert "60" in cover and re.search(rf"版式\s+{render.CURRENT_LAYOUT}", cover)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"],
                          capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert f"共 {pages} 页" in text and "逾期最多的 20 家机构" in text
