"""What the screenings screens say: labels of the engine's vocabulary and messages for its field errors.

Programs carry their own Chinese and English labels (`zh`/`en` on fields, choices, steps, result
codes) and their own messages (`Program.messages`, filled from their settings); the engine's
enumerations and generic error codes are translated here, once, for forms, imports, pages and
letters alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from registry.i18n import N_
from screenings.engine import (
    CHANNEL_CHOICES,
    CONTACT_OUTCOME_CHOICES,
    OUTCOME_MEANINGS,
    CaseReason,
    CaseStatus,
    EventKind,
    Field,
    FieldError,
    Notice,
    Program,
    ScreeningTest,
    render_message,
)
from screenings.programs import PROGRAMS

STATUS_LABELS = {
    CaseStatus.OPEN: _l("Open"),
    CaseStatus.DUE_SOON: _l("Due soon"),
    CaseStatus.OVERDUE: _l("Overdue"),
    CaseStatus.ESCALATED: _l("Escalated"),
    CaseStatus.LOST_TO_FOLLOW_UP: _l("Lost to follow-up"),
    CaseStatus.CLOSED: _l("Closed"),
}
REASON_LABELS = {
    CaseReason.POSITIVE_RESULT: _l("Positive result"),
    CaseReason.REFERRED_RESULT: _l("Referred (not passed)"),
    CaseReason.UNSATISFACTORY_SPECIMEN: _l("Unsatisfactory specimen"),
    CaseReason.MISSED_SCREENING: _l("Missed screening"),
    CaseReason.EXPOSED_INFANT: _l("Exposed infant of a positive mother"),
    CaseReason.HIGH_RISK_SURVEILLANCE: _l("High-risk surveillance"),
}
EVENT_LABELS = {
    EventKind.OPENED: _l("Case opened"),
    EventKind.STEP_RESULT: _l("Step result"),
    EventKind.CONTACT_ATTEMPT: _l("Contact attempt"),
    EventKind.NOTE: _l("Note"),
    EventKind.TRANSFER_REQUESTED: _l("Transfer requested"),
    EventKind.TRANSFER_ACCEPTED: _l("Transfer accepted"),
    EventKind.TRANSFER_REFUSED: _l("Transfer refused"),
    EventKind.TRANSFER_WITHDRAWN: _l("Transfer withdrawn"),
    EventKind.ESCALATED: _l("Escalated to the district"),
    EventKind.CLOSED: _l("Closed"),
    EventKind.REOPENED: _l("Reopened"),
    EventKind.STATUS_CHANGED: _l("Status changed"),
    EventKind.REMINDER: _l("Reminder sent"),
}
RELATIONSHIP_LABELS = {
    "SELF": _l("The person"),
    "MOTHER": _l("Mother"),
    "FATHER": _l("Father"),
    "GRANDPARENT": _l("Grandparent"),
    "SPOUSE": _l("Spouse"),
    "OTHER": _l("Other relative or carer"),
}
# Messages by the engine's generic error and warning codes; %(field)s is the field's label in the reader's
# language. A code a program words itself (Program.messages) is looked up there first.
MESSAGES = {
    "REQUIRED": N_("%(field)s is required."),
    "INVALID_NUMBER": N_("%(field)s must be a number."),
    "INVALID_INTEGER": N_("%(field)s must be a whole number."),
    "INVALID_BOOLEAN": N_("%(field)s must be yes or no."),
    "INVALID_DATE": N_("%(field)s must be a date (YYYY-MM-DD)."),
    "IMPLAUSIBLE_DATE": N_("%(field)s must be a date between 1900 and 2100."),
    "INVALID_DATETIME": N_("%(field)s must be a date and time."),
    "NAIVE_DATETIME": N_("%(field)s must be a date and time."),
    "UNKNOWN_CHOICE": N_("%(field)s has a value that is not one of its choices."),
    "BELOW_RANGE": N_("%(field)s is below the plausible range %(range)s."),
    "ABOVE_RANGE": N_("%(field)s is above the plausible range %(range)s."),
    "TOO_LONG": N_("%(field)s is too long."),
    "IN_FUTURE": N_("%(field)s cannot be in the future."),
    "BEFORE_BIRTH": N_("%(field)s is before the birth."),
    "UNCLASSIFIED": N_("These values could not be classified; check the entries."),
    "SUBJECT_KIND": N_("This person is not of the kind this program screens."),
    "AGE_OUTSIDE_WINDOW": N_("The person's age is outside this program's age range."),
    "BIRTH_TIME_UNKNOWN": N_("Birth time unknown: age in hours counted from the start of the birth day."),
}


def chinese() -> bool:
    """Tell whether the reader reads Chinese."""
    locale = get_locale()
    return locale is None or locale.language == "zh"


def month_label(month: str) -> str:
    """Write a month (2026-11) as the reader reads it: 2026年11月, or 2026-11 in English."""
    year, number = month.split("-")
    return f"{year}年{int(number)}月" if chinese() else month


def local_text(item: Any) -> str:
    """Return the label of anything declared with `zh` and `en` (a program, field, step, choice)."""
    return item.zh if chinese() else item.en


def program_label(code: str) -> str:
    program = PROGRAMS.get(code)
    return local_text(program) if program is not None else code


def test_label(program_code: str, test_code: str) -> str:
    program = PROGRAMS.get(program_code)
    try:
        return local_text(program.test(test_code)) if program else test_code
    except KeyError:
        return test_code


def step_label(program_code: str, step_code: str | None) -> str:
    if step_code is None:
        return ""
    try:
        return local_text(PROGRAMS[program_code].step(step_code))
    except KeyError:
        return step_code


def result_label(
    program_code: str, code: str | None, test_code: str | None = None, step: str | None = None
) -> str:
    """Return a result code's label, from the test that produced it or the step that recorded it."""
    if code is None:
        return ""
    program = PROGRAMS.get(program_code)
    if program is None:
        return code
    if test_code:
        try:
            return local_text(program.test(test_code).result(code))
        except KeyError:
            pass
    steps = [program.step(step)] if step and step in {s.code for s in program.steps} else program.steps
    for candidate in steps:
        for transition in candidate.transitions:
            if transition.result == code:
                return local_text(transition)
    for test in program.tests:
        for result in test.result_codes:
            if result.code == code:
                return local_text(result)
    return code


