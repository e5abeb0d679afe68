"""Forms of the screenings screens: a result form generated from a test's declaration, and case actions.

Result values are validated in one place, the engine (screenings.engine.parse_values via
record_result); the generated form only collects strings and shows the engine's errors on its fields.
"""

from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields import DateTimeLocalField, SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from registry.i18n import DISPLAY_ZONE
from screenings.engine import (
    ADMINISTRATIVE_OUTCOMES,
    CHANNEL_CHOICES,
    CONTACT_OUTCOME_CHOICES,
    REACHING_OUTCOMES,
    ClosureOutcome,
    Field,
    FieldKind,
    ScreeningTest,
)
from screenings.texts import RELATIONSHIP_LABELS, field_label, local_text, outcome_label

_BLANK = SelectChoice("", "—")
DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


class CheckboxList(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form) -> None:
        """The engine says which codes are unknown, with the field's name."""


class OpenSelect(SelectField):
    def pre_validate(self, form) -> None:
        """The engine says which codes are unknown, with the field's name."""


# Asked for only when an entry falls in a month whose report is approved (screenings.reports.corrections).
CORRECTION_LABEL = _l("Reason for the late correction")


class ResultForm(FlaskForm):
    """Base of generated result forms; `entry_token` makes a double submit store the result once."""

    entry_token = HiddenField()
    correction_reason = StringField(CORRECTION_LABEL, validators=[Optional(), Length(max=500)])
    test: ScreeningTest

    def values(self) -> dict[str, object]:
        """Return the raw values for the engine: strings, code lists, and aware date-times."""
        values: dict[str, object] = {}
        for declared in self.test.fields:
            data = self[declared.name].data
            if declared.kind is FieldKind.DATETIME and data:
                values[declared.name] = _local_to_aware(data)
            else:
                values[declared.name] = data
        return values

    def declared_fields(self):
        return [self[declared.name] for declared in self.test.fields]


def _local_to_aware(text: str) -> object:
    """Read a datetime-local input as Shanghai time; leave anything else for the engine to reject."""
    try:
        naive = dt.datetime.strptime(text.strip(), DATETIME_FORMAT)
    except ValueError:
        return text
    return naive.replace(tzinfo=DISPLAY_ZONE)


def _form_field(declared: Field):
    label = field_label(declared)
    render: dict[str, object] = {}
    if not declared.required and declared.required_when is None:
        label = f"{label} · {_l('optional')}"
    kind = declared.kind
    if kind is FieldKind.CHOICE:
        return OpenSelect(
            label, choices=[_BLANK, *(SelectChoice(c.code, local_text(c)) for c in declared.choices)]
        )
    if kind is FieldKind.MULTI_CHOICE:
        return CheckboxList(label, choices=[SelectChoice(c.code, local_text(c)) for c in declared.choices])
    if kind is FieldKind.BOOLEAN:
        return OpenSelect(
            label, choices=[_BLANK, SelectChoice("true", _l("Yes")), SelectChoice("false", _l("No"))]
        )
    if kind in (FieldKind.DECIMAL, FieldKind.INTEGER):
        render["inputmode"] = "decimal" if kind is FieldKind.DECIMAL else "numeric"
        if declared.min_value is not None and declared.max_value is not None:
            render["placeholder"] = f"{declared.min_value}–{declared.max_value}"
    elif kind is FieldKind.DATE:
        render["type"] = "date"
    elif kind is FieldKind.DATETIME:
        render["type"] = "datetime-local"
    return StringField(label, render_kw=render)


def result_form_class(test: ScreeningTest) -> type[ResultForm]:
    """Build the form for one test from its declared fields (labels in the reader's language)."""
    attributes: dict[str, object] = {"test": test}
    for declared in test.fields:
        attributes[declared.name] = _form_field(declared)
    return type(f"{test.code.title()}ResultForm", (ResultForm,), attributes)


# -- case actions -----------------------------------------------------------------------------------


class CaseActionForm(FlaskForm):
    """Every case action carries the version the user saw, so a concurrent change is caught."""

    version = HiddenField(validators=[InputRequired()])
    now: dt.datetime  # set by the view so that forms never read the clock

    def occurred_or_now(self, field: DateTimeLocalField) -> dt.datetime:
        if field.data is None:
            return self.now
        return field.data.replace(tzinfo=DISPLAY_ZONE).astimezone(dt.UTC)

    def _not_in_future(self, field) -> None:
        if field.data and field.data.replace(tzinfo=DISPLAY_ZONE) > self.now + dt.timedelta(minutes=5):
            raise ValidationError(_l("The time cannot be in the future."))


