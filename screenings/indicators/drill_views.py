"""The records behind a figure of 统计分析 (drill-down): every count on the dashboard opens its list."""

from __future__ import annotations

from flask import abort, render_template, request
from flask_babel import gettext as _

from registry.auth.models import Role
from registry.extensions import db
from registry.web import current_actor, current_scope, current_user, login_required, utcnow
from screenings import access, texts
from screenings.engine import LOCAL_TZ, figure_indicators
from screenings.indicators.drilldown import NUMERATOR, Drill, drill_count, drill_page, drillable
from screenings.indicators.queries import institution_names
from screenings.indicators.targets import TASK_INDICATOR
from screenings.indicators.views import (
    _masked,
    _stage_labels,
    bp,
    chosen_district,
    chosen_period,
    may_see_statistics,
)
from screenings.programs import PROGRAMS

PAGE_SIZE = 100


def chosen_drill(user) -> Drill:
    """Return the figure asked for; 404 when no records are behind it or its place is not the user's."""
    program = request.args.get("program") or ""
    if program not in PROGRAMS:
        abort(404)
    drill = Drill(
        program,
        request.args.get("indicator") or None,
        request.args.get("part") or "",
        request.args.get("institution") or None,
    )
    if not drillable(drill):
        abort(404)
    if user.role == Role.CLINIC_STAFF and drill.institution != user.institution.code:
        abort(404)  # clinic staff see their own institution's figures only, as on the dashboard
    return drill


def screen_label(program_code: str, code: str | None) -> str:
    """Return the primary screen's result as the person's page names it (the test that has the code)."""
    if code is None:
        return ""
    for test in PROGRAMS[program_code].tests:
        if any(result.code == code for result in test.result_codes):
            return texts.result_label(program_code, code, test_code=test.code)
    return texts.result_label(program_code, code)


def figure_title(drill: Drill) -> str:
    """Return the figure's name as the dashboard shows it: indicator and part, or the cascade stage."""
    program = PROGRAMS[drill.program]
    if drill.indicator is None:
        return f"{program.zh} · {_('Cascade')} · {_stage_labels()[drill.part]}"
    if drill.indicator == TASK_INDICATOR:
        name = "完成年度任务"
    else:
        name = next(i.zh for i in figure_indicators(program) if i.code == drill.indicator)
    part = _("Numerator") if drill.part == NUMERATOR else _("Denominator")
    return f"{program.zh} · {name} · {part}"


@bp.get("/statistics/records")
@login_required
def records():
    """List the records behind one figure under the one access policy; a restricted program: its count."""
    user = current_user._get_current_object()
    if not may_see_statistics(user):
        abort(403)
    now = utcnow()
    period = chosen_period(now.astimezone(LOCAL_TZ).date())
    district = chosen_district(user)
    drill = chosen_drill(user)
    hide = drill.program in access.hidden_programs(user)
    try:
        page_number = max(1, int(request.args.get("page") or 1))
    except ValueError:
        abort(400)
    if hide:  # counts only, masked as on the dashboard: never a name
        shown_total = _masked(drill_count(drill, district.code, period.start, period.end), True)
        page = None
    else:
        page = drill_page(
            drill, district.code, period.start, period.end, current_scope(),
            offset=(page_number - 1) * PAGE_SIZE, limit=PAGE_SIZE,
        )  # fmt: skip
        shown_total = page.total
        if access.is_restricted(drill.program) and page.rows:
            access.audit_restricted_view(
                current_actor(), now, "person", sorted({r.person_id for r in page.rows}), drill.program
            )
            db.session.commit()
    names = institution_names()
    return render_template(
        "indicators/records.html", drill=drill, period=period, district=district, page=page, hide=hide,
        total=shown_total, title=figure_title(drill), names=names, page_number=page_number,
        page_size=PAGE_SIZE, place=names.get(drill.institution) if drill.institution else _("District total"),
        args={k: v for k, v in request.args.items() if k != "page"}, screen_label=screen_label,
    )  # fmt: skip