def unsupported_reason(program_code: str, indicator_code: str) -> str:
    """Return why the data cannot support an indicator, in the interface's language."""
    program = PROGRAMS.get(program_code)
    indicator = next((i for i in program.indicators if i.code == indicator_code), None) if program else None
    if indicator is None or indicator.unsupported is None:
        return ""
    return indicator.unsupported_zh if chinese() and indicator.unsupported_zh else indicator.unsupported


def outcome_label(outcome: object) -> str:
    meaning = OUTCOME_MEANINGS.get(outcome) if outcome is not None else None
    return local_text(meaning) if meaning is not None else str(outcome or "")


def channel_label(code: object) -> str:
    return next((local_text(c) for c in CHANNEL_CHOICES if c.code == code), str(code or ""))


def contact_outcome_label(code: object) -> str:
    return next((local_text(c) for c in CONTACT_OUTCOME_CHOICES if c.code == code), str(code or ""))


def case_label(value: object) -> str:
    """Return the label of a case status, reason, event kind or relationship."""
    for table in (STATUS_LABELS, REASON_LABELS, EVENT_LABELS, RELATIONSHIP_LABELS):
        if value in table:
            return str(table[value])
    return str(value or "")


def field_label(field: Field, with_unit: bool = True) -> str:
    label = local_text(field)
    return f"{label} ({field.unit})" if with_unit and field.unit else label


def language() -> str:
    """Return the reader's language as the programs declare it: "zh" or "en"."""
    return "zh" if chinese() else "en"


def program_text(
    program: Program | str, key: str, overrides: Mapping[str, object] | None = None
) -> str | None:
    """Return a program's own message in the reader's language, filled from its settings in force.

    `overrides` are the district's setting overrides (the same mapping the engine's rules read), so
    the text states the value the rule applied. None when the program does not word this key.
    """
    found = PROGRAMS.get(program) if isinstance(program, str) else program
    return render_message(found, key, language(), overrides) if found is not None else None


def program_of(test: ScreeningTest) -> Program | None:
    """Return the program that declares a test."""
    return next((p for p in PROGRAMS.values() if any(t is test for t in p.tests)), None)


def message(
    test: ScreeningTest | None,
    problem: FieldError | Notice,
    program: Program | None = None,
    overrides: Mapping[str, object] | None = None,
) -> str:
    """Return an error or warning in the reader's language, naming the field.

    A code the test's program words itself is rendered from the program's declaration and settings;
    the engine's generic codes are translated here.
    """
    program = program or (program_of(test) if test is not None else None)
    if program is not None:
        own = program_text(program, problem.code, overrides)
        if own is not None:
            return own
    field = None
    if test is not None and problem.field:
        try:
            field = test.field(problem.field)
        except KeyError:
            field = None
    template = MESSAGES.get(problem.code)
    if template is None:
        return problem.message
    params = {"field": field_label(field, with_unit=False) if field else (problem.field or "")}
    if field is not None and problem.code in ("BELOW_RANGE", "ABOVE_RANGE"):
        unit = f" {field.unit}" if field.unit else ""
        params["range"] = f"{field.min_value}–{field.max_value}{unit}"
    return _(template, **params)


def restricted_program_names() -> str:
    """Name the programs whose records only their own staff open, in the reader's language."""
    names = [local_text(p) for p in PROGRAMS.values() if p.restricted]
    if len(names) < 2:
        return "".join(names)
    if chinese():
        return "、".join(names[:-1]) + "和" + names[-1]
    return ", ".join(names[:-1]) + " and " + names[-1]


def program_choices(programs: dict[str, Program] | None = None) -> list[tuple[str, str]]:
    return [(code, local_text(program)) for code, program in (programs or PROGRAMS).items()]
