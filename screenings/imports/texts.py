"""What the import screens say: rejected-row reasons, unmatched reasons and file problems, in both languages.

Reasons are stored as codes with the target and the masked value, and worded here when shown, so the
same report reads in Chinese or English. The engine's own codes are worded by screenings.texts.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from registry.i18n import N_
from registry.people.forms import ID_CHECK_MESSAGES
from screenings import texts
from screenings.engine import FieldError, ScreeningTest
from screenings.imports.mapping import PERSON_TARGETS, Target

_PERSON_LABELS = {t.name: t.label for t in PERSON_TARGETS}

# Codes of the import itself; %(field)s is the target's label, %(value)s the (masked) cell.
ISSUE_MESSAGES = {
    "REQUIRED": N_("%(field)s is required."),
    "TOO_LONG": N_("%(field)s is too long."),
    "UNKNOWN_CHOICE": N_("%(field)s: “%(value)s” is not one of the choices (%(choices)s)."),
    "INVALID_DATE": N_("%(field)s: “%(value)s” is not a date; write it as 2026-11-22 or 2026年11月22日."),
    "INVALID_DATETIME": N_("%(field)s: “%(value)s” is not a date and time; write it as 2026-11-22 08:30."),
    "INVALID_NUMBER": N_("%(field)s: “%(value)s” is not a number."),
    "INVALID_INTEGER": N_("%(field)s: “%(value)s” is not a whole number."),
    "INVALID_BOOLEAN": N_("%(field)s: “%(value)s” is not yes or no (是/否)."),
    "NO_PERSON": N_(
        "The row names no person: fill in the ID number, or the name and birth date, "
        "or the mother's ID number."
    ),
    "CASE_REFUSED": N_("The result could not be added to the follow-up case: %(detail)s"),
    "VALUE_REFUSED": N_("%(field)s: “%(value)s” is refused by this source's value mapping."),
    # All-or-nothing imports put no row in the unmatched queue: an unmatched row is one more problem.
    "UNMATCHED": N_("No registered person could be found for this row (%(detail)s)."),
}
UNMATCHED_REASONS = {
    "NOT_FOUND": _l("No registered person matches"),
    "AMBIGUOUS": _l("Several registered people match"),
    "NAME_MISMATCH": _l("A person with this ID number or a similar name is registered, but the name differs"),
    "BIRTH_DATE_MISMATCH": _l("The registered person has another birth date"),
    "ID_MISMATCH": _l("The registered person has another ID number"),
}
FILE_PROBLEMS = {
    "EMPTY": _l("The file is empty."),
    "TOO_LARGE": _l("The file is larger than %(limit_mb)s MB."),
    "WRONG_TYPE": _l("Choose a CSV or XLSX file."),
    "OLD_EXCEL": _l("Old Excel files (.xls) cannot be read: save the file as .xlsx or CSV in Excel first."),
    "NOT_XLSX": _l("The file is not a readable XLSX workbook."),
    "NOT_CSV": _l("The file is not a text CSV file."),
    "ENCODING": _l(
        "The file is neither UTF-8 nor GB18030 (GBK) text: save it again as “CSV UTF-8” in Excel."
    ),
    "BAD_CSV": _l("The CSV file is damaged (a quote is not closed)."),
    "NO_HEADER": _l("The file has no header row."),
    "NO_ROWS": _l("The file has a header but no data rows."),
    "TOO_MANY_ROWS": _l("The file has more than %(limit)s rows; split it into smaller files."),
    "ENCODING_GARBLED": _l(
        "The file's text is not Chinese GB18030 (GBK) and not UTF-8: it would be read as garbled characters. "
        "Save it again as “CSV UTF-8” in Excel."
    ),
    "XLSX_UNPACKS_TOO_LARGE": _l(
        "The workbook unpacks to more than %(limit_mb)s MB (empty padding or a huge text table): "
        "save only the result columns, or export it as CSV."
    ),
    "TOO_MANY_COLUMNS": _l("Row %(row)s has more than %(limit)s columns: is this the right sheet?"),
    "CELL_TOO_LONG": _l(
        "A cell in row %(row)s is longer than %(limit)s characters: this is not a lab value."
    ),
}


def file_problem(code: str, params: dict) -> str:
    message = FILE_PROBLEMS.get(code)
    return str(message) % params if message is not None and params else str(message or code)


def target_label(target: Target) -> str:
    """Return a target's label in the reader's language, with the unit of a measured value."""
    if target.field is not None:
        return texts.field_label(target.field)
    return str(target.label)


def _label(test: ScreeningTest | None, name: str | None) -> str:
    if not name:
        return ""
    if name in _PERSON_LABELS:
        return str(_PERSON_LABELS[name])
    if test is not None:
        try:
            return texts.field_label(test.field(name), with_unit=False)
        except KeyError:
            pass
    return name


def _choices(test: ScreeningTest | None, name: str | None) -> str:
    if test is None or not name:
        return ""
    try:
        field = test.field(name)
    except KeyError:
        return ""
    return "、".join(texts.local_text(c) for c in field.choices)


def issue_message(test: ScreeningTest | None, target: str | None, code: str, value: str | None,
                  detail: str | None) -> str:  # fmt: skip
    """Word a rejected row's reason for the reader, naming the column's meaning and the value."""
    if code.startswith("ID_") and code[3:].lower() in ID_CHECK_MESSAGES:
        return f"{_label(test, target)}: {ID_CHECK_MESSAGES[code[3:].lower()]}"
    params = {"field": _label(test, target), "value": value or "", "detail": detail or ""}
    if code == "UNKNOWN_CHOICE":
        params["choices"] = _choices(test, target)
    if code == "UNMATCHED":
        params["detail"] = unmatched_reason(detail or "NOT_FOUND")
    template = ISSUE_MESSAGES.get(code)
    if template is not None and ("%(value)s" not in template or value):
        return _(template, **params)
    return texts.message(test, FieldError(target, code, detail or code))


def unmatched_reason(code: str) -> str:
    return str(UNMATCHED_REASONS.get(code, code))
