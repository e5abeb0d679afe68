"""Named, evidence-tagged values that a district may override without a code change."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum

SettingValue = int | Decimal | bool

_NAME = re.compile(r"^[A-Z][A-Z0-9_]*\.[A-Z][A-Z0-9_]*$")


class Evidence(StrEnum):
    """How sure programs.md is of a number (§0.1)."""

    SOURCED = "S"  # seen in a public source: a safe default, still editable
    RECALLED = "R"  # recalled from a named document, passage not retrieved: "to verify" in admin UI
    PROPOSED = "P"  # proposal or engineering default: never shown as a national rule


@dataclass(frozen=True, slots=True)
class Setting:
    """One configurable number of a program, with its evidence tag and source."""

    name: str  # "<PROGRAM>.<KEY>", the key of a district override
    default: SettingValue
    evidence: Evidence
    source: str  # "S12,S28", "§0.4" …: where programs.md found the value
    unit: str = ""
    note: str = ""

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"setting name {self.name!r} must look like PROGRAM.KEY in upper case")
        if not isinstance(self.evidence, Evidence):
            raise TypeError(f"setting {self.name}: evidence must be an Evidence, got {self.evidence!r}")
        if isinstance(self.default, float):
            # floats make edge comparisons (SpO2 94.9 vs 95) depend on binary rounding
            raise TypeError(f"setting {self.name}: use int or Decimal, not float")
        if not self.source:
            raise ValueError(f"setting {self.name}: a source is required")

    @property
    def program_code(self) -> str:
        """Return the program part of the name."""
        return self.name.split(".", 1)[0]


class SettingBook:
    """Collects a program module's settings while the module declares them."""

    def __init__(self, program_code: str) -> None:
        self._program_code = program_code
        self._settings: dict[str, Setting] = {}

    def add(
        self,
        key: str,
        default: SettingValue | str,
        evidence: str,
        source: str,
        unit: str = "",
        note: str = "",
    ) -> Setting:
        """Declare one setting; a string default is read as a Decimal."""
        value: SettingValue = Decimal(default) if isinstance(default, str) else default
        setting = Setting(f"{self._program_code}.{key}", value, Evidence(evidence), source, unit, note)
        if setting.name in self._settings:
            raise ValueError(f"setting {setting.name} declared twice")
        self._settings[setting.name] = setting
        return setting

    def freeze(self) -> tuple[Setting, ...]:
        """Return every setting declared so far, in declaration order."""
        return tuple(self._settings.values())


def coerce_setting_value(setting: Setting, raw: object) -> SettingValue:
    """Read an override (often a string from the settings table) as the type of the default."""
    default = setting.default
    if isinstance(default, bool):
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in {"true", "1", "yes"}:
            return True
        if text in {"false", "0", "no"}:
            return False
        raise ValueError(f"{setting.name}: {raw!r} is not true or false")
    if isinstance(default, int):
        if isinstance(raw, bool):
            raise ValueError(f"{setting.name}: {raw!r} is not a whole number")
        try:
            number = Decimal(str(raw).strip())
        except InvalidOperation as exc:
            raise ValueError(f"{setting.name}: {raw!r} is not a whole number") from exc
        if number != number.to_integral_value():
            raise ValueError(f"{setting.name}: {raw!r} is not a whole number")
        return int(number)
    try:
        number = Decimal(str(raw).strip())
    except InvalidOperation as exc:
        raise ValueError(f"{setting.name}: {raw!r} is not a number") from exc
    if not number.is_finite():
        raise ValueError(f"{setting.name}: {raw!r} is not a finite number")
    return number


@dataclass(frozen=True)
class SettingValues:
    """The values in force for one program: defaults with a district's overrides applied."""

    overrides: Mapping[str, SettingValue] = field(default_factory=dict)

    def __call__(self, setting: Setting) -> SettingValue:
        """Return the value in force for a setting."""
        return self.overrides.get(setting.name, setting.default)

    def number(self, setting: Setting) -> Decimal:
        """Return a numeric setting as a Decimal, for comparisons with measured values."""
        return Decimal(self(setting))

    def whole(self, setting: Setting) -> int:
        """Return a numeric setting as an int (counts, days, hours)."""
        return int(self(setting))

    def is_overridden(self, setting: Setting) -> bool:
        """Tell whether the district changed this setting."""
        return setting.name in self.overrides and self.overrides[setting.name] != setting.default

    @classmethod
    def resolve(
        cls, settings: Iterable[Setting], overrides: Mapping[str, object] | None, strict: bool = True
    ) -> SettingValues:
        """Validate the overrides that concern these settings and return the values in force.

        The override store holds every program's settings, so names of other programs are ignored;
        with `strict`, an unknown name of this program is an error because it is almost always a typo
        (a policy that reads only some of a program's settings resolves with strict=False).
        """
        if isinstance(overrides, SettingValues):
            overrides = overrides.overrides
        if not overrides:
            return cls()
        known = {s.name: s for s in settings}
        prefixes = {s.program_code for s in known.values()}
        resolved: dict[str, SettingValue] = {}
        for name, raw in overrides.items():
            if name in known:
                resolved[name] = coerce_setting_value(known[name], raw)
            elif strict and name.split(".", 1)[0] in prefixes:
                raise KeyError(f"unknown setting {name!r}")
        return cls(resolved)


def district_override_value(setting: Setting, raw: object) -> SettingValue:
    """Validate what a district wants a setting to be; a sourced [S] value is a national rule and stays."""
    if setting.evidence is Evidence.SOURCED:
        raise ValueError(
            f"{setting.name}: a sourced [S] value ({setting.source}) is a national rule; "
            "a district cannot change it"
        )
    return coerce_setting_value(setting, raw)
