"""The API's marshmallow schemas; the OpenAPI document is generated from them.

The values a result carries are described per test from the program declarations (fields, units,
choices, required, required-when), never written per program: `values_components()` turns each
declared test into a JSON schema, and the engine checks the values exactly as it does for a form.
"""

from __future__ import annotations

import marshmallow as ma
from marshmallow import ValidationError

from registry.api import ProblemFieldSchema
from registry.people.idnumbers import IdNumberError, normalise, parse_resident_id
from screenings.engine import Field, FieldKind
from screenings.programs import PROGRAMS

MAX_ITEMS = 1000
STATUSES = ("created", "unchanged", "corrected", "rejected", "unmatched")


def values_component_name(program_code: str, test_code: str) -> str:
    return f"Values_{program_code}_{test_code}"


def _json_text(value: object) -> str:
    """A value as the API's JSON spells it (true, false, null), a code as itself."""
    if isinstance(value, str):
        return value
    return {True: "true", False: "false", None: "null"}[value]


def _field_json_schema(field: Field) -> dict:
    label = f"{field.zh} / {field.en}" + (f" ({field.unit})" if field.unit else "")
    if field.required_when is not None:
        other, values = field.required_when
        label += f"; required when {other} is {' or '.join(_json_text(v) for v in values)}"
    kind = field.kind
    schema: dict
    if kind in (FieldKind.DECIMAL, FieldKind.INTEGER):
        schema = {"type": "number" if kind is FieldKind.DECIMAL else "integer"}
        if field.min_value is not None:
            schema["minimum"] = float(field.min_value)
        if field.max_value is not None:
            schema["maximum"] = float(field.max_value)
    elif kind is FieldKind.CHOICE:
        schema = {"type": "string", "enum": [c.code for c in field.choices]}
        label += ": " + ", ".join(f"{c.code} {c.zh}" for c in field.choices)
    elif kind is FieldKind.MULTI_CHOICE:
        schema = {"type": "array", "items": {"type": "string", "enum": [c.code for c in field.choices]}}
    elif kind is FieldKind.BOOLEAN:
        schema = {"type": "boolean"}
    elif kind is FieldKind.DATE:
        schema = {"type": "string", "format": "date"}
    elif kind is FieldKind.DATETIME:
        schema = {"type": "string", "format": "date-time"}
    else:
        schema = {"type": "string"}
        if field.max_value is not None:
            schema["maxLength"] = int(field.max_value)
    schema["description"] = label
    return schema


def values_components() -> dict[str, dict]:
    """One JSON schema per declared test: the values a result of it carries."""
    components = {}
    for program in PROGRAMS.values():
        for test in program.tests:
            components[values_component_name(program.code, test.code)] = {
                "type": "object",
                "description": f"{program.code} {test.code}: {test.zh} / {test.en}",
                "properties": {f.name: _field_json_schema(f) for f in test.fields},
                "required": [f.name for f in test.fields if f.required and f.required_when is None],
            }
    return components


def _all_tests() -> list[str]:
    return sorted({test.code for program in PROGRAMS.values() for test in program.tests})


class IdNumber(ma.fields.String):
    """An identity document number; one that looks like a resident ID must pass the GB 11643 checks."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = normalise(super()._deserialize(value, attr, data, **kwargs))
        if not text:
            return None
        if len(text) > 40:
            raise ValidationError("ID_LENGTH")
        if text[:-1].isdigit() and len(text) >= 15:
            try:
                parse_resident_id(text)
            except IdNumberError as error:
                raise ValidationError(f"ID_{error.code.upper()}") from None
        return text


class PersonRefSchema(ma.Schema):
    """Whom the result is about: an ID number; else name and birth date; else (a newborn) the mother's ID
    number and the birth order."""

    id_number = IdNumber(allow_none=True, metadata={"example": "330106199001011234"})
    name = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=100))
    birth_on = ma.fields.Date(allow_none=True)
    mother_id_number = IdNumber(allow_none=True)
    birth_order = ma.fields.Integer(allow_none=True, validate=ma.validate.Range(min=1, max=20))

    @ma.validates_schema
    def _usable(self, data, **kwargs):
        if not (
            data.get("id_number")
            or (data.get("name") and data.get("birth_on"))
            or data.get("mother_id_number")
        ):
            raise ValidationError("NO_IDENTITY", "id_number")


class _Scalars(ma.fields.Dict):
    """A result's values: field name → a JSON scalar, or a list of scalars (a multiple choice)."""

    def _deserialize(self, value, attr, data, **kwargs):
        loaded = super()._deserialize(value, attr, data, **kwargs)
        for name, item in loaded.items():
            scalar = item is None or isinstance(item, str | int | float | bool)
            if not scalar and not (
                isinstance(item, list) and all(isinstance(i, str | int | float | bool) for i in item)
            ):
                raise ValidationError({name: ["INVALID"]})
            if isinstance(item, str) and len(item) > 1000:
                raise ValidationError({name: ["TOO_LONG"]})
        return loaded


