"""Search, register and view people."""

import datetime as dt

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from registry import audit, hooks
from registry.auth.access import (
    may_merge_people,
    may_register_people,
    may_reveal_identifiers,
    person_scope_clause,
    visible_person,
)
from registry.extensions import db
from registry.i18n import DISPLAY_ZONE, local_today
from registry.people import merge, services
from registry.people.forms import NewbornForm, PersonForm, PregnantWomanForm, SearchForm, WomanForm
from registry.people.models import Household, IdDocumentType, Person, PersonKind, Sex
from registry.people.services import DuplicatePerson, PersonDraft, PregnancyDraft
from registry.web import current_actor, current_scope, login_required, permission_required, refuse, utcnow

bp = Blueprint("people", __name__, url_prefix="/people")

REGISTRATION_FORMS = {"woman": WomanForm, "pregnant": PregnantWomanForm, "newborn": NewbornForm}


def visible_person_or_404(person_id: int) -> Person:
    """The person if the user may see them (scope follows responsibility); otherwise 404, so that
    existence does not leak."""
    person = visible_person(current_scope(), person_id)
    if person is None:
        refuse(404, f"person {person_id} absent or outside scope")
    return person


def people_in_scope():
    """The WHERE clause of the people this user may see (scope follows responsibility)."""
    return person_scope_clause(current_scope(), Person.institution_id, Person.id)


@bp.route("/", methods=["GET", "POST"])
@login_required
def search():
    # POST keeps ID and phone numbers out of URLs and access logs.
    form = SearchForm()
    results = None
    if form.validate_on_submit():
        results = services.audited_search(form.q.data, people_in_scope(), current_actor(), utcnow())
        db.session.commit()
    return render_template("people/search.html", form=form, results=results)


def _draft_from(
    form: PersonForm, kind: str, mother: Person | None
) -> tuple[PersonDraft, PregnancyDraft | None]:
    institution_id = g.user.institution_id
    id_type = IdDocumentType(form.id_type.data)
    common = dict(
        name=form.name.data,
        institution_id=institution_id,
        id_type=id_type,
        id_number=form.id_number.data if id_type != IdDocumentType.NONE else None,
        phone=form.phone.data or None,
        phone_alt=form.phone_alt.data or None,
        address=form.address.data or None,
        household=Household(form.household.data),
    )
    if kind == "newborn":
        if not common["phone"] and form.use_mother_phone.data:
            common["phone"] = mother.phone
        birth_at = form.birth_at.data.replace(tzinfo=DISPLAY_ZONE).astimezone(dt.UTC)
        draft = PersonDraft(
            kind=PersonKind.NEWBORN,
            sex=Sex(form.sex.data),
            birth_on=form.birth_at.data.date(),
            birth_at=birth_at,
            mother_id=mother.id,
            birth_order=form.birth_order.data,
            birth_certificate_number=form.birth_certificate_number.data or None,
            **common,
        )
        return draft, None
    draft = PersonDraft(kind=PersonKind.WOMAN, sex=Sex.FEMALE, birth_on=form.birth_on.data, **common)
    if kind == "pregnant":
        return draft, PregnancyDraft(
            registered_on=form.today,
            expected_delivery_on=form.expected_delivery_on.data,
            last_menstrual_period_on=form.last_menstrual_period_on.data,
        )
    return draft, None


@bp.route("/register/<kind>", methods=["GET", "POST"])
@permission_required(may_register_people)
def register(kind: str):
    form_class = REGISTRATION_FORMS.get(kind) or abort(404)
    mother = None
    if kind == "newborn":
        mother_id = request.args.get("mother_id", type=int)
        if mother_id is None:
            flash(_("Find the mother first, then choose 'Register newborn' on her page."), "info")
            return redirect(url_for("people.search"))
        mother = visible_person_or_404(mother_id)
    form = form_class()
    form.today = local_today(utcnow())
    if request.method == "GET" and mother is not None:
        form.birth_order.data = services.next_birth_order(mother.id)
        form.address.data = mother.address
    duplicates = None
    if form.validate_on_submit():
        draft, pregnancy = _draft_from(form, kind, mother)
        try:
            person = services.register_person(
                draft, current_actor(), utcnow(), form.confirm_distinct.data, pregnancy
            )
        except DuplicatePerson as error:
            db.session.rollback()
            duplicates = error.check
            if duplicates.same_document is not None:
                form.id_number.errors = [
                    *form.id_number.errors,
                    _("A person with this document is already registered."),
                ]
        else:
            db.session.commit()
            flash(_("Registered %(name)s.", name=person.name), "success")
            # Registered from a domain's screen (result entry): it says where to go on.
            onward = hooks.next_after_registration(person, request.args.get("next"))
            if onward:
                return redirect(onward)
            return redirect(url_for("people.detail", person_id=person.id))
    return render_template(
        "people/register.html",
        form=form,
        kind=kind,
        mother=mother,
        duplicates=duplicates,
        scope=current_scope(),
    )


@bp.route("/<int:person_id>")
@login_required
def detail(person_id: int):
    person = visible_person_or_404(person_id)
    if person.merged_into_id is not None:
        # The kept record carries everything now; its own page checks scope again.
        flash(_("That record was merged into this one."), "info")
        return redirect(url_for("people.detail", person_id=merge.current_record(person).id))
    suspected = []
    if may_merge_people(g.user):
        suspected = merge.duplicates_of(person, current_scope().filter(Person.institution_id))
    return render_template("people/detail.html", person=person, revealed=False, suspected=suspected)


@bp.route("/<int:person_id>/reminders", methods=["POST"])
@permission_required(may_register_people)
def set_reminders(person_id: int):
    person = visible_person_or_404(person_id)
    opt_out = request.form.get("opt_out") == "1"
    services.set_reminder_opt_out(person, opt_out, current_actor(), utcnow())
    db.session.commit()
    if opt_out:
        flash(_("No automated SMS reminders will be sent to this family."), "success")
    else:
        flash(_("Automated SMS reminders are on for this family."), "success")
    return redirect(url_for("people.detail", person_id=person.id))


@bp.route("/<int:person_id>/reveal", methods=["POST"])
@permission_required(may_reveal_identifiers)
def reveal(person_id: int):
    person = visible_person_or_404(person_id)
    audit.record(
        current_actor(), utcnow(), "person", person.id, "REVEAL", "identity document and phone shown"
    )
    db.session.commit()
    return render_template("people/detail.html", person=person, revealed=True)
