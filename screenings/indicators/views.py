"""The statistics dashboard (统计分析): every program's indicators for a district and period."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup

from registry.auth.models import Role
from registry.i18n import N_
from registry.web import current_user, login_required, utcnow
from screenings import access
from screenings.engine import LOCAL_TZ
from screenings.indicators.cascade import STAGES, Cascade, cascades_by_program, closure_trends
from screenings.indicators.charts import cascade_funnel, institution_bars, trend_line
from screenings.indicators.drilldown import DENOMINATOR, NUMERATOR, Drill, drillable
from screenings.indicators.facts import plan_without_jit
from screenings.indicators.figures import compute_figures
from screenings.indicators.periods import parse_period, period_menu
from screenings.indicators.queries import district_by_code, institution_names
from screenings.indicators.targets import load_targets, target_year
from screenings.programs import PROGRAMS

bp = Blueprint("indicators", __name__)

DASHBOARD_ROLES = {Role.PROGRAM_MANAGER, Role.FOLLOW_UP_COORDINATOR, Role.SYSTEM_ADMIN, Role.CLINIC_STAFF}
SMALL = 5  # PMTCT cells under this show as "<5" to users who do not work on PMTCT


def may_see_statistics(user) -> bool:
    """Tell whether the dashboard is in this user's navigation."""
    return user.role in DASHBOARD_ROLES


_UNIT_NAMES = {"PER_100K": N_("per 100,000"), "DAYS": N_("days"), "ONE_IN_N": N_("1 in N")}
_UNIT_SIGNS = {"PERCENT": "%", "PER_MILLE": "‰"}


def unit_name(unit) -> str:
    """Return an indicator's unit as the table shows it: %, ‰, /10万, 天, 1/N."""
    unit = str(unit)
    if unit in _UNIT_NAMES:
        return _(_UNIT_NAMES[unit])
    return _UNIT_SIGNS.get(unit, unit)


def _masked(value, hide: bool):
    if hide and value is not None and 0 < value < SMALL:
        return "<5"
    return value


# The figure table's columns, in order: what a column header sorts by (the shown value, so a "<5" cell
# sorts with every other "<5" cell and its hidden count cannot be read from the order).
SORT_COLUMNS = ("indicator", "institution", "numerator", "denominator", "value", "unit", "target")
_MASKED_KEY = 2.5  # between 0 and 5: where "<5" sorts among numbers


def _shown_number(value):
    if value is None:
        return None
    return _MASKED_KEY if value == "<5" else float(value)


def _sort_key(column: str):
    """Return the key function of a column over shown rows: (is empty, value); empties sort last."""

    def key(item):
        r = item["row"]
        value = {
            "indicator": r.name,
            "institution": item["place"],
            "numerator": _shown_number(item["numerator"]),
            "denominator": _shown_number(item["denominator"]),
            "value": _shown_number(item["value"]),
            "unit": str(r.unit),
            "target": _shown_number(r.target),
        }[column]
        return (value is None, value if value is not None else 0)

    return key


def sort_rows(rows: list[dict], column: str | None, descending: bool) -> list[dict]:
    """Return the shown rows ordered by a column (stable: ties keep the indicator order); empties last."""
    if column is None:
        return rows
    key = _sort_key(column)
    present = [r for r in rows if key(r)[0] is False]
    empty = [r for r in rows if key(r)[0] is True]
    return sorted(present, key=key, reverse=descending) + empty


def parse_sort(args) -> tuple[str | None, bool]:
    """Return (column or None, descending) from ?sort=&dir=; an unknown column is a 400."""
    column = args.get("sort") or None
    if column is not None and column not in SORT_COLUMNS:
        abort(400)
    return column, args.get("dir") == "desc"


def _period_names() -> dict[str, str]:
    return {
        "month": _("This month"), "last_month": _("Last month"), "quarter": _("This quarter"),
        "last_quarter": _("Last quarter"), "year_to_date": _("Year to date"),
        "statistical_year": _("Statistical year"), "last_statistical_year": _("Last statistical year"),
    }  # fmt: skip


def _column_names() -> list[tuple[str, str]]:
    return [
        ("indicator", _("Indicator")), ("institution", _("Institution")), ("numerator", _("Numerator")),
        ("denominator", _("Denominator")), ("value", _("Value")), ("unit", _("Unit")),
        ("target", _("Target")),
    ]  # fmt: skip


def _stage_labels() -> dict[str, str]:
    return {
        "screened": _("Screened"), "positive": _("Positive"), "recalled": _("Recalled"),
        "diagnosed": _("Diagnosed"), "confirmed": _("Confirmed"), "treated": _("Treated"),
        "closed": _("Closed"), "overdue": _("Overdue"), "lost": _("Lost to follow-up"),
    }  # fmt: skip


