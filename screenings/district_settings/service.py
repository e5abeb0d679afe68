"""Change a district's settings and read the values in force; every change is audited with its reason.

A district's value of a setting at a moment is the latest change (by effective time, then id) of that
setting effective at or before the moment; a change to NULL returns the setting to its program's
default. Changes are appended, never rewritten, so the values in force at any past moment can be read
again, and a case stores those of its opening (with the id of the last change among them as its
settings version).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping

import sqlalchemy as sa

from registry import audit
from registry.audit import Actor
from registry.extensions import db
from registry.institutions import Institution
from screenings.district_settings.models import DistrictSettingChange
from screenings.engine import Setting
from screenings.engine.settings import OutOfBounds, district_override_value
from screenings.programs import PROGRAMS

REASON_MAX = 500


@dataclasses.dataclass(frozen=True)
class DistrictSettings:
    """The overrides in force for a district at a moment (name -> stored text) and the last change's id."""

    district_id: int | None = None
    overrides: Mapping[str, str] = dataclasses.field(default_factory=dict)
    version: int | None = None


NO_DISTRICT = DistrictSettings()


class SettingChangeRefused(ValueError):
    """A change the settings page must refuse, naming the field (`value` or `reason`) and why."""

    def __init__(self, field: str, code: str, message: str, **parameters: object) -> None:
        super().__init__(message)
        self.field, self.code, self.parameters = field, code, parameters


def declared_setting(name: str) -> Setting | None:
    """Return the setting of this full name among every program's, or None."""
    program = PROGRAMS.get(name.split(".", 1)[0])
    if program is None:
        return None
    return next((s for s in program.settings if s.name == name), None)


def district_id_of(institution: Institution | None) -> int | None:
    """Return the id of the district an institution belongs to (the district itself for a district)."""
    district = institution.district if institution is not None else None
    return district.id if district is not None else None


def settings_in_force(district_id: int | None, at: dt.datetime) -> DistrictSettings:
    """Return a district's overrides in force at a moment, in one query."""
    if district_id is None:
        return NO_DISTRICT
    change = DistrictSettingChange
    latest = (
        sa.select(
            change.id,
            change.name,
            change.value,
            sa.func.row_number()
            .over(partition_by=change.name, order_by=(change.effective_at.desc(), change.id.desc()))
            .label("rank"),
        )
        .where(change.district_id == district_id, change.effective_at <= at)
        .subquery()
    )
    rows = db.session.execute(sa.select(latest.c.id, latest.c.name, latest.c.value).where(latest.c.rank == 1))
    overrides, version = {}, None
    for row_id, name, value in rows:
        version = row_id if version is None else max(version, row_id)
        if value is not None and declared_setting(name) is not None:
            overrides[name] = value
    return DistrictSettings(district_id, overrides, version)


def for_program(settings: DistrictSettings, program_code: str) -> dict[str, str]:
    """Return the overrides of one program's settings (what a case of the program stores)."""
    prefix = f"{program_code}."
    return {name: value for name, value in settings.overrides.items() if name.startswith(prefix)}


def settings_for_institution(institution: Institution | None, at: dt.datetime) -> DistrictSettings:
    """Return the overrides in force at a moment for the district an institution belongs to."""
    return settings_in_force(district_id_of(institution), at)


def stored_values_of() -> dict[str, set[str]]:
    """Return every value any district has ever set, by setting name (cases keep old ones)."""
    rows = db.session.execute(
        sa.select(DistrictSettingChange.name, DistrictSettingChange.value)
        .where(DistrictSettingChange.value.is_not(None))
        .distinct()
    )
    found: dict[str, set[str]] = {}
    for name, value in rows:
        found.setdefault(name, set()).add(value)
    return found


def _text(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def change_district_setting(
    district: Institution,
    name: str,
    raw: str | None,
    reason: str,
    actor: Actor,
    now: dt.datetime,
    effective_at: dt.datetime | None = None,
) -> DistrictSettingChange | None:
    """Set (or, with None or "", return to the default) a district's value of a [P]/[R] setting.

    Refuses an [S] value, a value of the wrong type or outside the program's bounds, a change with no
    reason and a change dated in the past (the values cases were opened under are never rewritten).
    Returns the new change row, or None when the value in force is already the one asked for.
    """
    setting = declared_setting(name)
    if setting is None:
        raise SettingChangeRefused("value", "UNKNOWN", f"no setting {name!r}")
    effective_at = now if effective_at is None else effective_at
    if effective_at < now:
        raise SettingChangeRefused("effective_at", "IN_THE_PAST", "a change cannot take effect in the past")
    reason = (reason or "").strip()
    if not reason:
        raise SettingChangeRefused("reason", "NO_REASON", "give the reason for the change")
    if len(reason) > REASON_MAX:
        raise SettingChangeRefused("reason", "TOO_LONG", "the reason is too long", limit=REASON_MAX)
    text = None
    if raw is not None and str(raw).strip() != "":
        try:
            value = district_override_value(setting, raw)
        except OutOfBounds as problem:
            raise SettingChangeRefused(
                "value", "OUT_OF_BOUNDS", str(problem), low=problem.low, high=problem.high
            ) from problem
        except ValueError as problem:
            code = "NATIONAL_RULE" if setting.evidence.value == "S" else "NOT_A_VALUE"
            raise SettingChangeRefused("value", code, str(problem)) from problem
        text = None if value == setting.default and type(value) is type(setting.default) else _text(value)
    elif setting.evidence.value == "S":
        message = f"{name}: a sourced [S] value is a national rule"
        raise SettingChangeRefused("value", "NATIONAL_RULE", message)
    before = settings_in_force(district.id, effective_at).overrides.get(name)
    if before == text:
        return None
    row = DistrictSettingChange(
        district_id=district.id,
        name=name,
        value=text,
        effective_at=effective_at,
        changed_at=now,
        changed_by_id=actor.user_id,
        changed_by_name=actor.username[:80],
        reason=reason,
    )
    db.session.add(row)
    db.session.flush()
    shown_before = before if before is not None else f"{_text(setting.default)} (default)"
    shown_after = text if text is not None else f"{_text(setting.default)} (default)"
    audit.record(
        actor, now, "district_setting_change", row.id, "SETTING_CHANGED",
        f"{district.code} {name}: {shown_before} -> {shown_after} from {effective_at.isoformat()}; "
        f"reason: {reason}",
    )  # fmt: skip
    return row


def setting_history(district: Institution, limit: int = 200) -> list[DistrictSettingChange]:
    """Return a district's changes, newest first."""
    return list(
        db.session.scalars(
            sa.select(DistrictSettingChange)
            .where(DistrictSettingChange.district_id == district.id)
            .order_by(DistrictSettingChange.changed_at.desc(), DistrictSettingChange.id.desc())
            .limit(limit)
        )
    )
