"""The unmatched queue: rows that named nobody known, matched to a person or registered, then imported.

Its routes join the imports blueprint (screenings/imports/views.py imports this module at its end).
"""

from __future__ import annotations

import contextlib

from flask import (
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from registry.auth.access import visible_person
from registry.extensions import db
from registry.i18n import local_today
from registry.people import services as people_services
from registry.people.forms import SearchForm
from registry.people.idnumbers import scrub_identifiers
from registry.people.models import IdDocumentType, Person
from registry.people.services import DuplicatePerson
from registry.people.views import people_in_scope
from registry.web import current_actor, current_scope, login_required, refuse, utcnow
from screenings.cases import CaseActionRefused
from screenings.engine import SubjectKind
from screenings.imports import queries, service
from screenings.imports import unmatched as waiting_rows
from screenings.imports.forms import DiscardForm, MatchForm
from screenings.imports.mapping import BIRTH_ON, BIRTH_ORDER, ID_NUMBER, NAME, targets_for
from screenings.imports.models import (
    UnmatchedRow,
    UnmatchedStatus,
)
from screenings.imports.texts import issue_message, target_label, unmatched_reason
from screenings.imports.views import audit_restricted_view, bp, require_import_permission
from screenings.programs import get_program
from screenings.results import ResultRejected

QUEUE_PAGE = 50


def visible_row_or_404(row_id: int) -> UnmatchedRow:
    """A waiting row the user may see: in their scope and of a program they may see; else 404."""
    row = queries.visible_unmatched_row(row_id, g.user, current_scope())
    if row is None:
        refuse(404, f"unmatched row {row_id} absent or outside scope")
    return row


@bp.route("/unmatched/")
@login_required
def queue():
    after = request.args.get("after", type=int) or 0
    rows, more = queries.waiting_rows_page(g.user, current_scope(), after, QUEUE_PAGE)
    return render_template(
        "imports/queue.html",
        rows=rows,
        next_after=rows[-1].id if more else None,
        reason=unmatched_reason,
        birth_on=_birth_on_text,
    )


def _birth_on_text(row: UnmatchedRow) -> str:
    from registry.i18n import local_date
    from screenings.imports.schemas import read_date

    text = row.raw_values.get(BIRTH_ON)
    if not text:
        return ""
    try:
        return local_date(read_date(text))
    except ValueError:
        return text


def _row_facts(row: UnmatchedRow) -> list[tuple[str, str]]:
    """What the row says, labelled, with identity numbers masked."""
    test = service.test_of(row.batch)
    facts = []
    for target in targets_for(test):
        text = row.raw_values.get(target.name)
        if text:
            shown = _birth_on_text(row) if target.name == BIRTH_ON else scrub_identifiers(text)
            facts.append((target_label(target), shown))
    return facts


def _register_kinds(row: UnmatchedRow) -> list[str]:
    kinds = get_program(row.batch.program).eligibility.kinds
    offered = []
    if SubjectKind.WOMAN in kinds:
        offered.append("woman")
    if SubjectKind.PREGNANT_WOMAN in kinds:
        offered += ["pregnant", "woman"]
    return offered


def _newborn_program(row: UnmatchedRow) -> bool:
    kinds = get_program(row.batch.program).eligibility.kinds
    return SubjectKind.NEWBORN in kinds or SubjectKind.CHILD in kinds


def _differs_by_person(row: UnmatchedRow, people) -> dict[int, list[str]]:
    """For the search results: how each person's name or birth date differs from the row's."""
    if not people or row.status is not UnmatchedStatus.WAITING:
        return {}
    today = local_today(utcnow())
    return {p.id: _difference_texts(waiting_rows.differences(row, p, today)) for p in people}


def _difference_texts(codes: list[str]) -> list[str]:
    texts = {NAME: _("The name differs"), BIRTH_ON: _("The birth date differs")}
    return [texts[code] for code in codes]


@bp.route("/unmatched/<int:row_id>", methods=["GET", "POST"])
@login_required
def unmatched(row_id: int):
    row = visible_row_or_404(row_id)
    audit_restricted_view(row.batch.program, "import_unmatched_row", row.id)
    search = SearchForm()
    results = None
    if search.validate_on_submit():
        results = people_services.audited_search(search.q.data, people_in_scope(), current_actor(), utcnow())
        db.session.commit()
    elif request.method == "GET" and row.status is UnmatchedStatus.WAITING and row.raw_values.get(NAME):
        search.q.data = row.raw_values.get(NAME)
    return _row_page(row, search, results)


def _row_page(row: UnmatchedRow, search: SearchForm, results, discard_form: DiscardForm | None = None):
    return render_template(
        "imports/unmatched.html",
        row=row,
        facts=_row_facts(row),
        reason=unmatched_reason(row.reason),
        search=search,
        results=results,
        match_form=MatchForm(),
        discard_form=discard_form or DiscardForm(),
        differs=_differs_by_person(row, results),
        register_kinds=_register_kinds(row),
        newborn=_newborn_program(row),
        may_act=service.may_import(g.user) and row.status is UnmatchedStatus.WAITING,
    )


def _rejection_text(row: UnmatchedRow, error: ResultRejected | CaseActionRefused) -> str:
    test = service.test_of(row.batch)
    return "；".join(
        issue_message(test, e.field, e.code, None, e.message) for e in waiting_rows.rejection_errors(error)
    )


@bp.route("/unmatched/<int:row_id>/match", methods=["POST"])
@login_required
def match(row_id: int):
    row = visible_row_or_404(row_id)
    require_import_permission()
    form = MatchForm()
    if not form.validate_on_submit():
        flash(_("Choose the person this row is about."), "error")
        return redirect(url_for("imports.unmatched", row_id=row.id))
    person = visible_person(current_scope(), form.person_id.data)
    if person is None or person.merged_into_id is not None:
        refuse(404, "person absent, merged or outside scope")
    now = utcnow()
    differs = (
        waiting_rows.differences(row, person, local_today(now))
        if row.status is UnmatchedStatus.WAITING
        else []
    )
    try:
        waiting_rows.import_unmatched_row(row, person, current_actor(), now)
    except waiting_rows.AlreadyResolved:
        db.session.rollback()
        flash(_("This row was already imported."), "info")
        return redirect(url_for("imports.queue"))
    except (ResultRejected, CaseActionRefused) as error:
        db.session.rollback()
        flash(_("The result was not imported: %(reason)s", reason=_rejection_text(row, error)), "error")
        return redirect(url_for("imports.unmatched", row_id=row.id))
    db.session.commit()
    flash(_("Row %(n)d imported for %(name)s.", n=row.row_number, name=person.name), "success")
    warnings = {
        NAME: _("The name in the file differs from %(name)s's record: check that this is the right person."),
        BIRTH_ON: _(
            "The birth date in the file differs from %(name)s's record: check that this is the right person."
        ),
    }
    for code in differs:
        flash(warnings[code] % {"name": person.name}, "warning")
    return redirect(url_for("imports.queue"))


@bp.route("/unmatched/<int:row_id>/discard", methods=["POST"])
@login_required
def discard(row_id: int):
    """Set a waiting row aside with a reason (audited): a duplicate sample, a test for another district."""
    row = visible_row_or_404(row_id)
    require_import_permission()
    form = DiscardForm()
    if not form.validate_on_submit():
        return _row_page(row, SearchForm(formdata=None), None, discard_form=form), 422
    try:
        waiting_rows.discard_unmatched_row(row, form.reason.data, current_actor(), utcnow())
    except waiting_rows.AlreadyResolved:
        db.session.rollback()
        flash(_("This row was already imported or discarded."), "info")
        return redirect(url_for("imports.queue"))
    db.session.commit()
    flash(_("Row %(n)d discarded.", n=row.row_number), "success")
    return redirect(url_for("imports.queue"))


@bp.route("/unmatched/<int:row_id>/register/<kind>", methods=["GET", "POST"])
@login_required
def register(row_id: int, kind: str):
    """Register the person a waiting row is about, prefilled from the row, and import the row for them."""
    from registry.auth.access import may_register_people
    from registry.people.views import REGISTRATION_FORMS, _draft_from, visible_person_or_404

    row = visible_row_or_404(row_id)
    require_import_permission()
    if not may_register_people(g.user) or row.status is not UnmatchedStatus.WAITING:
        refuse(403, "may not register from this row")
    form_class = REGISTRATION_FORMS.get(kind) or abort(404)
    mother = None
    if kind == "newborn":
        mother_id = request.args.get("mother_id", type=int)
        if mother_id is None:
            abort(404)
        mother = visible_person_or_404(mother_id)
    elif kind not in _register_kinds(row):
        abort(404)
    form = form_class()
    now = utcnow()
    form.today = local_today(now)
    if request.method == "GET":
        _prefill(form, row, kind, mother)
    duplicates = None
    rejection = None
    if form.validate_on_submit():
        draft, pregnancy = _draft_from(form, kind, mother)
        try:
            person = people_services.register_person(
                draft, current_actor(), now, form.confirm_distinct.data, pregnancy
            )
            waiting_rows.import_unmatched_row(row, person, current_actor(), now)
        except DuplicatePerson as error:
            db.session.rollback()
            duplicates = error.check
            if duplicates.same_document is not None:
                form.id_number.errors = [
                    *form.id_number.errors,
                    _("A person with this document is already registered."),
                ]
        except waiting_rows.AlreadyResolved:
            db.session.rollback()
            flash(_("This row was already imported."), "info")
            return redirect(url_for("imports.queue"))
        except (ResultRejected, CaseActionRefused) as error:
            db.session.rollback()
            rejection = _rejection_text(row, error)
        else:
            db.session.commit()
            flash(
                _("Registered %(name)s and imported row %(n)d.", name=person.name, n=row.row_number),
                "success",
            )
            return redirect(url_for("imports.queue"))
    return render_template(
        "imports/register.html",
        form=form,
        kind=kind,
        mother=mother,
        duplicates=duplicates,
        scope=current_scope(),
        row=row,
        facts=_row_facts(row),
        rejection=rejection,
    )


def _prefill(form, row: UnmatchedRow, kind: str, mother: Person | None) -> None:
    values = row.raw_values
    form.name.data = values.get(NAME, "")
    if values.get(ID_NUMBER):
        form.id_type.data = IdDocumentType.RESIDENT_ID.value
        form.id_number.data = values[ID_NUMBER]
    if kind == "newborn":
        order = values.get(BIRTH_ORDER)
        form.birth_order.data = int(order) if order and order.isdigit() else None
        if form.birth_order.data is None and mother is not None:
            form.birth_order.data = people_services.next_birth_order(mother.id)
        if mother is not None:
            form.address.data = mother.address
            form.phone.data = mother.phone
    elif values.get(BIRTH_ON):
        from screenings.imports.schemas import read_date

        with contextlib.suppress(ValueError):
            form.birth_on.data = read_date(values[BIRTH_ON])
