"""Figures from the fact table equal hand counts; zero denominators have no value; district = sum."""

import json
from datetime import date, datetime, time
from decimal import Decimal

from registry.extensions import db
from screenings.engine import LOCAL_TZ
from screenings.indicators.facts import write_facts
from screenings.indicators.figures import compute_figures
from screenings.indicators.periods import parse_period
from tests.engine.indicator_facts import fact

NOV = parse_period("2026-11")


def _at(day: int, month: int = 11) -> datetime:
    return datetime.combine(date(2026, month, day), time(9), LOCAL_TZ)


def _load(district):
    d, h, c = district["district"].code, district["hospital"].code, district["community"].code
    hearing = "NEWBORN_HEARING"
    rows = [
        fact(hearing, 1, institution=h, district=d, born=_at(1), screened=(_at(2), "BILATERAL_PASS")),
        fact(hearing, 2, institution=h, district=d, born=_at(3), screened=(_at(4), "BILATERAL_REFER")),
        fact(hearing, 3, institution=h, district=d, born=_at(5)),
        fact(hearing, 4, institution=c, district=d, born=_at(6), screened=(_at(7), "BILATERAL_PASS")),
        # screened at the hospital, transferred to the community centre: counts there from the transfer
        fact(
            hearing,
            5,
            institution=h,
            district=d,
            born=_at(8),
            screened=(_at(9), "BILATERAL_PASS"),
            transferred=(_at(10), c),
        ),  # fmt: skip
        fact(
            hearing,
            6,
            institution=h,
            district=d,
            born=_at(8, month=10),
            screened=(_at(9, 10), "BILATERAL_PASS"),
        ),
        fact(
            hearing, 7, institution=h, district="ELSEWHERE", born=_at(8), screened=(_at(9), "BILATERAL_PASS")
        ),
    ]
    write_facts([(r.person_id, r.program) for r in rows], rows)
    db.session.flush()
    return h, c


def _by(rows, code):
    return {r.institution: r for r in rows if r.indicator == code}


def test_figures_equal_a_hand_count_by_institution_and_for_the_district(district):
    h, c = _load(district)
    rows = compute_figures(district["district"], NOV.start, NOV.end, program="NEWBORN_HEARING")
    screened = _by(rows, "INITIAL_SCREEN_RATE")
    assert (screened[h].numerator, screened[h].denominator) == (2, 3)
    assert (screened[c].numerator, screened[c].denominator) == (2, 2)
    assert (screened[None].numerator, screened[None].denominator) == (4, 5)
    assert screened[None].value == Decimal(80) and screened[None].target == Decimal(90)
    assert screened[None].meets_target is False and screened[c].meets_target is True
    passed = _by(rows, "INITIAL_PASS_RATE")
    assert (passed[None].numerator, passed[None].denominator) == (3, 4)


def test_a_zero_denominator_has_no_value_and_says_why(district):
    _load(district)
    rows = compute_figures(district["district"], NOV.start, NOV.end, program="NEWBORN_HEARING")
    treated = _by(rows, "INTERVENTION_RATE")
    assert all(r.value is None and r.meets_target is None for r in treated.values())
    assert treated[None].denominator == 0 and treated[None].reason == "zero denominator"
    mch = _by(rows, "INITIAL_SCREEN_RATE")[district["mch"].code]
    assert (mch.numerator, mch.denominator, mch.value) == (0, 0, None)


def test_the_district_is_the_sum_of_its_institutions_for_every_count(district):
    _load(district)
    rows = compute_figures(district["district"], NOV.start, NOV.end, program="NEWBORN_HEARING")
    for code in {r.indicator for r in rows if r.unit != "DAYS" and r.reason is None or r.denominator == 0}:
        parts = [r for r in rows if r.indicator == code and r.institution is not None]
        whole = _by(rows, code)[None]
        if whole.numerator is None:
            continue
        assert sum(r.numerator for r in parts) == whole.numerator, code
        assert sum(r.denominator for r in parts) == whole.denominator, code


def test_declared_unsupported_indicators_say_why_and_have_no_number(district):
    _load(district)
    rows = compute_figures(district["district"], NOV.start, NOV.end, program="NEWBORN_METABOLIC")
    education = _by(rows, "EDUCATION_RATE")[None]
    assert education.value is None and education.numerator is None
    assert education.reason.startswith("unsupported: ")


