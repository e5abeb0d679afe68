"""The year's targets, tasks and population figures: set on the targets page, audited, used by the figures."""

from datetime import UTC, date, datetime
from decimal import Decimal

import sqlalchemy as sa

from registry.audit import Actor, AuditEvent
from registry.auth.models import Role
from registry.extensions import db
from screenings.engine import SubjectKind
from screenings.indicators.facts import write_facts
from screenings.indicators.figures import compute_figures
from screenings.indicators.periods import parse_period
from screenings.indicators.targets import TargetKind, load_targets, set_target
from tests.engine.indicator_facts import fact
from tests.test_indicator_figures import NOV, _at, _by, _load

NOW = datetime(2026, 12, 3, 2, tzinfo=UTC)
ACTOR = Actor(user_id=None, username="manager-test")
SCREEN = "NEWBORN_HEARING.INITIAL_SCREEN_RATE"


def _figures(district, program="NEWBORN_HEARING", period=NOV):
    book = load_targets(district["district"], period.end.year)
    return compute_figures(district["district"], period.start, period.end, program=program, targets=book)


def test_a_district_target_replaces_the_declared_one_and_a_facility_target_replaces_the_district(district):
    h, c = _load(district)
    d = district["district"]
    assert set_target(d, None, 2026, TargetKind.TARGET, SCREEN, Decimal(70), ACTOR, NOW)
    assert set_target(d, district["community"], 2026, TargetKind.TARGET, SCREEN, Decimal(100), ACTOR, NOW)
    screened = _by(_figures(district), "INITIAL_SCREEN_RATE")
    # district 4/5 = 80% against 70; hospital 2/3 against the district's 70; community 2/2 against its own 100
    assert screened[None].target == Decimal(70) and screened[None].meets_target is True
    assert screened[h].target == Decimal(70) and screened[h].meets_target is False
    assert screened[c].target == Decimal(100) and screened[c].meets_target is True
    # another year keeps the declared default
    other = compute_figures(d, NOV.start, NOV.end, program="NEWBORN_HEARING", targets=load_targets(d, 2025))
    assert _by(other, "INITIAL_SCREEN_RATE")[None].target == Decimal(90)


def test_every_change_is_audited_and_an_empty_value_returns_to_the_default(district):
    d = district["district"]
    set_target(d, None, 2026, TargetKind.TARGET, SCREEN, Decimal(95), ACTOR, NOW)
    assert not set_target(d, None, 2026, TargetKind.TARGET, SCREEN, Decimal(95), ACTOR, NOW)
    set_target(d, None, 2026, TargetKind.TARGET, SCREEN, Decimal(96), ACTOR, NOW)
    set_target(d, None, 2026, TargetKind.TARGET, SCREEN, None, ACTOR, NOW)
    trail = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.entity == "indicator_target").order_by(AuditEvent.id)
    ).all()
    assert [e.action for e in trail] == ["create", "update", "delete"]
    assert "95 -> 96" in trail[1].summary
    assert load_targets(d, 2026).values == {}


