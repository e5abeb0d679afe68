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


FIELDS = ("program", "indicator", "name", "institution", "numerator", "denominator", "value", "unit",
          "target", "comparison", "meets_target", "reason")  # fmt: skip


@click.command("indicators")
@click.option("--district", "district_code", required=True, help="The district's institution code.")
@click.option(
    "--period", required=True, help="2026-11, 2026-Q4, 2026, SY2026, YTD2026 or 2026-01-01..2026-03-31"
)
@click.option("--program", default=None, help="One program's code (default: every program).")
@click.option("--institution", default=None, help="One facility's code (default: each, then the district).")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json")
@with_appcontext
def indicators_command(
    district_code: str, period: str, program: str | None, institution: str | None, fmt: str
) -> None:
    """Print the figures of a district and period: one row per program × indicator × institution."""
    import csv
    import json
    import sys

    import sqlalchemy as sa

    from registry.extensions import db
    from registry.institutions import Institution, InstitutionKind
    from screenings.indicators.figures import compute_figures
    from screenings.indicators.periods import parse_period
    from screenings.indicators.targets import load_targets, target_year
    from screenings.programs import PROGRAMS

    district = db.session.scalar(sa.select(Institution).where(Institution.code == district_code))
    if district is None or district.kind != InstitutionKind.DISTRICT:
        raise click.UsageError(f"no district {district_code}")
    if program is not None and program not in PROGRAMS:
        raise click.UsageError(f"no program {program}")
    try:
        chosen = parse_period(period)
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    rows = [r.as_dict() for r in compute_figures(
        district, chosen.start, chosen.end, program=program, institution=institution,
        targets=load_targets(district, target_year(chosen.end)),
    )]  # fmt: skip
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    writer = csv.DictWriter(sys.stdout, fieldnames=FIELDS)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