def test_the_command_prints_the_same_figures(app, district):
    h, _ = _load(district)
    runner = app.test_cli_runner()
    args = ["indicators", "--district", district["district"].code, "--period", "2026-11",
            "--program", "NEWBORN_HEARING", "--institution", h]  # fmt: skip
    printed = json.loads(runner.invoke(args=args).output)
    screened = [r for r in printed if r["indicator"] == "INITIAL_SCREEN_RATE"]
    assert [(r["numerator"], r["denominator"], r["meets_target"]) for r in screened] == [(2, 3, False)]
    as_csv = runner.invoke(args=[*args, "--format", "csv"]).output.splitlines()
    assert as_csv[0].startswith("program,indicator,name,institution,numerator,denominator,value")
    assert len(as_csv) == len(printed) + 1


def test_periods_cover_month_quarter_statistical_year_and_range():
    assert (parse_period("2026-Q4").start, parse_period("2026-Q4").end) == (
        date(2026, 10, 1),
        date(2026, 12, 31),
    )
    assert (parse_period("SY2026").start, parse_period("SY2026").end) == (
        date(2025, 10, 1),
        date(2026, 9, 30),
    )
    assert parse_period("2026-02").end == date(2026, 2, 28)
    assert parse_period("2026-01-05..2026-01-09").end == date(2026, 1, 9)


def test_a_median_is_the_continuous_percentile_of_the_days(district):
    d, h = district["district"].code, district["hospital"].code
    rows = [
        fact("NEWBORN_METABOLIC", n, institution=h, district=d, born=_at(1), treated=_at(1 + age))
        for n, age in enumerate((10, 20, 27), start=1)
    ]
    rows.append(fact("NEWBORN_METABOLIC", 9, institution=h, district=d, born=_at(2)))
    write_facts([(r.person_id, r.program) for r in rows], rows)
    figures = compute_figures(district["district"], NOV.start, NOV.end, program="NEWBORN_METABOLIC")
    median = _by(figures, "MEDIAN_TREATMENT_AGE")
    assert (median[None].value, median[None].denominator) == (Decimal(20), 3)
    assert median[h].value == Decimal(20) and median[district["community"].code].value is None


def test_a_manager_sees_the_district_and_clinic_staff_their_own_institution(
    client, login, district, make_user
):
    from registry.auth.models import Role

    h, c = _load(district)
    manager = make_user(Role.PROGRAM_MANAGER, district["mch"])
    login(manager)
    page = client.get("/statistics?period=2026-11&program=NEWBORN_HEARING").get_data(as_text=True)
    assert "统计分析" in page and "全区合计" in page and "未达标" in page
    assert district["community"].name in page
    client.post("/logout")
    login(make_user(Role.CLINIC_STAFF, district["community"]))
    own = client.get("/statistics?period=2026-11&program=NEWBORN_HEARING").get_data(as_text=True)
    assert "全区合计" not in own and district["hospital"].name not in own


def test_the_dashboard_draws_the_cascade_with_chinese_labels_as_svg_text_and_the_numbers_in_tables(
    client, login, district, make_user
):
    import xml.etree.ElementTree as ET

    from registry.auth.models import Role

    _load(district)
    login(make_user(Role.PROGRAM_MANAGER, district["mch"]))
    page = client.get("/statistics?period=2026-11&program=NEWBORN_HEARING").get_data(as_text=True)
    funnel = page[page.index("<svg") : page.index("</svg>") + 6]
    texts = [t.text for t in ET.fromstring(funnel).iter("{http://www.w3.org/2000/svg}text")]
    assert "已筛查" in texts and "阳性" in texts
    assert 'data-chart="cascade"' in page and 'data-chart="trend"' in page
    assert page.count("<svg") == 3 and "近12个月" in page


def test_the_period_menu_offers_last_quarter_and_the_statistical_year_from_1_october():
    from screenings.indicators.periods import period_menu

    menu = dict(period_menu(date(2026, 12, 2)))
    assert menu["last_month"] == "2026-11" and menu["quarter"] == "2026-Q4"
    assert menu["last_quarter"] == "2026-Q3" and menu["statistical_year"] == "SY2027"
    assert dict(period_menu(date(2026, 2, 10)))["last_quarter"] == "2025-Q4"
    assert dict(period_menu(date(2026, 9, 30)))["statistical_year"] == "SY2026"
    assert parse_period("SY2027").start == date(2026, 10, 1)


def test_the_dashboard_switches_to_last_quarter_and_the_statistical_year_by_link(
    client, login, district, make_user, frozen_clock
):
    from registry.auth.models import Role

    _load(district)
    frozen_clock("2026-12-02 09:00")
    login(make_user(Role.PROGRAM_MANAGER, district["mch"]))
    page = client.get("/statistics?program=NEWBORN_HEARING").get_data(as_text=True)
    assert "上季度" in page and "period=2026-Q3" in page and "period=SY2027" in page
    year = client.get("/statistics?period=SY2027&program=NEWBORN_HEARING").get_data(as_text=True)
    assert "2026年10月1日 – 2027年9月30日" in year and 'aria-current="page">本统计年度' in year