class StepResultForm(CaseActionForm):
    result_code = SelectField(_l("Result"), validators=[DataRequired()])
    occurred_at = DateTimeLocalField(_l("When it was done"), validators=[Optional()], format=DATETIME_FORMAT)
    next_appointment_at = DateTimeLocalField(
        _l("Booked date for the next step · optional"), validators=[Optional()], format=DATETIME_FORMAT
    )
    note = TextAreaField(_l("Note · optional"), validators=[Optional(), Length(max=2000)])
    correction_reason = StringField(CORRECTION_LABEL, validators=[Optional(), Length(max=500)])

    def validate_occurred_at(self, field) -> None:
        self._not_in_future(field)


RELATIONSHIP_CHOICES = [(code, label) for code, label in RELATIONSHIP_LABELS.items()]


class ContactForm(CaseActionForm):
    channel = SelectField(_l("Channel"), validators=[DataRequired()])
    contact_outcome = SelectField(_l("Outcome"), validators=[DataRequired()])
    # No Optional(): it would stop the check that a reached contact names who was reached.
    person_reached = StringField(_l("Person reached · optional"), validators=[Length(max=100)])
    relationship = SelectField(_l("Relationship to the person · optional"), validators=[Optional()])
    occurred_at = DateTimeLocalField(_l("When · optional"), validators=[Optional()], format=DATETIME_FORMAT)
    next_appointment_at = DateTimeLocalField(
        _l("Next appointment · optional"), validators=[Optional()], format=DATETIME_FORMAT
    )
    note = TextAreaField(_l("Note · optional"), validators=[Optional(), Length(max=2000)])
    correction_reason = StringField(CORRECTION_LABEL, validators=[Optional(), Length(max=500)])

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.channel.choices = [_BLANK, *(SelectChoice(c.code, local_text(c)) for c in CHANNEL_CHOICES)]
        self.contact_outcome.choices = [
            _BLANK,
            *(SelectChoice(c.code, local_text(c)) for c in CONTACT_OUTCOME_CHOICES),
        ]
        self.relationship.choices = [
            _BLANK,
            *(SelectChoice(code, label) for code, label in RELATIONSHIP_CHOICES),
        ]

    def validate_occurred_at(self, field) -> None:
        self._not_in_future(field)

    def validate_person_reached(self, field) -> None:
        reached = self.contact_outcome.data in REACHING_OUTCOMES
        if reached and not field.data:
            raise ValidationError(_l("Say who was reached."))


class NoteForm(CaseActionForm):
    note = TextAreaField(_l("Note"), validators=[DataRequired(), Length(max=2000)])


class TransferForm(CaseActionForm):
    to_institution = SelectField(_l("Transfer to"), coerce=int, validators=[DataRequired()])
    note = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=2000)])


class AnswerTransferForm(CaseActionForm):
    accept = HiddenField()
    note = TextAreaField(_l("Reason (required when refusing)"), validators=[Length(max=2000)])

    def validate_note(self, field) -> None:
        if self.accept.data != "1" and not (field.data or "").strip():
            raise ValidationError(_l("Give a reason for refusing the transfer."))


class WithdrawTransferForm(CaseActionForm):
    note = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=2000)])


class CloseForm(CaseActionForm):
    outcome = SelectField(_l("Outcome"), validators=[DataRequired()])
    note = TextAreaField(_l("Note"), validators=[DataRequired(), Length(max=2000)])

    def __init__(
        self, *args, outcomes: tuple[ClosureOutcome, ...] = ADMINISTRATIVE_OUTCOMES, **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        self.outcome.choices = [_BLANK, *(SelectChoice(o.value, outcome_label(o)) for o in outcomes)]


class ReopenForm(CaseActionForm):
    note = TextAreaField(_l("Why the case is reopened"), validators=[DataRequired(), Length(max=2000)])


class EscalateForm(CaseActionForm):
    note = TextAreaField(_l("Why the district should step in"), validators=[DataRequired(), Length(max=2000)])


class BreakGlassForm(FlaskForm):
    reason = TextAreaField(
        _l("Why you need to open this protected record"), validators=[DataRequired(), Length(min=10, max=500)]
    )
    confirm = BooleanField(
        _l("I understand this access is recorded and reviewed"), validators=[DataRequired()]
    )
