"""Pages to review suspected duplicate people, merge two records, and undo a merge."""

import sqlalchemy as sa
from flask import Blueprint, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, TextAreaField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length

from registry import hooks
from registry.auth.access import may_merge_people
from registry.extensions import db
from registry.people import merge
from registry.people.merge import DuplicateReason, MergeRefused, PersonMerge
from registry.people.models import Person
from registry.people.views import visible_person_or_404
from registry.web import current_actor, current_scope, permission_required, refuse, utcnow

bp = Blueprint("merges", __name__, url_prefix="/people")

PAIRS_SHOWN = 100
MERGES_SHOWN = 100

# What the rows pointing at a person are, by foreign key; a reference added later shows its key until named.
# The domain names its own rows (registry.hooks linked_labels).
KERNEL_LINKED_LABELS = {
    "person.mother_id": _l("Children"),
    "pregnancy.mother_id": _l("Pregnancies"),
}


def linked_labels() -> dict:
    return {**KERNEL_LINKED_LABELS, **hooks.current().linked_labels}


REFUSALS = {
    "same_person": _l("These are the same record: choose two different people."),
    "already_merged": _l("One of these records has already been merged into another."),
    "mother_and_child": _l("One of these people is the other's mother: they cannot be merged."),
    "reason_required": _l("Give the reason."),
    "already_undone": _l("This merge has already been undone."),
    "kept_merged_since": _l(
        "The kept person has since been merged into another record: undo that later merge first."
    ),
}


class MergeForm(FlaskForm):
    keep = RadioField(
        _l("Record to keep"), invalid_choice_message=_l("Choose which of the two records to keep.")
    )
    reason = TextAreaField(
        _l("Reason for the merge"),
        validators=[DataRequired(message=_l("Give the reason for the merge.")), Length(max=500)],
    )


class DistinctForm(FlaskForm):
    reason = TextAreaField(
        _l("Why they are different people"),
        validators=[
            DataRequired(message=_l("Say why these are different people (for example: twins).")),
            Length(max=500),
        ],
    )


class UndoForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason for the undo"),
        validators=[DataRequired(message=_l("Give the reason for undoing the merge.")), Length(max=500)],
    )


def _scope_clause() -> sa.ColumnElement[bool]:
    return current_scope().filter(Person.institution_id)


def _static_problem(first: Person, second: Person) -> str | None:
    """What forbids merging these two whatever is entered; shown instead of the forms."""
    if first.id == second.id:
        return "same_person"
    if first.merged_into_id is not None or second.merged_into_id is not None:
        return "already_merged"
    if first.mother_id == second.id or second.mother_id == first.id:
        return "mother_and_child"
    return None


def _merge_form(first: Person, second: Person) -> MergeForm:
    form = MergeForm(prefix="merge")
    form.keep.choices = [SelectChoice(str(person.id), _("Keep this record")) for person in (first, second)]
    return form


def _reasons_for(first: Person, second: Person) -> tuple[DuplicateReason, ...]:
    """Why these two are suspected duplicates (nothing when a user compares two unrelated records)."""
    for pair in merge.duplicates_of(first, _scope_clause()):
        if second in (pair.first, pair.second):
            return pair.reasons
    return ()


def _render_compare(first, second, merge_form, distinct_form, problem):
    preview = merge.merge_preview(first, second) if problem is None else None
    if preview is not None:
        preview = hooks.filter_merge_preview(preview, first, second, g.user)
    return render_template(
        "people/merge.html",
        first=first,
        second=second,
        merge_form=merge_form,
        distinct_form=distinct_form,
        problem=REFUSALS.get(problem) if problem else None,
        preview=preview,
        linked_labels=linked_labels(),
        reasons=_reasons_for(first, second) if problem is None else (),
    )


@bp.route("/duplicates")
@permission_required(may_merge_people)
def duplicates():
    pairs = merge.suspected_duplicates(_scope_clause(), limit=PAIRS_SHOWN)
    return render_template("people/duplicates.html", pairs=pairs, shown=PAIRS_SHOWN)


@bp.route("/merge/<int:first_id>/<int:second_id>", methods=["GET", "POST"])
@permission_required(may_merge_people)
def compare(first_id: int, second_id: int):
    first, second = visible_person_or_404(first_id), visible_person_or_404(second_id)
    merge_form = _merge_form(first, second)
    distinct_form = DistinctForm(prefix="distinct", formdata=None)
    problem = _static_problem(first, second)
    if problem is None and merge_form.validate_on_submit():
        keep, remove = (first, second) if merge_form.keep.data == str(first.id) else (second, first)
        try:
            record = merge.merge_people(keep, remove, current_actor(), utcnow(), merge_form.reason.data)
        except MergeRefused as refusal:
            db.session.rollback()
            problem = refusal.code
        else:
            db.session.commit()
            flash(
                _(
                    "Merged: %(name)s's record now holds everything of both. It can be undone from the merge history.",  # noqa: E501
                    name=keep.name,
                ),
                "success",
            )
            return redirect(url_for("people.detail", person_id=record.kept_person_id))
    return _render_compare(first, second, merge_form, distinct_form, problem)


@bp.route("/merge/<int:first_id>/<int:second_id>/distinct", methods=["POST"])
@permission_required(may_merge_people)
def distinct(first_id: int, second_id: int):
    first, second = visible_person_or_404(first_id), visible_person_or_404(second_id)
    merge_form = _merge_form(first, second)
    distinct_form = DistinctForm(prefix="distinct")
    problem = _static_problem(first, second)
    if problem is None and distinct_form.validate_on_submit():
        try:
            merge.mark_distinct(first, second, current_actor(), utcnow(), distinct_form.reason.data)
        except MergeRefused as refusal:
            db.session.rollback()
            problem = refusal.code
        else:
            db.session.commit()
            flash(
                _("Recorded: %(a)s and %(b)s are different people.", a=first.name, b=second.name), "success"
            )
            return redirect(url_for("merges.duplicates"))
    return _render_compare(first, second, merge_form, distinct_form, problem)


def _merge_in_scope_or_404(merge_id: int) -> PersonMerge:
    record = merge.visible_merge(current_scope(), merge_id)
    if record is None:
        refuse(404, f"merge absent or outside scope ({merge_id})")
    return record


@bp.route("/merges")
@permission_required(may_merge_people)
def history():
    records = merge.visible_merges(current_scope(), limit=MERGES_SHOWN)
    return render_template("people/merges.html", records=records, shown=MERGES_SHOWN)


@bp.route("/merges/<int:merge_id>/undo", methods=["GET", "POST"])
@permission_required(may_merge_people)
def undo(merge_id: int):
    record = _merge_in_scope_or_404(merge_id)
    form = UndoForm()
    problem = "already_undone" if record.undone_at is not None else None
    if problem is None and form.validate_on_submit():
        try:
            merge.undo_merge(record, current_actor(), utcnow(), form.reason.data)
        except MergeRefused as refusal:
            db.session.rollback()
            problem = refusal.code
        else:
            db.session.commit()
            flash(_("The merge is undone: both records are separate again."), "success")
            return redirect(url_for("people.detail", person_id=record.removed_person_id))
    return render_template(
        "people/merge_undo.html",
        record=record,
        form=form,
        problem=REFUSALS.get(problem) if problem else None,
        linked_labels=linked_labels(),
    )
