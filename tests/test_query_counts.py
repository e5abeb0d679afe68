"""List pages issue a fixed number of queries, however many rows they show (no N+1), and few of them.

Each page is measured with 5 rows and with 25: the counts must be equal, and under the bound stated here.
A bound that has to rise is a design decision to make on purpose, not a number to bump.
"""

import datetime as dt

import pytest

from registry import audit
from registry.audit import Actor
from registry.auth.models import Role
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


# -- every other list page (issue 18): the count does not grow with the rows shown -----------------------

NOW = dt.datetime(2026, 12, 2, 2, tzinfo=dt.UTC)


def _referred_cases(hospital, n):
    for _ in range(n):
        factories.referred_case(factories.newborn(hospital), hospital)


@pytest.mark.parametrize("tab", ["overdue", "due_week", "due_today", "escalated", "lost"])
def test_each_worklist_tab(client, clinic, hospital, count_queries, tab):
    assert_flat(client, count_queries, f"/cases/?tab={tab}", lambda n: _referred_cases(hospital, n), bound=8)


def test_the_transfers_tab(client, district, hospital, login, frozen_clock, count_queries):
    from screenings.cases import transfer_case
    from screenings.models import FollowUpCase

    frozen_clock("2026-12-02 10:00")
    community = district["community"]
    login(factories.clinic_user(community))

    def add_transfers(n):
        for _ in range(n):
            case = factories.referred_case(factories.newborn(hospital), hospital)
            assert isinstance(case, FollowUpCase)
            transfer_case(case, community, CLINIC, NOW)

    add_transfers(5)
    assert client.get("/cases/?tab=transfers").get_data(as_text=True).count("<tr data-case") == 5
    assert_flat(client, count_queries, "/cases/?tab=transfers", add_transfers, bound=8)


def test_a_coordinators_worklist_of_the_district(
    client, district, hospital, login, frozen_clock, count_queries
):
    frozen_clock("2026-12-02 10:00")
    login(factories.user(Role.FOLLOW_UP_COORDINATOR, district["mch"]))
    assert_flat(client, count_queries, "/cases/?tab=all", lambda n: _referred_cases(hospital, n), bound=9)


def test_the_person_search(client, clinic, hospital, count_queries):
    def add_people(n):
        for i in range(n):
            factories.newborn(hospital, name=f"王{unique_name(i)}", mother=factories.mother(hospital))

    assert_flat(client, count_queries, "/people/?q=%E7%8E%8B", add_people, bound=6)


def unique_name(i: int) -> str:
    return "小" + "一二三四五六七八九十"[factories.unique() % 10] + "一二三四五六七八九十"[i % 10]


def test_the_audit_trail(client, district, login, count_queries):
    login(factories.user(Role.AUDITOR, district["city"]))

    def add_rows(n):
        for i in range(n):
            writer = factories.user(Role.CLINIC_STAFF, district["hospital"])
            actor = Actor(user_id=writer.id, username=writer.username)
            audit.record(actor, NOW, "person", i + 1, "VIEW", "")
        db.session.flush()

    assert_flat(client, count_queries, "/audit", add_rows, bound=6)


def test_the_users_page(client, district, login, count_queries):
    login(factories.user(Role.SYSTEM_ADMIN, district["city"]))

    def add_users(n):
        for _ in range(n):
            factories.user(Role.CLINIC_STAFF, district["hospital"])

    assert_flat(client, count_queries, "/admin/users", add_users, bound=5)


def test_the_system_accounts_page(client, district, login, count_queries):
    login(factories.user(Role.SYSTEM_ADMIN, district["city"]))

    def add_accounts(n):
        for _ in range(n):
            factories.system_account(district["hospital"])
        db.session.flush()  # its audit row, so that it is not written inside the page's count

    assert_flat(client, count_queries, "/admin/system-accounts", add_accounts, bound=6)


def test_the_institutions_page(client, district, login, count_queries):
    login(factories.user(Role.SYSTEM_ADMIN, district["city"]))
    assert_flat(
        client,
        count_queries,
        "/admin/institutions",
        lambda n: [factories.district() for _ in range(n)],
        bound=5,
    )


