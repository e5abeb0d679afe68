"""Reading and checking a test's input values, for forms, imports and the classifier alike."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from .declarations import Field, Program, ScreeningTest
from .times import as_utc
from .vocabulary import FieldError, FieldKind

_TRUE = {"true", "t", "1", "yes", "y", "是"}
_FALSE = {"false", "f", "0", "no", "n", "否"}


class _Invalid(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _is_missing(raw: object) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def _number(raw: object) -> Decimal:
    if isinstance(raw, bool):
        raise _Invalid("INVALID_NUMBER", "must be a number")
    try:
        number = Decimal(str(raw).strip())
    except InvalidOperation as exc:
        raise _Invalid("INVALID_NUMBER", "must be a number") from exc
    if not number.is_finite():
        raise _Invalid("INVALID_NUMBER", "must be a finite number")
    return number


def _choice_codes(field: Field, raw: object) -> tuple[str, ...]:
    if isinstance(raw, str):
        parts: Iterable[object] = [p for p in raw.replace(";", ",").split(",") if p.strip()]
    elif isinstance(raw, Iterable):
        parts = raw
    else:
        parts = [raw]
    known = [c.code for c in field.choices]
    picked = {str(p).strip().upper() for p in parts}
    unknown = sorted(picked.difference(known))
    if unknown:
        raise _Invalid("UNKNOWN_CHOICE", f"has unknown codes {', '.join(unknown)}")
    return tuple(code for code in known if code in picked)  # declaration order, no duplicates


def _parse(field: Field, raw: object) -> object:
    kind = field.kind
    if kind in (FieldKind.DECIMAL, FieldKind.INTEGER):
        number = _number(raw)
        if kind is FieldKind.INTEGER:
            if number != number.to_integral_value():
                raise _Invalid("INVALID_INTEGER", "must be a whole number")
            return int(number)
        return number
    if kind is FieldKind.CHOICE:
        code = str(raw).strip().upper()
        if code not in {c.code for c in field.choices}:
            raise _Invalid("UNKNOWN_CHOICE", f"has no choice {code!r}")
        return code
    if kind is FieldKind.MULTI_CHOICE:
        return _choice_codes(field, raw)
    if kind is FieldKind.BOOLEAN:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise _Invalid("INVALID_BOOLEAN", "must be yes or no")
    if kind is FieldKind.TEXT:
        return str(raw).strip()
    if kind is FieldKind.DATE:
        if isinstance(raw, datetime):
            raise _Invalid("INVALID_DATE", "must be a date without a time")
        if not isinstance(raw, date):
            try:
                raw = date.fromisoformat(str(raw).strip())
            except ValueError as exc:
                raise _Invalid("INVALID_DATE", "must be a date (YYYY-MM-DD)") from exc
        return _plausible(raw)
    if kind is FieldKind.DATETIME:
        if not isinstance(raw, datetime):
            try:
                raw = datetime.fromisoformat(str(raw).strip())
            except ValueError as exc:
                raise _Invalid("INVALID_DATETIME", "must be a date and time") from exc
        if raw.utcoffset() is None:
            raise _Invalid("NAIVE_DATETIME", "must carry a time zone")
        return as_utc(_plausible(raw))
    raise _Invalid("UNKNOWN_KIND", f"has an unknown kind {kind}")


# No screening result is dated before modern records or far ahead; year 1 or 9999 is a typing slip, and
# converting it between time zones would overflow.
PLAUSIBLE_YEARS = range(1900, 2101)


def _plausible(moment: date) -> date:
    if moment.year not in PLAUSIBLE_YEARS:
        raise _Invalid("IMPLAUSIBLE_DATE", "must be a date between 1900 and 2100")
    return moment


def _range_error(field: Field, value: object) -> FieldError | None:
    if field.kind is FieldKind.TEXT:
        if field.max_value is not None and len(str(value)) > field.max_value:
            return FieldError(
                field.name, "TOO_LONG", f"{field.en} is longer than {field.max_value} characters"
            )
        return None
    if field.kind not in (FieldKind.DECIMAL, FieldKind.INTEGER):
        return None
    assert isinstance(value, Decimal | int)
    unit = f" {field.unit}" if field.unit else ""
    plausible = f"the plausible range {field.min_value}–{field.max_value}{unit}"
    if field.min_value is not None and value < field.min_value:
        return FieldError(field.name, "BELOW_RANGE", f"{field.en} {value}{unit} is below {plausible}")
    if field.max_value is not None and value > field.max_value:
        return FieldError(field.name, "ABOVE_RANGE", f"{field.en} {value}{unit} is above {plausible}")
    return None


def parse_values(
    test: ScreeningTest, raw: Mapping[str, object]
) -> tuple[dict[str, object], list[FieldError]]:
    """Read raw values (strings from a CSV or form, or Python values) into typed values.

    Missing values become None (an empty tuple for multi-choice fields). Keys the test does not
    declare are ignored, so an instrument export may carry extra columns.
    """
    parsed: dict[str, object] = {}
    errors: list[FieldError] = []
    for field in test.fields:
        raw_value = raw.get(field.name)
        if _is_missing(raw_value):
            parsed[field.name] = () if field.kind is FieldKind.MULTI_CHOICE else None
            continue
        try:
            value = _parse(field, raw_value)
        except _Invalid as problem:
            errors.append(FieldError(field.name, problem.code, f"{field.en} {problem.message}"))
            parsed[field.name] = None
            continue
        range_error = _range_error(field, value)
        if range_error is not None:
            errors.append(range_error)
        parsed[field.name] = value
    for field in test.fields:
        if parsed[field.name] is not None or field.kind is FieldKind.MULTI_CHOICE:
            continue
        if any(e.field == field.name for e in errors):
            continue
        needed = field.required
        if field.required_when is not None:
            other, codes = field.required_when
            needed = parsed.get(other) in codes
        if needed:
            errors.append(FieldError(field.name, "REQUIRED", f"{field.en} is required"))
    return parsed, errors


def validate_values(program: Program, test_code: str, values: Mapping[str, object]) -> list[FieldError]:
    """Return the problems a form or an import must show: missing, out of range, unknown choice."""
    return parse_values(program.test(test_code), values)[1]
