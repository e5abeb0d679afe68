"""Late corrections (security.md item 8): an entry dated in a month whose report is approved needs a reason;
with one it is saved, the approved report never changes, and the next report lists it with its reason."""

import datetime as dt
import shutil
import subprocess

import pytest
import sqlalchemy as sa

from registry.audit import Actor, AuditEvent
from registry.extensions import db
from screenings.models import ScreeningResult
from screenings.reports.models import LateCorrection, MonthlyReport, ReportStatus
from screenings.reports.service import approve_report, build_report, file_path, request_report, verify_report
from tests import factories

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
NOV = dt.datetime(2026, 11, 10, 9, tzinfo=SHANGHAI)
CUT_OFF_NOV = dt.datetime(2026, 12, 1, 2, tzinfo=SHANGHAI)
CUT_OFF_DEC = dt.datetime(2027, 1, 1, 2, tzinfo=SHANGHAI)
ACTOR = Actor(user_id=None, username="correction-test")
REASON = "补录纸质登记本上漏录的结果"
NEEDS_REASON = "2026年11月的报表已批准"


@pytest.fixture(autouse=True)
def setting(app, tmp_path, monkeypatch, frozen_clock):
    monkeypatch.setitem(app.config, "REPORTS_DIR", str(tmp_path / "reports"))
    frozen_clock("2026-12-05 10:00")


@pytest.fixture
def clinic(district, login):
    user = factories.clinic_user(district["hospital"])
    login(user)
    return user


def _approved_row(district, month="2026-11") -> MonthlyReport:
    """An approved report row (not rendered: whether a month is approved is all an entry asks)."""
    report = MonthlyReport(district_code=district["district"].code, month=month, lang="zh",
                           status=ReportStatus.READY, requested_at=CUT_OFF_NOV, requested_by_name="test",
                           approved_at=CUT_OFF_NOV, approved_by_name="manager")  # fmt: skip
    db.session.add(report)
    db.session.flush()
    return report


def _hearing_form(at: dt.datetime, token: str, **more) -> dict:
    return {
        "entry_token": token, "screening_status": "DONE", "screened_at": at.strftime("%Y-%m-%dT%H:%M"),
        "method": "OAE", "left_ear": "REFER", "right_ear": "PASS", **more,
    }  # fmt: skip


def _results_of(person) -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(ScreeningResult).where(ScreeningResult.person_id == person.id)
    )


def test_a_result_in_an_approved_month_needs_a_reason_and_the_next_report_lists_it(client, district, clinic):
    hospital = district["hospital"]
    for i in range(2):
        baby = factories.newborn(hospital, born_at=NOV + dt.timedelta(days=i), name=f"王小{i}")
        factories.hearing_result(baby, hospital, right="REFER" if i == 0 else "PASS")
    november, _created = request_report(district["district"].code, "2026-11", "zh", ACTOR, CUT_OFF_NOV)
    build_report(november, CUT_OFF_NOV)
    approve_report(november, ACTOR, CUT_OFF_NOV)
    db.session.commit()
    frozen = november.sha256
    late = factories.newborn(hospital, born_at=NOV + dt.timedelta(days=8), name="李小明")
    db.session.commit()  # the refused entry's rollback must not take the test's own rows with it
    url = f"/people/{late.id}/results/new?program=NEWBORN_HEARING&test=INITIAL"
    screened = NOV + dt.timedelta(days=9)

    refused = client.post(url, data=_hearing_form(screened, "late-1"))

    assert refused.status_code == 200 and NEEDS_REASON in refused.get_data(as_text=True)
    assert 'name="correction_reason"' in refused.get_data(as_text=True)
    assert _results_of(late) == 0

    saved = client.post(url, data=_hearing_form(screened, "late-1", correction_reason=REASON))

    assert saved.status_code == 302 and _results_of(late) == 1
    kept = db.session.scalars(sa.select(LateCorrection)).all()
    assert [(c.month, c.program, c.entity, c.reason, c.recorded_by_id) for c in kept] == [
        ("2026-11", "NEWBORN_HEARING", "screening_result", REASON, clinic.id)
    ]
    audited = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "LATE_CORRECTION")).all()
    assert [(a.entity, a.summary) for a in audited] == [("screening_result", "NEWBORN_HEARING 2026-11")]
    assert REASON not in audited[0].summary  # free text stays out of the log
    # The approved report and its snapshot never change.
    assert verify_report(november)["identical"] and november.sha256 == frozen
    assert not november.snapshot.get("late_entries")
    # The next report lists the correction with its reason, beside the figure it changed.
    december, _created = request_report(district["district"].code, "2026-12", "zh", ACTOR, CUT_OFF_DEC)
    build_report(december, CUT_OFF_DEC)
    assert [(e["month"], e["entity"], e["reason"]) for e in december.snapshot["late_entries"]] == [
        ("2026-11", "screening_result", REASON)
    ]
    assert any(c["indicator"] == "INITIAL_PASS_RATE" for c in december.snapshot["corrections"])
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-layout", str(file_path(december)), "-"],
                              capture_output=True, text=True, check=True).stdout  # fmt: skip
        assert "已批准月份的补录与更正" in text
        assert REASON in text.replace(" ", "").replace("\n", "")  # the reason column wraps


def test_a_result_in_a_month_not_approved_needs_no_reason(client, district, clinic):
    _approved_row(district, month="2026-10")
    baby = factories.newborn(district["hospital"], born_at=NOV)
    url = f"/people/{baby.id}/results/new?program=NEWBORN_HEARING&test=INITIAL"
    response = client.post(url, data=_hearing_form(NOV + dt.timedelta(days=1), "t-1"))
    assert response.status_code == 302 and _results_of(baby) == 1
    assert db.session.scalars(sa.select(LateCorrection)).all() == []


def test_a_backdated_case_step_in_an_approved_month_needs_a_reason(client, district, clinic):
    baby = factories.newborn(district["hospital"], born_at=NOV)
    case = factories.referred_case(baby, district["hospital"])
    _approved_row(district)
    db.session.commit()  # the refused entry's rollback must not take the test's own rows with it
    step = {"version": case.version, "result_code": "BILATERAL_REFER", "occurred_at": "2026-11-25T10:00"}

    refused = client.post(f"/cases/{case.id}/step", data=step)

    assert refused.status_code == 400 and NEEDS_REASON in refused.get_data(as_text=True)
    db.session.refresh(case)
    assert case.current_step == "RESCREEN"

    saved = client.post(f"/cases/{case.id}/step", data={**step, "correction_reason": "复筛记录补录"})

    assert saved.status_code == 302
    db.session.refresh(case)
    assert case.current_step == "DIAGNOSIS"
    kept = db.session.scalars(sa.select(LateCorrection)).all()
    assert [(c.month, c.entity, c.reason) for c in kept] == [("2026-11", "case_event", "复筛记录补录")]


def test_an_entry_made_today_on_a_case_needs_no_reason(client, district, clinic):
    baby = factories.newborn(district["hospital"], born_at=NOV)
    case = factories.referred_case(baby, district["hospital"])
    _approved_row(district)
    response = client.post(
        f"/cases/{case.id}/contact",
        data={"version": case.version, "channel": "PHONE", "contact_outcome": "NO_ANSWER"},
    )
    assert response.status_code == 302
    assert db.session.scalars(sa.select(LateCorrection)).all() == []
