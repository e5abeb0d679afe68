"""统计分析: the institution table sorts by any column, every count opens the records behind it, exports."""

import re

from registry.auth.models import Role
from tests.test_indicator_figures import _load

PAGE = "/statistics?period=2026-11&program=NEWBORN_HEARING"


def _rows(page: str, indicator: str) -> list[str]:
    """Return the data-institution of each figure row of one indicator, in page order."""
    found = re.findall(r'<tr data-indicator="([A-Z_]+)" data-institution="([^"]*)"', page)
    return [place for code, place in found if code == indicator]


def test_the_table_sorts_by_a_column_server_side_and_keeps_the_period_and_program(
    client, login, district, make_user
):
    h, c = _load(district)
    login(make_user(Role.PROGRAM_MANAGER, district["mch"]))
    plain = client.get(PAGE).get_data(as_text=True)
    assert "aria-sort" not in plain and 'data-sort="numerator"' in plain
    assert "sort=numerator" in plain and "period=2026-11" in plain
    up = client.get(f"{PAGE}&sort=denominator&dir=asc").get_data(as_text=True)
    # INITIAL_SCREEN_RATE denominators: hospital 3, community 2, MCH 0, district 5
    assert _rows(up, "INITIAL_SCREEN_RATE") == [district["mch"].code, c, h, ""]
    assert 'data-sort="denominator" aria-sort="ascending"' in up
    assert "sort=denominator&amp;dir=desc" in up  # the sorted header turns the order round
    down = client.get(f"{PAGE}&sort=denominator&dir=desc").get_data(as_text=True)
    assert _rows(down, "INITIAL_SCREEN_RATE") == ["", h, c, district["mch"].code]
    assert 'aria-sort="descending"' in down
    # the period menu and the form keep the order
    assert 'name="sort" value="denominator"' in down and "period=2026-Q4" in down
    assert client.get(f"{PAGE}&sort=password").status_code == 400


def test_empty_values_sort_last_either_way(client, login, district, make_user):
    _load(district)
    login(make_user(Role.PROGRAM_MANAGER, district["mch"]))
    for direction in ("asc", "desc"):
        page = client.get(f"{PAGE}&sort=value&dir={direction}").get_data(as_text=True)
        assert _rows(page, "INITIAL_SCREEN_RATE")[-1] == district["mch"].code  # 0/0 has no value


def test_masked_counts_sort_together_so_their_order_tells_nothing():
    from types import SimpleNamespace

    from screenings.indicators.views import sort_rows

    def item(place, numerator):
        row = SimpleNamespace(name="x", unit="PERCENT", target=None)
        return {"row": row, "place": place, "numerator": numerator, "denominator": None, "value": None}

    rows = [item("a", "<5"), item("b", 7), item("c", "<5"), item("d", 0)]
    assert [r["place"] for r in sort_rows(rows, "numerator", False)] == ["d", "a", "c", "b"]
    assert [r["place"] for r in sort_rows(rows, "numerator", True)] == ["b", "a", "c", "d"]


# -- drill-down: every count opens the records behind it --------------------------------------------


def _load_people(district, make_person):
    """Hand-built facts over real people: hearing, a woman screened twice for cervical cancer, PMTCT."""
    from screenings.engine import ResultClass, SubjectKind
    from screenings.indicators.facts import write_facts
    from tests.engine.indicator_facts import fact
    from tests.test_indicator_figures import _at

    d, h, c = district["district"].code, district["hospital"].code, district["community"].code
    born = {n: make_person(district["hospital"], name=f"婴儿{n}") for n in range(6)}
    born[3] = make_person(district["community"], name="婴儿3")
    far = make_person(district["far_hospital"], name="外区婴儿")
    woman = make_person(district["hospital"], name="周敏")
    mother = make_person(district["hospital"], name="孙丽")
    hearing, referred, passed, failed = (
        "NEWBORN_HEARING",
        ResultClass.REFERRED,
        "BILATERAL_PASS",
        "BILATERAL_REFER",
    )
    rows = [
        fact(hearing, born[0].id, institution=h, district=d, born=_at(1), screened=(_at(2), passed)),
        fact(hearing, born[1].id, institution=h, district=d, born=_at(3), screened=(_at(4), failed),
             result_class=referred, positive=_at(4), diagnosed=_at(20), closed=(_at(25), "NOT_CONFIRMED")),
        fact(hearing, born[2].id, institution=h, district=d, born=_at(5)),
        fact(hearing, born[3].id, institution=c, district=d, born=_at(6), screened=(_at(7), passed)),
        fact(hearing, born[4].id, institution=h, district=d, born=_at(8), screened=(_at(9), failed),
             result_class=referred, positive=_at(9), lost=_at(28), transferred=(_at(10), c)),
        fact(hearing, born[5].id, institution=h, district=d, born=_at(8, 10), screened=(_at(9, 10), passed)),
        fact(hearing, far.id, institution=h, district=d, born=_at(11), screened=(_at(12), passed)),
        fact("CERVICAL_CANCER", woman.id, institution=h, district=d, subject=SubjectKind.WOMAN,
             screened=(_at(2), "NEGATIVE")),
        fact("CERVICAL_CANCER", woman.id, institution=h, district=d, subject=SubjectKind.WOMAN, episode=2,
             screened=(_at(20), "NEGATIVE")),
        fact("PMTCT_HIV", mother.id, institution=h, district=d, subject=SubjectKind.PREGNANT_WOMAN,
             screened=(_at(3), "NEGATIVE"), delivered=_at(3)),
    ]  # fmt: skip
    write_facts(sorted({(r.person_id, r.program) for r in rows}), rows)
    return {"far": far, "mother": mother, "woman": woman, "born": born}


