"""Hostile and careless values posted to every form and every query of every page never give a server error.

security.md §1.7 items 25, 28, 33, 35. The forms are found the way a browser (or an attacker) finds
them: every page of a seeded database is read as each role sees it, and each form's fields are filled by
hypothesis with values the page offers, values that have caused 500s before (NUL bytes, ids past the integer
range, year 1, year 9999, numbers that overflow, full-width digits, kilobytes of text) and arbitrary text.
"""

import datetime as dt
import traceback
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.auth.models import Role
from tests import factories
from tests.test_route_matrix import routes
from tests.test_route_matrix import seeded as seeded  # the fixture, used by name

# Posting these would end the session or change its language; they are covered elsewhere.
NOT_POSTED = {"auth.logout", "auth.login", "auth.set_language"}

PAGES_CRAWLED = 400
HOSTILE = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "a\x00b",
        "0",
        "-1",
        str(2**31),
        str(2**63),
        str(10**30),
        "1e309",
        "NaN",
        "-0.0",
        "0001-01-01",
        "0001-01-01T00:00",
        "1899-12-31",
        "9999-12-31",
        "9999-12-31T23:59",
        "2026-02-30",
        "２０２６－０１－０１",
        "１１０１０１１９９０１２３４５６７８",
        "110101199001234567",
        "' OR 1=1 --",
        "<script>alert(1)</script>",
        "=cmd|' /C calc'!A0",
        "\u202e\u200b",
        "陈" * 5000,
        "x" * 100_000,
    ]
)


def value_for(offered: list[str]):
    """A value the page offers (so that the other fields' checks are reached), a hostile one, or any text."""
    if offered:
        return st.one_of(st.sampled_from(offered), HOSTILE, st.text(max_size=40))
    return st.one_of(HOSTILE, st.text(max_size=40))


def _local(url: str) -> str:
    """The path and query of a link (a fragment is not a different page)."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


class FormFinder(HTMLParser):
    """The forms of a page: (method, action, field names), the way a browser would submit them."""

    def __init__(self, page_url: str):
        super().__init__()
        self.page_url = page_url
        self.forms: list[tuple[str, str, dict[str, set[str]]]] = []
        self.links: set[str] = set()
        self._current: tuple[str, str, dict[str, set[str]]] | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href", "").startswith("/"):
            self.links.add(_local(attrs["href"]))
        if tag == "form":
            action = _local(attrs.get("action") or self.page_url)
            self._current = ((attrs.get("method") or "get").upper(), action, {})
            self.forms.append(self._current)
        elif tag in {"input", "select", "textarea", "button"} and self._current and attrs.get("name"):
            values = self._current[2].setdefault(attrs["name"], set())
            if attrs.get("value"):
                values.add(attrs["value"])
            self._select = attrs["name"] if tag == "select" else None
        elif tag == "option" and self._current and self._select and attrs.get("value"):
            self._current[2][self._select].add(attrs["value"])

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


def forms_of(client, app, seeded):  # noqa: F811
    """Every form on every page this client reaches from the routes and their links, by (method, action)."""
    found: dict[tuple[str, str], dict[str, set[str]]] = {}
    to_visit = [url for _, _, url in routes(app, seeded)]
    visited: set[str] = set()
    while to_visit and len(visited) < PAGES_CRAWLED:
        url = to_visit.pop(0)
        if url in visited or url.startswith(("/static/", "/logout")):
            continue
        visited.add(url)
        with client.get(url) as response:
            if response.status_code != 200 or not response.content_type.startswith("text/html"):
                continue
            finder = FormFinder(url)
            finder.feed(response.get_data(as_text=True))
        to_visit.extend(sorted(finder.links - visited))
        for method, action, fields in finder.forms:
            if action.startswith("/"):
                known = found.setdefault((method, action), {})
                for name, values in fields.items():
                    if name != "csrf_token":
                        known.setdefault(name, set()).update(values)
    posted_endpoints = {}
    adapter = app.url_map.bind("localhost")
    for method, action in found:
        try:
            endpoint, _ = adapter.match(urlsplit(action).path, method=method)
        except Exception:  # a form pointing at a route that does not take this method is a finding of its own
            continue
        posted_endpoints[(method, action)] = endpoint
    return [
        (method, action, {name: sorted(values) for name, values in sorted(found[(method, action)].items())})
        for (method, action), endpoint in sorted(posted_endpoints.items())
        if endpoint not in NOT_POSTED
    ]


@pytest.mark.parametrize("role", [Role.CLINIC_STAFF, Role.FOLLOW_UP_COORDINATOR, Role.SYSTEM_ADMIN])
def test_hostile_values_in_any_form_never_give_a_server_error(
    app,
    client,
    district,
    seeded,
    login,
    frozen_clock,
    role,  # noqa: F811
):
    frozen_clock(factories.NOW + dt.timedelta(days=1))
    institution = district["hospital"] if role is Role.CLINIC_STAFF else district["mch"]
    user = factories.user(role, institution, sees_restricted_records=True)
    login(user)
    forms = forms_of(client, app, seeded)
    assert len(forms) >= 10, forms  # the crawl found the application's forms, not only the search box

    failures = []

    @settings(
        max_examples=12,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=st.data())
    def post_hostile(data):
        drawn = [
            (method, action, {name: data.draw(value_for(offered)) for name, offered in fields.items()})
            for method, action, fields in forms
        ]
        for method, action, values in drawn:
            try:
                if method == "GET":
                    response = client.get(urlsplit(action).path, query_string=values)
                else:
                    response = client.post(action, data=values)
                response.close()
                status = response.status_code
            except Exception as error:  # the testing app propagates what production answers with a 500
                status = repr(error) + traceback.format_exc()[-600:]
            if not isinstance(status, int) or status >= 500:
                failures.append((method, action, {k: v[:40] for k, v in values.items()}, status))

    post_hostile()
    assert not failures, "server errors:\n" + "\n".join(map(str, failures[:20]))
