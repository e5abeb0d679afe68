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
    # The range a district's override must stay in; None takes the unit's default (setting_bounds).
    minimum: SettingValue | None = None
    maximum: SettingValue | None = None

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
        minimum: SettingValue | str | None = None,
        maximum: SettingValue | str | None = None,
    ) -> Setting:
        """Declare one setting; a string default (or bound) is read as a Decimal."""
        value: SettingValue = Decimal(default) if isinstance(default, str) else default
        low = Decimal(minimum) if isinstance(minimum, str) else minimum
        high = Decimal(maximum) if isinstance(maximum, str) else maximum
        setting = Setting(
            f"{self._program_code}.{key}", value, Evidence(evidence), source, unit, note, low, high
        )
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


# The range a district may set a value in when its program declares none, by the setting's unit: a
# deadline of at least one unit and at most a few years, a share of 0–100 %, a fraction of a window.
_UNIT_BOUNDS: dict[str, tuple[Decimal, Decimal]] = {
    "days": (Decimal(1), Decimal(3650)),
    "days of age": (Decimal(1), Decimal(3650)),
    "working days": (Decimal(1), Decimal(260)),
    "h": (Decimal(1), Decimal(8760)),
    "weeks": (Decimal(1), Decimal(520)),
    "completed weeks": (Decimal(1), Decimal(45)),
    "months": (Decimal(1), Decimal(120)),
    "months of age": (Decimal(1), Decimal(120)),
    "years": (Decimal(1), Decimal(10)),
    "%": (Decimal(0), Decimal(100)),
    "of the step's window": (Decimal(0), Decimal("0.9")),
    "attempts": (Decimal(1), Decimal(20)),
    "channels": (Decimal(1), Decimal(5)),
}


def setting_bounds(setting: Setting) -> tuple[Decimal | None, Decimal | None]:
    """Return the lowest and highest value a district may set: the program's own, else its unit's."""
    if isinstance(setting.default, bool):
        return None, None
    low, high = _UNIT_BOUNDS.get(setting.unit, (Decimal(0), None))
    if setting.minimum is not None:
        low = Decimal(setting.minimum)
    if setting.maximum is not None:
        high = Decimal(setting.maximum)
    return low, high


def district_override_value(setting: Setting, raw: object) -> SettingValue:
    """Validate what a district wants a setting to be; a sourced [S] value is a national rule and stays.

    The value must be of the setting's type and within its bounds (setting_bounds); each refusal is a
    ValueError whose message starts with the setting's name.
    """
    if setting.evidence is Evidence.SOURCED:
        raise ValueError(
            f"{setting.name}: a sourced [S] value ({setting.source}) is a national rule; "
            "a district cannot change it"
        )
    value = coerce_setting_value(setting, raw)
    if not isinstance(value, bool):
        low, high = setting_bounds(setting)
        if low is not None and Decimal(value) < low:
            raise OutOfBounds(setting, value, low, high)
        if high is not None and Decimal(value) > high:
            raise OutOfBounds(setting, value, low, high)
    return value


class OutOfBounds(ValueError):
    """A district's value outside the range its program allows."""

    def __init__(
        self, setting: Setting, value: SettingValue, low: Decimal | None, high: Decimal | None
    ) -> None:
        self.setting, self.value, self.low, self.high = setting, value, low, high
        upper = "" if high is None else f" and at most {high}"
        super().__init__(f"{setting.name}: {value} is out of range; it must be at least {low}{upper}")
