"""统计分析 downloads: the figure table and a drill-down list as CSV or XLSX, each export audited.

A download holds exactly what the page shows the user: the table masked and sorted as on the dashboard,
the list narrowed by the one access policy; a restricted program's list is not exported to a user who
may not see its names (404, as for a list that does not exist). Cells are made formula-safe by
`registry.exports`, and every download writes one audited EXPORT row naming what was exported.
"""

from __future__ import annotations

from flask import abort, request
from flask_babel import gettext as _

from registry import audit
from registry.exports import FORMATS, download
from registry.extensions import db
from registry.web import current_actor, current_scope, current_user, login_required, utcnow
from screenings import access
from screenings.engine import LOCAL_TZ
from screenings.indicators.drill_views import chosen_drill, figure_title, screen_label
from screenings.indicators.drilldown import drill_page
from screenings.indicators.queries import institution_names
from screenings.indicators.views import (
    bp,
    chosen_district,
    chosen_figures,
    chosen_period,
    may_see_statistics,
)
from screenings.texts import outcome_label

EXPORT_LIMIT = 50_000


def _format(fmt: str) -> str:
    if fmt not in FORMATS:
        abort(404)
    return fmt


def _user():
    user = current_user._get_current_object()
    if not may_see_statistics(user):
        abort(403)
    return user


def _described(keys) -> str:
    return ", ".join(f"{k}={request.args[k]}" for k in keys if request.args.get(k)) or "no filter"


@bp.get("/statistics/export.<fmt>")
@login_required
def export_figures(fmt: str):
    """Download the figure table as shown (masked, sorted) as CSV or XLSX; the export is audited."""
    fmt = _format(fmt)
    user = _user()
    now = utcnow()
    period, district, _program, _only, _sort, _desc, tables = chosen_figures(
        user, now.astimezone(LOCAL_TZ).date(), charts=False
    )
    header = [_("Program"), _("Indicator"), _("Institution"), _("Numerator"), _("Denominator"), _("Value"),
              _("Unit"), _("Target"), _("Below target")]  # fmt: skip
    rows = []
    for table in tables:
        for item in table["rows"]:
            r = item["row"]
            rows.append([
                table["name"], r.name, item["place"], item["numerator"], item["denominator"],
                None if item["value"] is None else round(item["value"], 1), str(r.unit), r.target,
                "" if r.meets_target is None else (_("No") if r.meets_target else _("Yes")),
            ])  # fmt: skip
    what = _described(("period", "program", "district", "sort", "dir"))
    audit.record(current_actor(), now, "statistics", None, "EXPORT",
                 f"{len(rows)} figure rows as {fmt} ({district.code}, {what})")  # fmt: skip
    db.session.commit()
    return download(fmt, f"statistics-{district.code}-{period.label}", header, rows)


@bp.get("/statistics/records.<fmt>")
@login_required
def export_records(fmt: str):
    """Download the records behind one figure that the user may see, as CSV or XLSX; audited."""
    fmt = _format(fmt)
    user = _user()
    now = utcnow()
    period = chosen_period(now.astimezone(LOCAL_TZ).date())
    district = chosen_district(user)
    drill = chosen_drill(user)
    if drill.program in access.hidden_programs(user):
        abort(404)  # counts only: a restricted list is not there for this user
    page = drill_page(drill, district.code, period.start, period.end, current_scope(), limit=EXPORT_LIMIT)
    names = institution_names()
    header = [_("Name"), _("Birth date"), _("Institution"), _("Screened on"), _("Screening result"),
              _("Positive on"), _("Closed on"), _("Outcome"), _("Follow-up case")]  # fmt: skip
    iso = lambda day: day.isoformat() if day else ""  # noqa: E731
    rows = [
        [r.name, iso(r.birth_on), names.get(r.institution, r.institution), iso(r.screened_on),
         screen_label(drill.program, r.screened_code), iso(r.positive_on), iso(r.closed_on),
         outcome_label(r.outcome) if r.outcome else "", r.case_id or ""]
        for r in page.rows
    ]  # fmt: skip
    actor = current_actor()
    what = _described(("period", "program", "indicator", "part", "institution", "district"))
    summary = (
        f"{len(rows)} of {page.total} records of {figure_title(drill)} as {fmt} ({district.code}, {what})"
    )
    audit.record(actor, now, "statistics", None, "EXPORT", summary)
    if access.is_restricted(drill.program) and page.rows:
        access.audit_restricted_view(
            actor, now, "person", sorted({r.person_id for r in page.rows}), drill.program
        )
    db.session.commit()
    return download(fmt, f"records-{district.code}-{period.label}-{drill.program}", header, rows)
