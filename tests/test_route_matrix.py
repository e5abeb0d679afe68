"""Every route × every role (security.md §1.7 item 1), over a seeded database so that every id is real.

An anonymous visitor is sent to the login page (a JSON route answers 401) on every route but the few that are
public by design; a 404 would hide a route that forgot its login check, so it fails here. No role meets a
server error on any page, and administration answers only to the administrator.
"""

import datetime as dt

import pytest
from flask import url_for

from registry.audit import Actor
from registry.auth.models import WEB_ROLES, Role
from registry.extensions import db
from registry.job_records import JobRecord
from registry.people.merge import merge_people
from screenings.reports.models import MonthlyReport
from tests import factories

# Reachable without logging in, on purpose. A new entry here is a security decision.
# The API's OpenAPI document and its reading describe routes, and hold no records.
PUBLIC = {"auth.login", "auth.set_language", "static", "api-docs.openapi_json", "api_docs.page"}
# Routes that answer JSON: an anonymous caller gets 401, not a redirect to an HTML page (the whole API).
JSON = {"jobs.job_status"}
JSON_PREFIXES = ("api.",)
# Route arguments that are not ids of seeded rows: a value that reaches the view.
WORDS = {"action": "note", "code": "en", "filename": "app.css", "kind": None, "fmt": "csv"}
KINDS = {"people.register": "woman", "imports.register": "newborn", "admin.start_job": "sweep"}


@pytest.fixture
def seeded(district):
    """One of everything a route can name: institution, user, people, result, case, import, job, merge."""
    hospital = district["hospital"]
    staff = factories.clinic_user(hospital)
    mother = factories.mother(hospital, name="陈静", phone="13900001111")
    baby = factories.newborn(hospital, mother=mother)
    recorded = factories.hearing_result(baby, hospital, left="REFER")
    twin = factories.person(hospital, name="陈静", birth_on=mother.birth_on)
    kept, removed = factories.person(hospital, name="赵敏"), factories.person(hospital, name="赵敏")
    merged = merge_people(kept, removed, Actor.system("seed"), factories.NOW, "同一人重复登记")
    source = factories.import_source(hospital)
    batch = factories.import_batch(source, staff)
    row = factories.unmatched_row(batch)
    job = JobRecord(kind="sweep", func="screenings.tasks.daily_sweep", created_by_id=staff.id,
                    created_at=factories.NOW)  # fmt: skip
    db.session.add(job)
    report = MonthlyReport(district_code=district["district"].code, month="2026-11", lang="zh",
                           requested_at=factories.NOW, requested_by_name="seed")  # fmt: skip
    db.session.add(report)
    db.session.flush()
    return {
        "institution_id": hospital.id,
        "user_id": staff.id,
        "person_id": baby.id,
        "first_id": mother.id,
        "second_id": twin.id,
        "result_id": recorded.result.id,
        "case_id": recorded.case.id,
        "batch_id": batch.id,
        "row_id": row.id,
        "record_id": job.id,
        "merge_id": merged.id,
        "report_id": report.id,
    }


def routes(app, seeded, methods=("GET",)):
    """Every route answering one of `methods`, as (endpoint, method, url) with its arguments filled in."""
    found = []
    for rule in app.url_map.iter_rules():
        for method in sorted(set(methods) & rule.methods):
            values = {}
            for name in rule.arguments:
                if name in seeded:
                    values[name] = seeded[name]
                elif name == "kind":
                    values[name] = KINDS[rule.endpoint]
                else:
                    values[name] = WORDS[name]
            with app.test_request_context():
                found.append((rule.endpoint, method, url_for(rule.endpoint, **values)))
    return sorted(set(found))


def test_every_route_is_listed_with_real_ids(app, seeded):
    endpoints = {endpoint for endpoint, _, _ in routes(app, seeded, ("GET", "POST"))}
    assert {"screenings.case_detail", "imports.unmatched", "merges.undo", "admin.edit_user"} <= endpoints


def test_anonymous_visitors_are_sent_to_the_login_page_from_every_route(app, client, seeded):
    wrong = []
    for endpoint, method, url in routes(app, seeded, ("GET", "POST")):
        if endpoint in PUBLIC:
            continue
        response = client.open(url, method=method)
        response.close()
        if endpoint in JSON or endpoint.startswith(JSON_PREFIXES):
            if response.status_code != 401:
                wrong.append((method, url, response.status_code))
        elif response.status_code != 302 or not response.headers["Location"].startswith("/login"):
            wrong.append((method, url, response.status_code, response.headers.get("Location")))
    assert not wrong, "open to anonymous visitors (or hidden behind a 404):\n" + "\n".join(map(str, wrong))


def test_the_public_routes_answer_anonymous_visitors(client):
    assert client.get("/login").status_code == 200
    with client.get("/static/app.css") as response:
        assert response.status_code == 200
    assert client.post("/language/en", data={"next": "/"}).status_code == 302


def opens(response) -> bool:
    """The page is shown, or the request is sent on to another page of the same section."""
    if response.status_code == 302:
        return response.headers["Location"].startswith("/admin/")
    return response.status_code == 200


@pytest.mark.parametrize("role", WEB_ROLES)
def test_no_page_fails_for_any_role_and_only_the_administrator_administers(
    app, client, district, seeded, login, frozen_clock, role
):
    frozen_clock(factories.NOW + dt.timedelta(days=1))  # the seeded records' day after, whatever today is
    institution = district["hospital"] if role is Role.CLINIC_STAFF else district["mch"]
    login(factories.user(role, institution))
    failed, administered = [], []
    for endpoint, _, url in routes(app, seeded):
        response = client.get(url)
        response.close()
        if response.status_code >= 500:
            failed.append((url, response.status_code))
        if endpoint.startswith("admin.") and role is not Role.SYSTEM_ADMIN and response.status_code != 403:
            administered.append((url, response.status_code))
        if endpoint.startswith("admin.") and role is Role.SYSTEM_ADMIN and not opens(response):
            administered.append((url, response.status_code))
    assert not failed, f"server errors for {role}: {failed}"
    assert not administered, f"administration pages for {role}: {administered}"