def _drills(rows):
    """Yield (drill, the figure's count) for every count on the dashboard that has records behind it."""
    from screenings.indicators.drilldown import Drill, drillable

    for r in rows:
        for part, count in (("num", r.numerator), ("den", r.denominator)):
            drill = Drill(r.program, r.indicator, part, r.institution)
            if count is not None and drillable(drill):
                yield drill, count


def test_every_drill_down_list_holds_as_many_records_as_its_figure(district, make_person):
    from screenings.indicators.drilldown import drill_count
    from screenings.indicators.figures import compute_figures
    from screenings.indicators.targets import load_targets
    from tests.test_indicator_figures import NOV

    _load_people(district, make_person)
    home = district["district"]
    rows = compute_figures(home, NOV.start, NOV.end, targets=load_targets(home, 2026))  # every program
    checked = list(_drills(rows))
    assert len({(d.program, d.indicator) for d, _n in checked}) >= 60 and any(n > 0 for _d, n in checked)
    for drill, count in checked:
        assert drill_count(drill, home.code, NOV.start, NOV.end) == count, drill
    # a woman screened twice counts once in a figure counted in persons, and is listed once
    persons = [
        (d, n) for d, n in checked if d.program == "CERVICAL_CANCER" and d.indicator == "SCREENING_RATE"
    ]
    assert persons and all(
        n == (1 if d.institution in (None, district["hospital"].code) else 0) for d, n in persons
    )
    assert any(d.indicator == "ANNUAL_TASK" and n == 2 for d, n in checked)  # episodes screened this year


def test_a_cascade_stage_lists_its_episodes(district, make_person):
    from screenings.indicators.cascade import program_cascade
    from screenings.indicators.drilldown import Drill, drill_count
    from tests.test_indicator_figures import NOV

    _load_people(district, make_person)
    d, c = district["district"].code, district["community"].code
    for place in (None, c):
        cascade = program_cascade("NEWBORN_HEARING", d, NOV.start, NOV.end, institution=place)
        for stage, count in cascade.counts.items():
            if stage != "closed_positive":
                assert (
                    drill_count(Drill("NEWBORN_HEARING", None, stage, place), d, NOV.start, NOV.end) == count
                )


def test_a_manager_opens_a_count_and_sees_its_records_with_those_out_of_scope_counted_not_named(
    client, login, district, make_user, make_person
):
    people = _load_people(district, make_person)
    login(make_user(Role.PROGRAM_MANAGER, district["mch"]))
    page = client.get(PAGE).get_data(as_text=True)
    h = district["hospital"].code
    link = re.search(
        f'data-indicator="INITIAL_SCREEN_RATE" data-institution="{h}"'
        r'.*?<a href="([^"]+)" data-part="num">(\d+)</a>',
        page,
        re.S,
    )
    assert link is not None
    url, figure = link.group(1).replace("&amp;", "&"), int(link.group(2))
    assert figure == 3  # 婴儿0, 婴儿1 and the baby registered in the other district
    listed = client.get(url).get_data(as_text=True)
    assert f'data-total="{figure}"' in listed
    assert listed.count("<tr data-person=") == figure - 1
    assert "婴儿0" in listed and "婴儿1" in listed and people["far"].name not in listed
    assert 'id="out-of-scope"' in listed and "1 条" in listed
    stage = re.search(r'<a href="([^"]+)" data-stage="positive">(\d+)</a>', page)
    positives = client.get(stage.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert f'data-total="{stage.group(2)}"' in positives and "婴儿4" in positives and "婴儿0" not in positives
    assert (
        "双耳未通过" in positives and 'data-result-class="REFERRED"' in positives
    )  # the screen as the person page names it


def test_pmtct_counts_never_open_names_to_a_user_who_does_not_work_on_pmtct(
    client, login, district, make_user, make_person
):
    import sqlalchemy as sa

    from registry.audit import AuditEvent
    from registry.extensions import db

    people = _load_people(district, make_person)
    login(make_user(Role.PROGRAM_MANAGER, district["mch"]))
    dashboard = client.get("/statistics?period=2026-11&program=PMTCT_HIV").get_data(as_text=True)
    assert 'data-part="num"' not in dashboard and "data-stage" not in dashboard
    url = "/statistics/records?period=2026-11&program=PMTCT_HIV&part=screened"
    masked = client.get(url).get_data(as_text=True)
    assert 'data-total="&lt;5"' in masked and 'id="restricted"' in masked
    assert people["mother"].name not in masked and "data-person" not in masked
    client.post("/logout")
    login(make_user(Role.PROGRAM_MANAGER, district["mch"], sees_restricted_records=True))
    shown = client.get(url).get_data(as_text=True)
    assert 'data-total="1"' in shown and people["mother"].name in shown
    audited = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.entity == "person", AuditEvent.action == "READ")
    ).all()
    assert [e.entity_id for e in audited] == [str(people["mother"].id)]


