"""Plug screenings into the kernel: navigation, the person-page panel, notification kinds, demo data,
the onward step after registering a person, whose responsibility a person is, merge participation and
the `registry check-cases` command.

Called once from `registry.create_app()`, the only place where the kernel names this package.
"""

from __future__ import annotations

from flask import Flask, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from registry import hooks
from registry.web import current_scope


def _may_enter_results(user) -> bool:
    from screenings import access

    return access.may_enter_results(user, current_scope())


def _may_see_statistics(user) -> bool:
    from screenings.indicators.views import may_see_statistics

    return may_see_statistics(user)


def _may_see_reports(user) -> bool:
    from screenings import access

    return access.may_see_reports(user)


def _may_view_district_settings(user) -> bool:
    from screenings import access

    return access.may_view_district_settings(user)


def _after_registration(person, next_url: str | None) -> str | None:
    # Registered from the result-entry screen: go straight on to the result.
    if next_url and next_url == url_for("screenings.choose_person"):
        return url_for("screenings.enter_result", person_id=person.id)
    return None


def _panel(person):
    from screenings.views import person_panel

    return person_panel(person)


def _load_demo(seed: int = 2026, **_ignored) -> dict:
    from screenings.demo import load_demo_screenings

    return load_demo_screenings(seed=seed)


def register(app: Flask) -> None:
    """Register what screenings adds to the kernel's pages, notifications and commands."""
    from registry.people.merge import register_merge_participant
    from screenings import access
    from screenings.cases import connect_registry_signals
    from screenings.cases.cli import check_cases_command
    from screenings.cases.merging import CASE_MERGE_PARTICIPANT
    from screenings.indicators.cli import indicators_command, rebuild_facts_command
    from screenings.notices import NOTIFICATION_KINDS
    from screenings.reports import models as _report_models  # noqa: F401 (its table in the metadata)
    from screenings.reports.cli import report_command

    registry = hooks.registry_of(app)
    registry.navigation.extend(
        [
            hooks.NavItem("screenings.worklist", _l("Follow-up"), order=20),
            hooks.NavItem("routine.due_list", _l("Routine screening due"), order=22),
            hooks.NavItem(
                "screenings.choose_person", _l("Enter a result"), visible=_may_enter_results, order=30
            ),
            hooks.NavItem("imports.index", _l("Lab files"), order=40),
            hooks.NavItem("indicators.dashboard", _l("Statistics"), visible=_may_see_statistics, order=45),
            hooks.NavItem("reports.index", _l("Reports"), visible=_may_see_reports, order=47),
            hooks.NavItem(
                "district_settings.index",
                _l("District settings"),
                visible=_may_view_district_settings,
                order=48,
            ),
        ]
    )
    registry.person_panels.append(hooks.PersonPanel("screenings/_person_panel.html", _panel))
    registry.notification_kinds.update(NOTIFICATION_KINDS)
    registry.manual_jobs.update(
        {
            "sweep": hooks.ManualJob("sweep", "screenings.tasks.daily_sweep", _l("Run today's sweep now")),
            "reminders": hooks.ManualJob(
                "reminders", "screenings.tasks.send_reminders", _l("Send due reminders now")
            ),
        }
    )
    registry.demo_loaders.append(_load_demo)
    registry.after_registration.append(_after_registration)
    registry.responsibility.append(access.person_case_institutions)
    registry.responsibility_clauses.append(access.person_case_clause)
    registry.linked_labels.update(
        {
            "screening_result.person_id": _l("Screening results"),
            "follow_up_case.person_id": _l("Follow-up cases"),
        }
    )
    from screenings.texts import EVENT_LABELS

    registry.audit_action_labels.update({str(kind): text for kind, text in EVENT_LABELS.items()})
    registry.audit_action_labels.update(
        {
            "REQUEST": _l("Report requested"),
            "APPROVE": _l("Report approved"),
            "DOWNLOAD": _l("Downloaded"),
            "LATE_CORRECTION": _l("Late correction"),
        }
    )
    registry.audit_action_labels.update(
        {"MATCH": _l("Unmatched row matched"), "DISCARD": _l("Unmatched row discarded")}
    )
    registry.audit_action_labels["SETTING_CHANGED"] = _l("District setting changed")
    registry.job_kind_labels.update(
        {
            "sweep": _l("Daily sweep"),
            "reminders": _l("Reminders"),
            "import": _l("Result file import"),
            "report": _l("Monthly report build"),
        }
    )
    registry.job_result_links["import"] = ("imports.batch", "batch_id")
    # A monthly report's build links to its row on the reports page (status, SHA-256, download).
    registry.job_result_links["report"] = ("reports.index", "", "report-{}")
    registry.job_result_summaries.update({"sweep": _sweep_summary, "reminders": _reminders_summary})
    registry.audit_record_labels.update(
        {
            "follow_up_case": _l("Follow-up case"),
            "screening_result": _l("Screening result"),
            "import_batch": _l("Result file import"),
            "import_source": _l("Import source"),
            "indicator_target": _l("Annual target"),
            "monthly_report": _l("Monthly report"),
            "pregnancy": _l("Pregnancy"),
        }
    )
    registry.audit_record_links.update(
        {
            "follow_up_case": ("screenings.case_detail", "case_id"),
            "screening_result": ("screenings.result_detail", "result_id"),
        }
    )
    registry.merge_preview_filters.append(access.merge_preview_for)
    connect_registry_signals()
    # Follow-up cases follow their person through a merge; `registry check-cases` replays them.
    register_merge_participant(CASE_MERGE_PARTICIPANT)
    app.cli.add_command(check_cases_command)
    app.cli.add_command(rebuild_facts_command)
    app.cli.add_command(indicators_command)
    app.cli.add_command(report_command)


def _sweep_summary(result: dict) -> str:
    """What a daily sweep changed, as the jobs page says it."""
    return gettext(
        "overdue %(overdue)d · due soon %(due_soon)d · lost %(lost)d · escalated %(escalated)d · "
        "missed screenings %(missed)d",
        overdue=int(result["overdue"]), due_soon=int(result["due_soon"]), lost=int(result["lost"]),
        escalated=int(result["escalated"]), missed=int(result["missed_screenings"]),
    )  # fmt: skip


def _reminders_summary(result: dict) -> str:
    """What a reminder run sent, as the jobs page says it."""
    return gettext(
        "%(claimed)d reminders, %(notifications)d notifications, %(sms)d SMS queued",
        claimed=int(result["claimed"]), notifications=int(result["notifications"]),
        sms=int(result["sms_queued"]),
    )  # fmt: skip
