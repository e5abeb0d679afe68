"""`registry check-cases`: replay cases and report drift between their events and stored columns."""

from __future__ import annotations

import datetime as dt

import click
from flask.cli import with_appcontext


@click.command("check-cases")
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="A sweep day: cases untouched since are replayed as of that day's sweep moment.",
)
@click.option("--sample", type=click.IntRange(min=1), default=None, help="Check this many random cases.")
@with_appcontext
def check_cases_command(as_of: dt.datetime | None, sample: int | None) -> None:
    """Replay cases through the engine and report every drift between their events and stored columns."""
    from screenings.cases.check import check_cases
    from screenings.sweep import sweep_moment

    moment = sweep_moment(as_of.date()) if as_of is not None else None
    report = check_cases(moment, sample)
    for drift in report.drifts:
        click.echo(str(drift))
    click.echo(f"checked {report.checked} cases: {len(report.drifts)} drifts in {report.drifted_cases} cases")
    if report.drifts:
        raise SystemExit(1)
