"""The targets page (年度目标): a manager sets the year's targets, tasks and population figures."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from registry.extensions import db
from registry.web import current_actor, current_user, login_required, utcnow
from screenings import access
from screenings.engine import LOCAL_TZ
from screenings.indicators.queries import district_facilities
from screenings.indicators.targets import (
    TASK_PROGRAMS,
    TargetKind,
    declared_populations,
    load_targets,
    set_target,
    settable_targets,
)
from screenings.indicators.views import bp, chosen_district
from screenings.programs import PROGRAMS


def _lines(book, place):
    """Return the page's lines: (kind, key, program name, label, unit, default text, own value, inherited)."""
    lines = []
    for prog, indicator in settable_targets():
        key = f"{prog.code}.{indicator.code}"
        setting = indicator.target
        default = setting.default if setting is not None else "—"
        source = f"{setting.evidence} {setting.source}" if setting is not None else indicator.source
        inherited = book.get(None, TargetKind.TARGET, key) if place is not None else None
        lines.append({
            "kind": TargetKind.TARGET, "key": key, "program": prog.zh, "label": indicator.zh,
            "unit": str(indicator.unit), "comparison": str(indicator.comparison),
            "default": default, "source": source,
            "own": book.own(place, TargetKind.TARGET, key),
            "inherited": inherited if inherited is not None else default,
        })  # fmt: skip
    for code in TASK_PROGRAMS:
        lines.append({
            "kind": TargetKind.TASK, "key": code, "program": PROGRAMS[code].zh, "label": _("Annual task"),
            "unit": "", "comparison": "", "default": "—", "own": book.own(place, TargetKind.TASK, code),
            "inherited": book.get(None, TargetKind.TASK, code) if place is not None else None,
        })  # fmt: skip
    for population in declared_populations():
        program = PROGRAMS[population.key.split(".", 1)[0]]
        lines.append({
            "kind": TargetKind.POPULATION, "key": population.key, "program": program.zh,
            "label": population.zh, "unit": "", "comparison": "", "default": "—",
            "own": book.own(place, TargetKind.POPULATION, population.key),
            "inherited": book.get(None, TargetKind.POPULATION, population.key) if place is not None else None,
        })  # fmt: skip
    return lines


def _parse(text: str) -> Decimal | None:
    text = text.strip()
    if not text:
        return None
    value = Decimal(text)
    if not value.is_finite() or value < 0:
        raise InvalidOperation(text)
    return value


@bp.route("/statistics/targets", methods=["GET", "POST"])
@login_required
def targets():
    """Show and set the year's targets, tasks and population figures of the district or one facility."""
    user = current_user._get_current_object()
    if not access.may_set_targets(user):
        abort(403)
    district = chosen_district(user)
    now = utcnow()
    try:
        year = int(request.values.get("year") or now.astimezone(LOCAL_TZ).year)
    except ValueError:
        abort(400)
    if not 2000 <= year <= 2100:
        abort(400)
    facilities = district_facilities(district)
    code = request.values.get("institution") or None
    place = next((f for f in facilities if f.code == code), None)
    if code is not None and place is None:
        abort(404)
    book = load_targets(district, year)
    lines = _lines(book, code)
    errors: set[str] = set()
    if request.method == "POST":
        wanted = {}
        for line in lines:
            field = f"{line['kind']}|{line['key']}"
            try:
                wanted[(line["kind"], line["key"])] = _parse(request.form.get(field, ""))
            except InvalidOperation:
                errors.add(field)
        if not errors:
            changed = sum(
                set_target(district, place, year, kind, key, value, current_actor(), now)
                for (kind, key), value in wanted.items()
            )
            db.session.commit()
            flash(_("%(count)d figures saved.", count=changed), "success")
            return redirect(url_for(".targets", year=year, institution=code,
                                    district=request.values.get("district")))  # fmt: skip
        flash(_("Enter a number of zero or more, or leave the field empty."), "error")
    return render_template(
        "indicators/targets.html", district=district, year=year, facilities=facilities, place=place,
        lines=lines, errors=errors, form=request.form if errors else None,
    )  # fmt: skip
