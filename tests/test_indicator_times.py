"""The positive-case closure rate and the days from positive to diagnosis and to intervention (issue 17).

Declared once in the engine (`cascade_indicators`), computed for every program by the figures' engine,
shown on 统计分析 as rows with their numerator and denominator (the rows measured for a days figure).
"""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from registry.auth.models import Role
from registry.extensions import db
from screenings.engine import LOCAL_TZ, ResultClass, SubjectKind
from screenings.indicators.facts import write_facts
from screenings.indicators.figures import compute_figures
from tests.engine.indicator_facts import fact

JAN = (date(2026, 1, 1), date(2026, 1, 31))
AS_OF = date(2026, 12, 31)
POSITIVE_ON = date(2026, 1, 5)


def _on(day: date) -> datetime:
    return datetime.combine(day, time(9), LOCAL_TZ)


def _after(days: int) -> datetime:
    return _on(POSITIVE_ON + timedelta(days=days))


def _load(district, program="NEWBORN_HEARING", subject=SubjectKind.NEWBORN):
    """Hearing: six positives at the hospital, one at the community centre, one passed child."""
    d, h, c = district["district"].code, district["hospital"].code, district["community"].code
    born = (
        {"born": _on(date(2026, 1, 2))}
        if subject is SubjectKind.NEWBORN
        else {"delivered": _on(date(2026, 1, 2))}
    )

    def positive(person, place, **marks):
        return fact(program, person, institution=place, district=d, subject=subject, **born,
                    screened=(_on(POSITIVE_ON), "BILATERAL_REFER"), result_class=ResultClass.REFERRED,
                    positive=_on(POSITIVE_ON), **marks)  # fmt: skip

    rows = [
        positive(1, h, diagnosed=_after(10), treated=_after(50), closed=(_after(60), "TREATED")),
        positive(2, h, diagnosed=_after(20), treated=_after(61), closed=(_after(70), "TREATED")),
        positive(3, h, diagnosed=_after(30), closed=(_after(31), "NOT_CONFIRMED")),
        positive(4, h, diagnosed=_after(40)),
        positive(5, h, diagnosed=_after(100)),
        positive(6, h),  # still waiting for diagnosis: in the closure rate's denominator only
        positive(7, c, diagnosed=_after(7)),
        fact(
            program,
            8,
            institution=h,
            district=d,
            subject=subject,
            **born,
            screened=(_on(POSITIVE_ON), "BILATERAL_PASS"),
        ),  # fmt: skip
        # another district's positive: never counted here
        fact(
            program,
            9,
            institution=h,
            district="ELSEWHERE",
            subject=subject,
            **born,
            positive=_on(POSITIVE_ON),
            diagnosed=_after(1),
        ),  # fmt: skip
    ]
    write_facts([(r.person_id, r.program) for r in rows], rows)
    db.session.flush()
    return h, c


def _by(rows, code):
    return {r.institution: r for r in rows if r.indicator == code}


def test_closure_rate_and_days_equal_a_hand_count_by_institution_and_for_the_district(district):
    h, c = _load(district)
    rows = compute_figures(district["district"], *JAN, program="NEWBORN_HEARING", as_of=AS_OF)
    closure = _by(rows, "POSITIVE_CLOSURE_RATE")
    assert (closure[h].numerator, closure[h].denominator) == (3, 6) and closure[h].value == Decimal(50)
    assert (closure[c].numerator, closure[c].denominator, closure[c].value) == (0, 1, Decimal(0))
    assert (closure[None].numerator, closure[None].denominator) == (3, 7)
    # diagnosis: hospital 10, 20, 30, 40, 100 days; community 7 days
    median, p90 = _by(rows, "DAYS_TO_DIAGNOSIS_MEDIAN"), _by(rows, "DAYS_TO_DIAGNOSIS_P90")
    assert (median[h].denominator, median[h].value) == (5, Decimal(30))
    assert (p90[h].denominator, p90[h].value) == (5, Decimal(76))  # 40 + 0.6 × 60
    assert (median[c].denominator, median[c].value, p90[c].value) == (1, Decimal(7), Decimal(7))
    assert (median[None].denominator, median[None].value) == (6, Decimal(25))  # (20 + 30) / 2
    assert p90[None].value == Decimal(70)  # 40 + 0.5 × 60
    assert median[None].numerator is None and median[None].unit == "DAYS"
    # intervention: 50 and 61 days, both at the hospital
    median, p90 = _by(rows, "DAYS_TO_TREATMENT_MEDIAN"), _by(rows, "DAYS_TO_TREATMENT_P90")
    assert (median[h].denominator, median[h].value) == (2, Decimal("55.5"))
    assert (p90[None].denominator, p90[None].value) == (2, Decimal("59.9"))  # 50 + 0.9 × 11
    assert (median[c].denominator, median[c].value, median[c].reason) == (0, None, "no rows to measure")
    mch = district["mch"].code
    assert (closure[mch].denominator, closure[mch].value, closure[mch].reason) == (
        0,
        None,
        "zero denominator",
    )


