"""Hostile and careless input answers with a clear page, never a server error (security.md items 25, 28)."""

import base64
import json

import pytest

from registry.auth.models import Role

HUGE = [2**31, 2**63, 10**30]


@pytest.fixture
def clinic_client(client, district, make_user, login):
    login(make_user(Role.CLINIC_STAFF, district["hospital"]))
    return client


@pytest.mark.parametrize("number", HUGE)
@pytest.mark.parametrize("path", ["/people/{}", "/cases/{}", "/results/{}", "/imports/{}"])
def test_an_id_past_the_database_range_is_not_found(clinic_client, path, number):
    assert clinic_client.get(path.format(number)).status_code == 404


@pytest.mark.parametrize("number", HUGE)
def test_an_out_of_range_mother_id_is_treated_as_absent(clinic_client, number):
    response = clinic_client.get(f"/people/register/newborn?mother_id={number}")
    assert response.status_code < 500


@pytest.mark.parametrize("sort", ["due", "risk"])
def test_a_forged_worklist_cursor_starts_from_the_top(clinic_client, sort):
    values = [2**70, "2026-01-01T00:00:00+00:00", 2**70] if sort == "risk" else ["2026-01-01T00:00:00", 2**70]
    cursor = base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")
    assert clinic_client.get(f"/cases/?sort={sort}&after={cursor}").status_code == 200


def test_a_nul_byte_in_a_form_field_is_refused_naming_the_field(clinic_client):
    response = clinic_client.post("/people/", data={"query": "李\x00梅"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "query" in page and "控制字符" in page


def test_a_nul_byte_in_a_query_parameter_is_refused(clinic_client):
    assert clinic_client.get("/cases/?program=NB\x00").status_code == 400


def test_an_upload_past_the_limit_gets_the_chinese_page(app, clinic_client):
    saved = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 1024
    try:
        response = clinic_client.post("/people/", data={"query": "x" * 4096})
    finally:
        app.config["MAX_CONTENT_LENGTH"] = saved
    assert response.status_code == 413
    assert "上限" in response.get_data(as_text=True)