class CorrectionSchema(ma.Schema):
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=5, max=500))


class ResultItemSchema(ma.Schema):
    """One result as a lab or hospital system sends it."""

    source_key = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=120),
        metadata={"description": "The result's key in the sending system (a sample or report id): a resend "
                  "with the same key records nothing"},
    )  # fmt: skip
    program = ma.fields.String(required=True, validate=ma.validate.OneOf(list(PROGRAMS)))
    test = ma.fields.String(required=True, validate=ma.validate.OneOf(_all_tests()))
    person = ma.fields.Nested(PersonRefSchema, required=True)
    values = _Scalars(
        keys=ma.fields.String(validate=ma.validate.Length(max=60)),
        required=True,
        metadata={
            "description": "The test's values, as its Values_<program>_<test> schema declares",
            "anyOf": [{"$ref": f"#/components/schemas/{name}"} for name in values_components()],
        },
    )
    correction = ma.fields.Nested(
        CorrectionSchema,
        metadata={"description": "Send changed values under a stored key as a correction, with its reason "
                  "(made while the result's classification stays the same and no case concerns it)"},
    )  # fmt: skip
    late_correction_reason = ma.fields.String(
        allow_none=True,
        validate=ma.validate.Length(max=500),
        metadata={"description": "Needed when the result is dated in a month whose report the district has "
                  "approved: the reason is kept and listed in the next report"},
    )  # fmt: skip


class ResultBatchSchema(ma.Schema):
    items = ma.fields.List(
        ma.fields.Nested(ResultItemSchema), required=True, validate=ma.validate.Length(min=1, max=MAX_ITEMS)
    )
    late_correction_reason = ma.fields.String(
        allow_none=True,
        validate=ma.validate.Length(max=500),
        metadata={"description": "One reason for the whole submission: it stands for every item dated in an "
                  "approved month that gives none of its own; each is listed in the next report"},
    )  # fmt: skip


class CaseBriefSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    status = ma.fields.String(required=True)
    current_step = ma.fields.String(allow_none=True)
    due_at = ma.fields.DateTime(allow_none=True)
    opened = ma.fields.Boolean(metadata={"description": "This result opened the case"})
    advanced = ma.fields.Boolean(metadata={"description": "This result completed the case's current step"})


class ItemOutcomeSchema(ma.Schema):
    """What became of one item: created, unchanged (sent before), rejected (errors) or unmatched."""

    index = ma.fields.Integer(required=True)
    source_key = ma.fields.String(allow_none=True)
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(STATUSES))
    result_id = ma.fields.Integer(allow_none=True)
    result_code = ma.fields.String(allow_none=True)
    case = ma.fields.Nested(CaseBriefSchema, allow_none=True)
    unmatched_reason = ma.fields.String(allow_none=True)
    unmatched_id = ma.fields.Integer(
        allow_none=True, metadata={"description": "The row waiting in the unmatched queue for a person"}
    )
    errors = ma.fields.List(ma.fields.Nested(ProblemFieldSchema))
    warnings = ma.fields.List(ma.fields.Nested(ProblemFieldSchema))


class CountsSchema(ma.Schema):
    created = ma.fields.Integer(required=True)
    unchanged = ma.fields.Integer(required=True)
    corrected = ma.fields.Integer(required=True)
    rejected = ma.fields.Integer(required=True)
    unmatched = ma.fields.Integer(required=True)


class BatchOutcomeSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ItemOutcomeSchema), required=True)
    counts = ma.fields.Nested(CountsSchema, required=True)


class InstitutionSchema(ma.Schema):
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)


class AccountSchema(ma.Schema):
    """The system account a token belongs to, and what it may send."""

    username = ma.fields.String(required=True)
    institution = ma.fields.Nested(InstitutionSchema, required=True)
    programs = ma.fields.List(
        ma.fields.String(), required=True, metadata={"description": "Program codes it may send and read"}
    )