def test_clinic_staff_drill_into_their_own_institution_only(client, login, district, make_user, make_person):
    _load_people(district, make_person)
    h, c = district["hospital"].code, district["community"].code
    login(make_user(Role.CLINIC_STAFF, district["community"]))
    base = "/statistics/records?period=2026-11&program=NEWBORN_HEARING&indicator=INITIAL_SCREEN_RATE&part=num"
    assert client.get(f"{base}&institution={c}").status_code == 200
    assert client.get(f"{base}&institution={h}").status_code == 404
    assert client.get(base).status_code == 404  # the district total is not theirs
    unsupported = (
        "/statistics/records?period=2026-11&program=NEWBORN_METABOLIC&indicator=EDUCATION_RATE&part=num"
    )
    assert client.get(f"{unsupported}&institution={c}").status_code == 404  # no records behind "unsupported"


# -- exports ----------------------------------------------------------------------------------------


def _exports(db_audit_entity="statistics"):
    import sqlalchemy as sa

    from registry.audit import AuditEvent
    from registry.extensions import db

    return db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.entity == db_audit_entity, AuditEvent.action == "EXPORT")
    ).all()


def test_the_table_exports_as_shown_sorted_and_masked_as_csv_and_xlsx_and_each_export_is_audited(
    client, login, district, make_user, make_person
):
    import csv
    import io

    from openpyxl import load_workbook

    _load_people(district, make_person)
    login(make_user(Role.PROGRAM_MANAGER, district["mch"]))
    query = "period=2026-11&sort=denominator&dir=desc"
    page = client.get(f"/statistics?{query}").get_data(as_text=True)
    assert "/statistics/export.csv?" in page and "/statistics/export.xlsx?" in page
    response = client.get(f"/statistics/export.csv?{query}&program=NEWBORN_HEARING")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    table = list(csv.reader(io.StringIO(text[1:])))
    assert table[0][:5] == ["项目", "指标", "机构", "分子", "分母"]
    screened = [row for row in table[1:] if row[1] == "初筛率"]
    assert [row[4] for row in screened] == ["6", "4", "2", "0"]  # sorted by denominator, descending
    hiv = client.get(f"/statistics/export.xlsx?{query}&program=PMTCT_HIV")
    sheet = load_workbook(io.BytesIO(hiv.get_data())).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == "项目" and any(row[3] == "<5" for row in values[1:])
    assert all(row[3] in ("<5", 0, None) for row in values[1:])  # PMTCT: masked for this manager
    exported = _exports()
    assert (
        len(exported) == 2
        and "as csv" in exported[0].summary
        and "program=NEWBORN_HEARING" in exported[0].summary
    )


def test_a_drill_down_list_exports_its_visible_records_formula_safe_and_audited(
    client, login, district, make_user, make_person
):
    import csv
    import io

    from openpyxl import load_workbook

    people = _load_people(district, make_person)
    people["born"][0].name = "=HYPERLINK(1)"
    login(make_user(Role.PROGRAM_MANAGER, district["mch"]))
    base = "period=2026-11&program=NEWBORN_HEARING&indicator=INITIAL_SCREEN_RATE&part=num"
    listed = client.get(f"/statistics/records?{base}").get_data(as_text=True)
    assert "/statistics/records.csv?" in listed
    text = client.get(f"/statistics/records.csv?{base}").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0][0] == "姓名" and len(rows) - 1 == 4  # 5 screened in the district, 1 out of scope
    assert "'=HYPERLINK(1)" in [r[0] for r in rows]
    book = load_workbook(io.BytesIO(client.get(f"/statistics/records.xlsx?{base}").get_data()))
    cells = [c for row in book.active.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells) and "'=HYPERLINK(1)" in [c.value for c in cells]
    exported = _exports()
    assert [e.summary.split(" records")[0] for e in exported] == ["4 of 5", "4 of 5"]


def test_a_restricted_list_is_not_exported_to_a_user_who_sees_its_counts_only(
    client, login, district, make_user, make_person
):
    _load_people(district, make_person)
    login(make_user(Role.PROGRAM_MANAGER, district["mch"]))
    url = "/statistics/records.csv?period=2026-11&program=PMTCT_HIV&part=screened"
    assert client.get(url).status_code == 404 and not _exports()
    assert client.get(url.replace(".csv", ".pdf")).status_code == 404
