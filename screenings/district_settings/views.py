"""The district settings page: a district's own [P]/[R] values of its programs, each changed with a reason."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup

from registry.auth.models import Role
from registry.extensions import db
from registry.i18n import N_
from registry.institutions import Institution, InstitutionKind
from registry.web import current_actor, current_user, login_required, utcnow
from screenings import access
from screenings.district_settings.models import DistrictSettingChange
from screenings.district_settings.service import (
    SettingChangeRefused,
    change_district_setting,
    setting_history,
    settings_in_force,
)
from screenings.engine import LOCAL_TZ, Evidence
from screenings.engine.settings import setting_bounds
from screenings.programs import PROGRAMS

bp = Blueprint("district_settings", __name__, url_prefix="/admin/settings")


def _districts() -> list[Institution]:
    return list(
        db.session.scalars(
            sa.select(Institution)
            .where(Institution.kind == InstitutionKind.DISTRICT)
            .order_by(Institution.code)
        )
    )


def _chosen_district(user) -> Institution | None:
    """The user's own district; an administrator chooses any (?district=CODE)."""
    own = user.institution.district if user.institution is not None else None
    code = request.values.get("district")
    if user.role is Role.SYSTEM_ADMIN and code:
        return next((d for d in _districts() if d.code == code), None) or abort(404)
    return own


def _shown(value) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _rows(program, in_force: dict[str, str]) -> list[dict]:
    rows = []
    for setting in program.settings:
        low, high = setting_bounds(setting)
        rows.append({
            "setting": setting, "default": _shown(setting.default), "own": in_force.get(setting.name),
            "editable": setting.evidence is not Evidence.SOURCED, "low": low, "high": high,
        })  # fmt: skip
    return rows


def _history(district: Institution) -> list[dict]:
    """The district's changes newest first, each with the value it replaced (old → new)."""
    changes = setting_history(district)
    ordered = sorted(changes, key=lambda c: (c.effective_at, c.id))
    before: dict[str, str | None] = {}
    lines = {}
    for change in ordered:
        lines[change.id] = {"change": change, "old": before.get(change.name), "new": change.value}
        before[change.name] = change.value
    return [lines[c.id] for c in changes]


def _default_of(name: str) -> str:
    program = PROGRAMS.get(name.split(".", 1)[0])
    try:
        return _shown(program.setting(name).default) if program else ""
    except KeyError:
        return ""


# What a setting's unit reads as; a unit not listed (µmol/L, IU/mL …) is shown as declared.
UNITS = {
    "days": N_("days"),
    "days of age": N_("days of age"),
    "working days": N_("working days"),
    "h": N_("hours"),
    "weeks": N_("weeks"),
    "completed weeks": N_("completed weeks of gestation"),
    "months": N_("months"),
    "months of age": N_("months of age"),
    "years": N_("years"),
    "attempts": N_("attempts"),
    "channels": N_("channels"),
    "of the step's window": N_("of the step's window"),
    "points": N_("points"),
    "feeds": N_("feeds"),
    "spots": N_("blood spots"),
    "g": N_("grams"),
    "per 100k": N_("per 100,000"),
}


def unit_label(unit: str) -> str:
    """Return a setting's unit as the page shows it (a unit of measure as declared, not to translate)."""
    if unit in UNITS:
        return _(UNITS[unit])
    return Markup('<span translate="no">{}</span>').format(unit) if unit else ""


def value_label(value: str | None) -> str | None:
    """Return a stored value as the page shows it (true/false read as yes/no)."""
    if value in ("true", "false"):
        return _("yes") if value == "true" else _("no")
    return value


REFUSALS = {
    "UNKNOWN": N_("There is no such setting."),
    "NATIONAL_RULE": N_("This is a national rule [S]: a district cannot change it."),
    "NOT_A_VALUE": N_("Enter a value of the setting's kind (a whole number, a number, or true/false)."),
    "OUT_OF_BOUNDS": N_("The value is outside the range the program allows."),
    "NO_REASON": N_("Give the reason for the change."),
    "TOO_LONG": N_("The reason is too long."),
    "IN_THE_PAST": N_("A change cannot take effect in the past."),
}


def _refusal(problem: SettingChangeRefused) -> str:
    text = _(REFUSALS.get(problem.code, "The change was refused."))
    if problem.code == "OUT_OF_BOUNDS":
        low, high = problem.parameters.get("low"), problem.parameters.get("high")
        text += " " + (
            _("Allowed: %(low)s to %(high)s.", low=low, high=high)
            if high is not None
            else _("Allowed: at least %(low)s.", low=low)
        )
    return text


def _effective_at(text: str, now: dt.datetime) -> dt.datetime:
    """A local date from the form: from the start of that day (today: from now)."""
    if not text.strip():
        return now
    day = dt.date.fromisoformat(text.strip())
    if not 2000 <= day.year <= 2100:
        raise ValueError(text)
    if day == now.astimezone(LOCAL_TZ).date():
        return now
    return dt.datetime.combine(day, dt.time(0), LOCAL_TZ).astimezone(dt.UTC)


@bp.route("/", methods=["GET", "POST"])
@login_required
def index():
    """Show a district's settings of one program, in force now, and change one with a reason."""
    user = current_user._get_current_object()
    if not access.may_view_district_settings(user):
        abort(403)
    district = _chosen_district(user)
    districts = _districts() if user.role is Role.SYSTEM_ADMIN else []
    if district is None:
        return render_template("district_settings/index.html", district=None, districts=districts)
    code = request.values.get("program") or next(iter(PROGRAMS))
    program = PROGRAMS.get(code) or abort(404)
    may_change = access.may_change_district_settings(user, district.id)
    now = utcnow()
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        if not may_change:
            abort(403)
        name = request.form.get("name", "")
        try:
            effective_at = _effective_at(request.form.get("effective_on", ""), now)
            changed = change_district_setting(
                district, name, request.form.get("value", ""), request.form.get("reason", ""),
                current_actor(), now, effective_at,
            )  # fmt: skip
        except ValueError as problem:
            db.session.rollback()
            message = (
                _refusal(problem)
                if isinstance(problem, SettingChangeRefused)
                else _("Enter the date as YYYY-MM-DD.")
            )
            errors[name] = message
            if not any(s.name == name for s in program.settings):
                flash(message, "error")
            status = 400
        else:
            db.session.commit()
            if changed is None:
                flash(_("Nothing changed: the value in force is already that one."), "info")
            else:
                flash(_("Setting %(name)s changed.", name=name), "success")
            return redirect(url_for(".index", program=program.code, district=request.values.get("district")))
    in_force = settings_in_force(district.id, now)
    return (
        render_template(
            "district_settings/index.html",
            district=district,
            districts=districts,
            program=program,
            programs=list(PROGRAMS.values()),
            rows=_rows(program, dict(in_force.overrides)),
            version=in_force.version,
            history=_history(district),
            may_change=may_change,
            errors=errors,
            form=request.form if errors else None,
            default_of=_default_of,
            now=now,
            unit_label=unit_label,
            value_label=value_label,
        ),
        status,
    )


__all__ = ["DistrictSettingChange", "bp"]
