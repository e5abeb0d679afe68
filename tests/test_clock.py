"""The application clock: one `now()` for every edge, which a web test can stop at any moment."""

import datetime as dt
import re

import pytest

from registry import clock, i18n, jobs, web
from tests import factories


def test_the_old_clock_names_are_the_one_clock():
    assert web.utcnow is clock.now and jobs.utc_now is clock.now
    assert i18n.DISPLAY_ZONE is clock.SHANGHAI and i18n.local_today is clock.local_today


def test_the_clock_runs_in_utc_outside_a_test_that_stops_it(app):
    with app.app_context():
        moment = clock.now()
    assert moment.utcoffset() == dt.timedelta(0)
    assert abs(moment - dt.datetime.now(dt.UTC)) < dt.timedelta(seconds=5)


def test_a_frozen_clock_reads_a_shanghai_wall_time_and_answers_in_utc(app, frozen_clock):
    frozen = frozen_clock("2026-12-02 09:00")
    assert frozen == dt.datetime(2026, 12, 2, 1, 0, tzinfo=dt.UTC)
    with app.app_context():
        assert clock.now() == frozen
        assert clock.local_today() == dt.date(2026, 12, 2)
    frozen_clock("2026-12-02 23:30", tz="UTC")
    with app.app_context():
        assert clock.local_today() == dt.date(2026, 12, 3)


def test_a_naive_instant_is_refused(app):
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.freeze(app, dt.datetime(2026, 12, 2, 9, 0))


# -- web pages read the frozen clock ----------------------------------------------------------------


def tab_count(page: str, tab: str) -> int:
    return int(re.search(rf'data-tab="{tab}">[^<]*<span class="count">(\d+)</span>', page).group(1))


def test_the_worklist_counts_due_today_and_overdue_as_of_the_frozen_clock(
    client, district, frozen_clock, login
):
    hospital = district["hospital"]
    case = factories.referred_case(factories.newborn(hospital, born_at=factories.BIRTH), hospital)
    assert case.due_at == dt.datetime(2026, 12, 30, 9, 0, tzinfo=clock.SHANGHAI)  # 42 days of age

    frozen_clock("2026-12-30 08:50")  # the session, too, lives on the frozen clock: log in after freezing
    login(factories.clinic_user(hospital))
    page = client.get("/cases/?tab=due_today").get_data(as_text=True)
    assert (tab_count(page, "due_today"), tab_count(page, "overdue")) == (1, 0)

    frozen_clock("2026-12-30 09:10")
    page = client.get("/cases/?tab=overdue").get_data(as_text=True)
    assert (tab_count(page, "due_today"), tab_count(page, "overdue")) == (0, 1)


@pytest.mark.parametrize("wall_time", ["2026-12-02 09:00", "2026-12-02 15:00"])
def test_a_sample_taken_today_is_accepted_in_the_morning_too(
    client, district, frozen_clock, login, wall_time
):
    """A date-only field means "some time that day": it is not in the future before noon.

    It was: the date was stored as noon in Shanghai, so every morning today's samples were refused."""
    hospital = district["hospital"]
    woman = factories.person(hospital)
    frozen_clock(wall_time)
    login(factories.clinic_user(hospital))
    response = client.post(
        f"/people/{woman.id}/results/new?program=CERVICAL_CANCER&test=HPV",
        data={"entry_token": "t-1", "sampled_on": "2026-12-02", "hpv_result": "NEGATIVE"},
    )
    errors = re.findall(r'class="error"[^>]*>([^<]*)', response.get_data(as_text=True))
    assert response.status_code == 302, errors


def test_a_sample_dated_tomorrow_is_still_refused(client, district, frozen_clock, login):
    hospital = district["hospital"]
    woman = factories.person(hospital)
    frozen_clock("2026-12-02 23:00")
    login(factories.clinic_user(hospital))
    response = client.post(
        f"/people/{woman.id}/results/new?program=CERVICAL_CANCER&test=HPV",
        data={"entry_token": "t-1", "sampled_on": "2026-12-03", "hpv_result": "NEGATIVE"},
    )
    assert response.status_code == 200 and "取样日期不能晚于现在。" in response.get_data(as_text=True)
