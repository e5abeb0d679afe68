"""marshmallow schemas that read one file row's text into typed values, generated from the test's fields.

Lab systems write values their own way: choice labels in Chinese ("通过"), dates as 2026/11/22 or
2026年11月22日, local times without a zone. The fields here accept those and give the engine typed
values; the engine then checks ranges and what is required. Errors are codes (ISSUE_MESSAGES says
them in the reader's language), so a stored report can be shown in Chinese or English.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from marshmallow import ValidationError, fields

from registry.i18n import DISPLAY_ZONE
from registry.people.idnumbers import IdNumberError, check_sex, normalise, parse_resident_id
from screenings.engine import Field, FieldKind, Sex
from screenings.imports.mapping import (
    BIRTH_ON,
    BIRTH_ORDER,
    ID_NUMBER,
    MOTHER_ID_NUMBER,
    NAME,
    SAMPLE_ID,
    Target,
)

_TRUE = {"true", "t", "1", "yes", "y", "是", "有", "√"}
_FALSE = {"false", "f", "0", "no", "n", "否", "无", "×"}
_LIST_SEPARATORS = re.compile(r"[,;，；、|]")
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_DATETIME = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?[\sT]*"
    r"(\d{1,2})\s*[:时]\s*(\d{1,2})(?:\s*[:分]\s*(\d{1,2})\s*秒?)?\s*分?$"
)


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class _Text(fields.Field):
    """A file cell: blank is missing; anything else is checked by `_read`."""

    default_error_messages = {"invalid": "INVALID", "required": "REQUIRED", "null": "REQUIRED"}

    def __init__(self, code: str = "INVALID", **kwargs: Any) -> None:
        super().__init__(allow_none=True, **kwargs)
        self.error_messages = {**self.error_messages, "invalid": code}

    def _deserialize(self, value, attr, data, **kwargs):
        if _blank(value):
            if self.required:
                raise self.make_error("required")
            return None
        try:
            return self._read(str(value).strip())
        except (ValueError, ArithmeticError):
            raise self.make_error("invalid") from None

    def _read(self, text: str) -> object:
        return text


class TextValue(_Text):
    def __init__(self, max_length: int | None = None, **kwargs: Any) -> None:
        super().__init__("TOO_LONG", **kwargs)
        self.max_length = max_length

    def _read(self, text: str) -> str:
        if self.max_length is not None and len(text) > self.max_length:
            raise ValueError(text)
        return text


class NumberValue(_Text):
    def __init__(self, integer: bool = False, **kwargs: Any) -> None:
        super().__init__("INVALID_INTEGER" if integer else "INVALID_NUMBER", **kwargs)
        self.integer = integer

    def _read(self, text: str) -> Decimal | int:
        try:
            number = Decimal(text.replace(",", ""))
        except InvalidOperation:
            raise ValueError(text) from None
        if not number.is_finite():
            raise ValueError(text)
        if self.integer:
            if number != number.to_integral_value():
                raise ValueError(text)
            return int(number)
        return number


class BooleanValue(_Text):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__("INVALID_BOOLEAN", **kwargs)

    def _read(self, text: str) -> bool:
        lowered = text.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError(text)


class ChoiceValue(_Text):
    """A declared choice, written as its code or its Chinese or English label ("通过", "Pass", "PASS").

    `value_map` is what a source's own spellings mean ("16" -> HPV16, "弱阳性" -> None: refused); it is
    read before the declared spellings, since the user confirmed it for this source.
    """

    def __init__(
        self,
        field: Field,
        many: bool = False,
        value_map: Mapping[str, str | None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__("UNKNOWN_CHOICE", **kwargs)
        self.many = many
        self.lookup: dict[str, str | None] = {}
        for choice in field.choices:
            for spelling in (choice.code, choice.zh, choice.en):
                self.lookup.setdefault(value_key(spelling), choice.code)
        known = {c.code for c in field.choices}
        for key, code in (value_map or {}).items():
            if code is None or code in known:  # a code the program no longer declares is not applied
                self.lookup[key] = code
        self.order = [c.code for c in field.choices]

    def _one(self, text: str) -> str:
        key = value_key(text)
        if key not in self.lookup:
            raise ValueError(text)
        code = self.lookup[key]
        if code is None:
            raise ValidationError("VALUE_REFUSED")
        return code

    def _read(self, text: str) -> str | tuple[str, ...]:
        if not self.many:
            return self._one(text)
        picked = {self._one(part) for part in split_choices(text)}
        return tuple(code for code in self.order if code in picked)


def split_choices(text: str) -> list[str]:
    """The parts of a multiple-choice cell: "16,18", "16；52", "16、18"."""
    return [part.strip() for part in _LIST_SEPARATORS.split(text) if part.strip()]


def value_key(text: str) -> str:
    """Compare a cell's value with a spelling loosely: no case or spaces."""
    return "".join(text.split()).casefold()


