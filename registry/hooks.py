"""Where the domain plugs into the kernel: navigation, person-page panels, notification kinds, demo data.

`registry/` knows people, institutions, users, audit, jobs and PDFs, and nothing of what happens to
people. A domain package (screenings) registers what it adds here, from `create_app()`; the kernel's
pages and commands read these registries and never import the domain.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any


@dataclasses.dataclass(frozen=True)
class NavItem:
    """A link of the main navigation: its endpoint, its (lazy) label, and who sees it."""

    endpoint: str
    label: Any
    visible: Callable[[Any], bool] = lambda user: True
    order: int = 50


@dataclasses.dataclass(frozen=True)
class PersonPanel:
    """A section of the person page: a template included with `person` and `panel` (what `build` returns)."""

    template: str
    build: Callable[[Any], Any]
    order: int = 50


@dataclasses.dataclass(frozen=True)
class NotificationKind:
    """How a kind of notification reads (in the current language) and the page of its subject."""

    text: Callable[[Any], str]
    link: Callable[[Any], str | None] = lambda notification: None


@dataclasses.dataclass(frozen=True)
class ManualJob:
    """A job an administrator may start by hand: its record kind, its dotted function, its button label."""

    kind: str
    function: str
    label: Any


@dataclasses.dataclass
class Registry:
    """Everything a domain package added to the kernel; one per application."""

    navigation: list[NavItem] = dataclasses.field(default_factory=list)
    person_panels: list[PersonPanel] = dataclasses.field(default_factory=list)
    notification_kinds: dict[str, NotificationKind] = dataclasses.field(default_factory=dict)
    manual_jobs: dict[str, ManualJob] = dataclasses.field(default_factory=dict)
    demo_loaders: list[Callable[..., dict]] = dataclasses.field(default_factory=list)
    # Institutions responsible for something of a person's outside their institution of record (a case
    # transferred to another clinic): each takes a person id and returns institution ids.
    responsibility: list[Callable[[int], Iterable[int]]] = dataclasses.field(default_factory=list)
    # The same, set-based for searches: each takes a Scope and returns a WHERE clause over person.id.
    responsibility_clauses: list[Callable[[Any], Any]] = dataclasses.field(default_factory=list)
    # What the rows a domain keeps about a person are called on the merge pages, by "table.column".
    linked_labels: dict[str, Any] = dataclasses.field(default_factory=dict)
    # What the audit trail calls the actions a domain writes (a case event's kind), by action code.
    audit_action_labels: dict[str, Any] = dataclasses.field(default_factory=dict)
    # What the jobs page calls a domain's job kinds (a JobRecord.kind), by kind.
    job_kind_labels: dict[str, Any] = dataclasses.field(default_factory=dict)
    # Where the jobs page links a job of a domain's kind: kind -> endpoint and the argument its first job
    # argument (an id) fills, e.g. an import job to its batch's page; an optional third element names the
    # page's anchor for that id instead ("report-{}": a monthly report's row on the reports page), and then
    # the argument may be "" (the id goes into the anchor only).
    job_result_links: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    # What a finished job of a domain's kind did, in words: kind -> function of the job's stored result.
    job_result_summaries: dict[str, Callable[[Any], str]] = dataclasses.field(default_factory=dict)
    # What the audit trail calls a domain's kinds of record (an AuditEvent.entity), by entity name.
    audit_record_labels: dict[str, Any] = dataclasses.field(default_factory=dict)
    # Where the audit trail links a domain's record: entity name -> endpoint and its id argument.
    audit_record_links: dict[str, tuple[str, str]] = dataclasses.field(default_factory=dict)
    # Adjust what the merge-compare page shows for this user: a domain takes out what the user may not
    # see (restricted records), so that no count tells they exist. Each takes (preview, first, second, user).
    merge_preview_filters: list[Callable[[Any, Any, Any, Any], Any]] = dataclasses.field(default_factory=list)
    # Where to go after registering a person when the request asked for a domain flow (e.g. result entry).
    after_registration: list[Callable[[Any, str | None], str | None]] = dataclasses.field(
        default_factory=list
    )

    def nav_for(self, user) -> list[NavItem]:
        return sorted((i for i in self.navigation if i.visible(user)), key=lambda i: i.order)

    def panels(self) -> list[PersonPanel]:
        return sorted(self.person_panels, key=lambda p: p.order)


def registry_of(app) -> Registry:
    """The application's hook registry (created on first use)."""
    return app.extensions.setdefault("registry_hooks", Registry())


def current() -> Registry:
    from flask import current_app

    return registry_of(current_app)


def load_demo(**kwargs) -> dict:
    """Run every registered demo loader after the kernel's own demo data; merge their summaries."""
    summary: dict = {}
    for loader in current().demo_loaders:
        summary.update(loader(**kwargs))
    return summary


def filter_merge_preview(preview, first, second, user):
    """The merge preview as this user may see it (every registered filter applied)."""
    for adjust in current().merge_preview_filters:
        preview = adjust(preview, first, second, user)
    return preview


def next_after_registration(person, next_url: str | None) -> str | None:
    for resolve in current().after_registration:
        target = resolve(person, next_url)
        if target:
            return target
    return None