def test_the_jobs_page(client, district, login, count_queries, monkeypatch):
    from redis.exceptions import RedisError

    from registry import jobs
    from registry.job_records import JobRecord, JobStatus

    def no_queue():
        raise RedisError("down")

    monkeypatch.setattr(jobs, "redis_connection", no_queue)
    admin = factories.user(Role.SYSTEM_ADMIN, district["city"])
    login(admin)

    def add_jobs(n):
        for i in range(n):
            starter = factories.user(Role.PROGRAM_MANAGER, district["mch"])
            status = JobStatus.FAILED if i % 2 else JobStatus.SUCCEEDED
            db.session.add(
                JobRecord(
                    kind="sweep", func="screenings.tasks.sweep", args=[], status=status, created_at=NOW,
                    created_by_id=starter.id, error="boom" if status is JobStatus.FAILED else None,
                )
            )  # fmt: skip
        db.session.flush()

    assert_flat(client, count_queries, "/admin/jobs", add_jobs, bound=6)


def test_the_reports_page(client, district, login, frozen_clock, count_queries):
    from screenings.reports.models import MonthlyReport, ReportStatus

    frozen_clock("2026-12-02 10:00")
    login(factories.user(Role.PROGRAM_MANAGER, district["mch"]))
    months = iter(f"{year}-{month:02d}" for year in range(2020, 2027) for month in range(1, 13))

    def add_reports(n):
        for _ in range(n):
            requester = factories.user(Role.PROGRAM_MANAGER, district["mch"])
            db.session.add(
                MonthlyReport(
                    district_code=district["district"].code, month=next(months), status=ReportStatus.FAILED,
                    error="font missing", requested_at=NOW, requested_by_id=requester.id,
                    requested_by_name=requester.username,
                )
            )  # fmt: skip
        db.session.flush()

    assert_flat(client, count_queries, "/reports/", add_reports, bound=10)


def test_the_routine_recall_list(client, clinic, hospital, count_queries):
    from screenings.models import ScreeningResult

    def add_due_women(n):
        for _ in range(n):
            woman = factories.person(hospital, birth_on=dt.date(1975, 5, 1))
            at = dt.datetime(2021, 12, 20, 2, tzinfo=dt.UTC)
            db.session.add(
                ScreeningResult(
                    program="CERVICAL_CANCER", test="HPV", person_id=woman.id, institution_id=hospital.id,
                    performed_at=at, measured_values={}, result_code="NEG", rule_version="test",
                    source_system="TEST", source_key=f"routine-qc-{factories.unique()}", entered_at=at,
                )
            )  # fmt: skip
        db.session.flush()

    add_due_women(5)
    assert client.get("/routine-recall/").status_code == 200
    assert_flat(client, count_queries, "/routine-recall/", add_due_women, bound=8)


def test_the_notifications_page(client, clinic, count_queries):
    from registry.notifications import Notification

    def add_notifications(n):
        for i in range(n):
            db.session.add(
                Notification(
                    user_id=clinic.id,
                    kind="TEST",
                    subject_type="person",
                    subject_id=i,
                    data={},
                    created_at=NOW,
                )
            )
        db.session.flush()

    assert_flat(client, count_queries, "/notifications", add_notifications, bound=6)


def test_the_statistics_drill_down(client, district, hospital, login, frozen_clock, count_queries):
    from screenings.indicators.facts import flush_facts

    frozen_clock("2026-12-02 10:00")
    login(factories.user(Role.PROGRAM_MANAGER, district["mch"]))
    hour = iter(range(0, 28 * 24, 7))

    def add_screened_babies(n):
        for _ in range(n):
            born = dt.datetime(2026, 11, 1, 2, tzinfo=dt.UTC) + next(hour) * H
            baby = factories.newborn(hospital, born_at=born)
            factories.hearing_result(baby, hospital, at=born + 50 * H)
        flush_facts()  # what a commit does: the babies' indicator facts

    url = "/statistics/records?period=2026-11&program=NEWBORN_HEARING&indicator=INITIAL_SCREEN_RATE&part=den"
    add_screened_babies(5)
    assert client.get(url).get_data(as_text=True).count("<tr") >= 5
    # PostgreSQL's two SET LOCAL (jit, work_mem) for the fact queries count too
    assert_flat(client, count_queries, url, add_screened_babies, bound=11)
