"""`registry rebuild-facts`: recompute the indicator fact table from results and events."""

from __future__ import annotations

import click
from flask.cli import with_appcontext


@click.command("rebuild-facts")
@with_appcontext
def rebuild_facts_command() -> None:
    """Recompute every indicator fact row from results and case events and report the differences."""
    from registry.extensions import db
    from screenings.indicators.facts import FACTS, rebuild

    differences = rebuild()
    db.session.commit()
    rows = db.session.scalar(db.select(db.func.count()).select_from(FACTS))
    click.echo(f"rebuilt {rows} fact rows: {differences} differed")
