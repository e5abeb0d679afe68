"""PMTCT infant steps on the database: the HBV serology's earliest date, flagged on the case page."""

import datetime as dt

from registry.auth.models import Role
from screenings.cases import case_state, record_step
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