class PersonSearchSchema(ma.Schema):
    """Find a person by ID number, or a newborn by the mother's ID number, birth date and birth order
    (sent in the body, never in the URL)."""

    id_number = IdNumber(allow_none=True)
    mother_id_number = IdNumber(allow_none=True)
    birth_on = ma.fields.Date(allow_none=True)
    birth_order = ma.fields.Integer(allow_none=True, validate=ma.validate.Range(min=1, max=20))

    @ma.validates_schema
    def _usable(self, data, **kwargs):
        if not (data.get("id_number") or data.get("mother_id_number")):
            raise ValidationError("NO_IDENTITY", "id_number")


class PersonSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    kind = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    sex = ma.fields.String(required=True)
    birth_on = ma.fields.Date(required=True)
    id_number_masked = ma.fields.String(allow_none=True, metadata={"example": "3301**********1234"})
    mother_id = ma.fields.Integer(allow_none=True)
    birth_order = ma.fields.Integer(allow_none=True)
    institution_code = ma.fields.String(required=True)


class PersonMatchesSchema(ma.Schema):
    persons = ma.fields.List(ma.fields.Nested(PersonSchema), required=True)
    unmatched_reason = ma.fields.String(allow_none=True)


class ResultSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    program = ma.fields.String(required=True)
    test = ma.fields.String(required=True)
    person_id = ma.fields.Integer(required=True)
    performed_at = ma.fields.DateTime(required=True)
    result_code = ma.fields.String(required=True)
    findings = ma.fields.List(ma.fields.String())
    values = ma.fields.Dict(metadata={"description": "The values as stored, by field name"})
    source_key = ma.fields.String(allow_none=True, metadata={"description": "Given for this account's own"})
    case_id = ma.fields.Integer(allow_none=True)


class EventSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    kind = ma.fields.String(required=True)
    occurred_at = ma.fields.DateTime(required=True)
    step = ma.fields.String(allow_none=True)
    result_code = ma.fields.String(allow_none=True)
    result_id = ma.fields.Integer(allow_none=True)
    outcome = ma.fields.String(allow_none=True)


class CaseSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    program = ma.fields.String(required=True)
    person_id = ma.fields.Integer(required=True)
    status = ma.fields.String(required=True)
    current_step = ma.fields.String(allow_none=True)
    due_at = ma.fields.DateTime(allow_none=True)
    opened_at = ma.fields.DateTime(required=True)
    closed_at = ma.fields.DateTime(allow_none=True)
    outcome = ma.fields.String(allow_none=True)
    responsible_institution_code = ma.fields.String(required=True)
    last_event_id = ma.fields.Integer(allow_none=True)


class CaseDetailSchema(CaseSchema):
    timeline = ma.fields.List(ma.fields.Nested(EventSchema), required=True)


class PersonRecordsSchema(ma.Schema):
    person = ma.fields.Nested(PersonSchema, required=True)
    results = ma.fields.List(ma.fields.Nested(ResultSchema), required=True)
    cases = ma.fields.List(ma.fields.Nested(CaseSchema), required=True)


class ChangedCasesQuerySchema(ma.Schema):
    after = ma.fields.Integer(
        load_default=0,
        validate=ma.validate.Range(min=0, max=2**31 - 1),
        metadata={"description": "The cursor: the `next` of the previous page (0 for the start)"},
    )
    limit = ma.fields.Integer(load_default=100, validate=ma.validate.Range(min=1, max=500))


class ChangedCasesSchema(ma.Schema):
    cases = ma.fields.List(ma.fields.Nested(CaseSchema), required=True)
    next = ma.fields.Integer(required=True, metadata={"description": "Send as `after` for the next page"})


class IndicatorQuerySchema(ma.Schema):
    month = ma.fields.String(
        required=True,
        validate=ma.validate.Regexp(r"^20[0-9]{2}-(0[1-9]|1[0-2])$"),
        metadata={"example": "2026-11"},
    )
    program = ma.fields.String(validate=ma.validate.OneOf(list(PROGRAMS)))


class FigureSchema(ma.Schema):
    program = ma.fields.String(required=True)
    indicator = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    institution = ma.fields.String(allow_none=True)
    numerator = ma.fields.Integer(allow_none=True)
    denominator = ma.fields.Integer(allow_none=True)
    value = ma.fields.String(allow_none=True, metadata={"description": "A decimal, as text"})
    unit = ma.fields.String(required=True)
    target = ma.fields.String(allow_none=True)
    comparison = ma.fields.String(required=True)
    meets_target = ma.fields.Boolean(allow_none=True)
    reason = ma.fields.String(allow_none=True)


class IndicatorsSchema(ma.Schema):
    district = ma.fields.String(required=True)
    institution = ma.fields.String(required=True)
    month = ma.fields.String(required=True)
    figures = ma.fields.List(ma.fields.Nested(FigureSchema), required=True)
