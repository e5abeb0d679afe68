"""Forms of the import screens; the mapping form is built from the chosen test's declared fields."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, IntegerField, SelectField, StringField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length, Regexp

from screenings.imports.mapping import Target
from screenings.imports.service import SOURCE_CODE
from screenings.imports.texts import target_label


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


class MappingFormBase(FlaskForm):
    save_mapping = BooleanField(_l("Remember these columns for the next file from this source"), default=True)

    targets: tuple[Target, ...] = ()

    def column_fields(self):
        return [(target, self[f"col_{target.name}"]) for target in self.targets]

    def columns(self) -> dict[str, str]:
        return {target.name: field.data for target, field in self.column_fields() if field.data}


def mapping_form(targets: tuple[Target, ...], headers: list[str], initial: dict[str, str], **kwargs):
    """Build the form with one column choice per target, preset to the saved or guessed mapping."""
    choices = [SelectChoice("", str(_l("— not in the file —")))] + [SelectChoice(h, h) for h in headers]

    class MappingForm(MappingFormBase):
        pass

    MappingForm.targets = targets
    for target in targets:
        setattr(
            MappingForm,
            f"col_{target.name}",
            SelectField(target_label(target), choices=choices, default=initial.get(target.name, "")),
        )
    return MappingForm(**kwargs)
