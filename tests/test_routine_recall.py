"""Routine recall on the database: who is due for her next routine two-cancer screen, by institution."""

import datetime as dt
import itertools

import pytest

from registry.auth.access import scope_of
from registry.auth.models import Role
from registry.extensions import db
from screenings.engine import CaseReason, CaseStatus, SubjectKind
from screenings.models import FollowUpCase, ScreeningResult
from screenings.programs import PROGRAMS
from screenings.routine_recall import routine_due
from tests import factories

NOW = dt.datetime(2026, 12, 3, 2, tzinfo=dt.UTC)  # 10:00 on 3 December 2026 in Shanghai
_keys = itertools.count(1)


def screened(woman, institution, test, code, on: dt.date, program="CERVICAL_CANCER"):
    at = dt.datetime.combine(on, dt.time(2), dt.UTC)
    result = ScreeningResult(
        program=program, test=test, person_id=woman.id, institution_id=institution.id, performed_at=at,
        measured_values={}, result_code=code, rule_version="test", source_system="TEST",
        source_key=f"routine-{next(_keys)}", entered_at=at,
    )  # fmt: skip
    db.session.add(result)
    db.session.flush()
    return result


def woman(place, name, born=dt.date(1975, 5, 1)):
    return factories.person(place, name=name, birth_on=born)


@pytest.fixture
def women(district):
    h, c, far = district["hospital"], district["community"], district["far_hospital"]
    people = {}
    people["hpv_due"] = woman(h, "甲")
    screened(people["hpv_due"], h, "HPV", "NEG", dt.date(2021, 12, 20))  # due 2026-12-20: within 30 days
    people["hpv_missed"] = woman(c, "乙")
    screened(people["hpv_missed"], c, "HPV", "NEG", dt.date(2021, 6, 1))  # due 2026-06-01: missed
    people["nilm_due"] = woman(h, "丙")
    screened(people["nilm_due"], h, "CYTOLOGY", "NILM", dt.date(2023, 11, 30))  # due 2026-11-30: missed
    people["hpv_not_yet"] = woman(h, "丁")
    screened(people["hpv_not_yet"], h, "HPV", "NEG", dt.date(2023, 1, 5))  # due 2028
    people["screened_since"] = woman(h, "戊")
    screened(people["screened_since"], h, "HPV", "NEG", dt.date(2020, 1, 5))
    screened(people["screened_since"], h, "CYTOLOGY", "NILM", dt.date(2025, 1, 5))  # due 2028
    people["in_follow_up"] = woman(h, "己")
    opening = screened(people["in_follow_up"], h, "HPV", "NEG", dt.date(2020, 1, 5))
    db.session.add(
        FollowUpCase(
            program="CERVICAL_CANCER", person_id=people["in_follow_up"].id, reason=CaseReason.POSITIVE_RESULT,
            opened_at=opening.performed_at, first_step="COLPOSCOPY", subject_kind=SubjectKind.WOMAN,
            status=CaseStatus.OPEN, rule_version="test", state_as_of=NOW, opening_institution_id=h.id,
            responsible_institution_id=h.id,
        )
    )  # fmt: skip
    people["too_old"] = woman(h, "庚", born=dt.date(1960, 1, 1))  # 66 now, past 64
    screened(people["too_old"], h, "HPV", "NEG", dt.date(2021, 6, 1))
    people["far"] = woman(far, "辛")
    screened(people["far"], far, "HPV", "NEG", dt.date(2021, 6, 1))
    people["breast_due"] = woman(h, "壬")
    screened(people["breast_due"], h, "ULTRASOUND", "BIRADS_2", dt.date(2023, 10, 1), program="BREAST_CANCER")
    db.session.flush()
    return people


def _names(due):
    return [row.person.name for row in due.rows]


def test_the_women_due_are_those_whose_last_normal_screen_is_an_interval_old(district, women):
    coordinator = factories.user(Role.FOLLOW_UP_COORDINATOR, district["mch"])
    due = routine_due(scope_of(coordinator), PROGRAMS["CERVICAL_CANCER"], NOW)
    assert _names(due) == ["乙", "丙", "甲"]  # by due date; the far district's woman is out of scope
    by_name = {row.person.name: row for row in due.rows}
    assert by_name["甲"].due_on == dt.date(2026, 12, 20) and by_name["甲"].days_overdue == 0
    assert by_name["乙"].days_overdue == (dt.date(2026, 12, 3) - dt.date(2026, 6, 1)).days
    assert by_name["丙"].due_on == dt.date(2026, 11, 30)  # cytology: 3 years
    h, c = district["hospital"].id, district["community"].id
    assert (due.due_soon, due.overdue, due.total) == ({h: 1}, {c: 1, h: 1}, 3)
    breast = routine_due(scope_of(coordinator), PROGRAMS["BREAST_CANCER"], NOW)
    assert _names(breast) == ["壬"] and breast.rows[0].due_on == dt.date(2026, 10, 1)


def test_clinic_staff_see_their_institution_s_women(district, women):
    staff = factories.clinic_user(district["community"])
    assert _names(routine_due(scope_of(staff), PROGRAMS["CERVICAL_CANCER"], NOW)) == ["乙"]


def test_the_page_lists_the_women_due_by_institution(client, district, women, login, frozen_clock):
    frozen_clock(NOW)
    login(factories.user(Role.FOLLOW_UP_COORDINATOR, district["mch"]))
    page = client.get("/routine-recall/?program=CERVICAL_CANCER")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for person in ("hpv_due", "hpv_missed", "nilm_due"):
        assert f'data-person="{women[person].id}"' in html
    for person in ("hpv_not_yet", "screened_since", "in_follow_up", "too_old", "far"):
        assert f'data-person="{women[person].id}"' not in html
    assert district["community"].name in html
