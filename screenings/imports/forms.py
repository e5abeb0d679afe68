"""Forms of the import screens; the mapping form is built from the chosen test's declared fields."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length, Regexp

from screenings import texts as screening_texts
from screenings.imports.mapping import Target
from screenings.imports.service import SOURCE_CODE
from screenings.imports.texts import target_label
from screenings.imports.values import REFUSE, ColumnValues, signature


class SourceForm(FlaskForm):
    name = StringField(_l("Name of the lab or system"), validators=[DataRequired(), Length(max=100)])
    code = StringField(
        _l("Short code"),
        validators=[
            DataRequired(),
            Regexp(
                SOURCE_CODE,
                message=_l("Use 2 to 40 letters, digits, “-”, “_” or “.”, starting with a letter or digit."),
            ),
        ],
        description=_l("Stored with every result from this source; it cannot be changed later."),
    )


class UploadForm(FlaskForm):
    source = SelectField(_l("Source"), coerce=int, validators=[DataRequired()])
    test = SelectField(_l("Program and test in the file"), validators=[DataRequired()])
    file = FileField(
        _l("File (CSV or XLSX)"), validators=[FileRequired(message=_l("Choose the file to upload."))]
    )


class MatchForm(FlaskForm):
    person_id = IntegerField(validators=[DataRequired()])


class DiscardForm(FlaskForm):
    reason = TextAreaField(
        _l("Why is this row not imported?"),
        validators=[DataRequired(message=_l("Say why the row is discarded.")), Length(min=2, max=500)],
        description=_l("For example: a duplicate sample, a test for another district, a mistyped file."),
    )


class MappingFormBase(FlaskForm):
    save_mapping = BooleanField(
        _l("Remember these columns and values for the next file from this source"), default=True
    )
    all_or_nothing = BooleanField(
        _l("All or nothing: if any row is rejected or names no registered person, import none of the file"),
        default=False,
    )
    # Which columns the values below were read from: when the user changes one, they are read again.
    values_for = HiddenField()

    targets: tuple[Target, ...] = ()
    surveyed: tuple[ColumnValues, ...] = ()

    def column_fields(self):
        return [(target, self[f"col_{target.name}"]) for target in self.targets]

    def columns(self) -> dict[str, str]:
        return {target.name: field.data for target, field in self.column_fields() if field.data}

    def value_fields(self, column: ColumnValues):
        """(value, its choice field or None when it is a declared spelling) for one surveyed column."""
        return [
            (value, self[column.form_name(value)] if value.needs_mapping else None) for value in column.values
        ]

    def value_choices(self) -> dict[str, str]:
        return {
            column.form_name(value): self[column.form_name(value)].data or ""
            for column in self.surveyed
            for value in column.values
            if value.needs_mapping
        }

    def values_stale(self) -> bool:
        """Tell whether the values shown were read from other columns than those now chosen."""
        return (self.values_for.data or "") != signature(self.surveyed)


def mapping_form(
    targets: tuple[Target, ...],
    headers: list[str],
    initial: dict[str, str],
    surveyed: tuple[ColumnValues, ...] = (),
    **kwargs,
):
    """Build the form with one column choice per target, preset to the saved or guessed mapping, and
    one code choice per value of a choice column that needs one, preset to its proposal."""
    choices = [SelectChoice("", str(_l("— not in the file —")))] + [SelectChoice(h, h) for h in headers]

    class MappingForm(MappingFormBase):
        pass

    MappingForm.targets = targets
    MappingForm.surveyed = tuple(surveyed)
    for target in targets:
        setattr(
            MappingForm,
            f"col_{target.name}",
            SelectField(target_label(target), choices=choices, default=initial.get(target.name, "")),
        )
    for column in surveyed:
        codes = [SelectChoice("", str(_l("— not mapped: the rows are rejected —")))] + [
            SelectChoice(c.code, f"{screening_texts.local_text(c)} ({c.code})") for c in column.field.choices
        ]
        codes.append(SelectChoice(REFUSE, str(_l("Refuse this value: the rows are rejected"))))
        for value in column.values:
            if not value.needs_mapping:
                continue
            default = REFUSE if value.refused else (value.code or "")
            setattr(
                MappingForm,
                column.form_name(value),
                SelectField(value.spelling, choices=codes, default=default),
            )
    MappingForm.values_for = HiddenField(default=signature(surveyed))
    return MappingForm(**kwargs)