def _last_twelve_months(end) -> list[tuple]:
    months = []
    year, month = end.year, end.month
    for _i in range(12):
        first = end.replace(year=year, month=month, day=1)
        following = first.replace(year=year + month // 12, month=month % 12 + 1)
        months.append((first, following - timedelta(days=1)))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


def _chart_data(codes: list[str], district: str, period, only) -> dict[str, tuple]:
    """Return {program: (its cascades by institution, its 12-month closure rates)}: two queries for all."""
    if not codes:
        return {}
    plan_without_jit()
    by_program = cascades_by_program(codes, district, period.start, period.end)
    months = _last_twelve_months(period.end)
    trends = closure_trends(codes, district, months, institution=only)
    return {code: (by_program[code], list(zip(months, trends[code], strict=True))) for code in codes}


def _charts(name, code, data, only, names) -> dict:
    """Return the funnel, the 12-month closure trend and the institution bars of one program."""
    labels = _stage_labels()
    by_place, rates = data
    cascade = Cascade.total([c for p, c in by_place.items() if only in (None, p)])
    stages = [(labels[str(s)], cascade.counts[str(s)], str(s)) for s in STAGES]
    trend = [(f"{a.month}月", rate) for (a, _b), rate in rates]
    bars = [(names.get(p, p), c.closure_rate) for p, c in sorted(by_place.items()) if only in (None, p)]
    closure = _("Positive-case closure rate")
    return {
        "stages": stages,
        "trend": trend,
        "bars": bars,
        "funnel_svg": Markup(cascade_funnel(f"{name} · {_('Cascade')}", [(a, b) for a, b, _k in stages])),
        "trend_svg": Markup(
            trend_line(
                f"{name} · {closure} · {_('Last 12 months')}",
                trend,
                empty_label=_("No positive cases in the last 12 months: no closure rate"),
            )
        ),
        "bars_svg": Markup(institution_bars(f"{name} · {closure}", bars)),
    }


def chosen_district(user):
    """Return the user's district, or for an administrator the one asked for; 404 when there is none."""
    district = user.institution.district
    if user.role == Role.SYSTEM_ADMIN and request.args.get("district"):
        district = district_by_code(request.args["district"])
    if district is None:
        abort(404)
    return district


def _drill_links(r, base: str) -> dict[str, str]:
    """Return {part: URL of its records} for a figure row's numerator and denominator that have records.

    `base` is the program's records URL with the period (built once: url_for per cell cost 0.6 s a page).
    """
    links = {}
    for part, count in ((NUMERATOR, r.numerator), (DENOMINATOR, r.denominator)):
        if count is not None and drillable(Drill(r.program, r.indicator, part, r.institution)):
            place = f"&institution={quote(r.institution)}" if r.institution else ""
            links[part] = f"{base}&indicator={quote(r.indicator)}&part={part}{place}"
    return links


def chosen_period(today):
    """Return the period asked for (?period=), this month by default; 400 when it cannot be read."""
    try:
        return parse_period(request.args.get("period") or today.strftime("%Y-%m"), today)
    except ValueError:
        abort(400)


def figure_tables(user, period, district, program, only, sort, descending, *, charts: bool) -> list[dict]:
    """Return each program's shown rows, sorted; a restricted program's masked unless the user works on it."""
    hidden = access.hidden_programs(user)
    book = load_targets(district, target_year(period.end))
    rows = compute_figures(
        district, period.start, period.end, program=program, institution=only, targets=book
    )
    names = institution_names()
    drawn = [c for c in PROGRAMS if charts and c not in hidden and any(r.program == c for r in rows)]
    chart_data = _chart_data(drawn, district.code, period, only)
    tables = []
    for code, prog in PROGRAMS.items():
        mine = [r for r in rows if r.program == code]
        if not mine:
            continue
        hide = code in hidden
        base = url_for("indicators.records", period=period.label, program=code,
                       district=request.args.get("district"))  # fmt: skip
        shown = [
            {
                "row": r,
                "place": names.get(r.institution, r.institution) if r.institution else _("District total"),
                "numerator": _masked(r.numerator, hide),
                "denominator": _masked(r.denominator, hide),
                "value": None if hide and (r.numerator or 0) < SMALL and r.numerator else r.value,
                "links": {} if hide or not charts else _drill_links(r, base),
            }
            for r in mine
        ]
        table = {"code": code, "name": prog.zh, "rows": sort_rows(shown, sort, descending)}
        if code in chart_data:  # charts show raw counts: only to users who may see the program's small cells
            table.update(_charts(prog.zh, code, chart_data[code], only, names))
        tables.append(table)
    return tables


def chosen_figures(user, today, *, charts: bool):
    """Read the query string: (period, district, program, only, sort, descending, the shown tables)."""
    period = chosen_period(today)
    district = chosen_district(user)
    only = user.institution.code if user.role == Role.CLINIC_STAFF else None
    program = request.args.get("program") or None
    if program is not None and program not in PROGRAMS:
        abort(404)
    sort, descending = parse_sort(request.args)
    tables = figure_tables(user, period, district, program, only, sort, descending, charts=charts)
    return period, district, program, only, sort, descending, tables


@bp.get("/statistics")
@login_required
def dashboard():
    """Show every indicator of the chosen programs for a district and period, by institution."""
    user = current_user._get_current_object()
    if not may_see_statistics(user):
        abort(403)
    today = utcnow().astimezone(LOCAL_TZ).date()
    period, district, program, only, sort, descending, tables = chosen_figures(user, today, charts=True)
    return render_template(
        "indicators/dashboard.html", tables=tables, period=period, district=district,
        programs=[(c, p) for c, p in PROGRAMS.items()], program=program,
        sort=sort, descending=descending, columns=_column_names(), only=only,
        may_set_targets=access.may_set_targets(user), unit_name=unit_name,
        menu=[(_period_names()[key], text) for key, text in period_menu(today)],
    )  # fmt: skip


from screenings.indicators import drill_views, export_views, target_views  # noqa: E402,F401  (routes on this blueprint)
