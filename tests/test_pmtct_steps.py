"""PMTCT infant steps on the database: the HBV serology's earliest date, flagged on the case page; the
syphilis-exposed infant's prophylaxis, decided from the mother's treatment."""

import datetime as dt

import pytest

from registry.auth.models import Role
from screenings.cases import CaseActionRefused, case_state, record_step
from screenings.cases.openings import open_exposed_infant
from screenings.programs import get_program
from tests import factories

D, H = dt.timedelta(days=1), dt.timedelta(hours=1)
BIRTH = dt.datetime(2026, 1, 10, 1, tzinfo=dt.UTC)  # 09:00 on 10 January in Shanghai
HBV = get_program("PMTCT_HBV")


def _to_serology(district):
    infant = factories.newborn(district["hospital"], born_at=BIRTH, name="乙小宝")
    case = open_exposed_infant(infant, HBV, factories.CLINIC, BIRTH + H)
    for at, step, code in (
        (BIRTH + 2 * H, "HBIG_AND_DOSE_1", "BOTH_GIVEN"),
        (BIRTH + 29 * D, "HEPB_DOSE_2", "GIVEN"),
        (BIRTH + 178 * D, "HEPB_DOSE_3", "GIVEN"),
    ):
        record_step(case, step, code, factories.CLINIC, at + H, occurred_at=at)
    return case


def test_a_serology_drawn_within_a_month_of_dose_3_is_flagged_on_the_case_page(
    client, district, login, frozen_clock
):
    case = _to_serology(district)
    dose_3 = BIRTH + 178 * D
    state = case_state(case, dose_3 + D)
    # the later of 7 months of age (10 August) and a month after dose 3 (7 August)
    assert state.earliest_at == dt.datetime(2026, 8, 10, 1, tzinfo=dt.UTC)
    drawn = dose_3 + 10 * D
    record_step(case, "SEROLOGY", "PROTECTED", factories.CLINIC, drawn + H, occurred_at=drawn)
    frozen_clock(drawn + 2 * H)
    login(factories.user(Role.CLINIC_STAFF, district["hospital"], sees_restricted_records=True))
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert 'class="too-early" data-step="SEROLOGY"' in html


# -- syphilis: the exposed infant's prophylaxis follows the mother's treatment ------------------------


def _treated_mother(district, started_days_before, completed_days_before, delivery):
    from tests.test_pmtct_exposure import syphilis

    mother = factories.mother(district["mch"], name="孙丽")
    tested = delivery - dt.timedelta(days=started_days_before + 2)
    case = syphilis(mother, district, tested, non_treponemal="POSITIVE").case
    start = delivery - dt.timedelta(days=started_days_before)
    steps = [(start, "TREATMENT_START", "STARTED"), (start + H, "CASE_REPORT", "FILED")]
    if completed_days_before is not None:
        steps.append((delivery - dt.timedelta(days=completed_days_before), "COURSE_1", "COMPLETED"))
    for at, step, code in steps:
        record_step(case, step, code, factories.CLINIC, at + H, occurred_at=at)
    return mother


def _infant_case(district, mother, delivery):
    from tests.test_pmtct_exposure import born, infant_cases

    infant = born(mother, district, delivery)
    (case,) = infant_cases(infant, SYPHILIS)
    assert case.current_step == "BIRTH_ASSESSMENT"
    return case


SYPHILIS = get_program("PMTCT_SYPHILIS")
DELIVERY = dt.datetime(2026, 9, 30, 2, tzinfo=dt.UTC)


def test_a_mother_treated_late_leaves_no_choice_and_the_dose_is_recorded(district):
    mother = _treated_mother(district, started_days_before=30, completed_days_before=9, delivery=DELIVERY)
    case = _infant_case(district, mother, DELIVERY)
    with pytest.raises(CaseActionRefused) as refused:
        record_step(case, "BIRTH_ASSESSMENT", "PROPHYLAXIS_NOT_INDICATED", factories.CLINIC, DELIVERY + 3 * H,
                    occurred_at=DELIVERY + 2 * H)  # fmt: skip
    assert refused.value.codes == ("MOTHER_TREATED_LATE",)
    event = record_step(case, "BIRTH_ASSESSMENT", "PROPHYLAXIS_GIVEN", factories.CLINIC, DELIVERY + 3 * H,
                        occurred_at=DELIVERY + 2 * H)  # fmt: skip
    assert event.data == {"prophylaxis_reason": "MOTHER_TREATED_LATE", "drug": "BENZATHINE_PENICILLIN_G",
                          "dose_u_per_kg": 50000, "route": "IM"}  # fmt: skip
    assert case.current_step == "FOLLOW_UP_3M"


def test_a_mother_treated_in_time_leaves_prophylaxis_to_the_birth_titre(
    district, client, login, frozen_clock
):
    mother = _treated_mother(district, started_days_before=60, completed_days_before=35, delivery=DELIVERY)
    case = _infant_case(district, mother, DELIVERY)
    frozen_clock(DELIVERY + 2 * H)
    login(factories.user(Role.CLINIC_STAFF, district["hospital"], sees_restricted_records=True))
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert 'id="maternal-decision"' in html
    record_step(case, "BIRTH_ASSESSMENT", "PROPHYLAXIS_NOT_INDICATED", factories.CLINIC, DELIVERY + 3 * H,
                occurred_at=DELIVERY + 2 * H)  # fmt: skip
    assert case.current_step == "FOLLOW_UP_3M"