def test_the_annual_task_is_shown_as_the_share_screened_since_the_start_of_the_year(district):
    d, h = district["district"], district["hospital"]
    cervical = "CERVICAL_CANCER"
    rows = [
        fact(
            cervical,
            100 + i,
            institution=h.code,
            district=d.code,
            subject=SubjectKind.WOMAN,
            screened=(_at(2, month), "NEGATIVE"),
        )  # fmt: skip
        for i, month in enumerate((3, 7, 11, 11))
    ]
    write_facts([(r.person_id, r.program) for r in rows], rows)
    db.session.flush()
    set_target(d, None, 2026, TargetKind.TASK, cervical, Decimal(8), ACTOR, NOW)
    set_target(d, None, 2026, TargetKind.POPULATION, "CERVICAL_CANCER.WOMEN_35_64", Decimal(40), ACTOR, NOW)
    figures = _figures(district, program=cervical)
    task = _by(figures, "ANNUAL_TASK")
    # 4 screened from 1 January to 30 November, of a task of 8
    assert (task[None].numerator, task[None].denominator, task[None].value) == (4, 8, Decimal(50))
    assert task[h.code].denominator == 8  # a facility without its own task reads the district's
    assert task[district["community"].code].numerator == 0
    rate = _by(figures, "SCREENING_RATE")[None]
    assert (rate.numerator, rate.denominator) == (2, 40)
    none = compute_figures(d, NOV.start, NOV.end, program=cervical, targets=load_targets(d, 2025))
    assert _by(none, "ANNUAL_TASK")[None].reason == "annual task not entered"
    sy = parse_period("SY2026")
    assert _by(_figures(district, cervical, sy), "ANNUAL_TASK")[None].numerator == 2


def test_a_manager_sets_targets_on_the_page_and_the_dashboard_marks_institutions_below_them(
    client, login, district, make_user, frozen_clock
):
    h, c = _load(district)
    frozen_clock("2026-12-03 10:00")
    manager = make_user(Role.PROGRAM_MANAGER, district["mch"])
    login(manager)
    page = client.get("/statistics/targets?year=2026").get_data(as_text=True)
    assert "年度目标" in page and "初筛率" in page and "年度任务数" in page and "35–64岁应查妇女数" in page
    saved = client.post("/statistics/targets", data={"year": "2026", f"TARGET|{SCREEN}": "99"})
    assert saved.status_code == 302
    facility = client.post(
        "/statistics/targets",
        data={"year": "2026", "institution": district["community"].code, f"TARGET|{SCREEN}": "100"},
    )
    assert facility.status_code == 302
    book = load_targets(district["district"], 2026)
    assert book.get(None, TargetKind.TARGET, SCREEN) == Decimal(99)
    assert book.get(district["community"].code, TargetKind.TARGET, SCREEN) == Decimal(100)
    trail = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.entity == "indicator_target")).all()
    assert len(trail) == 2 and all(e.user_id == manager.id for e in trail)
    dashboard = client.get("/statistics?period=2026-11&program=NEWBORN_HEARING").get_data(as_text=True)

    def row(place):
        start = dashboard.index(f'data-indicator="INITIAL_SCREEN_RATE" data-institution="{place}"')
        return dashboard[start : dashboard.index("</tr>", start)]

    # the district's 80% is below its 99; the community's 2/2 meets its own 100
    assert 'class="below-target"' in row("") and "<td>99" in row("") and "未达标" in row("")
    assert "below-target" not in row(c) and "<td>100" in row(c)
    assert "/statistics/targets?year=2026" in dashboard


def test_a_bad_number_saves_nothing_and_clinic_staff_cannot_set_targets(client, login, district, make_user):
    login(make_user(Role.PROGRAM_MANAGER, district["mch"]))
    bad = client.post(
        "/statistics/targets",
        data={"year": "2026", f"TARGET|{SCREEN}": "98", "TASK|AUTISM": "-3"},
    )
    assert bad.status_code == 200 and 'aria-invalid="true"' in bad.get_data(as_text=True)
    assert load_targets(district["district"], 2026).values == {}
    client.post("/logout")
    login(make_user(Role.CLINIC_STAFF, district["hospital"]))
    assert client.get("/statistics/targets").status_code == 403
    assert client.post("/statistics/targets", data={"year": "2026"}).status_code == 403


def test_periods_take_the_targets_of_the_year_they_end_in():
    from screenings.indicators.targets import target_year, task_window_start

    assert target_year(parse_period("SY2027").end) == 2027
    assert task_window_start(date(2026, 11, 1), date(2026, 11, 30)) == date(2026, 1, 1)
    assert task_window_start(date(2025, 10, 1), date(2026, 9, 30)) == date(2025, 10, 1)
