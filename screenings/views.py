"""Clinic screens: enter a result, work the follow-up list, take a case to closure, print a recall letter."""

from __future__ import annotations

import datetime as dt
import uuid

from flask import (
    Blueprint,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from registry.auth.break_glass import break_glass as grant_break_glass
from registry.extensions import db
from registry.i18n import local_date, local_datetime
from registry.people.forms import SearchForm
from registry.people.models import Person
from registry.people.services import audited_search
from registry.people.views import people_in_scope, visible_person_or_404
from registry.web import current_actor, current_scope, login_required, refuse, utcnow
from screenings import access, records, texts
from screenings import cases as case_service
from screenings import results as result_service
from screenings.engine import (
    Program,
)
from screenings.forms import (
    BreakGlassForm,
    result_form_class,
)
from screenings.programs import PROGRAMS
from screenings.reports import corrections
from screenings.worklist import TABS, institutions_to_filter, load_worklist

bp = Blueprint("screenings", __name__)


@bp.app_context_processor
def _screening_helpers() -> dict:
    return {"screening_texts": texts}


def hidden_programs() -> frozenset[str]:
    """Return the restricted programs the current user does not work on (left out of lists)."""
    return access.hidden_programs(g.user)


def may_enter_results() -> bool:
    return g.user is not None and access.may_enter_results(g.user, current_scope())


def _safe_next(default: str) -> str:
    target = request.args.get("next") or ""
    return target if target.startswith("/") and not target.startswith("//") else default


# -- the person's panel ---------------------------------------------------------------------------


def person_panel(person: Person) -> dict:
    """Return what the person page shows of screenings: the results and cases this user may open now.

    Restricted ones the user may not open are left out without a trace: no count, no different text.
    The offer to break the glass is the same for every person, whether or not they have such records.
    """
    now = utcnow()
    hidden = access.hidden_programs(g.user, person.id, now)
    results = records.results_of(person.id)
    cases = records.cases_of(person.id)
    shown_results = [r for r in results if r.program not in hidden]
    shown_cases = [c for c in cases if c.program not in hidden]
    actor = current_actor()
    restricted_results = [r.id for r in shown_results if access.is_restricted(r.program)]
    restricted_cases = [c.id for c in shown_cases if access.is_restricted(c.program)]
    if restricted_results or restricted_cases:
        audit_view = access.audit_restricted_view
        audit_view(actor, now, "screening_result", restricted_results, "result on person page")
        audit_view(actor, now, "follow_up_case", restricted_cases, "case on person page")
        db.session.commit()
    return {
        "results": shown_results,
        "cases": shown_cases,
        # Offered to everyone who does not work on the restricted programs, for every person alike.
        "offer_break_glass": not access.works_on_restricted(g.user) and bool(access.restricted_programs()),
        "granted": not hidden and not access.works_on_restricted(g.user),
        "may_enter": may_enter_results(),
    }


# -- results --------------------------------------------------------------------------------------


@bp.route("/results/new", methods=["GET", "POST"])
@login_required
def choose_person():
    """Find the person a result is for, or register them and come back."""
    if not may_enter_results():
        refuse(403, "may not enter results")
    form = SearchForm()
    people = None
    if form.validate_on_submit():
        people = audited_search(form.q.data, people_in_scope(), current_actor(), utcnow())
        db.session.commit()
    return render_template("screenings/choose_person.html", form=form, people=people)


def programs_for(person: Person) -> list[Program]:
    """Return the programs whose subjects include this person (age is only a warning, never a block)."""
    hidden = hidden_programs()
    return [
        program
        for program in PROGRAMS.values()
        if program.code not in hidden and case_service.screens(program, person)
    ]


@bp.route("/people/<int:person_id>/results/new", methods=["GET", "POST"])
@login_required
def enter_result(person_id: int):
    if not may_enter_results():
        refuse(403, "may not enter results")
    person = visible_person_or_404(person_id)
    program = PROGRAMS.get(request.args.get("program", ""))
    if program is None or program.code in hidden_programs():
        return render_template("screenings/choose_test.html", person=person, programs=programs_for(person))
    try:
        test = program.test(request.args.get("test", ""))
    except KeyError:
        return render_template("screenings/choose_test.html", person=person, programs=[program])
    form = result_form_class(test)()
    if request.method == "GET":
        form.entry_token.data = uuid.uuid4().hex
    errors: list[str] = []
    if form.validate_on_submit():
        institution = g.user.institution
        try:
            recorded = result_service.record_result(
                person, program.code, test.code, form.values(), institution, current_actor(), utcnow(),
                source_key=f"{g.user.id}:{form.entry_token.data or uuid.uuid4().hex}",
            )  # fmt: skip
        except result_service.ResultRejected as rejected:
            db.session.rollback()
            for error in rejected.errors:
                text = texts.message(test, error)
                if error.field and error.field in form:
                    form[error.field].errors = [*form[error.field].errors, text]
                else:
                    errors.append(text)
        else:
            if recorded.created and not _late_correction_kept(recorded, program.code, institution, form):
                db.session.rollback()
                return render_template(
                    "screenings/enter_result.html", person=person, program=program, test=test, form=form,
                    errors=errors,
                )  # fmt: skip
            db.session.commit()
            for warning in recorded.warnings:
                flash(texts.message(test, warning), "warning")
            return redirect(url_for("screenings.result_detail", result_id=recorded.result.id))
    return render_template(
        "screenings/enter_result.html", person=person, program=program, test=test, form=form, errors=errors
    )


def _late_correction_kept(recorded, program_code: str, institution, form) -> bool:
    """A result dated in a month whose report is approved keeps its reason; without one it is refused."""
    reason = form.correction_reason.data
    try:
        month = corrections.check_reason(institution, recorded.result.performed_at, reason)
    except corrections.ReasonRequired as needed:
        form.correction_reason.errors = [*form.correction_reason.errors, reason_required_text(needed.month)]
        return False
    if month is not None:
        corrections.record_late_correction(
            institution, month, program_code, "screening_result", recorded.result.id, reason,
            current_actor(), utcnow(),
        )  # fmt: skip
    return True


def reason_required_text(month: str) -> str:
    return _(
        "The report of %(month)s is approved: an entry dated in that month is a late correction. "
        "Give its reason.",
        month=texts.month_label(month),
    )


@bp.route("/results/<int:result_id>")
@login_required
def result_detail(result_id: int):
    result = access.result_or_404(result_id)
    program = PROGRAMS[result.program]
    test = program.test(result.test)
    case = records.case_of_result(result.id)
    opened_case = case is not None and case.opening_result_id == result.id
    values = []
    for declared in test.fields:
        raw = result.measured_values.get(declared.name)
        if raw in (None, [], ""):
            continue
        values.append((texts.field_label(declared), _display_value(declared, raw)))
    return render_template(
        "screenings/result.html",
        result=result,
        program=program,
        test=test,
        values=values,
        case=case,
        opened_case=opened_case,
        now=utcnow(),
    )


def _display_value(declared, raw) -> str:
    if declared.choices:
        codes = raw if isinstance(raw, list) else [raw]
        labels = []
        for code in codes:
            try:
                labels.append(texts.local_text(declared.choice(str(code))))
            except KeyError:
                labels.append(str(code))
        return "、".join(labels)
    if isinstance(raw, bool):
        return _("Yes") if raw else _("No")
    if declared.kind == "DATETIME":
        return local_datetime(dt.datetime.fromisoformat(raw))
    if declared.kind == "DATE":
        return local_date(dt.date.fromisoformat(str(raw)[:10]))
    return str(raw)


# -- the worklist ---------------------------------------------------------------------------------


@bp.route("/cases/")
@login_required
def worklist():
    now = utcnow()
    hidden = hidden_programs()
    program = request.args.get("program") or None
    step = request.args.get("step") or None
    if step and ":" in step:  # the step names its program; a program chosen since then wins
        step_program, step = step.split(":", 1)
        if program is None:
            program = step_program
        elif program != step_program:
            step = None
    if program is not None and (program not in PROGRAMS or program in hidden):
        program = step = None
    if step is not None and (program is None or step not in {s.code for s in PROGRAMS[program].steps}):
        step = None
    scope = current_scope()
    institutions = institutions_to_filter(scope)
    institution_id = request.args.get("institution", type=int)
    if institution_id not in {i for i, _name in institutions}:
        institution_id = None
    page = load_worklist(
        scope,
        now,
        tab=request.args.get("tab", "overdue"),
        sort=request.args.get("sort", "due"),
        program=program,
        step=step,
        institution_id=institution_id,
        cursor=request.args.get("after"),
        before=request.args.get("before"),
        limit=50,
        hidden_programs=hidden,
    )
    visible = {code: p for code, p in PROGRAMS.items() if code not in hidden}
    # One program chosen: its steps; none: every program's steps, grouped under the program's name.
    step_groups = [
        (texts.local_text(p), [(f"{code}:{s.code}", texts.local_text(s)) for s in p.steps])
        for code, p in visible.items()
        if program is None or code == program
    ]
    filters = {"program": program, "step": step, "institution": institution_id, "sort": page.sort}
    return render_template(
        "screenings/worklist.html",
        labels=worklist_labels(),
        page=page,
        tabs=TABS,
        program=program,
        step=step,
        chosen_step=f"{program}:{step}" if step else None,
        programs=[(code, texts.local_text(p)) for code, p in visible.items()],
        step_groups=step_groups,
        institutions=institutions,
        institution_id=institution_id,
        filters=filters,
        now=now,
    )


# -- a case -----------------------------------------------------------------------------------------


def worklist_labels() -> dict:
    """Return every label a worklist row shows, looked up once per page rather than once per row."""
    return {
        "programs": {code: texts.local_text(p) for code, p in PROGRAMS.items()},
        "steps": {(code, s.code): texts.local_text(s) for code, p in PROGRAMS.items() for s in p.steps},
        "statuses": {status: str(label) for status, label in texts.STATUS_LABELS.items()},
        "reasons": {reason: str(label) for reason, label in texts.REASON_LABELS.items()},
        "result": texts.result_label,
    }


@bp.route("/people/<int:person_id>/break-glass", methods=["GET", "POST"])
@login_required
def break_glass(person_id: int):
    person = visible_person_or_404(person_id)
    form = BreakGlassForm()
    if form.validate_on_submit():
        grant_break_glass(g.user, person.id, form.reason.data, current_actor(), utcnow())
        db.session.commit()
        return redirect(_safe_next(url_for("people.detail", person_id=person.id)))
    return render_template(
        "screenings/break_glass.html", person=person, form=form, programs=texts.restricted_program_names()
    )


# The case page's routes live beside these, on the same blueprint.
from screenings import case_views  # noqa: E402, F401
