"""`registry report build|verify|approve`: build a monthly report, check it reproduces, approve it."""

from __future__ import annotations

import click
from flask.cli import with_appcontext


@click.group("report")
def report_command() -> None:
    """Monthly district reports (月报)."""


@report_command.command("build")
@click.option("--district", "district_code", required=True, help="The district's institution code.")
@click.option("--month", required=True, help="The month, e.g. 2026-11.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh")
@click.option("--refresh", is_flag=True, help="Take a new snapshot (refused for an approved report).")
@with_appcontext
def build_command(district_code: str, month: str, lang: str, refresh: bool) -> None:
    """Build a report (snapshot once, then render); print its path and SHA-256."""
    from registry.audit import Actor
    from registry.extensions import db
    from registry.jobs import utc_now
    from screenings.reports.service import build_report, file_path, request_report

    now = utc_now()
    try:
        report, _created = request_report(district_code, month, lang, Actor.system("cli"), now)
        build_report(report, now, refresh=refresh, commit=db.session.commit)
    except ValueError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(
        f"{file_path(report)}\t{report.sha256}\t{report.page_count} pages\t{report.build_seconds:.2f} s"
    )


@report_command.command("verify")
@click.option("--district", "district_code", required=True)
@click.option("--month", required=True)
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh")
@with_appcontext
def verify_command(district_code: str, month: str, lang: str) -> None:
    """Render the stored snapshot again and compare with the archived SHA-256 (exit 1 when it differs)."""
    from screenings.reports.service import ReportError, find_report, verify_report

    report = find_report(district_code, month, lang)
    if report is None:
        raise click.ClickException(f"no report {district_code} {month} {lang}")
    try:
        outcome = verify_report(report)
    except ReportError as error:
        raise click.ClickException(str(error)) from error
    click.echo(
        f"archived {outcome['archived']}\nrebuilt  {outcome['rebuilt']}\non disk  {outcome['on_disk']}"
    )
    if not outcome["identical"]:
        raise click.ClickException(outcome["message"])
    click.echo(outcome["message"])


@report_command.command("approve")
@click.option("--district", "district_code", required=True)
@click.option("--month", required=True)
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh")
@click.option("--by", "username", required=True, help="The program manager who approves (audited as them).")
@with_appcontext
def approve_command(district_code: str, month: str, lang: str, username: str) -> None:
    """Approve a built report: from then on its snapshot and PDF never change (a rebuild is refused)."""
    import sqlalchemy as sa

    from registry.audit import Actor
    from registry.auth.models import User
    from registry.extensions import db
    from registry.jobs import utc_now
    from screenings.access import may_approve_reports
    from screenings.reports.service import ReportError, approve_report, find_report

    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user is None or not may_approve_reports(user):
        raise click.ClickException(f"{username} is not an active program manager: only one approves a report")
    report = find_report(district_code, month, lang)
    if report is None:
        raise click.ClickException(f"no report {district_code} {month} {lang}")
    try:
        approve_report(report, Actor(user_id=user.id, username=user.username), utc_now())
    except ReportError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"approved {district_code} {month} {lang} by {user.username}\t{report.sha256}")
