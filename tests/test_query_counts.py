"""List pages issue a fixed number of queries, however many rows they show (no N+1), and few of them.

Each page is measured with 5 rows and with 25: the counts must be equal, and under the bound stated here.
A bound that has to rise is a design decision to make on purpose, not a number to bump.
"""

import datetime as dt

import pytest

from registry.audit import Actor
from registry.extensions import db
from screenings.cases import log_contact_attempt
from screenings.engine import ContactChannel, ContactOutcome
from screenings.results import record_result
from tests import factories

D, H = dt.timedelta(days=1), dt.timedelta(hours=1)
CLINIC = Actor(user_id=None, username="clinic-test")


@pytest.fixture
def hospital(district):
    return district["hospital"]


@pytest.fixture
def clinic(app, hospital, login, frozen_clock):
    frozen_clock("2026-12-02 10:00")
    user = factories.clinic_user(hospital)
    login(user)
    return user


def queries_for(client, count_queries, url: str):
    # Production opens a fresh session per request; the test shares its session with the app, so forget
    # what the test's own writes left in the identity map, or a lazy load would be free the first time.
    db.session.expire_all()
    with count_queries() as queries:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return queries


def assert_flat(client, count_queries, url: str, add_rows, bound: int) -> None:
    """Show a page with 5 rows, then with 25: the same number of queries, and no more than `bound`."""
    add_rows(5)
    queries_for(client, count_queries, url)  # warm the process-wide caches (settings, translations)
    with_5 = queries_for(client, count_queries, url)
    add_rows(20)
    with_25 = queries_for(client, count_queries, url)
    assert with_25.count == with_5.count, f"5 rows: {with_5}\n25 rows: {with_25}"
    assert with_25.count <= bound, str(with_25)


def test_the_worklist(client, clinic, hospital, count_queries):
    def add_cases(n):
        for _ in range(n):
            factories.referred_case(factories.newborn(hospital), hospital)

    assert_flat(client, count_queries, "/cases/?tab=all", add_cases, bound=8)


def test_the_case_page(client, clinic, hospital, count_queries):
    case = factories.referred_case(factories.newborn(hospital, mother=factories.mother(hospital)), hospital)
    now = factories.BIRTH + 4 * D

    def add_attempts(n):
        nonlocal now
        for _ in range(n):
            now += H
            log_contact_attempt(case, ContactChannel.PHONE, ContactOutcome.NO_ANSWER, CLINIC, now)

    assert_flat(client, count_queries, f"/cases/{case.id}", add_attempts, bound=12)


def test_the_person_page(client, clinic, hospital, count_queries):
    woman = factories.mother(hospital)
    day = dt.date(2026, 1, 1)

    def add_results_and_children(n):
        nonlocal day
        for _ in range(n):
            day += 7 * D
            values = {"sampled_on": day.isoformat(), "hpv_result": "NEGATIVE"}
            record_result(woman, "CERVICAL_CANCER", "HPV", values, hospital, CLINIC, factories.NOW)
            factories.newborn(hospital, mother=woman)

    assert_flat(client, count_queries, f"/people/{woman.id}", add_results_and_children, bound=12)


def test_the_unmatched_import_queue(client, clinic, hospital, count_queries):
    source = factories.import_source(hospital)

    def add_rows(n):
        for _ in range(n):  # each row from its own file, so that a lazy load per row would show
            factories.unmatched_row(factories.import_batch(source, clinic))

    assert_flat(client, count_queries, "/imports/unmatched/", add_rows, bound=6)


def test_the_import_list(client, clinic, hospital, count_queries):
    def add_batches(n):
        for _ in range(n):  # each from its own source, so that a lazy load per row would show
            factories.unmatched_row(factories.import_batch(factories.import_source(hospital), clinic))

    assert_flat(client, count_queries, "/imports/", add_batches, bound=6)
