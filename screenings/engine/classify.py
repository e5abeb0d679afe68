"""The one place a screening result is classified: values in, result code and consequences out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from types import MappingProxyType

from .declarations import Program, ScreeningTest
from .times import age_anchor, completed_age, local_date
from .values import parse_values
from .vocabulary import NO_TRAITS, CaseReason, FieldError, Notice, Subject, Traits


@dataclass(frozen=True)
class Classification:
    """The verdict on one set of values, with what it sets in motion."""

    program_code: str
    test_code: str
    rule_version: str
    result_code: str | None  # None when the values have errors
    opens_case: bool
    case_reason: CaseReason | None
    first_step: str | None
    track: str | None
    scheduled_due_at: datetime | None
    exposes_infant: bool
    findings: tuple[str, ...]
    warnings: tuple[Notice, ...]
    errors: tuple[FieldError, ...]
    values: Mapping[str, object] = field(hash=False)  # the typed values the verdict was made on
    traits: Traits = NO_TRAITS  # what the values told of the subject (the test's subject_traits)

    @property
    def messages(self) -> tuple[Notice, ...]:
        """Return the warnings (an alias the forms use)."""
        return self.warnings

    @property
    def ok(self) -> bool:
        """Tell whether the values were classified."""
        return not self.errors


def eligibility_notices(
    program: Program, subject: Subject, on: date | None, overrides: Mapping[str, object] | None = None
) -> tuple[Notice, ...]:
    """Warn when a subject is not of the program's kind or outside its age window on a date.

    Only a warning: security.md asks that an age outside the program's range never blocks entry.
    """
    rule = program.eligibility
    values = program.values(overrides)
    notices: list[Notice] = []
    if subject.kind not in rule.kinds:
        kinds = ", ".join(rule.kinds)
        notices.append(Notice(None, "SUBJECT_KIND", f"{program.en} screens {kinds}, not {subject.kind}"))
    if on is None or (rule.min_age is None and rule.max_age is None):
        return tuple(notices)
    age = completed_age(subject.birth_on, on, rule.age_unit)
    low = values.whole(rule.min_age) if rule.min_age is not None else None
    high = values.whole(rule.max_age) if rule.max_age is not None else None
    if (low is not None and age < low) or (high is not None and age > high):
        unit = rule.age_unit.lower()
        window = f"{low if low is not None else 0}–{high if high is not None else ''} {unit}"
        notices.append(
            Notice(None, "AGE_OUTSIDE_WINDOW", f"age {age} {unit} is outside {program.en}'s {window}")
        )
    return tuple(notices)


def _performed_on(test: ScreeningTest, values: Mapping[str, object]) -> date | None:
    if test.performed_field is None:
        return None
    value = values.get(test.performed_field)
    if isinstance(value, datetime):
        return local_date(value)
    return value if isinstance(value, date) else None


def _before_birth_errors(
    test: ScreeningTest, parsed: Mapping[str, object], subject: Subject, errors: list[FieldError]
) -> list[FieldError]:
    """Refuse a test time before the subject's birth together with the other field errors, on its field.

    Without a birth time the start of the birth day counts, so a time on the birth day is never refused.
    """
    anchor, _approximate = age_anchor(subject)
    return [
        FieldError(field.name, "BEFORE_BIRTH", f"{field.en} is before the birth")
        for field in test.fields
        if field.not_before_birth
        and isinstance(value := parsed.get(field.name), datetime)
        and value < anchor
        and not any(error.field == field.name for error in errors)
    ]


def classify(
    program: Program,
    test_code: str,
    values: Mapping[str, object],
    subject: Subject,
    overrides: Mapping[str, object] | None = None,
) -> Classification:
    """Classify one test's values for a subject under the program's rules and a district's overrides."""
    test = program.test(test_code)
    parsed, errors = parse_values(test, values)
    errors += _before_birth_errors(test, parsed, subject, errors)
    rejected = Classification(
        program_code=program.code,
        test_code=test.code,
        rule_version=program.rule_version,
        result_code=None,
        opens_case=False,
        case_reason=None,
        first_step=None,
        track=None,
        scheduled_due_at=None,
        exposes_infant=False,
        findings=(),
        warnings=eligibility_notices(program, subject, _performed_on(test, parsed), overrides),
        errors=tuple(errors),
        values=MappingProxyType(parsed),
    )
    if errors:
        return rejected
    told = Traits(test.traits_told(parsed))
    # The program's rules read traits from the subject only, whether told now or by an earlier result.
    verdict = test.classify(parsed, subject.told(told), program.values(overrides))
    if verdict.errors or verdict.result_code is None:
        return replace(
            rejected,
            findings=verdict.findings,
            warnings=rejected.warnings + verdict.warnings,
            errors=verdict.errors
            or (FieldError(None, "UNCLASSIFIED", "the values could not be classified"),),
        )
    declared = test.result(verdict.result_code)
    if verdict.opens_case is not None:
        opens = verdict.opens_case
    else:
        opens = declared.opens_case or verdict.case_reason is not None
    reason = (verdict.case_reason or declared.case_reason) if opens else None
    first_step = (verdict.first_step or declared.first_step) if opens else None
    if opens and (reason is None or first_step is None):
        raise ValueError(
            f"{program.code}/{test.code}: {verdict.result_code} opens a case without reason or step"
        )
    if first_step is not None:
        program.step(first_step)  # a declaration error should fail loudly, not open a broken case
    return replace(
        rejected,
        result_code=verdict.result_code,
        opens_case=opens,
        case_reason=reason,
        first_step=first_step,
        track=verdict.track if opens else None,
        scheduled_due_at=verdict.scheduled_due_at if opens else None,
        exposes_infant=declared.exposes_infant,
        findings=verdict.findings,
        warnings=rejected.warnings + verdict.warnings,
        traits=told,
    )
