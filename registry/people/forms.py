"""Registration forms for a woman, a pregnant woman and a newborn."""

import datetime as dt

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField
from wtforms.fields import DateTimeLocalField, SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from registry.labels import HOUSEHOLD_LABELS, ID_TYPE_LABELS, SEX_LABELS
from registry.people.idnumbers import (
    EARLIEST_BIRTH_YEAR,
    MOBILE_PATTERN,
    IdNumberError,
    check_sex,
    normalise,
    normalise_phone,
    parse_resident_id,
)
from registry.people.models import IdDocumentType, Sex

ID_CHECK_MESSAGES = {
    "length": _l("The ID number must be 18 characters long."),
    "characters": _l("The ID number must be 17 digits followed by a digit or X."),
    "region": _l("The region code at the start of the ID number is not a real county code."),
    "birth_date": _l("The birth date inside the ID number is not a real date."),
    "check_digit": _l(
        "The last character (check digit) of the ID number does not match: a digit is mistyped."
    ),
    "sex": _l("The 17th digit of the ID number gives a different sex."),
}

# 0 is a value, not a missing one: the message says what the order must be, empty or out of range.
BIRTH_ORDER_MESSAGE = _l(
    "Birth order must be a whole number from 1 to 9 (1 for a single or first-born child)."
)


def check_plausible_birth_date(birth_on: dt.date | None, today: dt.date) -> None:
    """A person being registered was born between 1900 and today; said on the birth-date field."""
    if birth_on is None:
        return
    if birth_on > today:
        raise ValidationError(_l("The birth date cannot be in the future."))
    if birth_on.year < EARLIEST_BIRTH_YEAR:
        raise ValidationError(_l("The birth date cannot be before %(year)d.", year=EARLIEST_BIRTH_YEAR))


def choices(labels: dict) -> list[SelectChoice]:
    return [SelectChoice(member.value, label) for member, label in labels.items()]


class PersonForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    birth_on = DateField(_l("Birth date"), validators=[DataRequired()])
    id_type = SelectField(_l("Identity document"), choices=choices(ID_TYPE_LABELS), default="RESIDENT_ID")
    id_number = StringField(
        _l("Document number"),
        filters=[lambda v: normalise(v) if v else v],
        validators=[Optional(), Length(max=40)],
    )
    phone = StringField(
        _l("Mobile phone"),
        filters=[normalise_phone],
        validators=[
            Optional(),
            Regexp(MOBILE_PATTERN, message=_l("Enter an 11-digit mainland mobile number.")),
        ],
    )
    phone_alt = StringField(
        _l("Other phone"), filters=[normalise_phone], validators=[Optional(), Length(max=20)]
    )
    address = StringField(_l("Address"), validators=[Optional(), Length(max=300)])
    household = SelectField(_l("Household registration"), choices=choices(HOUSEHOLD_LABELS))
    confirm_distinct = BooleanField(_l("I have checked: this is a different person"))

    # The edge sets the date so that the form never reads the clock.
    today: dt.date

    def expected_sex(self) -> Sex | None:
        return Sex.FEMALE

    def entered_birth_on(self) -> dt.date | None:
        return self.birth_on.data

    def validate_birth_on(self, field):
        check_plausible_birth_date(field.data, self.today)

    def validate_id_number(self, field):
        if self.id_type.data == IdDocumentType.NONE.value:
            return
        if not field.data:
            raise ValidationError(_l("Enter the document number, or choose 'None yet'."))
        if self.id_type.data != IdDocumentType.RESIDENT_ID.value:
            return
        try:
            parsed = parse_resident_id(field.data)
        except IdNumberError as error:
            raise ValidationError(ID_CHECK_MESSAGES[error.code]) from None
        entered = self.entered_birth_on()
        if entered and parsed.birth_on != entered:
            raise ValidationError(
                _l(
                    "The ID number gives the birth date %(id_date)s, but the birth date entered is %(entered)s.",  # noqa: E501
                    id_date=parsed.birth_on.isoformat(),
                    entered=entered.isoformat(),
                )
            )
        expected = self.expected_sex()
        if expected is not None:
            try:
                check_sex(parsed, male=expected == Sex.MALE)
            except IdNumberError as error:
                raise ValidationError(ID_CHECK_MESSAGES[error.code]) from None


class WomanForm(PersonForm):
    pass


class PregnantWomanForm(PersonForm):
    last_menstrual_period_on = DateField(_l("Last menstrual period"), validators=[Optional()])
    expected_delivery_on = DateField(_l("Expected delivery date"), validators=[DataRequired()])

    def validate_expected_delivery_on(self, field):
        if field.data and not (
            self.today - dt.timedelta(days=30) <= field.data <= self.today + dt.timedelta(days=300)
        ):
            raise ValidationError(_l("The expected delivery date must be within the next 10 months."))


class NewbornForm(PersonForm):
    id_type = SelectField(_l("Identity document"), choices=choices(ID_TYPE_LABELS), default="NONE")
    sex = SelectField(_l("Sex"), choices=choices(SEX_LABELS))
    birth_at = DateTimeLocalField(_l("Birth date and time"), validators=[DataRequired()])
    birth_order = IntegerField(
        _l("Birth order"),
        validators=[
            InputRequired(message=BIRTH_ORDER_MESSAGE),
            NumberRange(min=1, max=9, message=BIRTH_ORDER_MESSAGE),
        ],
    )
    birth_certificate_number = StringField(
        _l("Birth certificate number"), validators=[Optional(), Length(max=40)]
    )
    # The mother's number is used without being shown: the form must not display it unmasked.
    use_mother_phone = BooleanField(_l("Use the mother's phone number"), default=True)
    birth_on = None  # derived from the birth time

    def expected_sex(self) -> Sex | None:
        return None if self.sex.data == Sex.UNKNOWN.value else Sex(self.sex.data)

    def entered_birth_on(self) -> dt.date | None:
        return self.birth_at.data.date() if self.birth_at.data else None

    def validate_birth_at(self, field):
        check_plausible_birth_date(field.data.date() if field.data else None, self.today)


class SearchForm(FlaskForm):
    q = StringField(_l("Name, pinyin, ID number or phone"), validators=[DataRequired(), Length(max=60)])
