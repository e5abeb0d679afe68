"""Every page each role reaches, read in Chinese, shows no English left over and one way of writing dates.

The crawl starts from every route (with real ids, as the route matrix fills them) and follows the links it
finds. A page's visible text and the attributes a user reads (placeholder, title, aria-label, option labels)
must hold no English message of the catalogue, no run of English words, and no ISO date or time with seconds:
dates read 2026年12月2日, times 2026年12月2日 10:52 (issue 14).

Not read: what a page marks translate="no" (login names, pinyin, stored audit summaries, source citations of
the program specification), uploaded file names, a bare code kept as a tooltip beside its Chinese name,
and the API's reference for system integrators (/api/).
"""

import datetime as dt
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from babel.messages.pofile import read_po

from registry.auth.models import Role
from tests import factories
from tests.test_route_matrix import routes
from tests.test_route_matrix import seeded as seeded  # the fixture, used by name
from tests.test_translations import CATALOG

PAGES_CRAWLED = 250
# Names a user reads as they are: codes of methods and markers, file formats, the product's own words.
WORDS_KEPT = {
    "OAE", "AABR", "ABR", "SpO", "HBsAg", "HBeAg", "HBV", "HIV", "HPV", "TCT", "PDF", "CSV", "JSON", "UTF",
    "TSH", "PKU", "Phe", "CHD", "PMTCT", "ID", "SMS", "API", "OpenAPI", "TOTP", "CAH", "G6PD", "RPR", "TPPA",
    "TRUST", "ELISA", "ASC", "LSIL", "HSIL", "CIN", "BI", "RADS", "HL7", "M-CHAT", "CHAT", "ASQ", "DNA",
    "English", "Microsoft", "Google", "Authenticator", "FreeOTP", "mmHg",
    "IgM", "TP", "AGC", "SCC", "VIA", "VILI", "LEEP", "kg", "cm", "mg", "ml", "mL",
}  # fmt: skip
ENGLISH_RUN = re.compile(r"[A-Za-z][a-z]+(?:[ -]+[A-Za-z][a-z]+)+|\b[a-z]{3,}\b")
CODE = re.compile(r"[a-z_]+")  # a record's code kept as a tooltip beside its Chinese name (a job's kind)
FILE_NAME = re.compile(r"[\w.-]+\.(?:csv|json|xlsx?|txt|pdf)\b")
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}:\d{2}:\d{2}\b")
READ_ATTRIBUTES = {"placeholder", "title", "aria-label", "alt", "label"}


class VisibleText(HTMLParser):
    """The text a user reads on a page, and the site's own links."""

    UNREAD = {"script", "style", "code", "pre"}

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self.links: set[str] = set()
        self._hidden = 0
        self._stack: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in self.UNREAD or attrs.get("translate") == "no":
            self._hidden += 1
            self._stack.append(tag)
        if tag == "a" and (attrs.get("href") or "").startswith("/"):
            parts = urlsplit(attrs["href"])
            self.links.add(parts.path + (f"?{parts.query}" if parts.query else ""))
        if not self._hidden:
            self.parts.extend(
                v for k, v in attrs.items() if k in READ_ATTRIBUTES and v and not CODE.fullmatch(v)
            )
            if tag == "input" and attrs.get("type") in {"submit", "button"} and attrs.get("value"):
                self.parts.append(attrs["value"])

    def handle_endtag(self, tag):
        if self._stack and tag == self._stack[-1]:
            self._stack.pop()
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden and data.strip():
            self.parts.append(data.strip())


def english_messages() -> list[str]:
    """The catalogue's English sentences a page could show untranslated (two words or more, cut at %(x)s)."""
    with CATALOG.open("rb") as handle:
        catalog = read_po(handle)
    found = set()
    for message in catalog:
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        for msgid in ids:
            for piece in re.split(r"%\(\w+\)[sd]|%[sd]", msgid or ""):
                piece = piece.strip(" .,:;·()")
                if len(piece.split()) >= 2 and re.search(r"[a-z]{3}", piece):
                    found.add(piece)
    return sorted(found, key=len, reverse=True)


def problems_of(text: str, messages: list[str]) -> list[str]:
    text = FILE_NAME.sub("", text)
    found = [f"message {m!r}" for m in messages if m in text]
    for match in ENGLISH_RUN.finditer(text):
        words = re.split(r"[ -]+", match.group())
        if not all(w in WORDS_KEPT for w in words):
            found.append(f"English {match.group()!r}")
    found.extend(f"date {m.group()!r}" for m in ISO_DATE.finditer(text))
    return found


def crawl(client, app, seeded):  # noqa: F811
    """Read every page the client reaches; return {url: [problems]}."""
    messages = english_messages()
    to_visit = [url for _, _, url in routes(app, seeded)]
    visited: set[str] = set()
    findings: dict[str, list[str]] = {}
    while to_visit and len(visited) < PAGES_CRAWLED:
        url = to_visit.pop(0)
        if url in visited or url.startswith(("/static/", "/logout", "/language", "/api/")):
            continue
        visited.add(url)
        with client.get(url) as response:
            if response.status_code != 200 or not response.content_type.startswith("text/html"):
                continue
            page = VisibleText()
            page.feed(response.get_data(as_text=True))
        to_visit.extend(sorted(page.links - visited))
        problems = sorted({p for part in page.parts for p in problems_of(part, messages)})
        if problems:
            findings[url] = problems
    return visited, findings


@pytest.mark.parametrize(
    "role",
    [Role.CLINIC_STAFF, Role.FOLLOW_UP_COORDINATOR, Role.PROGRAM_MANAGER, Role.AUDITOR, Role.SYSTEM_ADMIN],
)
def test_every_page_reads_in_chinese_with_chinese_dates(
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
    login(factories.user(role, institution, sees_restricted_records=True))
    visited, findings = crawl(client, app, seeded)
    assert len(visited) >= 20
    assert not findings, "\n".join(f"{url}: {'; '.join(found)}" for url, found in sorted(findings.items()))