def read_date(text: str) -> dt.date:
    """Read 2026-11-22, 2026/11/22, 2026.11.22, 20261122 or 2026年11月22日."""
    match = _DATE.match(text) or _COMPACT_DATE.match(text)
    if match is None:
        raise ValueError(text)
    year, month, day = (int(part) for part in match.groups())
    return dt.date(year, month, day)


class DateValue(_Text):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__("INVALID_DATE", **kwargs)

    def _read(self, text: str) -> dt.date:
        return read_date(text)


class DateTimeValue(_Text):
    """A date and time; one written without a zone is the lab's local time, Asia/Shanghai."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("INVALID_DATETIME", **kwargs)

    def _read(self, text: str) -> dt.datetime:
        match = _DATETIME.match(text)
        if match is not None:
            year, month, day, hour, minute, second = (int(p) if p else 0 for p in match.groups())
            value = dt.datetime(year, month, day, hour, minute, second)
        else:
            value = dt.datetime.fromisoformat(text)
        if value.tzinfo is None:
            value = value.replace(tzinfo=DISPLAY_ZONE)
        return value.astimezone(dt.UTC)


class IdNumberValue(_Text):
    """An identity document number; one that looks like a resident ID must pass the GB 11643 checks.

    `sex` is the sex every subject of the program has (a women's program): a resident ID of the other
    sex is refused with registration's own check, as the registration form refuses it.
    """

    def __init__(self, sex: Sex | None = None, **kwargs: Any) -> None:
        super().__init__("ID_CHARACTERS", **kwargs)
        self.sex = sex

    def _deserialize(self, value, attr, data, **kwargs):
        if _blank(value):
            return None
        number = normalise(str(value))
        if len(number) > 40:
            raise ValidationError("ID_LENGTH")
        if number[:-1].isdigit() and len(number) >= 15:
            try:
                parsed = parse_resident_id(number)
                if self.sex is not None:
                    check_sex(parsed, male=self.sex is Sex.MALE)
            except IdNumberError as error:
                raise ValidationError(f"ID_{error.code.upper()}") from None
        return number


def field_for(declared: Field, value_map: Mapping[str, str | None] | None = None) -> fields.Field:
    """Return the marshmallow field that reads a file cell for one declared test field."""
    kind = declared.kind
    if kind in (FieldKind.DECIMAL, FieldKind.INTEGER):
        return NumberValue(integer=kind is FieldKind.INTEGER)
    if kind is FieldKind.CHOICE:
        return ChoiceValue(declared, value_map=value_map)
    if kind is FieldKind.MULTI_CHOICE:
        return ChoiceValue(declared, many=True, value_map=value_map)
    if kind is FieldKind.BOOLEAN:
        return BooleanValue()
    if kind is FieldKind.DATE:
        return DateValue()
    if kind is FieldKind.DATETIME:
        return DateTimeValue()
    return TextValue()  # TEXT: the engine checks the declared length


class RowReader:
    """Reads one row's cells into typed values with each target's field, no Schema object per row.

    Built once per import; `read` is the hot path: one `deserialize` per mapped cell.
    """

    def __init__(self, fields_by_target: dict[str, fields.Field]) -> None:
        self.fields = fields_by_target

    def read(self, text: Mapping[str, str]) -> tuple[dict[str, object], dict[str, list[str]]]:
        """Return the values read and, per target, the codes of what is wrong with its cell."""
        values: dict[str, object] = {}
        errors: dict[str, list[str]] = {}
        for target, field in self.fields.items():
            try:
                values[target] = field.deserialize(text.get(target, ""))
            except ValidationError as error:
                messages = error.messages
                errors[target] = [str(m) for m in messages] if isinstance(messages, list) else [str(messages)]
        return values, errors

    def load(self, text: Mapping[str, str]) -> dict[str, object]:
        """Return the values of a row known to be valid; raise ValidationError if it is not."""
        values, errors = self.read(text)
        if errors:
            raise ValidationError(errors)
        return values


def row_reader(
    targets: tuple[Target, ...],
    mapped: set[str],
    today: dt.date,
    value_map: Mapping[str, Mapping[str, str | None]] | None = None,
    sex: Sex | None = None,
) -> RowReader:
    """Build the reader for the mapped targets of one test, with the source's confirmed value mapping.

    `sex` is the program's subjects' sex (Program.subjects_sex): the row's own ID number must agree.
    """
    person_fields: dict[str, fields.Field] = {
        SAMPLE_ID: TextValue(max_length=120, required=True),
        ID_NUMBER: IdNumberValue(sex=sex),
        NAME: TextValue(max_length=100),
        BIRTH_ON: DateValue(),
        MOTHER_ID_NUMBER: IdNumberValue(),
        BIRTH_ORDER: NumberValue(integer=True),
    }
    value_map = value_map or {}
    declared: dict[str, fields.Field] = {}
    for target in targets:
        if target.name not in mapped:
            continue
        if target.is_person:
            declared[target.name] = person_fields[target.name]
        else:
            declared[target.name] = field_for(target.field, value_map.get(target.name))
    return RowReader(declared)
