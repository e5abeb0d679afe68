"""Every route × every role (security.md §1.7 item 1): nobody anonymous gets in, nobody gets a server error,
and administration answers only to the administrator."""

import pytest
from werkzeug.routing import IntegerConverter

from registry.auth.models import Role

PUBLIC = {"auth.login", "auth.set_language", "static"}


def get_routes(app):
    """Every GET route, with 1 for each integer argument and a plausible word for the others."""
    routes = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        values = {name: 1 if isinstance(converter, IntegerConverter) else "x"
                  for name, converter in rule._converters.items()}  # fmt: skip
        with app.test_request_context():
            from flask import url_for

            routes.append((rule.endpoint, url_for(rule.endpoint, **values)))
    return routes


def test_anonymous_visitors_are_sent_to_the_login_page(app, client):
    for endpoint, url in get_routes(app):
        if endpoint in PUBLIC:
            continue
        response = client.get(url)
        assert response.status_code in (302, 401, 404), (endpoint, response.status_code)
        if response.status_code == 302:
            assert "/login" in response.headers["Location"], endpoint


@pytest.mark.parametrize("role", list(Role))
def test_no_route_fails_for_any_role_and_only_the_administrator_administers(
    app, client, district, make_user, login, role
):
    institution = district["hospital"] if role is Role.CLINIC_STAFF else district["mch"]
    login(make_user(role, institution))
    for endpoint, url in get_routes(app):
        response = client.get(url)
        assert response.status_code < 500, (endpoint, url, response.status_code)
        if endpoint.startswith("admin.") and role is not Role.SYSTEM_ADMIN:
            assert response.status_code in (403, 404), (endpoint, role)