def test_every_program_shows_the_closure_rate_and_days_once_each(district):
    from screenings.programs import PROGRAMS

    rows = compute_figures(district["district"], *JAN, as_of=AS_OF)
    codes = {"POSITIVE_CLOSURE_RATE", "DAYS_TO_DIAGNOSIS_MEDIAN", "DAYS_TO_DIAGNOSIS_P90",
             "DAYS_TO_TREATMENT_MEDIAN", "DAYS_TO_TREATMENT_P90"}  # fmt: skip
    for program in PROGRAMS:
        district_rows = [r.indicator for r in rows if r.program == program and r.institution is None]
        assert all(district_rows.count(code) == 1 for code in codes), program


def test_the_dashboard_shows_the_rows_in_chinese_with_numerator_and_denominator(
    client, login, district, make_user
):
    h, _c = _load(district)
    login(make_user(Role.PROGRAM_MANAGER, district["mch"]))
    page = client.get("/statistics?period=2026-01&program=NEWBORN_HEARING").get_data(as_text=True)
    for name in ("阳性病例结案率", "阳性至诊断天数(中位数)", "阳性至诊断天数(P90)",
                 "阳性至治疗/干预天数(中位数)", "阳性至治疗/干预天数(P90)"):  # fmt: skip
        assert name in page, name
    row = page.split(f'data-indicator="POSITIVE_CLOSURE_RATE" data-institution="{h}"')[1].split("</tr>")[0]
    assert 'data-part="num">3<' in row and 'data-part="den">6<' in row and "50.0" in row
    row = page.split(f'data-indicator="DAYS_TO_DIAGNOSIS_P90" data-institution="{h}"')[1].split("</tr>")[0]
    assert 'data-part="den">5<' in row and "76.0" in row and "<td>天</td>" in row
    row = page.split(f'data-indicator="INITIAL_SCREEN_RATE" data-institution="{h}"')[1].split("</tr>")[0]
    assert "<td>%</td>" in row and "PERCENT" not in row


def test_pmtct_closure_counts_under_five_are_masked_for_a_user_who_does_not_work_on_pmtct(
    client, login, district, make_user
):
    _load(district, program="PMTCT_HIV", subject=SubjectKind.PREGNANT_WOMAN)
    login(make_user(Role.PROGRAM_MANAGER, district["mch"]))
    page = client.get("/statistics?period=2026-01&program=PMTCT_HIV").get_data(as_text=True)
    community = district["community"].code
    row = page.split(f'data-indicator="POSITIVE_CLOSURE_RATE" data-institution="{community}"')[1]
    assert "&lt;5" in row.split("</tr>")[0] and 'data-part="num"' not in row.split("</tr>")[0]


def test_a_years_closure_rate_target_is_set_on_the_targets_page_and_marks_the_rows_below_it(
    client, login, district, make_user
):
    from screenings.indicators.targets import load_targets

    h, c = _load(district)
    login(make_user(Role.PROGRAM_MANAGER, district["mch"]))
    key = "NEWBORN_HEARING.POSITIVE_CLOSURE_RATE"
    page = client.get("/statistics/targets?year=2026").get_data(as_text=True)
    assert f'name="TARGET|{key}"' in page and "阳性病例结案率" in page
    client.post("/statistics/targets", data={"year": "2026", f"TARGET|{key}": "45"})
    book = load_targets(district["district"], 2026)
    rows = compute_figures(district["district"], *JAN, program="NEWBORN_HEARING", as_of=AS_OF, targets=book)
    closure = _by(rows, "POSITIVE_CLOSURE_RATE")
    assert closure[h].target == Decimal(45) and closure[h].meets_target is True  # 3/6 = 50%
    assert closure[None].meets_target is False  # 3/7 = 42.9%
    assert closure[c].meets_target is False  # 0/1
